//! Weight averaging (`--ema`, `--swa`) against `torch.optim.swa_utils` itself: `compare` runs
//! `scripts/reference.py` (torchref/ema.py), whose loop is, for `--ema D` (and
//! `--ema-use-buffers`):
//!
//! ```python
//! ema_model = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(D), use_buffers=…)
//! optimizer.step(); ema_model.update_parameters(model)        # after every step taken
//! ```
//!
//! and for `--swa "SWA(swa_lr=…, swa_start=S, anneal_epochs=…, anneal_strategy=…)"`:
//!
//! ```python
//! swa_model = AveragedModel(model)
//! swa_scheduler = SWALR(optimizer, swa_lr=…, anneal_epochs=…, anneal_strategy=…)
//! # at the end of each epoch (1-based) >= S, after evaluating the model:
//! swa_model.update_parameters(model); swa_scheduler.step()     # else scheduler.step()
//! # after the last epoch's update:
//! torch.optim.swa_utils.update_bn(train_loader, swa_model)
//! ```
//!
//! each averaged model then evaluated with `test(averaged.module, …)` and saved as
//! `save_file(averaged.module.state_dict())` (metadata `n_averaged`).
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{assert_clean_error, read_jsonl, run_bin, run_python, tempdir, text};
use crate::compare::{assert_identical_run, compare_json};
use crate::kill_resume::{
    epochs_flags, losses, signal, spawn_resume, spawn_train, wait_until_training, SIGINT,
};
use crate::resume_window::wait_for_epochs;
use tch_harness::compare::compare_records;
use tch_harness::run::{checkpoint_path, Checkpoint, LAST};

/// Both runs' `model_<kind>.safetensors` are the same bytes (names, dtypes, values, metadata);
/// returns its `n_averaged`.
fn same_averaged_file(cmp: &Path, kind: &str) -> u64 {
    let file = format!("model_{kind}.safetensors");
    let harness = std::fs::read(cmp.join("harness").join(&file)).unwrap();
    let reference = std::fs::read(cmp.join("reference").join(&file)).unwrap();
    assert!(harness == reference, "{file}: harness and PyTorch differ");
    let (_, header) = safetensors::SafeTensors::read_metadata(&harness).unwrap();
    header.metadata().as_ref().unwrap()["n_averaged"]
        .parse()
        .unwrap()
}

/// Every epoch's `keys` are recorded by both runs and equal (the rows of compare.json, and the
/// rates, which compare does not check).
fn same_fields(cmp: &Path, keys: &[&str], epochs: &[usize]) {
    let report = compare_json(cmp);
    for row in report["rows"].as_array().unwrap() {
        let epoch = row["epoch"].as_u64().unwrap() as usize;
        for key in keys {
            if !epochs.contains(&epoch) {
                assert!(row.get(*key).is_none(), "epoch {epoch} has {key}: {row}");
                continue;
            }
            let pair = &row[*key];
            assert!(pair["harness"].as_f64().is_some(), "{key}: {row}");
            assert_eq!(pair["harness"], pair["reference"], "{key}: {row}");
        }
    }
    let lrs = |side: &str| -> Vec<Value> {
        read_jsonl(&cmp.join(side).join("metrics.jsonl"))
            .iter()
            .map(|r| r["lr"].clone())
            .collect()
    };
    assert_eq!(lrs("harness"), lrs("reference"));
}

#[test]
fn compare_with_ema_is_bit_identical() {
    let dir = assert_identical_run(&["--ema", "0.9"]);
    let cmp = dir.path().join("cmp");
    same_fields(&cmp, &["ema_eval_loss", "ema_eval_accuracy"], &[1, 2]);
    assert_eq!(same_averaged_file(&cmp, "ema"), 44, "22 steps per epoch");
}

#[test]
fn compare_with_ema_and_accumulation_is_bit_identical() {
    let dir = assert_identical_run(&["--ema", "0.8", "--accumulate", "2"]);
    let cmp = dir.path().join("cmp");
    same_fields(&cmp, &["ema_eval_loss", "ema_eval_accuracy"], &[1, 2]);
    assert_eq!(same_averaged_file(&cmp, "ema"), 22, "11 windows per epoch");
}

