//! The built binary: training end to end, the run directory, and every bad input of issue 2.
use std::path::Path;

use crate::common::{assert_clean_error, read_jsonl, run_bin, tempdir, text};
use tch_harness::data::read_tensors;

fn train(out: &Path, extra: &[&str]) -> std::process::Output {
    let out = out.to_str().unwrap();
    let mut args = vec!["train", "--device", "cpu", "--threads", "1", "--out", out];
    args.extend_from_slice(extra);
    run_bin(&args)
}

/// Every built-in experiment trains: the loss falls, each epoch sees the whole dataset (the short
/// last batch included), and the run directory holds what the README promises.
#[test]
fn builtin_experiments_train_end_to_end() {
    // (experiment, train samples, batches at batch size 64, classifier?)
    let cases = [
        ("digits-mlp", 1347, 22, true),
        ("linear-regression", 1000, 16, false),
        ("breast-cancer", 426, 7, true),
    ];
    for (experiment, samples, batches, classifier) in cases {
        let dir = tempdir();
        let out = dir.path().join("run");
        let result = train(
            &out,
            &["--experiment", experiment, "--epochs", "4", "--lr", "0.1"],
        );
        assert!(result.status.success(), "{experiment}: {}", text(&result));
        assert_ne!(
            samples % 64,
            0,
            "the dataset size must not be a multiple of the batch size"
        );

        let metrics = read_jsonl(&out.join("metrics.jsonl"));
        assert_eq!(metrics.len(), 4, "{experiment}");
        for (i, m) in metrics.iter().enumerate() {
            assert_eq!(m["epoch"], i + 1);
            assert_eq!(
                m["train_samples"], samples,
                "{experiment}: samples seen = dataset length"
            );
            assert_eq!(m["batches"], batches, "{experiment}: short last batch kept");
            assert!(m["seconds"].as_f64().unwrap() >= 0.0);
            assert!(m["eval_loss"].as_f64().unwrap().is_finite());
            assert_eq!(m.get("eval_accuracy").is_some(), classifier, "{experiment}");
        }
        let first = metrics[0]["train_loss"].as_f64().unwrap();
        let last = metrics[3]["train_loss"].as_f64().unwrap();
        assert!(
            last < first,
            "{experiment}: loss did not fall ({first} -> {last})"
        );

        let config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap())
                .unwrap();
        assert_eq!(config["config"]["experiment"], experiment);
        assert_eq!(config["device"], "cpu");
        assert_eq!(config["tch_version"], "0.24.0");
        assert!(config["libtorch_version"]
            .as_str()
            .unwrap()
            .starts_with("2.11.0"));

        let weights = read_tensors(&out.join("model.safetensors")).unwrap();
        let names: Vec<_> = weights.iter().map(|(n, _)| n.as_str()).collect();
        assert!(
            names.contains(&"fc1.weight") && names.contains(&"fc1.bias"),
            "{names:?}"
        );
    }
}

