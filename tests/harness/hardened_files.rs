//! Hardened input, the user's own files: malformed `--data` and `--model` files, data that does
//! not fit its model or loss, `--init`/`--weights` for another model, and TorchScript runs whose
//! files were damaged before `--resume`. Each goes through the real binary (`train`, and `eval`
//! for a representative of each kind) and must end in one short error naming the file, key or
//! shape — no panic, no C++ backtrace, no run directory (but for three modules that fail only on
//! a full batch), and a resumed run directory left byte for byte as it was.
//!
//! Valid base files are made once: the TorchScript fixture (`own_fixture`), one Python call for
//! the odd TorchScript modules below, and data files derived in Rust with `write_tensors`.
use std::path::{Path, PathBuf};

use tch::{Kind, Tensor};
use tch_harness::tensor_file::{read_tensors, write_tensors, NamedTensors};

use crate::common::{run_bin, run_python, tempdir, text};
use crate::hardened::{
    case, copy_dir, corruptions, header_corruptions, random_files, report, run_cases, truncations,
    Case, Lcg,
};
use crate::own_fixture::{fixture, path};

/// TorchScript modules that load but do not fit a task, and files that are not TorchScript.
/// `sys.argv[1]` is the output folder.
const ODD_MODULES: &str = r#"
import os, sys, warnings, zipfile
import torch
warnings.simplefilter("ignore")
out = sys.argv[1]
MODELS = """
import torch, torch.nn as nn
from typing import List

class Mlp(nn.Module):
    def __init__(self, n_in: int = 5, hidden: int = 16, n_out: int = 1):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(n_in, hidden), nn.Linear(hidden, n_out)
    def body(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
    def forward(self, x):
        return self.body(x)

class BatchMean(Mlp):  # one row for the whole batch
    def forward(self, x):
        return self.body(x).mean(0, keepdim=True)

class FirstTwoRows(Mlp):  # right for one and two samples, wrong for a batch of 16
    def forward(self, x):
        return self.body(x)[:2]

class RaisesOnBatch(Mlp):
    def forward(self, x):
        if x.size(0) > 2:
            raise RuntimeError("batch too big")
        return self.body(x)

class TwoArgs(Mlp):
    def forward(self, x, y):
        return self.body(x) + y

class IntOutput(Mlp):
    def forward(self, x):
        return self.body(x).argmax(1)

class ScalarOutput(Mlp):
    def forward(self, x):
        return self.body(x).sum()

class ListOutput(Mlp):
    def forward(self, x) -> List[torch.Tensor]:
        return [self.body(x)]

class Detached(Mlp):
    def forward(self, x):
        return self.body(x).detach()

class NanOutput(Mlp):
    def forward(self, x):
        return self.body(x) * float("nan")

class NoParameters(nn.Module):
    def forward(self, x):
        return x[:, :1] * 2
"""
with open(os.path.join(out, "odd_models.py"), "w") as f:
    f.write(MODELS)
sys.path.insert(0, out)
import odd_models as m

torch.manual_seed(0)
for name, model in {
    "batch-mean": m.BatchMean(), "first-two-rows": m.FirstTwoRows(),
    "raises-on-batch": m.RaisesOnBatch(), "two-args": m.TwoArgs(), "int-output": m.IntOutput(),
    "scalar-output": m.ScalarOutput(), "list-output": m.ListOutput(),
    "double": m.Mlp().double(), "hidden-8": m.Mlp(hidden=8), "detached": m.Detached(),
    "nan-output": m.NanOutput(), "no-parameters": m.NoParameters(),
    "frozen": m.Mlp().requires_grad_(False),
}.items():
    torch.jit.script(model).save(os.path.join(out, name + ".pt"))
torch.save(torch.zeros(3), os.path.join(out, "tensor-torch-save.pt"))
with zipfile.ZipFile(os.path.join(out, "zip-not-torchscript.pt"), "w") as z:
    z.writestr("archive/data.pkl", b"not a pickle")
    z.writestr("archive/version", b"3\n")
"#;

/// Builds the cases in one folder: damaged files go to `files/`, runs that must never be made
/// to `never/`.
struct Cases {
    dir: PathBuf,
    list: Vec<Case>,
}

impl Cases {
    fn new(dir: &Path) -> Cases {
        for sub in ["files", "never"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        Cases {
            dir: dir.to_path_buf(),
            list: Vec::new(),
        }
    }

    /// Writes `files/<name>`; returns its path.
    fn file(&self, name: &str, bytes: &[u8]) -> String {
        let p = self.dir.join("files").join(name);
        std::fs::write(&p, bytes).unwrap();
        path(&p)
    }

    /// Writes `files/<name>.safetensors` with `write_tensors`; returns its path.
    fn data(&self, name: &str, tensors: &NamedTensors) -> String {
        let p = self.dir.join("files").join(format!("{name}.safetensors"));
        write_tensors(&p, tensors, None).unwrap();
        path(&p)
    }

    /// `train` on the files must fail before it makes its run directory.
    fn train(&mut self, name: &str, files: Task<'_>, needle: &str) {
        let out = self.dir.join("never").join(self.list.len().to_string());
        let epochs = ["--epochs", "1", "--out", &path(&out)];
        let args = [&["train"][..], &files.args(), &epochs].concat();
        let mut c = case(format!("train {name}"), &args, needle);
        c.absent = Some(out);
        self.list.push(c);
    }

    /// `eval` on the files must fail.
    fn eval(&mut self, name: &str, files: Task<'_>, needle: &str) {
        let c = case(
            format!("eval {name}"),
            &[&["eval"][..], &files.args()].concat(),
            needle,
        );
        self.list.push(c);
    }

    /// Both `train` and `eval`.
    fn both(&mut self, name: &str, files: Task<'_>, needle: &str) {
        self.add(name, files, needle, true);
    }

    /// `train`, and `eval` too when `eval` (one representative of each kind of damage: both
    /// build the experiment the same way).
    fn add(&mut self, name: &str, files: Task<'_>, needle: &str, eval: bool) {
        self.train(name, files, needle);
        if eval {
            self.eval(name, files, needle);
        }
    }
}

/// The flags naming a model, a data file, a loss and extra flags.
#[derive(Clone, Copy)]
struct Task<'a> {
    model: &'a str,
    data: &'a str,
    loss: &'a str,
    extra: &'a [&'a str],
}

