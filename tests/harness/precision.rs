//! `--precision bf16-mixed | 16-mixed`: autocast around the forward pass and the criterion, bit
//! for bit with `torch.autocast` — op by op against PyTorch (the shim's state, TorchScript
//! modules too), then whole runs against scripts/reference.py for every built-in experiment,
//! `eval` against PyTorch's own eval loss (its refusals: `precision_refusals.rs`).
use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};
use tch::{Device, Kind, Reduction, Tensor};
use tch_harness::autocast::AutocastGuard;
use tch_harness::data::read_tensors;

use crate::bits::assert_bits_eq;
use crate::common::{read_jsonl, run_bin, run_python, tempdir, text};
use crate::compare::{assert_identical_run, compare_json, reference_config};

const MIXED: [(&str, &str, Kind); 2] = [
    ("bf16-mixed", "bf16", Kind::BFloat16),
    ("16-mixed", "f16", Kind::Half),
];

/// PyTorch's ops under `torch.autocast("cpu", dtype)` for both dtypes, into `argv[1]`
/// (safetensors: inputs, then `<dtype>.<op>` outputs in the dtype autocast gave them), and the
/// losses' `.item()` as JSON. Two TorchScript modules (`argv[2]/scripted.pt`, `traced.pt`) are
/// loaded per dtype and called three times each under autocast (past the profiling runs of the JIT
/// executor).
const TORCH_AUTOCAST: &str = r#"
import json, os, sys
import torch, torch.nn as nn, torch.nn.functional as F
from safetensors.torch import save_file
torch.manual_seed(0)
x, t = torch.randn(6, 10), torch.randn(6, 4)
w, b = torch.randn(4, 10, requires_grad=True), torch.randn(4, requires_grad=True)
img, cw = torch.randn(2, 3, 8, 8), torch.randn(5, 3, 3, 3)
y = torch.tensor([0, 1, 2, 3, 0, 1])
net = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3))
torch.jit.script(net).save(os.path.join(sys.argv[2], "scripted.pt"))
torch.jit.trace(net, x[:2]).save(os.path.join(sys.argv[2], "traced.pt"))
out = {"x": x, "t": t, "w": w, "b": b, "img": img, "cw": cw, "y": y}
items = {}
for name, dtype in [("bf16", torch.bfloat16), ("f16", torch.float16)]:
    # Loaded afresh per dtype, as the harness does: the JIT executor specialises on its first runs.
    modules = {m: torch.jit.load(os.path.join(sys.argv[2], m + ".pt")) for m in ("scripted", "traced")}
    with torch.autocast("cpu", dtype=dtype):
        lin = F.linear(x, w, b)
        ops = {"linear": lin, "matmul": x @ w.t(), "conv2d": F.conv2d(img, cw),
               "softmax": lin.softmax(1), "log_softmax": F.log_softmax(lin, 1),
               "relu": torch.relu(lin), "cross_entropy": F.cross_entropy(lin, y),
               "mse": F.mse_loss(lin, t),
               "bce_with_logits": F.binary_cross_entropy_with_logits(lin, t.sigmoid())}
        for m, module in modules.items():
            for call in range(3):
                ops[f"{m}{call}"] = module(x)
    for op, value in ops.items():
        out[f"{name}.{op}"] = value
    items[name] = {op: ops[op].item() for op in ("cross_entropy", "mse", "bce_with_logits")}
save_file({k: v.detach().contiguous() for k, v in out.items()}, sys.argv[1])
print(json.dumps(items))
"#;

/// The same ops through tch inside the shim's autocast region.
fn harness_ops(tensors: &BTreeMap<String, Tensor>, dir: &Path) -> BTreeMap<String, Tensor> {
    let get = |name: &str| tensors[name].shallow_clone();
    let (x, t, y) = (get("x"), get("t"), get("y"));
    // Leaf weights that require grad: what autocast's cast cache keeps, as for a model's.
    let (w, b) = (
        get("w").set_requires_grad(true),
        get("b").set_requires_grad(true),
    );
    let lin = x.linear(&w, Some(&b));
    let mut ops = BTreeMap::from([
        ("matmul".to_string(), x.matmul(&w.tr())),
        (
            "conv2d".to_string(),
            get("img").conv2d(&get("cw"), None::<Tensor>, [1, 1], [0, 0], [1, 1], 1),
        ),
        ("softmax".to_string(), lin.softmax(1, None)),
        ("log_softmax".to_string(), lin.log_softmax(1, None)),
        ("relu".to_string(), lin.relu()),
        (
            "cross_entropy".to_string(),
            lin.cross_entropy_loss::<Tensor>(&y, None, Reduction::Mean, -100, 0.0),
        ),
        ("mse".to_string(), lin.mse_loss(&t, Reduction::Mean)),
        (
            "bce_with_logits".to_string(),
            lin.binary_cross_entropy_with_logits::<Tensor>(
                &t.sigmoid(),
                None,
                None,
                Reduction::Mean,
            ),
        ),
    ]);
    for module in ["scripted", "traced"] {
        let loaded = tch::CModule::load(dir.join(format!("{module}.pt"))).unwrap();
        for call in 0..3 {
            ops.insert(format!("{module}{call}"), loaded.forward_ts(&[&x]).unwrap());
        }
    }
    ops.insert("linear".to_string(), lin);
    ops
}

