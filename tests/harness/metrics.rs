//! `--metrics` against torchmetrics 1.9.0 (in the .venv): each run's last-epoch eval metrics are
//! recomputed from its saved model by `metrics_torchmetrics.py`, batch by batch as the run cut
//! them. Counting metrics (top-k, precision, recall, F1) are checked **bit for bit** against the
//! float64 ratio of torchmetrics' own integer state (tp/fp/fn), and against torchmetrics'
//! `compute()` within 1e-6 relative: it divides in float32. Perplexity is checked bit for bit
//! against per-batch `F.cross_entropy(…, reduction="sum").item()` summed in float64 (the
//! reference's arithmetic), and against torchmetrics' `Perplexity` within 1e-5 relative: it sums
//! `-softmax(x).log()` in float32. Also: `--nproc 2`, `--accumulate`, resume, `compare` and bad
//! values.
use std::path::Path;

use serde_json::Value;

use crate::common::{assert_clean_error, read_jsonl, run_bin, run_python, tempdir, text};

const ALL: &str = "top3_accuracy, top1_accuracy, micro_precision, macro_precision, micro_recall, \
                   macro_recall, micro_f1, macro_f1, perplexity";

fn train(out: &Path, flags: &[&str]) -> Vec<Value> {
    let out_arg = out.to_str().unwrap();
    let mut args = vec![
        "train",
        "--device",
        "cpu",
        "--threads",
        "1",
        "--out",
        out_arg,
    ];
    args.extend_from_slice(flags);
    let run = run_bin(&args);
    assert!(run.status.success(), "{}", text(&run));
    read_jsonl(&out.join("metrics.jsonl"))
}

/// The last epoch's `eval_metrics`.
fn last_metrics(records: &[Value]) -> serde_json::Map<String, Value> {
    let last = records.last().expect("an epoch");
    last["eval_metrics"]
        .as_object()
        .expect("eval_metrics")
        .clone()
}

/// torchmetrics over the run's saved model (see the script's header).
fn torchmetrics(run: &Path) -> Value {
    let script = include_str!("metrics_torchmetrics.py");
    serde_json::from_str(&run_python(script, &[run.to_str().unwrap()])).expect("JSON")
}

/// Every metric of `run` equals the exact float64 value bit for bit and torchmetrics' within
/// float32 rounding; returns torchmetrics' output for further checks.
fn assert_matches_torchmetrics(run: &Path, records: &[Value]) -> Value {
    let ours = last_metrics(records);
    let theirs = torchmetrics(run);
    let names = theirs.as_object().unwrap();
    assert_eq!(ours.len(), names.len(), "{ours:?} vs {theirs}");
    for (name, expected) in names {
        let value = ours[name].as_f64().unwrap();
        let exact = expected["exact"].as_f64().unwrap();
        assert_eq!(
            value.to_bits(),
            exact.to_bits(),
            "{name}: {value} vs exact {exact}"
        );
        let tm = expected["torchmetrics"].as_f64().unwrap();
        let tolerance = if name == "perplexity" { 1e-5 } else { 1e-6 };
        let rel = (value - tm).abs() / tm.abs();
        assert!(
            rel <= tolerance,
            "{name}: {value} vs torchmetrics {tm} ({rel:e})"
        );
    }
    theirs
}

/// Unequal batches (7 on 450 eval samples: the last one 2) and an ignored class that never
/// occurs (class 3 is ignored and, trained away, never predicted): macro leaves it out, as
/// torchmetrics 1.9.0 does (`weights[tp + fp + fn == 0] = 0`, the #1691 behaviour).
#[test]
fn digits_metrics_equal_torchmetrics_with_unequal_batches_and_an_absent_ignored_class() {
    let dir = tempdir();
    let run = dir.path().join("run");
    let flags = [
        "--epochs",
        "2",
        "--batch-size",
        "7",
        "--ignore-index",
        "3",
        "--metrics",
        ALL,
    ];
    let records = train(&run, &flags);
    let theirs = assert_matches_torchmetrics(&run, &records);
    let state = &theirs["macro_recall"]["state"];
    let of = |key: &str| state[key][3].as_f64().unwrap();
    assert_eq!((of("tp"), of("fp"), of("fn")), (0.0, 0.0, 0.0), "{state}");
    // The pitfall: averaging over all 10 classes would count class 3 as 0.
    let over_all = last_metrics(&records)["macro_recall"].as_f64().unwrap() * 9.0 / 10.0;
    let tm = theirs["macro_recall"]["torchmetrics"].as_f64().unwrap();
    assert!((tm - over_all).abs() > 1e-3, "{tm} vs {over_all}");
}

/// An ignored class the model still predicts (an almost untrained model) *does* occur in the
/// macro average (its fp > 0): precision and recall 0 for it, as in torchmetrics.
#[test]
fn an_ignored_class_still_predicted_counts_in_macro_as_torchmetrics_does() {
    let dir = tempdir();
    let run = dir.path().join("run");
    let metrics = "macro_precision, macro_recall, macro_f1, micro_f1";
    let flags = [
        "--epochs",
        "1",
        "--lr",
        "0.0001",
        "--batch-size",
        "7",
        "--ignore-index",
        "3",
        "--metrics",
        metrics,
    ];
    let records = train(&run, &flags);
    let theirs = assert_matches_torchmetrics(&run, &records);
    let state = &theirs["macro_f1"]["state"];
    assert!(
        state["fp"][3].as_f64().unwrap() > 0.0,
        "class 3 never predicted: {state}"
    );
    assert_eq!(
        state["fn"][3].as_f64(),
        Some(0.0),
        "class 3 targets are ignored: {state}"
    );
}