impl<'a> Task<'a> {
    fn new(model: &'a str, data: &'a str, loss: &'a str) -> Task<'a> {
        Task {
            model,
            data,
            loss,
            extra: &[],
        }
    }

    fn args(&self) -> Vec<&'a str> {
        let mut args = vec![
            "--model", self.model, "--data", self.data, "--loss", self.loss,
        ];
        args.extend_from_slice(self.extra);
        args
    }
}

/// A copy of `base` with `key` set to `t` (added when missing).
fn with(base: &NamedTensors, key: &str, t: Tensor) -> NamedTensors {
    let mut out = without(base, key);
    out.push((key.to_string(), t));
    out
}

/// A copy of `base` with two keys set.
fn with_pair(base: &NamedTensors, [(k1, t1), (k2, t2)]: [(&str, Tensor); 2]) -> NamedTensors {
    with(&with(base, k1, t1), k2, t2)
}

/// A copy of `base` without `key`.
fn without(base: &NamedTensors, key: &str) -> NamedTensors {
    base.iter()
        .filter(|(n, _)| n != key)
        .map(|(n, t)| (n.clone(), t.shallow_clone()))
        .collect()
}

fn get(base: &NamedTensors, key: &str) -> Tensor {
    base.iter()
        .find(|(n, _)| n == key)
        .map(|(_, t)| t.copy())
        .unwrap_or_else(|| panic!("no '{key}'"))
}

/// `t` with its last element of sample `sample` set to `value`.
fn set_in_sample(t: &Tensor, sample: i64, value: f64) -> Tensor {
    let t = t.copy();
    let per_sample = t.numel() as i64 / t.size()[0];
    let _ = t
        .flatten(0, -1)
        .get(sample * per_sample + per_sample - 1)
        .fill_(value);
    t
}

fn file_name(p: &str) -> &str {
    Path::new(p).file_name().unwrap().to_str().unwrap()
}

/// A safetensors file from a raw header: 8 bytes of length, the header, `data_len` zero bytes.
fn raw_safetensors(header: &str, data_len: usize) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.resize(bytes.len() + data_len, 0);
    bytes
}

/// One tensor's header entry: dtype, shape (as JSON) and data offsets.
type Entry<'a> = (&'a str, &'a str, [usize; 2]);

/// A file of `inputs` and `targets` whose header says what the entries say, whatever the data.
fn crafted(inputs: Entry<'_>, targets: Entry<'_>, data_len: usize) -> Vec<u8> {
    let entry = |(dtype, shape, [from, to]): Entry<'_>| {
        format!(r#"{{"dtype":"{dtype}","shape":{shape},"data_offsets":[{from},{to}]}}"#)
    };
    let header = format!(
        r#"{{"inputs":{},"targets":{}}}"#,
        entry(inputs),
        entry(targets)
    );
    raw_safetensors(&header, data_len)
}

/// Truncated, random and header-damaged data files, and hand-made headers that lie.
fn damaged_data_cases(cases: &mut Cases, model: &str, valid: &str) {
    let bytes = std::fs::read(valid).unwrap();
    for (i, (name, damaged)) in corruptions(&bytes, 5, 5).into_iter().enumerate() {
        let data = cases.file(&format!("data-{name}.safetensors"), &damaged);
        let needle = format!("{}: not a valid safetensors file", file_name(&data));
        let task = Task::new(model, &data, "mse");
        cases.add(&format!("--data {name}"), task, &needle, i % 5 == 2);
    }
    // Two samples of five features: 40 bytes of inputs, then 8 of targets.
    let (x, y) = (("F32", "[2,5]", [0, 40]), ("F32", "[2,1]", [40, 48]));
    let mut too_long = crafted(x, y, 48);
    let header_len = too_long.len() as u64 - 48;
    too_long[..8].copy_from_slice(&(header_len + 100).to_le_bytes());
    let mut huge = crafted(x, y, 48);
    huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    let invalid: Vec<(&str, Vec<u8>)> = vec![
        ("header-longer-than-file", too_long),
        ("header-length-max", huge),
        ("header-not-object", raw_safetensors("[1, 2, 3]", 0)),
        ("header-not-json", raw_safetensors("{\"inputs\": ", 48)),
        ("data-missing", crafted(x, y, 20)),
        ("trailing-bytes", crafted(x, y, 60)),
        ("shape-vs-bytes", crafted(("F32", "[2,6]", [0, 40]), y, 48)),
        ("unknown-dtype", crafted(("Q4", "[2,5]", [0, 40]), y, 48)),
        ("negative-dim", crafted(("F32", "[-2,5]", [0, 40]), y, 48)),
        (
            "overlapping-offsets",
            crafted(x, ("F32", "[2,1]", [0, 8]), 48),
        ),
        (
            "gap-between-tensors",
            crafted(x, ("F32", "[2,1]", [48, 56]), 56),
        ),
        (
            "shape-overflow",
            crafted(("F32", "[4611686018427387904,4]", [0, 40]), y, 48),
        ),
    ];
    for (i, (name, bytes)) in invalid.into_iter().enumerate() {
        let data = cases.file(&format!("data-{name}.safetensors"), &bytes);
        let needle = format!("{}: not a valid safetensors file", file_name(&data));
        let task = Task::new(model, &data, "mse");
        cases.add(&format!("--data {name}"), task, &needle, i % 6 == 0);
    }
    // Valid safetensors that hold nothing usable.
    let unusable: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "no-tensors",
            raw_safetensors("{}", 0),
            "missing tensor 'inputs' (the file holds no tensors)",
        ),
        (
            "metadata-only",
            raw_safetensors(r#"{"__metadata__":{"format":"pt"}}"#, 0),
            "missing tensor 'inputs' (the file holds no tensors)",
        ),
        (
            "u16-inputs",
            crafted(("U16", "[2,5]", [0, 20]), ("F32", "[2,1]", [20, 28]), 28),
            "tensor 'inputs' has unsupported dtype U16",
        ),
        (
            "f8-targets",
            crafted(x, ("F8_E4M3", "[2,1]", [40, 42]), 42),
            "tensor 'targets' has unsupported dtype F8_E4M3",
        ),
    ];
    for (i, (name, bytes, needle)) in unusable.into_iter().enumerate() {
        let data = cases.file(&format!("data-{name}.safetensors"), &bytes);
        let task = Task::new(model, &data, "mse");
        cases.add(&format!("--data {name}"), task, needle, i % 2 == 0);
    }
    // A directory and a missing file.
    let folder = cases.dir.join("files").join("a-folder.safetensors");
    std::fs::create_dir_all(&folder).unwrap();
    let folder = path(&folder);
    let missing = path(&cases.dir.join("files").join("missing.safetensors"));
    cases.both(
        "--data directory",
        Task::new(model, &folder, "mse"),
        "a-folder.safetensors: Is a directory",
    );
    cases.both(
        "--data missing",
        Task::new(model, &missing, "mse"),
        "missing.safetensors: No such file",
    );
}