/// Every op comes out of the shim's autocast in the dtype `torch.autocast` gives it (a matmul,
/// a linear, a conv in the half type; softmax too on the CPU; the losses in float32), with
/// PyTorch's bits — TorchScript modules included — and a loss's `double_value` is its `.item()`.
#[test]
fn ops_under_autocast_are_torch_autocasts_bit_for_bit() {
    let dir = tempdir();
    let file = dir.path().join("ops.safetensors");
    let items = run_python(
        TORCH_AUTOCAST,
        &[file.to_str().unwrap(), dir.path().to_str().unwrap()],
    );
    let items: Value = serde_json::from_str(items.trim()).unwrap();
    let tensors: BTreeMap<String, Tensor> = read_tensors(&file).unwrap().into_iter().collect();
    for (_, name, half) in MIXED {
        let ops = {
            let _region = AutocastGuard::enter(Device::Cpu, half).unwrap();
            harness_ops(&tensors, dir.path())
        };
        for (op, value) in &ops {
            assert_bits_eq(
                &format!("{name}.{op}"),
                value,
                &tensors[&format!("{name}.{op}")],
            );
        }
        assert_eq!(ops["linear"].kind(), half, "a linear is cast down");
        assert_eq!(ops["scripted2"].kind(), half, "TorchScript ops are cast");
        assert_eq!(
            ops["cross_entropy"].kind(),
            Kind::Float,
            "a loss stays float32"
        );
        for loss in ["cross_entropy", "mse", "bce_with_logits"] {
            let item = items[name][loss].as_f64().unwrap();
            assert_eq!(
                ops[loss].double_value(&[]).to_bits(),
                item.to_bits(),
                "{name}.{loss}"
            );
        }
    }
    let x = &tensors["x"];
    assert_eq!(x.matmul(&x.tr()).kind(), Kind::Float, "off again outside");
}

/// `compare --precision P` for both mixed precisions, plain and with `--accumulate 3
/// --clip-grad-norm 0.5`: relative difference 0, both sides recording the precision, and the two
/// half types giving different losses (autocast acts). Returns the bf16 plain run's folder.
fn assert_mixed_parity(experiment: &str) -> tempfile::TempDir {
    let mut plain_bf16 = None;
    for extra in [
        &[][..],
        &["--accumulate", "3", "--clip-grad-norm", "0.5"][..],
    ] {
        let mut first_losses = Vec::new();
        for (precision, _, _) in MIXED {
            let base = ["--experiment", experiment, "--precision", precision];
            let dir = assert_identical_run(&[&base[..], extra].concat());
            let cmp = dir.path().join("cmp");
            assert_eq!(reference_config(&cmp)["precision"], json!(precision));
            first_losses.push(compare_json(&cmp)["rows"][0]["train_loss"]["harness"].clone());
            // 16-mixed turns a GradScaler on with PyTorch's defaults (Lightning's choice), on both
            // sides; bf16-mixed has none.
            for side in ["harness", "reference"] {
                let first = &read_jsonl(&cmp.join(side).join("metrics.jsonl"))[0];
                assert_eq!(
                    first.get("loss_scale").is_some(),
                    *precision == *"16-mixed",
                    "{side} {precision}: {first}"
                );
            }
            if extra.is_empty() && plain_bf16.is_none() {
                plain_bf16 = Some(dir);
            }
        }
        assert_ne!(first_losses[0], first_losses[1], "{experiment} {extra:?}");
    }
    plain_bf16.unwrap()
}

#[test]
fn mixed_precision_parity_linear_regression() {
    assert_mixed_parity("linear-regression");
}

#[test]
fn mixed_precision_parity_breast_cancer() {
    assert_mixed_parity("breast-cancer");
}

/// Also `eval --precision bf16-mixed` of PyTorch's final weights: PyTorch's own last eval loss
/// and accuracy, to the bit.
#[test]
fn mixed_precision_parity_digits_mlp_and_eval() {
    let dir = assert_mixed_parity("digits-mlp");
    let cmp = dir.path().join("cmp");
    let weights = cmp.join("reference/model.safetensors");
    let out = run_bin(&[
        "eval",
        "--experiment",
        "digits-mlp",
        "--weights",
        weights.to_str().unwrap(),
        "--precision",
        "bf16-mixed",
        "--device",
        "cpu",
        "--threads",
        "1",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let last = read_jsonl(&cmp.join("reference/metrics.jsonl"))
        .pop()
        .unwrap();
    assert_eq!(report["loss"], last["eval_loss"]);
    assert_eq!(report["accuracy"], last["eval_accuracy"]);
}

#[test]
fn mixed_precision_parity_digits_cnn() {
    assert_mixed_parity("digits-cnn");
}

#[test]
fn mixed_precision_parity_cmudict_gru() {
    assert_mixed_parity("cmudict-gru");
}

/// A user's TorchScript model (scripted and traced) trains under autocast on both sides alike.
#[test]
fn mixed_precision_parity_torchscript_models() {
    let dir = tempdir();
    let export = r#"
import os, sys
sys.path.insert(0, "scripts")
import torch, torch.nn as nn
from export_experiment import export
torch.manual_seed(0)
x, w = torch.randn(203 + 61, 10), torch.randn(10, 4)
y = (x @ w).argmax(1)
for method in ("script", "trace"):
    net = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 4))
    export(net, x[:203], y[:203], x[203:], y[203:], os.path.join(sys.argv[1], method), method)
"#;
    run_python(export, &[dir.path().to_str().unwrap()]);
    for method in ["script", "trace"] {
        let model = dir.path().join(method).join("model.pt");
        let data = dir.path().join(method).join("data.safetensors");
        let (model, data) = (model.to_str().unwrap(), data.to_str().unwrap());
        let flags = ["--model", model, "--data", data, "--loss", "cross-entropy"];
        assert_identical_run(&[&flags[..], &["--precision", "bf16-mixed"]].concat());
    }
}