/// With no subcommand the binary trains the default experiment, and prints one line per epoch
/// when stdout is not a terminal.
#[test]
fn no_subcommand_trains_the_default_experiment() {
    let dir = tempdir();
    let out = dir.path().join("run");
    let result = run_bin(&[
        "--epochs",
        "2",
        "--device",
        "cpu",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(result.status.success(), "{}", text(&result));
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(stdout.contains("training digits-mlp"), "{stdout}");
    let epoch_lines: Vec<_> = stdout.lines().filter(|l| l.starts_with("epoch")).collect();
    assert_eq!(epoch_lines.len(), 2, "{stdout}");
    assert!(
        epoch_lines[0].contains("train_loss") && epoch_lines[0].contains("eval_acc"),
        "{stdout}"
    );
    assert!(epoch_lines[0].contains("samples 1347"), "{stdout}");
    assert_eq!(read_jsonl(&out.join("metrics.jsonl")).len(), 2);
}

#[test]
fn bad_numbers_are_clean_errors() {
    let dir = tempdir();
    let out = dir.path().join("never");
    let cases: &[(&[&str], &str)] = &[
        (&["--batch-size", "0"], "--batch-size must be at least 1"),
        (&["--batch-size", "-3"], "--batch-size must be at least 1"),
        (&["--epochs", "0"], "--epochs must be at least 1"),
        (&["--lr", "-0.1"], "invalid learning rate"),
        (&["--lr", "NaN"], "invalid learning rate"),
        (&["--lr", "inf"], "invalid learning rate"),
        (&["--momentum", "-1"], "invalid momentum"),
        (&["--beta2", "1.5", "--optimizer", "adam"], "invalid beta2"),
        (&["--nesterov"], "Nesterov momentum requires a momentum"),
        (
            &["--experiment", "mnist-cnn"],
            "unknown experiment 'mnist-cnn'",
        ),
        (&["--optimizer", "lbfgs"], "unknown optimizer 'lbfgs'"),
        (&["--device", "tpu"], "invalid device 'tpu'"),
        (&["--threads", "0"], "--threads must be at least 1"),
    ];
    for (args, needle) in cases {
        let mut full = vec!["train", "--out", out.to_str().unwrap()];
        full.extend_from_slice(args);
        let result = run_bin(&full);
        assert_clean_error(&result, needle);
        assert!(
            !out.exists(),
            "{args:?}: a run directory was created for a bad flag"
        );
    }
}

/// `--device cuda` where CUDA is missing is an error, never a silent CPU run. On a machine with
/// CUDA, a device index past the last GPU is the same kind of error.
#[test]
fn missing_cuda_is_an_error() {
    let dir = tempdir();
    let out = dir.path().join("never");
    if tch::Cuda::is_available() {
        assert_clean_error(
            &train(&out, &["--device", "cuda:99"]),
            "CUDA device(s) are visible",
        );
    } else {
        for device in ["cuda", "cuda:0", "cuda:1"] {
            let args = ["train", "--device", device, "--out", out.to_str().unwrap()];
            assert_clean_error(&run_bin(&args), "CUDA is not available");
        }
    }
    assert!(!out.exists());
}

#[test]
fn unusable_out_dir_is_an_error() {
    let dir = tempdir();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "keep me").unwrap();
    let result = train(&file.join("run"), &["--epochs", "1"]);
    assert_clean_error(&result, "cannot create the run directory");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
}

/// An `--out` that already holds a run is refused, and its files stay as they were.
#[test]
fn existing_run_is_never_overwritten() {
    let dir = tempdir();
    let out = dir.path().join("run");
    assert!(train(&out, &["--epochs", "1"]).status.success());
    let before: Vec<_> = ["config.json", "metrics.jsonl", "model.safetensors"]
        .iter()
        .map(|f| std::fs::read(out.join(f)).unwrap())
        .collect();
    assert_clean_error(&train(&out, &["--epochs", "2"]), "not an empty folder");
    for (f, old) in ["config.json", "metrics.jsonl", "model.safetensors"]
        .iter()
        .zip(before)
    {
        assert_eq!(std::fs::read(out.join(f)).unwrap(), old, "{f} changed");
    }
}

#[test]
fn unknown_flag_is_a_short_usage_error() {
    let result = run_bin(&["train", "--epochz", "3"]);
    assert_eq!(result.status.code(), Some(2), "{}", text(&result));
    assert!(String::from_utf8_lossy(&result.stderr).contains("--epochz"));
}

/// `tch-harness info | head -1`: a reader that leaves early ends the command quietly (exit 141,
/// 128 + SIGPIPE, as a shell reports `grep … | head`), with no "internal error" line.
#[test]
fn a_closed_stdout_ends_quietly() {
    let mut child = crate::common::bin()
        .arg("info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // closed before libtorch has even loaded
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.is_empty(), "{stderr}");
    assert!(
        matches!(out.status.code(), Some(0 | 141)),
        "{:?}",
        out.status
    );
}
