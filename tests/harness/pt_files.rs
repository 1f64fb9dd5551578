//! PyTorch's own checkpoint files (`torch.save` zip + pickle), read by the harness without
//! Python (writing them: `pt_files_save`): every fixture is made here, at test time, by the
//! project's PyTorch.
use std::path::Path;

use tch_harness::data::read_tensors;
use tch_harness::pt::parse_state_dict;

use crate::bits::assert_named_bits_eq;
use crate::common::{assert_clean_error, read_jsonl, run_bin, run_python, tempdir, text};

/// What a user saves: each dtype, a pair of views sharing one storage (one with an offset), a
/// transposed (non-contiguous) weight, a bare state_dict of a built-in model (OrderedDict with
/// `_metadata`, batch-norm buffers), and a checkpoint dict around it; beside each, the same
/// tensors made contiguous in safetensors, which the harness already reads bit for bit.
const TORCH_SAVE_FIXTURES: &str = r#"
import copy, sys, zipfile
sys.path.insert(0, "scripts")
import torch
from safetensors.torch import save_file
from experiments import make_net

out = sys.argv[1]
torch.manual_seed(3)
base = torch.randn(10)
weight = torch.randn(4, 3)
cases = {
    "f32": torch.randn(2, 3), "f64": torch.randn(5, dtype=torch.float64),
    "f16": torch.randn(3, 2).half(), "bf16": torch.randn(7).bfloat16(),
    "i64": torch.arange(-3, 6, dtype=torch.int64).reshape(3, 3),
    "i32": torch.arange(4, dtype=torch.int32), "u8": torch.arange(250, 256, dtype=torch.uint8),
    "bool": torch.tensor([True, False, True]), "scalar": torch.tensor(2.5),
    "empty": torch.zeros(0, 4),
    "shared_head": base[:4], "shared_tail": base[3:].view(7),
    "offset_view": base[6:9], "transposed": weight.t(), "strided": weight[:, ::2],
    "parameter": torch.nn.Parameter(torch.randn(2)),  # pickled by _rebuild_parameter
}
assert not cases["transposed"].is_contiguous() and cases["offset_view"].storage_offset() == 6
torch.save(cases, f"{out}/cases.pt")
names = zipfile.ZipFile(f"{out}/cases.pt").namelist()
storages = [n for n in names if "/data/" in n]
assert len(storages) == len(cases) - 3, storages  # five views share two storages
save_file({k: v.detach().contiguous().clone() for k, v in cases.items()}, f"{out}/cases.safetensors")

torch.manual_seed(777)
net = make_net("digits-cnn")
sd = net.state_dict()
assert hasattr(sd, "_metadata")
torch.save(sd, f"{out}/init.pt")
save_file({k: v.contiguous() for k, v in sd.items()}, f"{out}/init.safetensors")
frozen = copy.deepcopy(sd)  # sd's tensors are the parameters, which the step below changes
opt = torch.optim.Adam(net.parameters())
net(torch.randn(2, 1, 8, 8)).sum().backward()
opt.step()
torch.save({"model": frozen, "optimizer": opt.state_dict(), "epoch": 3}, f"{out}/checkpoint.pt")
"#;

pub fn fixtures(dir: &Path) {
    run_python(TORCH_SAVE_FIXTURES, &[dir.to_str().unwrap()]);
}

pub fn read_pt(path: &Path, key: Option<&str>) -> Vec<(String, tch::Tensor)> {
    let bytes = std::fs::read(path).unwrap();
    let mut named = parse_state_dict(&bytes, key, path).unwrap();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    named
}

#[test]
fn torch_save_files_read_bit_for_bit() {
    let dir = tempdir();
    let d = dir.path();
    fixtures(d);
    let cases = read_pt(&d.join("cases.pt"), None);
    assert_named_bits_eq(
        "cases.pt",
        &cases,
        &read_tensors(&d.join("cases.safetensors")).unwrap(),
    );
    let init = read_pt(&d.join("init.pt"), None);
    let want = read_tensors(&d.join("init.safetensors")).unwrap();
    assert_named_bits_eq("init.pt", &init, &want);
    let nested = read_pt(&d.join("checkpoint.pt"), Some("model"));
    assert_named_bits_eq("checkpoint.pt [model]", &nested, &want);

    // A checkpoint dict without --init-key, or with a key it lacks: the entries are named.
    let bytes = std::fs::read(d.join("checkpoint.pt")).unwrap();
    let origin = d.join("checkpoint.pt");
    let error = parse_state_dict(&bytes, None, &origin)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("--init-key") && error.contains("model, optimizer, epoch"),
        "{error}"
    );
    let error = parse_state_dict(&bytes, Some("state"), &origin)
        .unwrap_err()
        .to_string();
    assert!(error.contains("no such entry"), "{error}");
    let error = parse_state_dict(&bytes, Some("epoch"), &origin)
        .unwrap_err()
        .to_string();
    assert!(error.contains("holds a int"), "{error}");
}