/// NaN, +inf and -inf in each float tensor, at its first, a middle and its last sample.
fn nonfinite_cases(cases: &mut Cases, model: &str, base: &NamedTensors) {
    let values = [
        ("nan", f64::NAN),
        ("inf", f64::INFINITY),
        ("-inf", -f64::INFINITY),
    ];
    for (k, key) in ["inputs", "targets", "eval_inputs", "eval_targets"]
        .into_iter()
        .enumerate()
    {
        let t = get(base, key);
        let n = t.size()[0];
        for (v, (vname, value)) in values.iter().enumerate() {
            for (p, sample) in [0, n / 2, n - 1].into_iter().enumerate() {
                // Every value at every position of the training split; one position per value
                // in the held-out split.
                if k >= 2 && p != (v + k) % 3 {
                    continue;
                }
                let name = format!("{key}-{vname}-sample-{sample}");
                let data = cases.data(&name, &with(base, key, set_in_sample(&t, sample, *value)));
                let needle = format!(
                    "'{key}' {:?} holds 1 NaN/infinite value(s), the first ({value}) in sample \
                     {sample}",
                    t.size()
                );
                let task = Task::new(model, &data, "mse");
                cases.add(&name, task, &needle, p == v && v == k.min(2));
            }
        }
    }
    // Half-precision tensors are checked too.
    let half = set_in_sample(&get(base, "inputs").to_kind(Kind::Half), 7, f64::NAN);
    let data = cases.data("inputs-f16-nan", &with(base, "inputs", half));
    cases.train(
        "inputs-f16-nan",
        Task::new(model, &data, "mse"),
        "'inputs' [203, 5] holds 1 NaN/infinite value(s), the first (NaN) in sample 7",
    );
    let bf16 = set_in_sample(
        &get(base, "eval_targets").to_kind(Kind::BFloat16),
        60,
        f64::INFINITY,
    );
    let data = cases.data("eval-targets-bf16-inf", &with(base, "eval_targets", bf16));
    cases.train(
        "eval-targets-bf16-inf",
        Task::new(model, &data, "mse"),
        "'eval_targets' [61, 1] holds 1 NaN/infinite value(s), the first (inf) in sample 60",
    );
}

/// The fixture's model and data for `loss`, and the data's tensors.
fn base(loss: &str) -> (String, String, NamedTensors) {
    let fx = fixture();
    let data = fx.data(loss);
    let tensors = read_tensors(Path::new(&data)).unwrap();
    (fx.model(loss), data, tensors)
}

/// `base` with `key` (and `eval_<key>` when `both`) converted to `kind`.
fn retyped(base: &NamedTensors, key: &str, kind: Kind, both: bool) -> NamedTensors {
    let mut out = with(base, key, get(base, key).to_kind(kind));
    if both {
        let eval = format!("eval_{key}");
        out = with(&out, &eval, get(base, &eval).to_kind(kind));
    }
    out
}

