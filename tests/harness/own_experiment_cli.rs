//! The command line around bring-your-own-experiment: flag conflicts, `--loss` on a built-in
//! experiment, `eval --experiment --weights`, the saved module's round trip, and
//! scripts/export_experiment.py's worked example.
use std::process::Output;

use serde_json::Value;
use tch_harness::data::{read_tensors, write_tensors};

use crate::common::{assert_clean_error, read_jsonl, run_bin, run_python, tempdir, text};
use crate::own_fixture::{fixture, path, BATCH, LR};

/// A clap usage error: exit code 2, naming `needle`, no panic.
fn assert_usage_error(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", text(out));
    assert!(stderr.contains(needle), "no '{needle}': {}", text(out));
    assert!(!stderr.contains("panicked"), "{}", text(out));
}

fn eval_json(args: &[&str]) -> Value {
    let out = run_bin(args);
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)))
}

fn last_record(run: &std::path::Path) -> Value {
    read_jsonl(&run.join("metrics.jsonl"))
        .pop()
        .expect("a record")
}

#[test]
fn flag_conflicts_and_missing_flags_are_errors() {
    let fx = fixture();
    let (model, data) = (fx.model("mse"), fx.data("mse"));
    let m = ["--model", model.as_str(), "--data", data.as_str()];
    let with = |extra: &[&'static str]| [&["train"], &m[..], extra].concat();
    assert_usage_error(
        &run_bin(&with(&["--loss", "mse", "--experiment", "digits-mlp"])),
        "cannot be used with",
    );
    assert_usage_error(&run_bin(&with(&[])), "--loss");
    assert_usage_error(
        &run_bin(&["train", "--data", &data, "--loss", "mse"]),
        "--model",
    );
    assert_clean_error(
        &run_bin(&with(&["--loss", "hinge"])),
        "unknown loss 'hinge'",
    );
    assert_usage_error(
        &run_bin(&["eval", "--experiment", "digits-mlp"]),
        "--weights",
    );
    assert_usage_error(&run_bin(&["eval", "--loss", "mse"]), "--model");
    let e = |extra: &[&'static str]| [&["eval"], &m[..], &["--loss", "mse"], extra].concat();
    assert_clean_error(&run_bin(&e(&["--split", "test"])), "unknown split 'test'");
    assert_clean_error(
        &run_bin(&e(&["--batch-size", "0"])),
        "--batch-size must be at least 1",
    );
    // A data file without the held-out pair: training runs without evaluation, `--split eval`
    // is an error.
    let dir = tempdir();
    let train_only = dir.path().join("train_only.safetensors");
    let tensors: Vec<_> = read_tensors(std::path::Path::new(&data))
        .unwrap()
        .into_iter()
        .filter(|(name, _)| !name.starts_with("eval_"))
        .collect();
    write_tensors(&train_only, &tensors, None).unwrap();
    let train_only = path(&train_only);
    let args = [
        "eval",
        "--model",
        &model,
        "--data",
        &train_only,
        "--loss",
        "mse",
    ];
    assert_clean_error(
        &run_bin(&[&args[..], &["--split", "eval"]].concat()),
        "has no 'eval_inputs'/'eval_targets'",
    );
    let out = dir.path().join("run");
    let run = run_bin(&[
        "train",
        "--model",
        &model,
        "--data",
        &train_only,
        "--loss",
        "mse",
        "--epochs",
        "1",
        "--threads",
        "1",
        "--out",
        &path(&out),
    ]);
    assert!(run.status.success(), "{}", text(&run));
    assert!(last_record(&out).get("eval_loss").is_none());
}

/// `--loss` replaces a built-in experiment's criterion (after checking its targets), and
/// `eval --experiment --weights` reproduces the run's last held-out loss from its saved weights.
#[test]
fn loss_override_on_builtin_and_eval_with_weights() {
    assert_clean_error(
        &run_bin(&["train", "--experiment", "digits-mlp", "--loss", "mse"]),
        "'targets' has dtype Int64 [1347]; --loss mse needs float targets",
    );
    assert_clean_error(
        &run_bin(&["train", "--experiment", "breast-cancer", "--loss", "nll"]),
        "'targets' has dtype Float [426, 1]; --loss nll needs int64 class indices",
    );
    let dir = tempdir();
    let out = dir.path().join("run");
    let run = run_bin(&[
        "train",
        "--experiment",
        "breast-cancer",
        "--loss",
        "mse",
        "--epochs",
        "2",
        "--threads",
        "1",
        "--out",
        &path(&out),
    ]);
    assert!(run.status.success(), "{}", text(&run));
    let last = last_record(&out);
    let weights = path(&out.join("model.safetensors"));
    let base = [
        "eval",
        "--experiment",
        "breast-cancer",
        "--weights",
        &weights,
        "--threads",
        "1",
    ];
    let mse = eval_json(&[&base[..], &["--loss", "mse", "--json"]].concat());
    assert_eq!(mse["split"], "eval");
    assert_eq!(mse["criterion"], "mse");
    assert_eq!(mse["samples"], 143);
    assert_eq!(
        mse["loss"], last["eval_loss"],
        "the run's own held-out loss"
    );
    assert!(mse.get("accuracy").is_none(), "mse has no accuracy: {mse}");
    let bce = eval_json(&[&base[..], &["--json"]].concat());
    assert_eq!(bce["criterion"], "bce-with-logits");
    assert_ne!(bce["loss"], mse["loss"]);
    assert!(bce["accuracy"].as_f64().is_some());
    let human = run_bin(&base);
    assert!(human.status.success(), "{}", text(&human));
    assert!(String::from_utf8_lossy(&human.stdout).contains("loss "));
}

/// The trained `model.pt` is the trained module (batch-norm statistics included), and
/// `--weights` puts a run's `model.safetensors` into the initial module; shuffling applies to
/// `--data` too.
#[test]
fn saved_module_and_weights_round_trip() {
    let fx = fixture();
    let dir = tempdir();
    for (loss, shuffle) in [("cross-entropy", false), ("mse", true)] {
        let (model, data) = (fx.model(loss), fx.data(loss));
        let out = dir.path().join(loss);
        let mut args = vec![
            "train",
            "--model",
            &model,
            "--data",
            &data,
            "--loss",
            loss,
            "--batch-size",
            BATCH,
            "--lr",
            LR,
            "--epochs",
            "2",
            "--threads",
            "1",
        ];
        if !shuffle {
            args.push("--no-shuffle");
        }
        let out_arg = path(&out);
        args.extend(["--out", &out_arg]);
        let run = run_bin(&args);
        assert!(run.status.success(), "{}", text(&run));
        let last = last_record(&out);
        let trained = path(&out.join("model.pt"));
        let common = [
            "--data",
            &data,
            "--loss",
            loss,
            "--batch-size",
            BATCH,
            "--split",
            "eval",
        ];
        let got = eval_json(&[&["eval", "--model", &trained, "--json"], &common[..]].concat());
        assert_eq!(got["loss"], last["eval_loss"], "{loss}: model.pt");
        if loss == "mse" {
            let weights = path(&out.join("model.safetensors"));
            let base = ["eval", "--model", &model, "--weights", &weights, "--json"];
            let got = eval_json(&[&base[..], &common[..]].concat());
            assert_eq!(got["loss"], last["eval_loss"], "{loss}: --weights");
            // Shuffled, the first epoch differs from the file-order PyTorch loop.
            let first = read_jsonl(&out.join("metrics.jsonl"))[0]["train_loss"].clone();
            assert_ne!(first.as_f64(), Some(fx.number("/mse/train_loss/0")));
        }
    }
    let wrong = path(&fx.dir.join("cross-entropy/reference.safetensors"));
    let (model, data) = (fx.model("mse"), fx.data("mse"));
    let args = [
        "eval",
        "--model",
        &model,
        "--data",
        &data,
        "--loss",
        "mse",
        "--weights",
        &wrong,
    ];
    assert_clean_error(&run_bin(&args), "state_dict does not fit the model");
}

/// The export script's worked example (a CNN with batch norm on 8x8 images) trains as documented.
#[test]
fn export_script_worked_example_trains() {
    let dir = tempdir();
    let example = dir.path().join("example");
    let code = "import runpy, sys; sys.argv = ['export_experiment.py', '--out', sys.argv[1]]; \
                runpy.run_path('scripts/export_experiment.py', run_name='__main__')";
    let printed = run_python(code, &[&path(&example)]);
    assert!(printed.contains("tch-harness train --model"), "{printed}");
    let out = dir.path().join("run");
    let run = run_bin(&[
        "train",
        "--model",
        &path(&example.join("model.pt")),
        "--data",
        &path(&example.join("data.safetensors")),
        "--loss",
        "cross-entropy",
        "--epochs",
        "3",
        "--batch-size",
        "16",
        "--lr",
        "0.05",
        "--threads",
        "1",
        "--out",
        &path(&out),
    ]);
    assert!(run.status.success(), "{}", text(&run));
    let records = read_jsonl(&out.join("metrics.jsonl"));
    let losses: Vec<f64> = records
        .iter()
        .map(|r| r["train_loss"].as_f64().unwrap())
        .collect();
    assert!(losses[2] < losses[0], "the example learns: {losses:?}");
    let names: Vec<String> = read_tensors(&out.join("model.safetensors"))
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let want = [
        "bn.bias",
        "bn.weight",
        "conv.bias",
        "conv.weight",
        "fc.bias",
        "fc.weight",
    ];
    assert_eq!(names, want);
    assert!(out.join("model.pt").is_file());
}
