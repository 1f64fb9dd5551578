//! The `--metrics` outside the training loop: `eval --metrics` gives a run's last `eval_metrics`
//! bit for bit (which `metrics.rs` checks against torchmetrics), and early stopping and
//! `--checkpoint` watch them as `eval_{name}`, with reference.py stopping after the same epoch.
use std::path::Path;

use serde_json::Value;

use crate::callbacks::stop_epoch;
use crate::common::{assert_clean_error, read_jsonl, run_bin, tempdir, text};
use crate::compare::compare_json;
use crate::own_fixture::path;

const ALL: &str = "top3_accuracy, micro_precision, macro_precision, macro_recall, micro_f1, \
                   macro_f1, perplexity";

/// `train` for one epoch, on one thread, into `out`.
fn one_epoch(out: &str) -> [&str; 7] {
    ["train", "--epochs", "1", "--out", out, "--threads", "1"]
}

fn ok(args: &[&str]) -> String {
    let out = run_bin(args);
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// A run's weights evaluated again with the run's batch size (7: 450 eval samples, the last
/// batch of 2) give its last epoch's eval loss and every metric, bit for bit.
#[test]
fn eval_metrics_equal_the_runs_last_epoch() {
    let dir = tempdir();
    let run = dir.path().join("run");
    let common = ["--batch-size", "7", "--threads", "1", "--device", "cpu"];
    let out = path(&run);
    let train = ["train", "--epochs", "2", "--out", &out, "--metrics", ALL];
    ok(&[&train[..], &common].concat());
    let records = read_jsonl(&run.join("metrics.jsonl"));
    let last = records.last().expect("an epoch");

    let weights = path(&run.join("model.safetensors"));
    let eval = [
        &["eval", "--experiment", "digits-mlp", "--weights", &weights][..],
        &["--metrics", ALL, "--json"],
        &common,
    ];
    let report: Value = serde_json::from_str(&ok(&eval.concat())).expect("eval --json");
    assert_eq!(report["loss"], last["eval_loss"], "{report}");
    let (ours, theirs) = (&report["metrics"], &last["eval_metrics"]);
    assert_eq!(ours.as_object().map(|m| m.len()), Some(7), "{report}");
    for (name, value) in theirs.as_object().expect("eval_metrics") {
        let (a, b) = (ours[name].as_f64().unwrap(), value.as_f64().unwrap());
        assert_eq!(
            a.to_bits(),
            b.to_bits(),
            "{name}: eval {a} vs the run's {b}"
        );
    }

    let mut plain = eval.concat();
    plain.retain(|a| *a != "--json");
    let summary = ok(&plain);
    assert!(summary.contains("macro_f1 "), "{summary}");
}

/// `eval --metrics` refuses what `train --metrics` refuses, in one line.
#[test]
fn eval_metrics_bad_names_and_losses_are_errors() {
    let dir = tempdir();
    let run = dir.path().join("run");
    ok(&one_epoch(&path(&run)));
    let weights = path(&run.join("model.safetensors"));
    let eval = |extra: &[&str]| {
        let base = ["eval", "--experiment", "digits-mlp", "--weights", &weights];
        run_bin(&[&base[..], extra].concat())
    };
    assert_clean_error(
        &eval(&["--metrics", "macro_f2"]),
        "unknown metric 'macro_f2'",
    );
    assert_clean_error(&eval(&["--metrics", "top11_accuracy"]), "k = 11");

    let regression = dir.path().join("regression");
    let experiment = ["--experiment", "linear-regression"];
    ok(&[
        &["train", "--epochs", "1", "--out", &path(&regression)][..],
        &experiment,
    ]
    .concat());
    let weights = path(&regression.join("model.safetensors"));
    let eval = [
        &["eval", "--weights", &weights, "--metrics", "macro_f1"][..],
        &experiment,
    ];
    assert_clean_error(&run_bin(&eval.concat()), "needs class-index targets");
}

/// digits-mlp at the learning rate of `callbacks.rs`, whose eval metrics go up and down.
fn flags<'a>(stop: &'a str, best: &'a str) -> Vec<&'a str> {
    vec![
        "--epochs",
        "12",
        "--optimizer",
        "sgd",
        "--lr",
        "0.5",
        "--threads",
        "1",
        "--device",
        "cpu",
        "--metrics",
        "macro_f1, top1_accuracy",
        "--early-stopping",
        stop,
        "--checkpoint",
        best,
    ]
}

fn metric_of(records: &[Value], name: &str) -> Vec<f64> {
    let value = |r: &Value| r["eval_metrics"][name].as_f64().expect(name);
    records.iter().map(value).collect()
}

/// `monitor='eval_macro_f1', mode='max'`: the run stops where the rule says on the recorded F1,
/// the best checkpoints are named by it, and `compare` stops reference.py after the same epoch,
/// bit-identical.
#[test]
fn early_stopping_and_checkpoints_watch_an_eval_metric() {
    let stop = "EarlyStopping(monitor='eval_macro_f1', mode='max', patience=1)";
    let best = "ModelCheckpoint(monitor='eval_top1_accuracy', mode='max', save_top_k=2)";
    let dir = tempdir();
    let cmp = dir.path().join("cmp");
    ok(&[&["compare", "--out", &path(&cmp)][..], &flags(stop, best)].concat());
    let harness = read_jsonl(&cmp.join("harness/metrics.jsonl"));
    let reference = read_jsonl(&cmp.join("reference/metrics.jsonl"));
    let f1 = metric_of(&harness, "macro_f1");
    let negated: Vec<f64> = f1.iter().map(|v| -v).collect(); // mode max
    assert_eq!(stop_epoch(&negated, 1), Some(harness.len()), "{f1:?}");
    assert!(harness.len() < 12, "the case must stop early: {f1:?}");
    assert_eq!(reference.len(), harness.len());
    assert_eq!(metric_of(&reference, "macro_f1"), f1);
    assert_eq!(compare_json(&cmp)["max_rel_diff"], 0.0);

    let kept = std::fs::read_dir(cmp.join("harness/checkpoints/best")).expect("best/");
    let names: Vec<String> = kept
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(
        names.iter().all(|n| n.contains("eval_top1_accuracy=")),
        "{names:?}"
    );
}

/// A monitor on a metric the run does not compute, or not a metric at all, is refused before a
/// run directory is made.
#[test]
fn a_monitor_needs_its_metric() {
    let dir = tempdir();
    let run = dir.path().join("run");
    let cases = [
        (
            "--early-stopping",
            "EarlyStopping(monitor='eval_macro_f1', mode='max')",
            "needs --metrics macro_f1",
        ),
        (
            "--checkpoint",
            "ModelCheckpoint(monitor='eval_top2_accuracy', mode='max')",
            "needs --metrics top2_accuracy",
        ),
        (
            "--early-stopping",
            "EarlyStopping(monitor='eval_macro_f2')",
            "unknown monitor 'eval_macro_f2'",
        ),
    ];
    for (flag, spec, needle) in cases {
        let out = run_bin(&["train", "--epochs", "1", "--out", &path(&run), flag, spec]);
        assert_clean_error(&out, needle);
        assert!(!run.exists(), "{flag} {spec}: a run directory was made");
    }
    let ran = |run: &Path| run.join("metrics.jsonl").exists();
    let metrics = ["--metrics", "macro_f1"];
    let spec = "EarlyStopping(monitor='eval_macro_f1', mode='max')";
    let out = path(&run);
    ok(&[&one_epoch(&out)[..], &metrics, &["--early-stopping", spec]].concat());
    assert!(ran(&run));
}
