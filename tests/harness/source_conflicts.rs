//! Conflicting experiment sources (issue 24, item 8): a built-in `--experiment` given with
//! `--data` or `--model` is an error naming both, never a run on the built-in data.
use std::path::Path;
use std::process::Output;

use crate::common::{run_bin, tempdir, text};

/// Exit `code`, and an error naming `--experiment` and `other` (clap's message, before its usage
/// hint, may list several flags on lines of their own); no run directory.
fn assert_conflict(out: &Output, code: i32, other: &str, run: &Path) {
    assert_eq!(out.status.code(), Some(code), "{}", text(out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let message = stderr.split("\n\n").next().unwrap_or_default();
    assert!(message.starts_with("error:"), "{}", text(out));
    assert!(
        message.contains("--experiment") && message.contains(other),
        "the error does not name both flags: {}",
        text(out)
    );
    assert!(!run.exists(), "a run directory was written: {}", text(out));
}

#[test]
fn experiment_with_data_or_model_is_an_error() {
    let dir = tempdir();
    let data = dir.path().join("F.safetensors");
    let model = dir.path().join("M.pt");
    std::fs::write(&data, b"").unwrap();
    std::fs::write(&model, b"").unwrap();
    let (data, model) = (data.to_str().unwrap(), model.to_str().unwrap());
    let run = dir.path().join("run");
    let out_flag = run.to_str().unwrap();
    let train = |extra: &[&str]| {
        let mut args = vec![
            "train",
            "--experiment",
            "linear-regression",
            "--loss",
            "mse",
        ];
        args.extend_from_slice(&["--epochs", "1", "--device", "cpu", "--out", out_flag]);
        args.extend_from_slice(extra);
        run_bin(&args)
    };
    assert_conflict(&train(&["--data", data]), 2, "--data", &run);
    assert_conflict(
        &train(&["--model", model, "--data", data]),
        2,
        "--model",
        &run,
    );
    let out = run_bin(&[
        "eval",
        "--experiment",
        "linear-regression",
        "--weights",
        data,
        "--data",
        data,
    ]);
    assert_conflict(&out, 2, "--data", &run);

    // The same conflict inside one configuration file (no flag overrides either key).
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!("experiment = \"linear-regression\"\nloss = \"mse\"\ndata = \"{data}\"\n"),
    )
    .unwrap();
    let out = run_bin(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--epochs",
        "1",
        "--out",
        out_flag,
    ]);
    assert_conflict(&out, 1, "--data", &run);
}
