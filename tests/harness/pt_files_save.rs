//! `--save-format pt`: the harness's model.pth, checked by PyTorch itself, through `compare` and
//! after a resume (the reading side is in `pt_files`).
use tch_harness::data::read_tensors;

use crate::bits::assert_named_bits_eq;
use crate::common::{run_bin, run_python, tempdir, text};
use crate::compare::assert_identical_run;
use crate::pt_files::{fixtures, read_pt, train};
/// `--save-format pt`'s model.pth, checked by PyTorch itself:
/// ```python
/// sd = torch.load(path, weights_only=True); net.load_state_dict(sd, strict=True)
/// ```
/// and every tensor's bytes equal model.safetensors'; entries stored, data 64-byte aligned.
const LOAD_IN_PYTORCH: &str = r#"
import struct, sys, zipfile
sys.path.insert(0, "scripts")
import torch
from safetensors.torch import load_file
from experiments import make_net

run = sys.argv[1]
sd = torch.load(f"{run}/model.pth", weights_only=True)
net = make_net("digits-cnn")
print(net.load_state_dict(sd, strict=True))
st = load_file(f"{run}/model.safetensors")
assert sorted(sd) == sorted(st), (sorted(sd), sorted(st))
for k, v in st.items():
    assert sd[k].dtype == v.dtype and sd[k].shape == v.shape, k
    assert sd[k].reshape(-1).view(torch.uint8).equal(v.reshape(-1).view(torch.uint8)), k
raw = open(f"{run}/model.pth", "rb").read()
z = zipfile.ZipFile(f"{run}/model.pth")
for info in z.infolist():
    assert info.compress_type == zipfile.ZIP_STORED, info.filename
    name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len
    assert start % 64 == 0, (info.filename, start)
assert z.read("model/byteorder") == b"little" and z.read("model/version") == b"3\n"
print("ok", len(st))
"#;

#[test]
fn save_format_pt_loads_in_pytorch() {
    let dir = tempdir();
    let d = dir.path();
    let run = train(d, "run", &["--save-format", "pt"]);
    assert!(run.status.success(), "{}", text(&run));
    let report = run_python(LOAD_IN_PYTORCH, &[d.join("run").to_str().unwrap()]);
    assert!(report.contains("All keys matched successfully"), "{report}");
    assert!(report.contains("ok 18"), "{report}"); // digits-cnn: 18 tensors
                                                   // The default writes safetensors only.
    let plain = train(d, "plain", &[]);
    assert!(plain.status.success(), "{}", text(&plain));
    assert!(!d.join("plain/model.pth").exists());
}

/// `compare` with a torch.save checkpoint: reference.py loads it with
/// `torch.load(path, weights_only=True)[key]`, the harness with its own reader; the runs agree
/// bit for bit, and each side's model.pth (the harness's writer, PyTorch's torch.save) holds the
/// same tensors:
/// ```python
/// a, b = (torch.load(p, weights_only=True) for p in paths); all(torch.equal(a[k], b[k]) for k in a)
/// ```
#[test]
fn compare_from_a_torch_save_checkpoint_is_bit_identical() {
    let fixture = tempdir();
    fixtures(fixture.path());
    let checkpoint = fixture.path().join("checkpoint.pt");
    let args = [
        "--experiment",
        "digits-cnn",
        "--init",
        checkpoint.to_str().unwrap(),
    ];
    let dir = assert_identical_run(
        &[&args[..], &["--init-key", "model", "--save-format", "pt"]].concat(),
    );
    let cmp = dir.path().join("cmp");
    let same = run_python(
        r#"
import sys, torch
a, b = (torch.load(f"{sys.argv[1]}/{side}/model.pth", weights_only=True) for side in ("harness", "reference"))
assert sorted(a) == sorted(b), (sorted(a), sorted(b))
for k in a:
    assert a[k].dtype == b[k].dtype and a[k].reshape(-1).view(torch.uint8).equal(b[k].reshape(-1).view(torch.uint8)), k
print("same", len(a))
"#,
        &[cmp.to_str().unwrap()],
    );
    assert!(same.contains("same 18"), "{same}");
}

/// A resumed run keeps `--save-format pt` (config.json's `save_format`): its end writes model.pth
/// again, equal to the new model.safetensors.
#[test]
fn a_resumed_run_writes_model_pth_again() {
    let dir = tempdir();
    let run = dir.path().join("run");
    let args = [
        "train",
        "--experiment",
        "digits-mlp",
        "--epochs",
        "1",
        "--device",
        "cpu",
    ];
    let first = run_bin(
        &[
            &args[..],
            &["--save-format", "pt", "--out", run.to_str().unwrap()],
        ]
        .concat(),
    );
    assert!(first.status.success(), "{}", text(&first));
    let before = std::fs::read(run.join("model.pth")).unwrap();
    let config_path = run.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config_path).unwrap()).unwrap();
    config["config"]["epochs"] = serde_json::json!(2);
    std::fs::write(&config_path, config.to_string()).unwrap();
    let resumed = run_bin(&["train", "--resume", run.to_str().unwrap()]);
    assert!(resumed.status.success(), "{}", text(&resumed));
    let after = std::fs::read(run.join("model.pth")).unwrap();
    assert_ne!(before, after, "model.pth is the 2-epoch model");
    let pth = read_pt(&run.join("model.pth"), None);
    let st = read_tensors(&run.join("model.safetensors")).unwrap();
    assert_named_bits_eq("resumed model.pth", &pth, &st);
}