/// Inputs and targets of dtypes the loss or the model cannot take. Inputs must be float (and the
/// model must take their float dtype); float targets must have the model output's dtype
/// (libtorch's backward fails on mixed dtypes); class-index targets must be int64; both splits
/// must have the same dtypes.
fn dtype_cases(cases: &mut Cases) {
    let (mse, _, mse_data) = base("mse");
    let (ce, _, ce_data) = base("cross-entropy");
    let (nll, _, nll_data) = base("nll");
    let (bce, _, bce_data) = base("bce-with-logits");
    let (l1, _, l1_data) = base("l1");
    let float = |kind: Kind, key: &str, loss: &str, shape: &str| {
        if key == "inputs" {
            format!(
                "the model fails on one sample [1, 5] of 'inputs' [203, 5]: TorchScript \
                 forward: RuntimeError: mat1 and mat2 must have the same dtype, but got {kind:?} \
                 and Float"
            )
        } else {
            format!(
                "'targets' has dtype {kind:?} {shape} but the model outputs Float; --loss {loss} \
                 needs targets of the output's dtype"
            )
        }
    };
    let integer = |kind: Kind, key: &str, loss: &str, shape: &str| match (key, loss) {
        ("inputs" | "eval_inputs", _) => {
            format!("'{key}' has dtype {kind:?} {shape}; inputs must be float")
        }
        (_, "cross-entropy" | "nll") => {
            format!("'targets' has dtype {kind:?} {shape}; --loss {loss} needs int64 class indices")
        }
        _ => format!("'targets' has dtype {kind:?} {shape}; --loss {loss} needs float targets"),
    };
    let mixed = |kind: Kind, key: &str, _: &str, shape: &str| {
        let train = &key["eval_".len()..];
        format!("'{key}' has dtype {kind:?} {shape} but '{train}' Float; both splits need the same dtype")
    };
    type Needle = fn(Kind, &str, &str, &str) -> String;
    // (model, data, loss, key, dtype, both splits, the message)
    #[rustfmt::skip]
    let variants: Vec<(&str, &NamedTensors, &str, &str, Kind, bool, Needle)> = vec![
        // Inputs that are not float.
        (&mse, &mse_data, "mse", "inputs", Kind::Int64, false, integer),
        (&mse, &mse_data, "mse", "inputs", Kind::Uint8, false, integer),
        (&mse, &mse_data, "mse", "inputs", Kind::Bool, false, integer),
        (&mse, &mse_data, "mse", "eval_inputs", Kind::Int, false, integer),
        // Float inputs the model's float32 weights cannot take.
        (&mse, &mse_data, "mse", "inputs", Kind::Half, true, float),
        (&mse, &mse_data, "mse", "inputs", Kind::BFloat16, true, float),
        (&mse, &mse_data, "mse", "inputs", Kind::Double, true, float),
        // Float targets of another float dtype than the output.
        (&mse, &mse_data, "mse", "targets", Kind::Double, true, float),
        (&mse, &mse_data, "smooth-l1", "targets", Kind::Half, true, float),
        (&l1, &l1_data, "l1", "targets", Kind::BFloat16, true, float),
        (&bce, &bce_data, "bce-with-logits", "targets", Kind::Double, true, float),
        // A held-out split of another dtype than the training split.
        (&mse, &mse_data, "mse", "eval_inputs", Kind::Double, false, mixed),
        (&mse, &mse_data, "mse", "eval_targets", Kind::Double, false, mixed),
        // Integer and bool targets for float losses.
        (&mse, &mse_data, "mse", "targets", Kind::Int64, true, integer),
        (&mse, &mse_data, "huber", "targets", Kind::Int, true, integer),
        (&bce, &bce_data, "bce-with-logits", "targets", Kind::Bool, true, integer),
        (&l1, &l1_data, "l1", "targets", Kind::Uint8, true, integer),
        // Float, int32 and bool targets for class-index losses.
        (&ce, &ce_data, "cross-entropy", "targets", Kind::Float, true, integer),
        (&nll, &nll_data, "nll", "targets", Kind::Double, true, integer),
        (&ce, &ce_data, "cross-entropy", "targets", Kind::Int, true, integer),
        (&nll, &nll_data, "nll", "targets", Kind::Bool, true, integer),
    ];
    for (i, (model, data, loss, key, kind, both, needle)) in variants.into_iter().enumerate() {
        let name = format!("{key}-{kind:?}-{loss}");
        let file = cases.data(&format!("dtype-{name}"), &retyped(data, key, kind, both));
        let shape = format!("{:?}", get(data, key).size());
        let task = Task::new(model, &file, loss);
        cases.add(&name, task, &needle(kind, key, loss, &shape), i % 3 == 0);
    }
    // Class indices as float targets for mse: the dtype fits, the shape does not.
    let file = cases.data(
        "dtype-labels-as-float-mse",
        &retyped(&ce_data, "targets", Kind::Float, true),
    );
    cases.train(
        "labels-as-float-mse",
        Task::new(&ce, &file, "mse"),
        "'targets' [203] does not fit the model's output [1, 4]",
    );
}

/// Class indices outside [0, classes): negative, equal to the class count, far beyond, and
/// PyTorch's ignore_index -100 (the harness's sample-weighted means do not ignore samples).
fn class_range_cases(cases: &mut Cases) {
    for (loss, classes) in [("cross-entropy", 4), ("nll", 3)] {
        let (model, _, data) = base(loss);
        for key in ["targets", "eval_targets"] {
            let t = get(&data, key);
            let n = t.size()[0];
            for (sample, value) in [(0, -1), (n / 2, classes), (n - 1, 1000), (1, -100)] {
                if key == "eval_targets" && value != classes {
                    continue;
                }
                let bad = set_in_sample(&t, sample, value as f64);
                let name = format!("{loss}-{key}-class-{value}-sample-{sample}");
                let file = cases.data(&name, &with(&data, key, bad));
                let needle = if value < 0 {
                    format!("'{key}' [{n}] holds class indices in [{value}, ")
                } else {
                    format!(
                        "'{key}' [{n}] holds class indices in [0, {value}] but the model outputs \
                         {classes} classes (output dimension 1), so they must lie in [0, {}]",
                        classes - 1
                    )
                };
                let task = Task::new(&model, &file, loss);
                cases.add(&name, task, &needle, key == "targets" && value == classes);
            }
        }
    }
    // An mse model (one output column) used as a classifier: only class 0 exists.
    let (mse, _, _) = base("mse");
    let (_, ce_file, _) = base("cross-entropy");
    cases.both(
        "one-column-classifier",
        Task::new(&mse, &ce_file, "cross-entropy"),
        "but the model outputs 1 classes (output dimension 1), so they must lie in [0, 0]",
    );
}

