//! `tch-harness compare`: the harness against scripts/reference.py through the built binary (the
//! arithmetic alone is in `compare_rows`).
use std::path::Path;

use crate::common::{assert_clean_error, bin, root, tempdir, text};
use serde_json::{json, Value};

pub fn compare_json(dir: &Path) -> Value {
    let path = dir.join("compare.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// `compare` with `args` (plus a CPU, one thread, 2 epochs) into a fresh folder.
pub fn run_compare(args: &[&str]) -> (tempfile::TempDir, std::process::Output) {
    let dir = tempdir();
    let out = bin()
        .args([
            "compare",
            "--device",
            "cpu",
            "--threads",
            "1",
            "--epochs",
            "2",
        ])
        .args(args)
        .arg("--out")
        .arg(dir.path().join("cmp"))
        .output()
        .expect("the binary starts");
    (dir, out)
}

/// The harness and PyTorch agree exactly: a relative difference of 0, exit status 0, both run
/// directories, the table and the plot.
fn assert_identical(experiment: &str, optimizer: &str) {
    assert_identical_run(&["--experiment", experiment, "--optimizer", optimizer]);
}

/// [`assert_identical`] for any `compare` flags; returns the folder that holds `cmp/`.
pub fn assert_identical_run(args: &[&str]) -> tempfile::TempDir {
    let (dir, out) = run_compare(args);
    assert!(out.status.success(), "{}", text(&out));
    let cmp = dir.path().join("cmp");
    let report = compare_json(&cmp);
    assert_eq!(report["max_rel_diff"], json!(0.0), "{report:#}");
    assert_eq!(report["passed"], json!(true));
    assert_eq!(report["tolerance"], json!(1e-6));
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for row in rows {
        assert!(
            row["train_loss"]["harness"].as_f64().unwrap() > 0.0,
            "{row}"
        );
        assert_eq!(row["train_loss"]["harness"], row["train_loss"]["reference"]);
        assert_eq!(row["eval_loss"]["harness"], row["eval_loss"]["reference"]);
        assert_eq!(
            row["eval_accuracy"]["harness"],
            row["eval_accuracy"]["reference"]
        );
    }
    for run in ["harness", "reference"] {
        assert!(cmp.join(run).join("metrics.jsonl").is_file(), "{run}");
    }
    let png = std::fs::read(cmp.join("losses.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "losses.png is a PNG");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("train loss") && stdout.contains("passed"),
        "{stdout}"
    );
    dir
}

#[test]
fn compare_digits_mlp_sgd() {
    assert_identical("digits-mlp", "sgd");
}

#[test]
fn compare_digits_mlp_adam() {
    assert_identical("digits-mlp", "adam");
}

#[test]
fn compare_linear_regression_sgd() {
    assert_identical("linear-regression", "sgd");
}

#[test]
fn compare_linear_regression_adam() {
    assert_identical("linear-regression", "adam");
}

#[test]
fn compare_breast_cancer_sgd() {
    assert_identical("breast-cancer", "sgd");
}

#[test]
fn compare_breast_cancer_adam() {
    assert_identical("breast-cancer", "adam");
}

/// Non-default flags reach the reference as they reach the harness: a flag lost on the way would
/// make the two runs differ (and the reference's config.json records what it got).
#[test]
fn compare_passes_every_flag_through() {
    let (dir, out) = run_compare(&[
        "--experiment",
        "breast-cancer",
        "--optimizer",
        "adamw",
        "--amsgrad",
        "--beta1",
        "0.8",
        "--beta2",
        "0.99",
        "--eps",
        "1e-6",
        "--weight-decay",
        "0.05",
        "--lr",
        "0.01",
        "--batch-size",
        "50",
        "--seed",
        "9223372036854775809",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let cmp = dir.path().join("cmp");
    assert_eq!(compare_json(&cmp)["max_rel_diff"], json!(0.0));
    let got = reference_config(&cmp);
    assert_eq!(
        got,
        harness_config(&cmp),
        "both sides train one configuration"
    );
    let want = json!({"optimizer": {"kind": "adamw", "amsgrad": true, "betas": [0.8, 0.99],
        "eps": 1e-6, "weight_decay": 0.05, "lr": 0.01}, "batch_size": 50,
        "seed": 9223372036854775809u64, "threads": 1, "epochs": 2, "device": "cpu"});
    assert_holds(&got, &want, "config");

    // SGD's flags, without shuffling, from the weights the first reference run saved.
    let init = cmp.join("reference/model.safetensors");
    let (dir, out) = run_compare(&[
        "--experiment",
        "breast-cancer",
        "--momentum",
        "0.9",
        "--nesterov",
        "--weight-decay",
        "1e-3",
        "--lr",
        "0.02",
        "--no-shuffle",
        "--init",
        init.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let cmp = dir.path().join("cmp");
    assert_eq!(compare_json(&cmp)["max_rel_diff"], json!(0.0));
    let got = reference_config(&cmp);
    assert_eq!(
        got,
        harness_config(&cmp),
        "both sides train one configuration"
    );
    let want = json!({"optimizer": {"kind": "sgd", "momentum": 0.9, "nesterov": true,
        "weight_decay": 1e-3, "lr": 0.02}, "shuffle": false, "init": init.to_str().unwrap()});
    assert_holds(&got, &want, "config");
}

/// Every key of `want` is in `got` with the same value (objects are compared key by key).
fn assert_holds(got: &Value, want: &Value, path: &str) {
    match want.as_object() {
        Some(keys) => {
            for (key, value) in keys {
                assert_holds(&got[key], value, &format!("{path}.{key}"));
            }
        }
        None => assert_eq!(got, want, "{path}"),
    }
}

/// The `config` the harness recorded in its config.json.
pub fn harness_config(cmp: &Path) -> Value {
    let text = std::fs::read_to_string(cmp.join("harness/config.json")).unwrap();
    serde_json::from_str::<Value>(&text).unwrap()["config"].clone()
}

/// The `config` the reference recorded in its config.json.
pub fn reference_config(cmp: &Path) -> Value {
    let text = std::fs::read_to_string(cmp.join("reference/config.json")).unwrap();
    serde_json::from_str::<Value>(&text).unwrap()["config"].clone()
}

/// A stand-in for reference.py: runs the real one, then raises epoch 2's train loss by a relative
/// 1e-5, as a reference that drifted would.
pub const DRIFTING_REFERENCE: &str = r#"
import json, runpy, sys
REAL = "__REFERENCE__"
sys.argv[0] = REAL
runpy.run_path(REAL, run_name="__main__")
path = sys.argv[sys.argv.index("--out") + 1] + "/metrics.jsonl"
records = [json.loads(line) for line in open(path)]
records[1]["train_loss"] *= 1 + 1e-5
with open(path, "w") as f:
    f.writelines(json.dumps(r) + "\n" for r in records)
"#;

#[test]
fn a_difference_beyond_the_tolerance_fails() {
    let dir = tempdir();
    let script = dir.path().join("drifting_reference.py");
    let real = root().join("scripts/reference.py");
    let code = DRIFTING_REFERENCE.replace("__REFERENCE__", real.to_str().unwrap());
    std::fs::write(&script, code).unwrap();
    let script = script.to_str().unwrap();
    let args = ["--experiment", "breast-cancer", "--reference", script];

    let (out_dir, out) = run_compare(&args);
    assert_clean_error(&out, "harness and reference differ");
    let report = compare_json(&out_dir.path().join("cmp"));
    assert_eq!(report["passed"], json!(false));
    let max = report["max_rel_diff"].as_f64().unwrap();
    assert!((0.9e-5..1.1e-5).contains(&max), "{max}");
    assert_eq!(report["rows"][0]["train_loss"]["rel_diff"], json!(0.0));
    assert_eq!(
        report["rows"][1]["train_loss"]["rel_diff"].as_f64(),
        Some(max)
    );
    assert_eq!(report["rows"][1]["eval_loss"]["rel_diff"], json!(0.0));

    // The same drift within a looser tolerance passes.
    let (_, out) = run_compare(&[&args[..], &["--tolerance", "1e-4"]].concat());
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn a_missing_or_broken_python_says_to_run_setup() {
    let (_, out) = run_compare(&["--python", "/nonexistent/.venv/bin/python"]);
    assert_clean_error(&out, "scripts/setup.sh");
    assert_clean_error(&out, "/nonexistent/.venv/bin/python");

    // The real interpreter, with an import of torch that fails.
    let shadow = tempdir();
    std::fs::write(
        shadow.path().join("torch.py"),
        "raise ImportError('torch is broken')\n",
    )
    .unwrap();
    let dir = tempdir();
    let out = bin()
        .env("PYTHONPATH", shadow.path())
        .args(["compare", "--device", "cpu", "--epochs", "1", "--out"])
        .arg(dir.path().join("cmp"))
        .output()
        .unwrap();
    assert_clean_error(&out, "scripts/setup.sh");
    assert_clean_error(&out, "torch is broken");

    let (_, out) = run_compare(&["--tolerance", "-1"]);
    assert_clean_error(&out, "--tolerance must be finite and >= 0");
}
