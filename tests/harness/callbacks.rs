//! `--early-stopping` and `--checkpoint` (issue 21.2): the stop epoch follows Lightning's rule on
//! the recorded metrics, the best k files are kept with Lightning's names, a resumed run makes
//! the same decisions, `--nproc` and `--accumulate` runs too (bad spellings:
//! `callbacks_refusals.rs`).
use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use tch_harness::run::Checkpoint;

use crate::common::{read_jsonl, run_bin, tempdir, text};
use crate::compare::compare_json;
use crate::kill_resume::losses;
use crate::own_fixture::path;
use crate::resume_fit::edit_config;

pub(crate) const STOP: &str = "EarlyStopping(monitor='eval_loss', patience=2)";
pub(crate) const BEST: &str = "ModelCheckpoint(monitor='eval_accuracy', mode='max', save_top_k=3)";

/// digits-mlp at a learning rate whose eval loss goes up and down (it stops after epoch 11 of
/// 12 on this machine: the tests below derive it from the records, not from this comment).
fn flags(epochs: &'static str) -> Vec<&'static str> {
    vec![
        "--experiment",
        "digits-mlp",
        "--epochs",
        epochs,
        "--optimizer",
        "sgd",
        "--lr",
        "0.5",
        "--threads",
        "1",
        "--device",
        "cpu",
        "--early-stopping",
        STOP,
        "--checkpoint",
        BEST,
    ]
}

fn train(run: &Path, flags: &[&str]) -> String {
    let out = run_bin(&[&["train", "--out", run.to_str().unwrap()][..], flags].concat());
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)
}

/// Lightning's EarlyStopping on a list of values (mode min, min_delta 0): the epoch it stops
/// after, if any. Written apart from src/callbacks so that a shared mistake cannot hide. (Mode
/// max is mode min on the negated values: `v > best` is `-v < -best`.)
pub(crate) fn stop_epoch(values: &[f64], patience: usize) -> Option<usize> {
    let (mut best, mut wait) = (f64::INFINITY, 0);
    for (i, &v) in values.iter().enumerate() {
        if v < best {
            (best, wait) = (v, 0);
        } else {
            wait += 1;
            if wait >= patience {
                return Some(i + 1);
            }
        }
    }
    None
}

/// The top-k files by `eval_accuracy` (max), Lightning's names: `epoch=E-eval_accuracy=A.AAAA`.
fn best_names(records: &[Value], k: usize) -> BTreeSet<String> {
    let mut kept: Vec<(usize, f64)> = Vec::new();
    for r in records {
        let (epoch, acc) = (
            r["epoch"].as_u64().unwrap() as usize,
            r["eval_accuracy"].as_f64().unwrap(),
        );
        if kept.len() < k {
            kept.push((epoch, acc));
            continue;
        }
        // The worst kept, the first among equals (Lightning's max over insertion order).
        let worst = (0..kept.len())
            .reduce(|w, i| if kept[i].1 < kept[w].1 { i } else { w })
            .unwrap();
        if acc > kept[worst].1 {
            kept.remove(worst);
            kept.push((epoch, acc));
        }
    }
    kept.iter()
        .map(|(e, a)| format!("epoch={e}-eval_accuracy={a:.4}.safetensors"))
        .collect()
}

fn files_in(folder: &Path) -> BTreeSet<String> {
    std::fs::read_dir(folder)
        .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect()
}

fn callbacks_json(run: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(run.join("callbacks.json")).unwrap()).unwrap()
}