/// A character-level model: token targets `[N, L]` padded with -100 (ignored), outputs
/// `[N, C, L]`; perplexity over the non-padding tokens.
#[test]
fn cmudict_token_metrics_equal_torchmetrics() {
    let dir = tempdir();
    let run = dir.path().join("run");
    let flags = [
        "--experiment",
        "cmudict-gru",
        "--epochs",
        "1",
        "--metrics",
        "perplexity, top5_accuracy, macro_f1, micro_recall",
    ];
    let records = train(&run, &flags);
    assert_matches_torchmetrics(&run, &records);
}

/// Two processes (each evaluates its rows of every batch, the sums reduced in one collective)
/// and gradient accumulation give one process's metrics: the counting ones exactly (the same
/// argmax on weights that differ in the last bits), perplexity within the losses' 1e-6.
#[test]
fn two_processes_with_accumulation_give_one_process_metrics() {
    let dir = tempdir();
    let flags = [
        "--epochs",
        "2",
        "--batch-size",
        "7",
        "--accumulate",
        "3",
        "--ignore-index",
        "3",
        "--metrics",
        ALL,
    ];
    let one = train(&dir.path().join("one"), &flags);
    let mut with_two = flags.to_vec();
    with_two.extend_from_slice(&["--nproc", "2"]);
    let two = train(&dir.path().join("two"), &with_two);
    for (a, b) in one.iter().zip(&two) {
        let (a, b) = (
            a["eval_metrics"].as_object().unwrap(),
            b["eval_metrics"].as_object().unwrap(),
        );
        assert_eq!(a.len(), 9);
        for (name, value) in a {
            let (x, y) = (value.as_f64().unwrap(), b[name].as_f64().unwrap());
            match name.as_str() {
                "perplexity" => assert!((x - y).abs() / x <= 1e-6, "{name}: {x} vs {y}"),
                _ => assert_eq!(x, y, "{name}"),
            }
        }
    }
}

/// A run stopped after epoch 1 and resumed records the metrics of an uninterrupted run, bit for
/// bit; `metrics` may change in config.json on resume (it changes nothing trained).
#[test]
fn resumed_runs_record_the_same_metrics() {
    let dir = tempdir();
    let flags = ["--epochs", "2", "--batch-size", "32", "--metrics", ALL];
    let whole = train(&dir.path().join("whole"), &flags);
    let run = dir.path().join("parts");
    let mut first = flags.to_vec();
    first[1] = "1";
    train(&run, &first);
    let config = run.join("config.json");
    let edited = std::fs::read_to_string(&config)
        .unwrap()
        .replace("\"epochs\": 1", "\"epochs\": 2");
    std::fs::write(&config, edited).unwrap();
    let resumed = run_bin(&["train", "--resume", run.to_str().unwrap()]);
    assert!(resumed.status.success(), "{}", text(&resumed));
    let parts = read_jsonl(&run.join("metrics.jsonl"));
    assert_eq!(parts.len(), 2);
    for (a, b) in whole.iter().zip(&parts) {
        assert_eq!(a["eval_metrics"], b["eval_metrics"]);
    }
}

/// `compare` checks every metric against scripts/reference.py's (plain torch): the same bits.
#[test]
fn compare_checks_the_metrics_against_the_reference_exactly() {
    let dir = tempdir();
    let out = dir.path().join("cmp");
    let args = [
        "compare",
        "--epochs",
        "2",
        "--batch-size",
        "7",
        "--ignore-index",
        "3",
        "--device",
        "cpu",
        "--threads",
        "1",
        "--metrics",
        ALL,
        "--out",
        out.to_str().unwrap(),
    ];
    let run = run_bin(&args);
    assert!(run.status.success(), "{}", text(&run));
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("compare.json")).unwrap()).unwrap();
    assert_eq!(report["max_rel_diff"].as_f64(), Some(0.0), "{report}");
    for row in report["rows"].as_array().unwrap() {
        let metrics = row["eval_metrics"]
            .as_object()
            .expect("eval_metrics compared");
        assert_eq!(metrics.len(), 9, "{row}");
        for pair in metrics.values() {
            assert!(
                pair["harness"].is_number() && pair["harness"] == pair["reference"],
                "{row}"
            );
        }
    }
}

#[test]
fn bad_metrics_are_one_line_errors_before_any_file() {
    let dir = tempdir();
    let out = dir.path().join("never");
    let out_arg = out.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["--metrics", "top5_acc"], "--metrics: unknown metric 'top5_acc' (known: top{k}_accuracy"),
        (&["--metrics", "top0_accuracy"], "unknown metric 'top0_accuracy'"),
        (&["--metrics", "macro_f1,,micro_f1"], "unknown metric ''"),
        (&["--metrics", "macro_f1, macro_f1"], "--metrics: macro_f1 is given twice"),
        (&["--metrics", "top11_accuracy"], "--metrics top11_accuracy: k = 11 is more than the model's 10 classes"),
        (&["--experiment", "linear-regression", "--metrics", "micro_f1"], "--metrics micro_f1 needs class-index targets (--loss cross-entropy or nll), not --loss mse"),
        (&["--experiment", "breast-cancer", "--metrics", "perplexity"], "not --loss bce-with-logits"),
    ];
    for (flags, needle) in cases {
        let mut args = vec!["train", "--epochs", "1", "--out", out_arg];
        args.extend_from_slice(flags);
        assert_clean_error(&run_bin(&args), needle);
        assert!(!out.exists(), "{flags:?} made the run directory");
    }
    let file = dir.path().join("c.json");
    std::fs::write(&file, r#"{"metrics": ["macro_f3"]}"#).unwrap();
    let args = [
        "train",
        "--config",
        file.to_str().unwrap(),
        "--out",
        out_arg,
    ];
    assert_clean_error(&run_bin(&args), "unknown metric 'macro_f3'");
}
