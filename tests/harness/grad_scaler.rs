//! `--grad-scaler`: torch.amp.GradScaler at the step's seams, against scripts/reference.py (which
//! runs `torch.amp.GradScaler` itself) on the CPU in float32, where a scaler is forced on:
//!
//! ```python
//! scaler = torch.amp.GradScaler("cpu", init_scale=..., growth_interval=...)
//! for window in windows:
//!     optimizer.zero_grad()
//!     for inputs, targets, count in window:
//!         loss = criterion(model(inputs), targets)
//!         total_loss += loss.item() * count                # the unscaled loss
//!         scaler.scale(loss * (count / window_count)).backward()
//!     scaler.unscale_(optimizer)
//!     torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
//!     scaler.step(optimizer)                               # skipped on inf/nan gradients
//!     scaler.update()
//!     scheduler.step()                                     # per batch, stepped or skipped
//! ```
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{assert_clean_error, read_jsonl, run_bin, tempdir, text};
use crate::compare::assert_identical_run;
use crate::kill_resume::{kill_and_resume_trials, losses};
use crate::resume_window::sigint_inside_a_window_then_resume;

/// 2**127: the largest power-of-two scale; linear-regression's first gradients overflow under it.
const HUGE: &str = "GradScaler(init_scale=1.7014118346046923e38, growth_interval=2)";

/// What both sides record of each epoch, wall-clock times aside.
fn records(cmp: &Path, side: &str) -> Vec<Value> {
    let keys = [
        "epoch",
        "train_loss",
        "eval_loss",
        "eval_accuracy",
        "lr",
        "grad_norm_max",
        "loss_scale",
        "skipped_steps",
    ];
    read_jsonl(&cmp.join(side).join("metrics.jsonl"))
        .iter()
        .map(|r| {
            keys.iter()
                .map(|k| (k.to_string(), r[*k].clone()))
                .collect()
        })
        .collect()
}

/// `compare --trace` with `args` is bit-identical, every step's trace (skipped steps too) and
/// the scaler's metrics included; returns the harness's records.
fn identical_with_scaler(args: &[&str]) -> Vec<Value> {
    let dir = assert_identical_run(&[args, &["--trace"]].concat());
    let cmp = dir.path().join("cmp");
    let divergence = &crate::compare::compare_json(&cmp)["divergence"];
    assert!(divergence["first"].is_null(), "{args:?}: {divergence}");
    assert!(
        divergence["identical_through"].as_u64() > Some(0),
        "{divergence}"
    );
    let harness = records(&cmp, "harness");
    assert_eq!(harness, records(&cmp, "reference"), "{args:?}");
    for r in &harness {
        assert!(
            r["loss_scale"].is_f64() && r["skipped_steps"].is_u64(),
            "{r}"
        );
    }
    harness
}

fn skipped(records: &[Value]) -> u64 {
    records
        .iter()
        .map(|r| r["skipped_steps"].as_u64().unwrap())
        .sum()
}

#[test]
fn scaler_without_overflow_matches_pytorch_with_and_without_accumulation() {
    for extra in [&[][..], &["--accumulate", "3", "--clip-grad-norm", "0.5"]] {
        let args = [
            &[
                "--experiment",
                "digits-mlp",
                "--grad-scaler",
                "GradScaler()",
            ][..],
            extra,
        ]
        .concat();
        let records = identical_with_scaler(&args);
        assert_eq!(skipped(&records), 0, "{records:?}");
        assert_eq!(records[1]["loss_scale"], 65536.0, "growth_interval=2000");
    }
}

/// A scale so high that gradients overflow: steps are skipped, the scale backs off (and grows
/// again every 2 windows without overflow), and a per-batch scheduler steps through the skipped
/// windows as PyTorch's loop does (the `lr` records match).
#[test]
fn overflowing_scale_skips_steps_and_backs_off_as_pytorch_does() {
    let cases: [&[&str]; 3] = [
        &[],
        &["--clip-grad-norm", "1.0"],
        &["--accumulate", "2", "--clip-grad-norm", "1.0"],
    ];
    for extra in cases {
        let args = [
            &[
                "--experiment",
                "linear-regression",
                "--grad-scaler",
                HUGE,
                "--scheduler",
                "StepLR(step_size=3, gamma=0.9)",
                "--scheduler-interval",
                "batch",
            ][..],
            extra,
        ]
        .concat();
        let records = identical_with_scaler(&args);
        assert!(skipped(&records) > 0, "{args:?}: no step skipped");
        let first = records[0]["loss_scale"].as_f64().unwrap();
        assert!(first < 1.7014118346046923e38, "no back-off: {first}");
    }
}

/// Item 3 of issue 20: the epoch loss is the unscaled batch losses' weighted mean. With powers of
/// two the scaling is exact, so a run whose scale doubles after every step (and differs between
/// epochs) trains and records exactly what a run without a scaler does.
#[test]
fn the_epoch_loss_is_the_unscaled_one_while_the_scale_changes() {
    let dir = tempdir();
    let run = |name: &str, scaler: &[&str]| {
        let out = dir.path().join(name);
        let flags = [
            "train",
            "--experiment",
            "digits-mlp",
            "--device",
            "cpu",
            "--threads",
            "1",
            "--epochs",
            "2",
            "--out",
            out.to_str().unwrap(),
        ];
        let done = run_bin(&[&flags[..], scaler].concat());
        assert!(done.status.success(), "{}", text(&done));
        read_jsonl(&out.join("metrics.jsonl"))
    };
    let scaled = run(
        "scaled",
        &[
            "--grad-scaler",
            "GradScaler(init_scale=1024.0, growth_interval=1)",
        ],
    );
    let plain = run("plain", &[]);
    let scales: Vec<f64> = scaled
        .iter()
        .map(|r| r["loss_scale"].as_f64().unwrap())
        .collect();
    // 22 steps an epoch, each doubling the scale.
    assert_eq!(scales, [1024.0 * 2f64.powi(22), 1024.0 * 2f64.powi(44)]);
    for (s, p) in scaled.iter().zip(&plain) {
        assert_eq!(s["train_loss"], p["train_loss"]);
        assert_eq!(s["eval_loss"], p["eval_loss"]);
    }
}