/// digits-cnn has batch norm and dropout: EMA with `use_buffers=True` averages the running
/// statistics (and the int64 `num_batches_tracked`); SWA holds StepLR from epoch 2 on, anneals
/// with SWALR and ends with `update_bn` (dropout drawing in its pass, as in PyTorch's).
#[test]
fn compare_swa_and_ema_on_a_batch_norm_model_is_bit_identical() {
    let dir = assert_identical_run(&[
        "--experiment",
        "digits-cnn",
        "--scheduler",
        "StepLR(step_size=1, gamma=0.5)",
        "--swa",
        "SWA(swa_lr=0.02, swa_start=2, anneal_epochs=1, anneal_strategy='linear')",
        "--ema",
        "0.9",
        "--ema-use-buffers",
    ]);
    let cmp = dir.path().join("cmp");
    same_fields(&cmp, &["swa_eval_loss", "swa_eval_accuracy"], &[2]);
    same_fields(&cmp, &["ema_eval_loss", "ema_eval_accuracy"], &[1, 2]);
    assert_eq!(same_averaged_file(&cmp, "swa"), 1);
    assert_eq!(same_averaged_file(&cmp, "ema"), 44);
    let harness = read_jsonl(&cmp.join("harness/metrics.jsonl"));
    // Epoch 1 stepped StepLR (0.05 → 0.025); SWALR reached swa_lr after its one anneal epoch.
    assert_eq!(harness[1]["lr"], json!(0.025));
    // update_bn recomputed the SWA model's statistics: not the trained model's any more.
    let differs = run_python(
        "import sys; from safetensors.torch import load_file as f\n\
         a, b = f(sys.argv[1]), f(sys.argv[2])\n\
         print(a['bn1.running_mean'].equal(b['bn1.running_mean']), int(a['bn1.num_batches_tracked']))",
        &[
            cmp.join("harness/model_swa.safetensors").to_str().unwrap(),
            cmp.join("harness/model.safetensors").to_str().unwrap(),
        ],
    );
    assert_eq!(
        differs.trim(),
        "False 22",
        "one cumulative pass of 22 batches"
    );
}

/// A run stopped (Ctrl-C) inside an epoch and resumed: the averaged models, their counts and
/// SWALR's position come back from the checkpoint, so losses and all three weight files are the
/// uninterrupted run's, to the bit.
#[test]
fn sigint_then_resume_keeps_the_averages_bit_identical() {
    let flags = epochs_flags(
        "8",
        &[
            "--momentum",
            "0.9",
            "--lr",
            "0.002",
            "--accumulate",
            "3",
            "--scheduler",
            "StepLR(step_size=1, gamma=0.5)",
            "--ema",
            "0.99",
            "--swa",
            "SWA(swa_lr=0.001, swa_start=2, anneal_epochs=2)",
        ],
    );
    let dir = tempdir();
    let reference = dir.path().join("uninterrupted");
    let done = run_bin(&[&["train", "--out", reference.to_str().unwrap()][..], &flags].concat());
    assert!(done.status.success(), "{}", text(&done));

    let run = dir.path().join("interrupted");
    let mut inside = false;
    let mut epochs_before = 0;
    for attempt in 0..6 {
        let child = match attempt {
            0 => spawn_train(&run, &flags),
            _ => spawn_resume(&run),
        };
        wait_until_training(&run);
        // Past SWA's start (epoch 2) on the first try; then past the resumed process's first
        // epoch, so its handler is installed. An epoch is ≈ 0.12 s: the stop lands inside one.
        wait_for_epochs(&run, (epochs_before + 1).max(3));
        std::thread::sleep(Duration::from_millis(20 + 30 * attempt));
        signal(&child, SIGINT);
        let out = child.wait_with_output().unwrap();
        if out.status.success() {
            break; // finished before the signal
        }
        epochs_before = losses(&run).len();
        assert_eq!(out.status.code(), Some(130), "{}", text(&out));
        let checkpoint = Checkpoint::load(&checkpoint_path(&run, LAST)).unwrap();
        let names: Vec<&str> = checkpoint
            .averaged
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        assert!(names.contains(&"ema.n_averaged") && names.contains(&"swa.fc1.weight"));
        if checkpoint.progress.partial.is_some() {
            inside = true;
            break;
        }
    }
    assert!(inside, "no stop landed inside an epoch");
    let finish = run_bin(&["train", "--resume", run.to_str().unwrap()]);
    assert!(finish.status.success(), "{}", text(&finish));
    assert_eq!(losses(&run), losses(&reference));
    for file in [
        "model.safetensors",
        "model_ema.safetensors",
        "model_swa.safetensors",
    ] {
        let bytes = |p: &Path| std::fs::read(p.join(file)).unwrap();
        assert!(bytes(&run) == bytes(&reference), "{file} differs");
    }
}

