//! `tch-harness compare`: the harness against scripts/reference.py through the built binary, and
//! the comparison's arithmetic on its own.
use std::path::Path;

use serde_json::{json, Value};
use tch_harness::compare::{compare_records, relative_difference};

use crate::common::{assert_clean_error, bin, root, tempdir, text};

fn compare_json(dir: &Path) -> Value {
    let path = dir.join("compare.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// `compare` with `args` (plus a CPU, one thread, 2 epochs) into a fresh folder.
fn run_compare(args: &[&str]) -> (tempfile::TempDir, std::process::Output) {
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
    let (dir, out) = run_compare(&["--experiment", experiment, "--optimizer", optimizer]);
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

/// A stand-in for reference.py: runs the real one, then raises epoch 2's train loss by a relative
/// 1e-5, as a reference that drifted would.
const DRIFTING_REFERENCE: &str = r#"
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

fn record(epoch: u64, train: f64, eval: f64, acc: Option<f64>) -> Value {
    let mut r = json!({ "epoch": epoch, "train_loss": train, "eval_loss": eval });
    if let Some(acc) = acc {
        r["eval_accuracy"] = json!(acc);
    }
    r
}

/// The arithmetic: 0 for equal values, one ulp is a (tiny) difference, a value missing on one side
/// or not finite is an infinite one, and mismatched epochs are an error.
#[test]
fn comparison_of_perturbed_rows() {
    assert_eq!(relative_difference(0.0, -0.0), 0.0);
    assert_eq!(relative_difference(1.0, 2.0), 0.5);
    assert_eq!(relative_difference(-4.0, 4.0), 2.0);
    assert_eq!(relative_difference(f64::NAN, f64::NAN), f64::INFINITY);
    assert_eq!(relative_difference(1.0, f64::INFINITY), f64::INFINITY);

    let base: Vec<Value> = (1..=3)
        .map(|e| record(e, 1.0 / e as f64, 0.3 + e as f64, Some(0.9)))
        .collect();
    let same = compare_records(&base, &base, 0.0).unwrap();
    assert_eq!(same.max_rel_diff(), 0.0);
    assert!(same.passed());
    assert_eq!(same.to_json()["rows"].as_array().unwrap().len(), 3);

    // One ulp in epoch 2's train loss: within 1e-6, not within 0.
    let mut ulp = base.clone();
    let bumped = f64::from_bits((0.5f64).to_bits() + 1);
    ulp[1]["train_loss"] = json!(bumped);
    let c = compare_records(&base, &ulp, 1e-6).unwrap();
    assert_eq!(c.max_rel_diff(), (bumped - 0.5) / bumped);
    assert!(c.passed());
    assert_eq!(c.rows[1].train_loss.abs_diff(), Some(bumped - 0.5));
    assert!(!compare_records(&base, &ulp, 0.0).unwrap().passed());

    // Accuracy counts too.
    let mut acc = base.clone();
    acc[2]["eval_accuracy"] = json!(0.8);
    let c = compare_records(&base, &acc, 1e-6).unwrap();
    assert!(!c.passed());
    assert!((c.max_rel_diff() - 0.1 / 0.9).abs() < 1e-15);

    // A value one side lacks fails, and is null in the JSON.
    let no_acc: Vec<Value> = (1..=3)
        .map(|e| record(e, 1.0 / e as f64, 0.3 + e as f64, None))
        .collect();
    let c = compare_records(&base, &no_acc, 1.0).unwrap();
    assert_eq!(c.max_rel_diff(), f64::INFINITY);
    assert!(!c.passed());
    assert_eq!(c.to_json()["max_rel_diff"], Value::Null);
    assert_eq!(c.to_json()["passed"], json!(false));
    // Neither side having it is nothing to compare.
    assert!(compare_records(&no_acc, &no_acc, 0.0).unwrap().passed());

    let err = compare_records(&base, &base[..2], 1e-6)
        .unwrap_err()
        .to_string();
    assert!(err.contains("3 epochs") && err.contains("2"), "{err}");
    let mut renumbered = base.clone();
    renumbered[0]["epoch"] = json!(5);
    assert!(compare_records(&base, &renumbered, 1e-6).is_err());
    assert!(compare_records(&base, &base, -1.0).is_err());
    assert!(compare_records(&base, &base, f64::NAN).is_err());
}