/// Shapes that do not fit the model or each other; empty splits, scalars, missing and unknown
/// keys.
fn shape_cases(cases: &mut Cases) {
    let (mse, _, data) = base("mse");
    let (ce, _, ce_data) = base("cross-entropy");
    let y = get(&data, "targets");
    let ex = get(&data, "eval_inputs");
    let floats = |shape: &[i64]| Tensor::randn(shape, (Kind::Float, tch::Device::Cpu));
    // Without a held-out split, inputs of another shape reach the model's probe.
    let no_eval = without(&without(&data, "eval_inputs"), "eval_targets");
    type Variant = (&'static str, NamedTensors, String);
    let variants: Vec<Variant> =
        vec![
        (
            "targets-N-2",
            with_pair(
                &data,
                [("targets", floats(&[203, 2])), ("eval_targets", floats(&[61, 2]))],
            ),
            "'targets' [203, 2] does not fit the model's output [1, 1] for one sample of \
             'inputs' [203, 5]: --loss mse needs targets [N, 1]"
                .into(),
        ),
        (
            "targets-N",
            with(&data, "targets", y.view([203])),
            "'targets' [203] does not fit the model's output [1, 1]".into(),
        ),
        (
            "targets-N-1-1",
            with(&data, "targets", y.view([203, 1, 1])),
            "'targets' [203, 1, 1] does not fit the model's output [1, 1]".into(),
        ),
        (
            "targets-N-0",
            with(&data, "targets", floats(&[203, 0])),
            "'targets' [203, 0] does not fit the model's output [1, 1]".into(),
        ),
        (
            "eval-targets-N-2",
            with(&data, "eval_targets", floats(&[61, 2])),
            "'eval_targets' [61, 2] does not fit the model's output [1, 1] for one sample of \
             'eval_inputs' [61, 5]"
                .into(),
        ),
        (
            "eval-inputs-6-features",
            with(&data, "eval_inputs", floats(&[61, 6])),
            "'eval_inputs' [61, 6] and 'inputs' [203, 5] differ in the shape of one sample".into(),
        ),
        (
            "eval-inputs-extra-dim",
            with(&data, "eval_inputs", ex.view([61, 5, 1])),
            "'eval_inputs' [61, 5, 1] and 'inputs' [203, 5] differ in the shape of one sample"
                .into(),
        ),
        (
            "inputs-7-features",
            with(&data, "inputs", floats(&[203, 7])),
            "'eval_inputs' [61, 5] and 'inputs' [203, 7] differ".into(),
        ),
        (
            "inputs-7-features-no-eval",
            with(&no_eval, "inputs", floats(&[203, 7])),
            "the model fails on one sample [1, 7] of 'inputs' [203, 7]: TorchScript forward: \
             RuntimeError: mat1 and mat2 shapes cannot be multiplied (1x7 and 5x16)"
                .into(),
        ),
        (
            "inputs-1d",
            with(&no_eval, "inputs", floats(&[203])),
            "the model fails on one sample [1] of 'inputs' [203]".into(),
        ),
        (
            "inputs-0-features",
            with(&no_eval, "inputs", floats(&[203, 0])),
            "the model fails on one sample [1, 0] of 'inputs' [203, 0]".into(),
        ),
        (
            "targets-fewer-samples",
            with(&data, "targets", y.narrow(0, 0, 200)),
            "inputs/targets: inputs have 203 samples [203, 5] but targets have 200 [200, 1]".into(),
        ),
        (
            "eval-targets-more-samples",
            with(&data, "eval_targets", floats(&[62, 1])),
            "eval_inputs/eval_targets: inputs have 61 samples [61, 5] but targets have 62 [62, 1]"
                .into(),
        ),
        (
            "zero-samples",
            with_pair(&data, [("inputs", floats(&[0, 5])), ("targets", floats(&[0, 1]))]),
            "inputs/targets: the dataset is empty".into(),
        ),
        (
            "zero-eval-samples",
            with_pair(
                &data,
                [("eval_inputs", floats(&[0, 5])), ("eval_targets", floats(&[0, 1]))],
            ),
            "eval_inputs/eval_targets: the dataset is empty".into(),
        ),
        (
            "missing-targets",
            without(&data, "targets"),
            "missing tensor 'targets' (the file holds eval_inputs Float [61, 5], eval_targets \
             Float [61, 1], inputs Float [203, 5])"
                .into(),
        ),
        (
            "missing-eval-targets",
            without(&data, "eval_targets"),
            "missing tensor 'eval_targets' to go with 'eval_inputs'".into(),
        ),
        (
            "only-eval-split",
            without(&without(&data, "inputs"), "targets"),
            "missing tensor 'inputs'".into(),
        ),
        (
            "unknown-key",
            with(&data, "labels", y.shallow_clone()),
            "unexpected tensor 'labels' (expected inputs, targets, eval_inputs, eval_targets"
                .into(),
        ),
    ];
    for (i, (name, tensors, needle)) in variants.into_iter().enumerate() {
        let file = cases.data(&format!("shape-{name}"), &tensors);
        let task = Task::new(&mse, &file, "mse");
        cases.add(name, task, &needle, i % 4 == 0);
    }
    for (i, key) in ["inputs", "targets", "eval_inputs", "eval_targets"]
        .into_iter()
        .enumerate()
    {
        let name = format!("{key}-scalar");
        let file = cases.data(&name, &with(&data, key, Tensor::from(1.5f32)));
        let needle = format!("'{key}' is a scalar []; it needs a sample dimension [N, …]");
        cases.add(&name, Task::new(&mse, &file, "mse"), &needle, i == 1);
    }
    // Class-index targets with a class dimension, for cross-entropy.
    let labels = get(&ce_data, "targets");
    let file = cases.data(
        "shape-labels-N-1",
        &with(&ce_data, "targets", labels.view([203, 1])),
    );
    cases.both(
        "labels-N-1",
        Task::new(&ce, &file, "cross-entropy"),
        "'targets' [203, 1] does not fit the model's output [1, 4] for one sample of 'inputs' \
         [203, 5]: --loss cross-entropy needs targets [N]",
    );
}

/// Damaged model files, files that are not TorchScript, and modules that do not fit the task.
fn model_cases(cases: &mut Cases, odd: &Path) {
    let (mse, data, _) = base("mse");
    let valid = std::fs::read(&mse).unwrap();
    let mut rng = Lcg::new(11);
    let mut damaged = truncations(&valid, 6);
    damaged.extend(random_files(&mut rng, 6));
    // The zip's end-of-central-directory record zeroed, and a flipped signature at the start.
    let mut no_directory = valid.clone();
    let len = no_directory.len();
    no_directory[len - 22..].fill(0);
    damaged.push(("no-central-directory".into(), no_directory));
    let mut bad_signature = valid.clone();
    bad_signature[..4].copy_from_slice(b"XXXX");
    damaged.push(("bad-zip-signature".into(), bad_signature));
    for (i, (name, bytes)) in damaged.into_iter().enumerate() {
        let model = cases.file(&format!("model-{name}.pt"), &bytes);
        let needle = format!(
            "{}: not a TorchScript module saved by torch.jit.save",
            file_name(&model)
        );
        let task = Task::new(&model, &data, "mse");
        cases.add(&format!("--model {name}"), task, &needle, i % 6 == 3);
    }
    let odd_file = |name: &str| path(&odd.join(name));
    let folder = cases.dir.join("files").join("a-folder.pt");
    std::fs::create_dir_all(&folder).unwrap();
    let fx = fixture();
    let not_torchscript = [
        odd_file("zip-not-torchscript.pt"),
        odd_file("tensor-torch-save.pt"),
        path(&fx.dir.join("bad/state_dict.pt")),
        data.clone(),
        path(&fx.dir.join("mse/reference.safetensors")),
    ];
    for (i, model) in not_torchscript.iter().enumerate() {
        let name = file_name(model);
        let needle = format!("{name}: not a TorchScript module saved by torch.jit.save");
        let task = Task::new(model, &data, "mse");
        cases.add(&format!("--model {name}"), task, &needle, i < 2);
    }
    let folder = path(&folder);
    let missing = path(&cases.dir.join("files").join("missing.pt"));
    cases.both(
        "--model directory",
        Task::new(&folder, &data, "mse"),
        "a-folder.pt: Is a directory",
    );
    cases.both(
        "--model missing",
        Task::new(&missing, &data, "mse"),
        "missing.pt: No such file",
    );
    // Modules that load but do not fit.
    let misfits: Vec<(&str, &str)> = vec![
        ("two-args.pt", "forward() is missing value for argument 'y'"),
        (
            "int-output.pt",
            "the model turns one sample of 'inputs' [203, 5] into Int64 [1]; the loss needs a \
             float tensor [1, …]",
        ),
        (
            "scalar-output.pt",
            "the model turns one sample of 'inputs' [203, 5] into Float []; the loss needs a \
             float tensor [1, …]",
        ),
        ("list-output.pt", "forward did not return a tensor"),
        (
            "double.pt",
            "mat1 and mat2 must have the same dtype, but got Float and Double",
        ),
        (
            "batch-mean.pt",
            "the model turns one sample of 'inputs' [203, 5] into [1, 1] but two into [1, 1]; it \
             must return one row per sample",
        ),
    ];
    for (i, (name, needle)) in misfits.into_iter().enumerate() {
        let model = odd_file(name);
        let task = Task::new(&model, &data, "mse");
        cases.add(&format!("--model {name}"), task, needle, i % 2 == 1);
    }
    let tuple = path(&fx.dir.join("bad/tuple.pt"));
    cases.train(
        "--model tuple.pt",
        Task::new(&tuple, &data, "mse"),
        "forward did not return a tensor",
    );
    // Modules with nothing to train: `eval` takes them, `train` does not.
    for (name, needle) in [
        ("no-parameters.pt", "(0 parameters, 0 with requires_grad)"),
        ("frozen.pt", "(4 parameters, 0 with requires_grad)"),
        ("detached.pt", "(4 parameters, 4 with requires_grad)"),
    ] {
        let model = odd_file(name);
        let needle = format!(
            "{name}: the model's output does not depend on any trainable parameter {needle}: \
             there is nothing to train"
        );
        cases.train(
            &format!("--model {name}"),
            Task::new(&model, &data, "mse"),
            &needle,
        );
    }
    // Modules that pass both probes and fail on a full batch: the run directory exists by then,
    // and the error is still one line.
    let batch16 = &["--batch-size", "16"];
    for (name, needle, eval) in [
        (
            "first-two-rows.pt",
            "--loss mse: the model's output [2, 1] does not fit the batch's targets [16, 1]",
            true,
        ),
        ("raises-on-batch.pt", "batch too big", true),
        ("nan-output.pt", "epoch 1, batch 1: the loss is NaN", false),
    ] {
        let model = odd_file(name);
        let task = Task {
            extra: batch16,
            ..Task::new(&model, &data, "mse")
        };
        cases.add(&format!("--model {name} (full batch)"), task, needle, eval);
        for c in cases.list.iter_mut().rev().take(1 + eval as usize) {
            c.absent = None;
        }
    }
}

/// `--init` (train) and `--weights` (eval) files that are not a state_dict of the model.
fn init_cases(cases: &mut Cases, odd: &Path) {
    let fx = fixture();
    let (mse, data, _) = base("mse");
    let (ce, ce_data, _) = base("cross-entropy");
    let hidden8 = path(&odd.join("hidden-8.pt"));
    let reference = |loss: &str| path(&fx.dir.join(loss).join("reference.safetensors"));
    let doubled: NamedTensors = read_tensors(Path::new(&reference("mse")))
        .unwrap()
        .iter()
        .map(|(n, t)| (n.clone(), t.to_kind(Kind::Double)))
        .collect();
    let doubled = cases.data("init-double", &doubled);
    // (name, weights, model, data, loss, needle)
    let mut variants: Vec<(String, String, &str, &str, &str, String)> = vec![
        (
            "l1-model-weights".into(),
            reference("l1"),
            &mse,
            &data,
            "mse",
            "state_dict does not fit the model: shape/dtype mismatch: fc2.bias (file Float [2], \
             model Float [1]), fc2.weight (file Float [2, 16], model Float [1, 16])"
                .into(),
        ),
        (
            "16-unit-weights-for-8-unit-model".into(),
            reference("mse"),
            &hidden8,
            &data,
            "mse",
            "shape/dtype mismatch: fc1.bias (file Float [16], model Float [8])".into(),
        ),
        (
            "cross-entropy-model-weights".into(),
            reference("cross-entropy"),
            &mse,
            &data,
            "mse",
            "missing keys: fc1.bias, fc1.weight, fc2.bias, fc2.weight; unexpected keys: \
             body.0.bias"
                .into(),
        ),
        (
            "mse-weights-for-batch-norm-model".into(),
            reference("mse"),
            &ce,
            &ce_data,
            "cross-entropy",
            "missing keys: body.0.bias, body.0.weight".into(),
        ),
        (
            "double-weights".into(),
            doubled,
            &mse,
            &data,
            "mse",
            "shape/dtype mismatch: fc1.bias (file Double [16], model Float [16])".into(),
        ),
        (
            "data-file".into(),
            data.clone(),
            &mse,
            &data,
            "mse",
            "unexpected keys: eval_inputs, eval_targets, inputs, targets".into(),
        ),
        (
            "torchscript-module".into(),
            mse.clone(),
            &mse,
            &data,
            "mse",
            "model.pt: not a valid safetensors file".into(),
        ),
        (
            "torch-save-state-dict".into(),
            path(&fx.dir.join("bad/state_dict.pt")),
            &mse,
            &data,
            "mse",
            "state_dict.pt: not a valid safetensors file".into(),
        ),
    ];
    let valid = std::fs::read(reference("mse")).unwrap();
    for (name, bytes) in truncations(&valid, 4).into_iter().skip(1) {
        let file = cases.file(&format!("init-{name}.safetensors"), &bytes);
        let needle = format!("{}: not a valid safetensors file", file_name(&file));
        variants.push((
            format!("reference-{name}"),
            file,
            &mse,
            &data,
            "mse",
            needle,
        ));
    }
    for (i, (name, weights, model, data, loss, needle)) in variants.iter().enumerate() {
        let task = Task::new(model, data, loss);
        let init = ["--init", weights.as_str()];
        cases.train(
            &format!("--init {name}"),
            Task {
                extra: &init,
                ..task
            },
            needle,
        );
        if i % 2 == 0 {
            let eval = ["--weights", weights.as_str()];
            cases.eval(
                &format!("--weights {name}"),
                Task {
                    extra: &eval,
                    ..task
                },
                needle,
            );
        }
    }
}

/// A finished TorchScript run (2 epochs, checkpoints) on copies of the fixture's mse files in
/// `<dir>/resume-base/`.
fn torchscript_run(dir: &Path) -> (PathBuf, PathBuf) {
    let (model, data, _) = base("mse");
    let files = dir.join("resume-base");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::copy(&model, files.join("model.pt")).unwrap();
    std::fs::copy(&data, files.join("data.safetensors")).unwrap();
    let run = dir.join("resume-base-run");
    let (model, data) = (
        path(&files.join("model.pt")),
        path(&files.join("data.safetensors")),
    );
    let settings = ["--epochs", "2", "--batch-size", "32", "--out", &path(&run)];
    let task = Task::new(&model, &data, "mse");
    let out = run_bin(&[&["train"][..], &task.args(), &settings].concat());
    assert!(out.status.success(), "{}", text(&out));
    (files, run)
}

/// A copy of the base run whose config.json names its own copies of the model and data files,
/// `<dir>/resume-<name>/{model.pt, data.safetensors, run/}`; returns the folder and the run.
fn resume_copy(dir: &Path, files: &Path, base_run: &Path, name: &str) -> (PathBuf, PathBuf) {
    let folder = dir.join(format!("resume-{name}"));
    std::fs::create_dir_all(&folder).unwrap();
    for file in ["model.pt", "data.safetensors"] {
        std::fs::copy(files.join(file), folder.join(file)).unwrap();
    }
    let run = folder.join("run");
    copy_dir(base_run, &run);
    let config = run.join("config.json");
    let text = std::fs::read_to_string(&config).unwrap();
    let moved = text.replace(&path(files), &path(&folder));
    assert_ne!(text, moved, "config.json does not name {}", files.display());
    std::fs::write(&config, moved).unwrap();
    (folder, run)
}

/// Resuming a TorchScript run whose model or data file was deleted, damaged or replaced after
/// it started: a clean error, and the run directory unchanged.
fn resume_cases(cases: &mut Cases, odd: &Path) {
    let dir = cases.dir.clone();
    let (files, base_run) = torchscript_run(&dir);
    // The copies resume as they are (the run is complete: nothing to do, nothing written).
    let (_, control) = resume_copy(&dir, &files, &base_run, "control");
    let out = run_bin(&["train", "--resume", &path(&control)]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("the run is already complete"),
        "{}",
        text(&out)
    );
    let model = std::fs::read(files.join("model.pt")).unwrap();
    let data = std::fs::read(files.join("data.safetensors")).unwrap();
    let data_tensors = read_tensors(&files.join("data.safetensors")).unwrap();
    let fewer: NamedTensors = data_tensors
        .iter()
        .map(|(n, t)| {
            let t = if n == "inputs" || n == "targets" {
                t.narrow(0, 0, 150)
            } else {
                t.shallow_clone()
            };
            (n.clone(), t)
        })
        .collect();
    let no_eval = without(&without(&data_tensors, "eval_inputs"), "eval_targets");
    let nan = with(
        &data_tensors,
        "inputs",
        set_in_sample(&get(&data_tensors, "inputs"), 100, f64::NAN),
    );
    enum Change {
        Delete,
        Bytes(Vec<u8>),
        Tensors(NamedTensors),
        Folder,
    }
    let mut changes: Vec<(String, &str, Change, String)> = vec![
        (
            "model-deleted".into(),
            "model.pt",
            Change::Delete,
            "model.pt: No such file".into(),
        ),
        (
            "model-folder".into(),
            "model.pt",
            Change::Folder,
            "model.pt: Is a directory".into(),
        ),
        (
            "model-other-architecture".into(),
            "model.pt",
            Change::Bytes(std::fs::read(odd.join("hidden-8.pt")).unwrap()),
            "last.safetensors: state_dict does not fit the model: shape/dtype mismatch: fc1.bias \
             (file Float [16], model Float [8])"
                .into(),
        ),
        (
            "model-frozen".into(),
            "model.pt",
            Change::Bytes(std::fs::read(odd.join("frozen.pt")).unwrap()),
            "model.pt: the model's output does not depend on any trainable parameter".into(),
        ),
        (
            "model-batch-mean".into(),
            "model.pt",
            Change::Bytes(std::fs::read(odd.join("batch-mean.pt")).unwrap()),
            "it must return one row per sample".into(),
        ),
        (
            "data-deleted".into(),
            "data.safetensors",
            Change::Delete,
            "data.safetensors: No such file".into(),
        ),
        (
            "data-nan".into(),
            "data.safetensors",
            Change::Tensors(nan),
            "'inputs' [203, 5] holds 1 NaN/infinite value(s), the first (NaN) in sample 100".into(),
        ),
        (
            "data-fewer-samples".into(),
            "data.safetensors",
            Change::Tensors(fewer),
            "data.safetensors now holds 150 training and 61 held-out samples but the run in".into(),
        ),
        (
            "data-no-eval-split".into(),
            "data.safetensors",
            Change::Tensors(no_eval),
            "now holds 203 training samples and no held-out split but the run in".into(),
        ),
    ];
    for (name, bytes) in truncations(&model, 4) {
        changes.push((
            format!("model-{name}"),
            "model.pt",
            Change::Bytes(bytes),
            "model.pt: not a TorchScript module saved by torch.jit.save".into(),
        ));
    }
    let mut rng = Lcg::new(9);
    let mut damaged = truncations(&data, 3);
    damaged.extend(header_corruptions(&mut rng, &data, 1));
    damaged.extend(random_files(&mut rng, 10).into_iter().skip(9));
    for (name, bytes) in damaged {
        changes.push((
            format!("data-{name}"),
            "data.safetensors",
            Change::Bytes(bytes),
            "data.safetensors: not a valid safetensors file".into(),
        ));
    }
    for (name, file, change, needle) in changes {
        let (folder, run) = resume_copy(&dir, &files, &base_run, &name);
        let target = folder.join(file);
        match change {
            Change::Delete => std::fs::remove_file(&target).unwrap(),
            Change::Bytes(bytes) => std::fs::write(&target, bytes).unwrap(),
            Change::Tensors(t) => write_tensors(&target, &t, None).unwrap(),
            Change::Folder => {
                std::fs::remove_file(&target).unwrap();
                std::fs::create_dir(&target).unwrap();
            }
        }
        let mut c = case(
            format!("--resume {name}"),
            &["train", "--resume", &path(&run)],
            needle,
        );
        c.guard = Some(run);
        cases.list.push(c);
    }
}

#[test]
fn malformed_files_give_clean_errors_and_damage_nothing() {
    let dir = tempdir();
    let odd = dir.path().join("odd");
    std::fs::create_dir_all(&odd).unwrap();
    run_python(ODD_MODULES, &[&path(&odd)]);
    let mut cases = Cases::new(dir.path());
    let (mse, mse_file, mse_data) = base("mse");
    damaged_data_cases(&mut cases, &mse, &mse_file);
    nonfinite_cases(&mut cases, &mse, &mse_data);
    dtype_cases(&mut cases);
    class_range_cases(&mut cases);
    shape_cases(&mut cases);
    model_cases(&mut cases, &odd);
    init_cases(&mut cases, &odd);
    resume_cases(&mut cases, &odd);
    let count = run_cases(cases.list);
    report("hardened_files", count);
    assert!(count >= 120, "only {count} cases");
}