/// `--nproc 2`: every rank keeps the same averages (its weights are the same after each step);
/// rank 0 writes them. The numbers are one process's within the sum-order noise the harness
/// allows its data-parallel losses on breast-cancer (1e-5, tests/harness/distributed.rs;
/// digits-mlp's allowance is 1e-4).
#[test]
fn two_processes_keep_one_process_averages() {
    let dir = tempdir();
    let train = |nproc: &str| {
        let out = dir.path().join(nproc);
        let run = run_bin(&[
            "train",
            "--experiment",
            "breast-cancer",
            "--epochs",
            "3",
            "--threads",
            "1",
            "--device",
            "cpu",
            "--ema",
            "0.9",
            "--swa",
            "SWA(swa_lr=0.01, swa_start=2)",
            "--nproc",
            nproc,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(run.status.success(), "{}", text(&run));
        assert!(out.join("model_ema.safetensors").is_file());
        assert!(out.join("model_swa.safetensors").is_file());
        read_jsonl(&out.join("metrics.jsonl"))
    };
    let (one, two) = (train("1"), train("2"));
    for (a, b) in one.iter().zip(&two) {
        for key in ["ema_eval_loss", "ema_eval_accuracy", "swa_eval_loss"] {
            match (a[key].as_f64(), b[key].as_f64()) {
                (Some(x), Some(y)) => assert!((x - y).abs() <= 1e-5 * x.abs(), "{key}: {a} vs {b}"),
                (None, None) => assert_eq!((key, a["epoch"].as_u64()), ("swa_eval_loss", Some(1))),
                _ => panic!("{key} recorded by one run only: {a} vs {b}"),
            }
        }
    }
}

#[test]
fn bad_averaging_values_are_one_line_errors() {
    for (flags, says) in [
        (
            &["--ema", "1.5"][..],
            "--ema must be a decay in [0, 1], got 1.5",
        ),
        (&["--ema", "-0.1"], "--ema must be a decay in [0, 1]"),
        (&["--ema-use-buffers"], "--ema-use-buffers needs --ema"),
        (&["--swa", "SWA(swa_lr=0.05, swa_start=0)"], "swa_start"),
        (
            &["--swa", "SWA(swa_lr=0.05, swa_start=2, momentum=0.1)"],
            "unknown keyword 'momentum'",
        ),
        (&["--swa", "SWA(swa_lr=0.05)"], "missing keyword swa_start"),
        (
            &[
                "--swa",
                "SWA(swa_lr=0.05, swa_start=2, anneal_strategy='exp')",
            ],
            "'cos' or 'linear'",
        ),
        (&["--swa", "SWA(swa_lr=0.05"], "--swa"),
    ] {
        let dir = tempdir();
        let out = run_bin(
            &[
                &[
                    "train",
                    "--epochs",
                    "1",
                    "--out",
                    dir.path().to_str().unwrap(),
                ][..],
                flags,
            ]
            .concat(),
        );
        assert_clean_error(&out, says);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{flags:?}: {stderr}");
    }
}

/// `compare` fails when only the averaged model's numbers differ.
#[test]
fn compare_checks_the_averaged_values() {
    let row = |ema: f64| json!({"epoch": 1, "train_loss": 1.0, "ema_eval_loss": ema});
    let same = compare_records(&[row(0.5)], &[row(0.5)], 0.0).unwrap();
    assert!(same.passed());
    assert_eq!(
        same.rows[0].to_json()["ema_eval_loss"]["rel_diff"],
        json!(0.0)
    );
    let apart = compare_records(&[row(0.5)], &[row(0.25)], 1e-6).unwrap();
    assert!(!apart.passed());
    assert_eq!(apart.max_rel_diff(), 0.5);
    assert!(apart.rows[0].to_json().get("swa_eval_loss").is_none());
}