/// The stop epoch is the rule's on the recorded eval losses, the run ends normally (final
/// weights, exit 0) and says why; the kept files are exactly the 3 best by eval accuracy, each a
/// whole checkpoint of its epoch.
#[test]
fn early_stopping_and_top_k_follow_the_records() {
    let dir = tempdir();
    let run = dir.path().join("run");
    let printed = train(&run, &flags("12"));
    let records = read_jsonl(&run.join("metrics.jsonl"));
    let eval: Vec<f64> = records
        .iter()
        .map(|r| r["eval_loss"].as_f64().unwrap())
        .collect();
    let stopped = stop_epoch(&eval, 2).expect("this case's eval loss rises twice in a row");
    assert!(stopped < 12, "the case must stop early");
    assert_eq!(records.len(), stopped, "ran past the stop: {eval:?}");
    assert!(
        run.join("model.safetensors").exists(),
        "an early stop is a normal end"
    );
    assert!(
        printed.contains("stopped: early stopping, eval_loss did not improve by 0.0 for 2 epochs"),
        "{printed}"
    );
    let state = callbacks_json(&run);
    assert_eq!(state["early_stopping"]["stopped"]["epoch"], stopped);

    let best = run.join("checkpoints/best");
    assert_eq!(files_in(&best), best_names(&records, 3));
    for kept in state["model_checkpoint"]["kept"].as_array().unwrap() {
        let file = best.join(format!("{}.safetensors", kept["file"].as_str().unwrap()));
        let checkpoint = Checkpoint::load(&file).unwrap();
        assert_eq!(
            Some(checkpoint.progress.records.len() as u64),
            kept["epoch"].as_u64()
        );
    }
}

/// A run stopped after 5 epochs and resumed to 12 makes the uninterrupted run's decisions: the
/// same records, stop epoch, kept files and callbacks.json; a stray file a killed run could have
/// left in checkpoints/best goes. Resuming the stopped run trains nothing more.
#[test]
fn resume_continues_the_same_decisions() {
    let dir = tempdir();
    let whole = dir.path().join("whole");
    train(&whole, &flags("12"));
    let run = dir.path().join("resumed");
    train(&run, &flags("5"));
    edit_config(&run, |c| c["epochs"] = 12.into());
    let stray = run.join("checkpoints/best/epoch=12-eval_accuracy=0.0001.safetensors");
    std::fs::write(&stray, b"left by a killed run").unwrap();
    let out = run_bin(&["train", "--resume", run.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(losses(&run), losses(&whole));
    assert_eq!(callbacks_json(&run), callbacks_json(&whole));
    assert_eq!(
        files_in(&run.join("checkpoints/best")),
        files_in(&whole.join("checkpoints/best"))
    );

    let again = run_bin(&["train", "--resume", whole.to_str().unwrap()]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        text(&again).contains("stopped: early stopping"),
        "{}",
        text(&again)
    );
    assert_eq!(losses(&whole).len(), losses(&run).len());
}

/// `--nproc 2 --accumulate 2`: every rank stops after the same epoch (the job ends, none
/// hangs), the rule holds on the job's records, and rank 0 alone wrote the kept files.
#[test]
fn data_parallel_and_accumulated_runs_stop_together() {
    let dir = tempdir();
    let run = dir.path().join("run");
    let mut f = flags("12");
    f.extend(["--nproc", "2", "--accumulate", "2", "--logger", "csv"]);
    train(&run, &f);
    let records = read_jsonl(&run.join("metrics.jsonl"));
    let eval: Vec<f64> = records
        .iter()
        .map(|r| r["eval_loss"].as_f64().unwrap())
        .collect();
    assert_eq!(records.len(), stop_epoch(&eval, 2).unwrap_or(12));
    assert_eq!(
        files_in(&run.join("checkpoints/best")),
        best_names(&records, 3)
    );
}

/// `compare` with early stopping: reference.py applies the same rule (scripts/torchref/
/// early_stopping.py), so both sides stop after the same epoch, bit-identical.
#[test]
fn compare_stops_both_sides_after_the_same_epoch() {
    let dir = tempdir();
    let cmp = dir.path().join("cmp");
    let out = run_bin(&[&["compare", "--out", &path(&cmp)][..], &flags("12")].concat());
    assert!(out.status.success(), "{}", text(&out));
    let harness = read_jsonl(&cmp.join("harness/metrics.jsonl"));
    let reference = read_jsonl(&cmp.join("reference/metrics.jsonl"));
    assert!(harness.len() < 12, "the case must stop early");
    assert_eq!(harness.len(), reference.len());
    assert_eq!(compare_json(&cmp)["max_rel_diff"], 0.0);
}