pub fn train(d: &Path, out: &str, extra: &[&str]) -> std::process::Output {
    let out = d.join(out);
    let mut args = vec!["train", "--experiment", "digits-cnn", "--epochs", "1"];
    args.extend([
        "--device",
        "cpu",
        "--threads",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    args.extend(extra);
    run_bin(&args)
}

/// Training from `torch.save`'s file (bare, and a checkpoint dict with `--init-key`) is training
/// from the same weights in safetensors: the same epoch, bit for bit.
#[test]
fn train_init_from_torch_save_equals_safetensors() {
    let dir = tempdir();
    let d = dir.path();
    fixtures(d);
    let path = |name: &str| d.join(name).to_str().unwrap().to_string();
    let runs = [
        ("st", vec!["--init".to_string(), path("init.safetensors")]),
        ("pt", vec!["--init".to_string(), path("init.pt")]),
        (
            "key",
            vec![
                "--init".into(),
                path("checkpoint.pt"),
                "--init-key".into(),
                "model".into(),
            ],
        ),
    ];
    let mut results = Vec::new();
    for (out, extra) in &runs {
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let run = train(d, out, &extra);
        assert!(run.status.success(), "{}", text(&run));
        let metrics = read_jsonl(&d.join(out).join("metrics.jsonl"));
        let weights = std::fs::read(d.join(out).join("model.safetensors")).unwrap();
        results.push((
            metrics[0]["train_loss"].clone(),
            metrics[0]["eval_loss"].clone(),
            weights,
        ));
    }
    for (i, what) in [
        (1, "--init init.pt"),
        (2, "--init checkpoint.pt --init-key model"),
    ] {
        let (a, b) = (&results[0], &results[i]);
        assert_eq!((&a.0, &a.1), (&b.0, &b.1), "{what}: epoch losses");
        assert!(a.2 == b.2, "{what}: model.safetensors differs");
    }

    // eval --weights shares the reader.
    let eval = |weights: &str| {
        let args = [
            "eval",
            "--experiment",
            "digits-cnn",
            "--device",
            "cpu",
            "--json",
        ];
        let out = run_bin(&[&args[..], &["--weights", &path(weights)]].concat());
        assert!(out.status.success(), "{}", text(&out));
        out.stdout
    };
    assert_eq!(eval("init.safetensors"), eval("init.pt"));
}

/// Hand-made hostile pickles (protocol 2) in a torch.save-shaped zip, and broken files.
const HOSTILE: &str = r#"
import sys, zipfile
out = sys.argv[1]
def archive(path, pickle_bytes):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pickle_bytes)
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/version", "3\n")
archive(f"{out}/os_system.pt", b"\x80\x02cos\nsystem\n" + b"X\x0b\x00\x00\x00touch PWNED\x85R.")
archive(f"{out}/eval.pt", b"\x80\x02cbuiltins\neval\nX\x0a\x00\x00\x00__import__\x85R.")
archive(f"{out}/garbage.pt", b"\x80\x02\xff\xff")
import torch
torch.save({"w": torch.ones(2)}, f"{out}/legacy.pt", _use_new_zipfile_serialization=False)
with zipfile.ZipFile(f"{out}/no_pickle.pt", "w") as z:
    z.writestr("archive/byteorder", "little")
"#;

#[test]
fn hostile_truncated_and_malformed_files_are_one_line_errors() {
    let dir = tempdir();
    let d = dir.path();
    run_python(HOSTILE, &[d.to_str().unwrap()]);
    fixtures(d);
    let bytes = std::fs::read(d.join("init.pt")).unwrap();
    std::fs::write(d.join("truncated.pt"), &bytes[..bytes.len() / 2]).unwrap();
    std::fs::write(d.join("cut_short.pt"), &bytes[..bytes.len() - 30]).unwrap();
    let cases = [
        ("os_system.pt", "refused global os.system"),
        ("eval.pt", "refused global builtins.eval"),
        ("garbage.pt", "data.pkl: pickle opcode 0xff"),
        ("no_pickle.pt", "no <name>/data.pkl"),
        ("legacy.pt", "legacy format (before PyTorch 1.6)"),
        ("truncated.pt", "not a valid torch.save zip archive"),
        ("cut_short.pt", "not a valid torch.save zip archive"),
    ];
    for (file, needle) in cases {
        let out_dir = format!("run-{file}");
        let init = d.join(file);
        let out = train(d, &out_dir, &["--init", init.to_str().unwrap()]);
        assert_clean_error(&out, needle);
        assert_clean_error(&out, file);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(
            !d.join(&out_dir).exists(),
            "{file}: a run directory was written"
        );
    }
    assert!(!Path::new("PWNED").exists() && !d.join("PWNED").exists());
    let out = train(d, "bad-format", &["--save-format", "zip"]);
    assert_clean_error(
        &out,
        "invalid --save-format 'zip' (expected safetensors or pt)",
    );
    let out = train(d, "no-init", &["--init-key", "model"]);
    assert_clean_error(&out, "--init-key needs --init");
    let st = d.join("init.safetensors");
    let out = train(
        d,
        "st-key",
        &["--init", st.to_str().unwrap(), "--init-key", "model"],
    );
    assert_clean_error(&out, "--init-key model applies to a torch.save file");
}
