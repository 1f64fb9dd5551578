//! `compare --model/--data/--loss` (a user's TorchScript model against scripts/reference.py,
//! with shuffling) and `diff` (two existing runs, one of them a plain Python run).
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{json, Value};
use tch_harness::data::read_tensors;

use crate::common::{assert_clean_error, python, read_jsonl, run_bin, run_python, tempdir, text};
use crate::compare::{assert_identical_run, compare_json, reference_config};
use crate::own_fixture::path;

/// Writes `<out>/mlp/` (a TorchScript MLP with dropout, 4 classes; also `train_only.safetensors`,
/// the data without its eval split) and `<out>/cnn/` (scripts/export_experiment.py's `SmallCnn`:
/// conv, batch norm, max-pool, 3 classes, on noise images classed by their left half; also
/// `init.safetensors`, other parameters for it without its batch-norm buffers, as the harness
/// saves a state_dict). 203 training samples (12 batches of 16 and one of 11), 61 held out.
const GENERATE: &str = r#"
import os, sys
sys.path.insert(0, "scripts")
import torch, torch.nn as nn
from safetensors.torch import save_file
from export_experiment import SmallCnn, export

out = sys.argv[1]
torch.manual_seed(0)
g = torch.Generator().manual_seed(1)
x = torch.randn(203 + 61, 10, generator=g)
y = (x @ torch.randn(10, 4, generator=g)).argmax(1)
# Dropout draws its masks from the global generator, reseeded by each epoch's shuffle on both sides.
mlp = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 4))
export(mlp, x[:203], y[:203], x[203:], y[203:], out_dir=os.path.join(out, "mlp"))
save_file({"inputs": x[:203], "targets": y[:203]}, os.path.join(out, "mlp", "train_only.safetensors"))
xi = torch.randn(203 + 61, 1, 8, 8, generator=g)
yi = (xi[:, 0, :, :4].mean((1, 2)) * 6).round().clamp(-1, 1).long() + 1  # brightness of the left half
export(SmallCnn(), xi[:203], yi[:203], xi[203:], yi[203:], out_dir=os.path.join(out, "cnn"))
params = {k: v.detach().contiguous() for k, v in SmallCnn().named_parameters()}
save_file(params, os.path.join(out, "cnn", "init.safetensors"))
"#;

/// The fixture folder (generated on first use).
fn fixture() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("compare_own");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("fixture dir");
        run_python(GENERATE, &[&path(&dir)]);
        dir
    })
}

/// `--model <name>/model.pt --data <name>/<data> --loss cross-entropy --batch-size 16`.
fn own(name: &str, data: &str) -> Vec<String> {
    let dir = fixture().join(name);
    let model = path(&dir.join("model.pt"));
    let data = path(&dir.join(data));
    [
        "--model",
        &model,
        "--data",
        &data,
        "--loss",
        "cross-entropy",
    ]
    .into_iter()
    .chain(["--batch-size", "16"])
    .map(String::from)
    .collect()
}

/// `compare` on a TorchScript model with shuffling on: a relative difference of 0, the reference
/// recorded as experiment `torchscript`, and the same final parameters to the bit.
fn assert_own_identical(name: &str, data: &str, extra: &[&str]) -> Value {
    let args = own(name, data);
    let args: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .chain(extra.iter().copied())
        .collect();
    let dir = assert_identical_run(&args);
    let cmp = dir.path().join("cmp");
    let reference = reference_config(&cmp);
    assert_eq!(reference["experiment"], json!("torchscript"));
    assert_eq!(reference["shuffle"], json!(true));
    let harness = read_tensors(&cmp.join("harness/model.safetensors")).unwrap();
    let python = read_tensors(&cmp.join("reference/model.safetensors")).unwrap();
    let names = |t: &[(String, tch::Tensor)]| t.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&harness), names(&python));
    for ((name, h), (_, p)) in harness.iter().zip(&python) {
        assert!(h.equal(p), "final {name} differs");
    }
    compare_json(&cmp)
}

#[test]
fn compare_torchscript_mlp_sgd_momentum() {
    assert_own_identical("mlp", "data.safetensors", &["--momentum", "0.9"]);
}

#[test]
fn compare_torchscript_mlp_adam() {
    assert_own_identical(
        "mlp",
        "data.safetensors",
        &["--optimizer", "adam", "--lr", "0.01"],
    );
}

#[test]
fn compare_torchscript_cnn_sgd_momentum() {
    assert_own_identical("cnn", "data.safetensors", &["--momentum", "0.9"]);
}

/// Also `--init` with parameters only: the batch-norm buffers keep the module's own values on both
/// sides.
#[test]
fn compare_torchscript_cnn_adam_from_init() {
    let init = path(&fixture().join("cnn/init.safetensors"));
    let args = ["--optimizer", "adam", "--lr", "0.01", "--init", &init];
    assert_own_identical("cnn", "data.safetensors", &args);
}

/// No eval split: neither side records an eval loss.
#[test]
fn compare_torchscript_without_eval_split() {
    let report = assert_own_identical("mlp", "train_only.safetensors", &[]);
    for row in report["rows"].as_array().unwrap() {
        assert_eq!(row["eval_loss"]["harness"], Value::Null, "{row}");
        assert_eq!(row["eval_loss"]["reference"], Value::Null, "{row}");
    }
}