/// One epoch of linear-regression with `--grad-scaler spec`, in `dir`/run.
fn one_epoch(dir: &Path, spec: &str) -> PathBuf {
    let out = dir.join("run");
    let done = run_bin(&[
        "train",
        "--experiment",
        "linear-regression",
        "--device",
        "cpu",
        "--epochs",
        "1",
        "--grad-scaler",
        spec,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(done.status.success(), "{}", text(&done));
    out
}

/// `enabled=False` is no scaler: no scaling, no scaler metrics.
#[test]
fn a_disabled_scaler_is_no_scaler() {
    let dir = tempdir();
    let out = one_epoch(dir.path(), "GradScaler(enabled=False, init_scale=1e38)");
    let records = read_jsonl(&out.join("metrics.jsonl"));
    assert!(records[0].get("loss_scale").is_none(), "{records:?}");
    let config = std::fs::read_to_string(out.join("config.json")).unwrap();
    assert!(
        config.contains("\"grad_scaler\": \"GradScaler(enabled=False"),
        "{config}"
    );
}

/// Windows of 7 batches of one sample, clipped, while the scale backs off and grows (×3, not a
/// power of two: the scale changes the update's bits) through the first epochs.
const SCALED: &[&str] = &[
    "--experiment",
    "linear-regression",
    "--optimizer",
    "sgd",
    "--momentum",
    "0.9",
    "--lr",
    "0.002",
    "--accumulate",
    "7",
    "--clip-grad-norm",
    "1.0",
    "--grad-scaler",
    "GradScaler(init_scale=1e30, growth_factor=3.0, backoff_factor=0.25, growth_interval=5)",
];

/// Killed anywhere: the scale and growth tracker come back from the checkpoint, so the resumed
/// run's losses, scales, skipped steps and weights are the uninterrupted run's.
#[test]
fn sigkill_then_resume_keeps_the_scaler_bit_identical() {
    assert_eq!(kill_and_resume_trials(SCALED, 23), 4);
}

/// Ctrl-C inside an accumulation window: the window's scaled-then-summed gradients and the
/// scaler's state are saved, and the resumed run finishes the window bit for bit.
#[test]
fn sigint_inside_a_window_then_resume_keeps_the_scaler_bit_identical() {
    sigint_inside_a_window_then_resume(SCALED, &["fc1.bias", "fc1.weight"]);
}

/// The checkpoint keeps the scaler under its own key; `losses` is what resume tests compare.
#[test]
fn checkpoints_hold_the_scale_and_growth_tracker() {
    let dir = tempdir();
    let out = one_epoch(dir.path(), HUGE);
    let last = tch_harness::run::checkpoint_path(&out, tch_harness::run::LAST);
    let checkpoint = tch_harness::run::Checkpoint::load(&last).unwrap();
    let scaler = &checkpoint.step.as_ref().unwrap()["hooks"]["scaler"];
    let record = &losses(&out)[0];
    assert_eq!(scaler["scale"], record["loss_scale"], "{scaler}");
    assert!(scaler["growth_tracker"].is_i64(), "{scaler}");
    assert_eq!(scaler["skipped_steps"], 0, "reset at the epoch's end");
}

#[test]
fn scaler_options_out_of_range_are_one_line_errors() {
    for (spec, needle) in [
        ("GradScaler(init_scale=-1.0)", "init_scale must be > 0"),
        (
            "GradScaler(growth_factor=1.0)",
            "growth_factor must be > 1.0",
        ),
        (
            "GradScaler(backoff_factor=1.5)",
            "backoff_factor must be in (0, 1)",
        ),
        (
            "GradScaler(backoff_factor=0)",
            "backoff_factor must be in (0, 1)",
        ),
        (
            "GradScaler(growth_interval=0)",
            "growth_interval must be at least 1",
        ),
        (
            "GradScaler(scale=2.0)",
            "unknown keyword 'scale' for GradScaler",
        ),
        ("AmpScaler()", "expected GradScaler(...)"),
    ] {
        let out = run_bin(&["train", "--epochs", "1", "--grad-scaler", spec]);
        assert_clean_error(&out, needle);
        assert!(String::from_utf8_lossy(&out.stderr).contains("--grad-scaler"));
    }
}

/// Two processes: each rank unscales the gradients summed over the ranks, so all find the same
/// non-finite values and skip the same steps, as reference.py's ranks (torch.distributed, Gloo)
/// each running torch.amp.GradScaler do.
#[test]
fn every_rank_skips_the_same_steps_as_torch_distributed() {
    let dir = tempdir();
    let cmp = dir.path().join("cmp");
    let out = run_bin(&[
        "compare",
        "--threads",
        "1",
        "--device",
        "cpu",
        "--nproc",
        "2",
        "--experiment",
        "linear-regression",
        "--epochs",
        "2",
        "--accumulate",
        "2",
        "--clip-grad-norm",
        "1.0",
        "--grad-scaler",
        HUGE,
        "--out",
        cmp.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let report = crate::compare::compare_json(&cmp);
    assert_eq!(report["max_rel_diff"].as_f64(), Some(0.0), "{report}");
    let harness = records(&cmp, "harness");
    assert_eq!(harness, records(&cmp, "reference"));
    assert!(skipped(&harness) > 0, "{harness:?}");
}
