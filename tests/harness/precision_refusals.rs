//! `--precision`'s refusals: an unknown name, wherever it is given (flag, `--config`, `compare`,
//! `eval`, reference.py), before anything trains; and a resume under another precision than the
//! run's (its parity: `precision.rs`).
use serde_json::json;

use crate::common::{assert_clean_error, python, run_bin, tempdir, text};
use crate::resume_fit::edit_config;

/// An unknown precision is a one-line error before anything trains, wherever it is given.
#[test]
fn an_unknown_precision_is_refused_before_training() {
    let expected = "unknown --precision 'fp16' (expected 32, bf16-mixed or 16-mixed)";
    let dir = tempdir();
    let run = dir.path().join("run");
    let train = ["train", "--epochs", "1", "--out", run.to_str().unwrap()];
    assert_clean_error(
        &run_bin(&[&train[..], &["--precision", "fp16"]].concat()),
        expected,
    );
    assert!(!run.exists(), "nothing written");
    let compare = ["compare", "--precision", "fp16"];
    assert_clean_error(&run_bin(&compare), expected);
    let eval = [
        "eval",
        "--experiment",
        "digits-mlp",
        "--weights",
        "w.safetensors",
    ];
    assert_clean_error(
        &run_bin(&[&eval[..], &["--precision", "fp16"]].concat()),
        expected,
    );
    let file = dir.path().join("config.json");
    std::fs::write(&file, r#"{"precision": "fp16"}"#).unwrap();
    let config = ["train", "--config", file.to_str().unwrap()];
    assert_clean_error(&run_bin(&config), expected);
    let reference = python()
        .args(["scripts/reference.py", "--precision", "fp16"])
        .output()
        .unwrap();
    assert_eq!(reference.status.code(), Some(2), "{}", text(&reference));
    let stderr = String::from_utf8_lossy(&reference.stderr);
    assert!(
        stderr.contains("--precision: invalid choice: 'fp16'"),
        "{stderr}"
    );
}

/// The precision is part of what a run computes: resuming under another one is refused.
#[test]
fn resume_refuses_a_changed_precision() {
    let dir = tempdir();
    let run = dir.path().join("run");
    let args = [
        "train",
        "--experiment",
        "linear-regression",
        "--epochs",
        "1",
    ];
    let out = run_bin(
        &[
            &args[..],
            &[
                "--device",
                "cpu",
                "--precision",
                "bf16-mixed",
                "--out",
                run.to_str().unwrap(),
            ],
        ]
        .concat(),
    );
    assert!(out.status.success(), "{}", text(&out));
    edit_config(&run, |c| {
        assert_eq!(
            c["precision"],
            json!("bf16-mixed"),
            "config.json records it"
        );
        c["precision"] = json!("32");
        c["epochs"] = json!(2);
    });
    let out = run_bin(&["train", "--resume", run.to_str().unwrap()]);
    assert_clean_error(&out, "trained with precision = \"bf16-mixed\"");
}