/// `--loss` replaces a built-in experiment's criterion on the reference side too (MSE has no
/// accuracy, so neither side records one).
#[test]
fn compare_builtin_with_loss_override() {
    let dir = assert_identical_run(&["--experiment", "breast-cancer", "--loss", "mse"]);
    let cmp = dir.path().join("cmp");
    assert_eq!(reference_config(&cmp)["loss"], json!("mse"));
    for row in compare_json(&cmp)["rows"].as_array().unwrap() {
        assert_eq!(row["eval_accuracy"]["reference"], Value::Null, "{row}");
    }
}

/// The use `diff` is for: a harness run and a plain PyTorch run (scripts/reference.py run by hand)
/// of the same experiment, then the same Python run with one value moved by a relative 1e-5.
#[test]
fn diff_of_a_harness_run_and_a_python_run() {
    let dir = tempdir();
    let (a, b) = (dir.path().join("harness-run"), dir.path().join("py-run"));
    let mut flags = own("mlp", "data.safetensors");
    flags.extend(
        [
            "--epochs",
            "2",
            "--device",
            "cpu",
            "--threads",
            "1",
            "--seed",
            "3",
        ]
        .map(String::from),
    );
    let train = [&["train".to_string(), "--out".into(), path(&a)][..], &flags].concat();
    let out = run_bin(&train.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.status.success(), "{}", text(&out));
    let out = python()
        .arg("scripts/reference.py")
        .args(&flags)
        .arg("--out")
        .arg(&b)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));

    let out = run_bin(&["diff", &path(&a), &path(&b)]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("run A") && stdout.contains("passed"),
        "{stdout}"
    );
    let report_dir = a.join("diff-py-run");
    let report = compare_json(&report_dir);
    assert_eq!(report["max_rel_diff"], json!(0.0), "{report:#}");
    assert_eq!(report["command"], json!("diff"));
    assert_eq!(report["rows"].as_array().unwrap().len(), 2);
    let png = std::fs::read(report_dir.join("losses.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"));

    // The Python run's epoch 2 train loss, 1e-5 off.
    let perturbed = dir.path().join("py-run-perturbed");
    std::fs::create_dir(&perturbed).unwrap();
    let mut records = read_jsonl(&b.join("metrics.jsonl"));
    let loss = records[1]["train_loss"].as_f64().unwrap();
    records[1]["train_loss"] = json!(loss * (1.0 + 1e-5));
    let lines: String = records.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(perturbed.join("metrics.jsonl"), lines).unwrap();
    let out_dir = dir.path().join("report");
    let args = [
        "diff",
        &path(&a),
        &path(&perturbed),
        "--out",
        &path(&out_dir),
    ];
    assert_clean_error(&run_bin(&args), "run A and run B differ");
    let max = compare_json(&out_dir)["max_rel_diff"].as_f64().unwrap();
    assert!((0.9e-5..1.1e-5).contains(&max), "{max}");
    // Within a looser tolerance it passes, into the same --out (diff replaces its own report);
    // without a Python there is no plot, only a warning.
    let loose = [
        &args[..],
        &["--tolerance", "1e-3", "--python", "/nonexistent/python"],
    ]
    .concat();
    let out = run_bin(&loose);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("warning: no losses.png"),
        "{}",
        text(&out)
    );
    assert!(
        !out_dir.join("losses.png").exists(),
        "a stale plot was left"
    );
    assert_eq!(compare_json(&out_dir)["passed"], json!(true));
}

/// Missing folders and files, torn lines, unequal runs and a foreign report: one line each.
#[test]
fn diff_errors_are_one_line() {
    let dir = tempdir();
    let run = |name: &str, metrics: Option<&str>| {
        let d = dir.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        if let Some(m) = metrics {
            std::fs::write(d.join("metrics.jsonl"), m).unwrap();
        }
        path(&d)
    };
    let two = "{\"epoch\":1,\"train_loss\":0.5}\n{\"epoch\":2,\"train_loss\":0.25}\n";
    let good = run("good", Some(two));
    let cases = [
        (path(&dir.path().join("nowhere")), "no such run directory"),
        (run("empty-dir", None), "has no metrics.jsonl"),
        (run("empty-file", Some("\n")), "holds no epochs"),
        (
            run("torn", Some(&two[..two.len() - 8])),
            "line 2 is not a whole JSON record",
        ),
        (
            run("short", Some(&two[..two.find('\n').unwrap() + 1])),
            "run A recorded 2 epochs but run B 1",
        ),
        (
            run("no-loss", Some("{\"epoch\":1}\n{\"epoch\":2}\n")),
            "no numeric train_loss",
        ),
    ];
    for (b, needle) in &cases {
        assert_clean_error(&run_bin(&["diff", &good, b]), needle);
    }
    assert_clean_error(
        &run_bin(&["diff", &good, &good, "--tolerance", "-1"]),
        "--tolerance must be finite and >= 0",
    );
    let foreign = run("cmp", Some(""));
    std::fs::write(
        Path::new(&foreign).join("compare.json"),
        "{\"passed\": true}",
    )
    .unwrap();
    assert_clean_error(
        &run_bin(&["diff", &good, &good, "--out", &foreign]),
        "already holds a compare.json that diff did not write",
    );
}
