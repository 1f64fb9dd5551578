//! `--logger tensorboard,csv` (issue 21.4): event files read back by TensorBoard's own reader
//! with every epoch's numbers (as float32) at the right steps and the per-step loss of the
//! trace, also across a resume; `metrics.csv` byte for byte what Lightning's CSVLogger writes for
//! the same rows; bad values one-line errors.
use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::common::{assert_clean_error, read_jsonl, run_bin, run_python, tempdir, text};
use crate::own_fixture::path;
use crate::resume_fit::edit_config;

/// TensorBoard's reader over the run directory: `{tag: [[step, value], …]}`.
const READ_EVENTS: &str = r#"
import json, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
acc = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0})
acc.Reload()
print(json.dumps({t: [[e.step, e.value] for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}))
"#;

/// Lightning's `_ExperimentWriter` (lightning/fabric/loggers/csv_logs.py) given the rows the
/// harness logs: each record's numbers plus `step`; `save()` writes `csv.DictWriter` with the
/// sorted union of the keys (`_record_new_keys`: extend, then sort). Prints whether the
/// harness's metrics.csv is that file, byte for byte.
const LIGHTNING_CSV: &str = r#"
import csv, io, json, sys
rows, step = [], 0
for line in open(sys.argv[1] + "/metrics.jsonl"):
    record = json.loads(line)
    step += record["batches"]
    row = {k: v for k, v in record.items() if isinstance(v, (int, float))}
    row["step"] = step
    rows.append(row)
metrics_keys = sorted(set().union(*rows))
out = io.StringIO(newline="")
writer = csv.DictWriter(out, fieldnames=metrics_keys)
writer.writeheader()
writer.writerows(rows)
with open(sys.argv[1] + "/metrics.csv", newline="") as f:
    written = f.read()
print(json.dumps({"same": written == out.getvalue(), "header": metrics_keys,
                  "rows": list(csv.DictReader(io.StringIO(written, newline="")))}))
"#;

fn train(run: &Path, epochs: &str, extra: &[&str]) {
    let base = [
        "train",
        "--experiment",
        "digits-mlp",
        "--epochs",
        epochs,
        "--threads",
        "1",
        "--device",
        "cpu",
        "--trace",
        "--logger",
        "tensorboard,csv",
        "--log-every-n-steps",
        "5",
        "--out",
        &path(run),
    ];
    let out = run_bin(&[&base[..], extra].concat());
    assert!(out.status.success(), "{}", text(&out));
}

fn events(run: &Path) -> BTreeMap<String, Vec<(u64, f64)>> {
    let read: BTreeMap<String, Vec<(u64, f64)>> =
        serde_json::from_str(run_python(READ_EVENTS, &[&path(run)]).trim()).unwrap();
    read
}

/// Every number of every record at step = batches so far, as float32; `train_loss_step` every
/// 5th batch, equal (as float32) to the trace's loss of that step.
fn assert_events_match(run: &Path) {
    let records = read_jsonl(&run.join("metrics.jsonl"));
    let got = events(run);
    let mut want: BTreeMap<String, Vec<(u64, f64)>> = BTreeMap::new();
    let mut step = 0;
    for record in &records {
        step += record["batches"].as_u64().unwrap();
        for (name, value) in record.as_object().unwrap() {
            if let Some(v) = value.as_f64() {
                want.entry(name.clone())
                    .or_default()
                    .push((step, v as f32 as f64));
            }
        }
    }
    let trace = read_jsonl(&run.join("trace.jsonl"));
    let per_step: Vec<(u64, f64)> = trace
        .iter()
        .filter(|line| line["losses"].is_array())
        .map(|line| {
            (
                line["step"].as_u64().unwrap(),
                line["losses"][0].as_f64().unwrap(),
            )
        })
        .filter(|(s, _)| s % 5 == 0)
        .map(|(s, loss)| (s, loss as f32 as f64))
        .collect();
    assert!(!per_step.is_empty());
    want.insert("train_loss_step".into(), per_step);
    assert_eq!(got, want);
}

#[test]
fn tensorboard_reads_every_metric_and_the_csv_is_lightnings() {
    let dir = tempdir();
    let run = dir.path().join("run");
    train(&run, "3", &[]);
    let files: Vec<_> = std::fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("events.out.tfevents."))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_events_match(&run);

    let csv: Value =
        serde_json::from_str(run_python(LIGHTNING_CSV, &[&path(&run)]).trim()).unwrap();
    assert_eq!(csv["same"], true, "{csv}");
    let header: Vec<&str> = csv["header"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for column in ["epoch", "step", "train_loss", "eval_loss", "eval_accuracy"] {
        assert!(header.contains(&column), "{header:?}");
    }
    let rows = csv["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[2]["epoch"], "3");
    assert_eq!(rows[2]["step"], "66"); // 3 epochs of 22 batches
}

/// What a run killed after its checkpoint could have logged: a loss at step 60 (epoch 3),
/// appended to the event file with TensorBoard's own record writer.
const APPEND_ORPHAN: &str = r#"
import sys
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.record_writer import RecordWriter
value = summary_pb2.Summary.Value(tag="train_loss_step", simple_value=999.0)
event = event_pb2.Event(step=60, wall_time=0.0, summary=summary_pb2.Summary(value=[value]))
with open(sys.argv[1], "ab") as f:
    RecordWriter(f).write(event.SerializeToString())
"#;

/// A run extended and resumed writes a second event file: the reader sees each step once (the
/// new file's SessionLog.START drops what a killed run wrote after its checkpoint), and
/// metrics.csv has each epoch once.
#[test]
fn a_resumed_run_logs_each_step_once() {
    let dir = tempdir();
    let run = dir.path().join("run");
    train(&run, "2", &[]);
    let first = std::fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("tfevents"))
        .unwrap();
    run_python(APPEND_ORPHAN, &[&path(&first)]);
    edit_config(&run, |c| c["epochs"] = 4.into());
    let out = run_bin(&["train", "--resume", &path(&run)]);
    assert!(out.status.success(), "{}", text(&out));
    assert_events_match(&run);
    let csv: Value =
        serde_json::from_str(run_python(LIGHTNING_CSV, &[&path(&run)]).trim()).unwrap();
    assert_eq!(csv["same"], true, "{csv}");
    assert_eq!(csv["rows"].as_array().unwrap().len(), 4);
}

#[test]
fn bad_logger_values_are_one_line_errors() {
    let dir = tempdir();
    let run = dir.path().join("run");
    let cases: [(&[&str], &str); 4] = [
        (&["--logger", "wandb"], "unknown logger 'wandb'"),
        (
            &["--logger", "csv", "--log-every-n-steps", "5"],
            "add --logger tensorboard",
        ),
        (
            &["--logger", "tensorboard", "--log-every-n-steps", "0"],
            "at least 1",
        ),
        (&["--log-every-n-steps=-3"], "--log-every-n-steps"),
    ];
    for (flags, needle) in cases {
        let out = run_bin(&[&["train", "--epochs", "1", "--out", &path(&run)][..], flags].concat());
        assert_clean_error(&out, needle);
        assert!(!run.exists(), "{flags:?}: a run directory was made");
    }
}
