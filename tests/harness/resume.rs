//! Never lose a run: processes killed at random points (SIGKILL), interrupted (SIGINT) and
//! resumed give the same per-epoch losses, to the bit, as an uninterrupted run (the trial itself:
//! `kill_resume.rs`).
use std::time::Duration;

use crate::common::{assert_clean_error, run_bin, tempdir, text};
use crate::kill_resume::{
    assert_intact, epochs_flags, kill_and_resume_trials, losses, signal, spawn_train,
    wait_until_training, SIGINT,
};
use tch_harness::run::{checkpoint_path, Checkpoint, LAST};

const SGD_MOMENTUM: &[&str] = &["--optimizer", "sgd", "--momentum", "0.9", "--lr", "0.002"];
const ADAM: &[&str] = &["--optimizer", "adam", "--lr", "0.0005"];

#[test]
fn sigkill_at_random_points_then_resume_is_bit_identical_sgd_momentum() {
    assert_eq!(kill_and_resume_trials(SGD_MOMENTUM, 7), 4);
}

#[test]
fn sigkill_at_random_points_then_resume_is_bit_identical_adam() {
    assert_eq!(kill_and_resume_trials(ADAM, 11), 4);
}

/// Ctrl-C stops at a batch boundary, saves a checkpoint (mid-epoch), says how to resume and
/// exits 130; resuming gives the uninterrupted run's numbers.
#[test]
fn sigint_checkpoints_and_resume_matches() {
    let flags = epochs_flags("30", ADAM);
    let dir = tempdir();
    let reference = dir.path().join("uninterrupted");
    assert!(
        run_bin(&[&["train", "--out", reference.to_str().unwrap()][..], &flags].concat())
            .status
            .success()
    );

    let run = dir.path().join("interrupted");
    let child = spawn_train(&run, &flags);
    wait_until_training(&run);
    std::thread::sleep(Duration::from_millis(500));
    signal(&child, SIGINT);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("tch-harness train --resume"), "{stderr}");
    let checkpoint = Checkpoint::load(&checkpoint_path(&run, LAST)).unwrap();
    assert!(
        checkpoint.progress.records.len() < 30,
        "the run finished before the interrupt"
    );
    assert!(
        !run.join("model.safetensors").exists(),
        "final weights written by an interrupted run"
    );

    let finish = run_bin(&["train", "--resume", run.to_str().unwrap()]);
    assert!(finish.status.success(), "{}", text(&finish));
    assert_eq!(losses(&run), losses(&reference));
}

/// A second Ctrl-C exits at once, and still leaves nothing torn.
#[test]
fn second_sigint_exits_at_once_without_damage() {
    let dir = tempdir();
    let run = dir.path().join("run");
    let child = spawn_train(&run, &epochs_flags("30", SGD_MOMENTUM));
    wait_until_training(&run);
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, SIGINT);
    signal(&child, SIGINT);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert_intact(&run);
    let finish = run_bin(&["train", "--resume", run.to_str().unwrap()]);
    assert!(finish.status.success(), "{}", text(&finish));
    assert_eq!(losses(&run).len(), 30);
}

#[test]
fn resume_refuses_other_flags() {
    let dir = tempdir();
    let run = dir.path().join("run");
    assert!(
        run_bin(&["train", "--epochs", "1", "--out", run.to_str().unwrap()])
            .status
            .success()
    );
    let out = run_bin(&[
        "train",
        "--resume",
        run.to_str().unwrap(),
        "--epochs",
        "5",
        "--lr",
        "0.1",
    ]);
    assert_clean_error(&out, "remove --epochs, --lr");
    let done = run_bin(&["train", "--resume", run.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&done.stdout).contains("already complete"),
        "{}",
        text(&done)
    );
}

/// A per-batch schedule (warm-up then cosine, stepped after every optimizer step) survives
/// kills at any point, mid-epoch included: the rates and the losses of the resumed run are the
/// uninterrupted run's, to the bit.
const ADAM_WARMUP_COSINE: &[&str] = &[
    "--optimizer",
    "adam",
    "--lr",
    "0.0005",
    "--scheduler",
    "SequentialLR(schedulers=[LinearLR(start_factor=0.1, total_iters=2000), \
     CosineAnnealingLR(T_max=11470)], milestones=[2000])",
    "--scheduler-interval",
    "batch",
];

#[test]
fn sigkill_then_resume_is_bit_identical_with_a_per_batch_schedule() {
    assert_eq!(kill_and_resume_trials(ADAM_WARMUP_COSINE, 11), 4);
}

/// An epoch schedule on a metric (ReduceLROnPlateau on the eval loss) likewise.
const SGD_ON_PLATEAU: &[&str] = &[
    "--optimizer",
    "sgd",
    "--momentum",
    "0.9",
    "--lr",
    "0.01",
    "--scheduler",
    "ReduceLROnPlateau(patience=0, factor=0.5, threshold=0.05)",
];

#[test]
fn sigkill_then_resume_is_bit_identical_with_reduce_on_plateau() {
    assert_eq!(kill_and_resume_trials(SGD_ON_PLATEAU, 13), 4);
}

/// An optimizer with scalar state kept as float32 tensors (NAdam's `mu_product`), spelt as in
/// PyTorch, likewise.
const NADAM: &[&str] = &[
    "--optimizer",
    "NAdam(lr=0.0005, momentum_decay=0.004, decoupled_weight_decay=True, weight_decay=0.01)",
];

#[test]
fn sigkill_then_resume_is_bit_identical_nadam() {
    assert_eq!(kill_and_resume_trials(NADAM, 17), 4);
}

/// Parameter groups (two optimizers: RMSprop for the matrices, Adam for the biases) with one
/// per-batch schedule over both groups' rates, likewise.
const GROUPS: &[&str] = &[
    "--optimizer",
    "adam",
    "--lr",
    "0.0005",
    "--param-group",
    "ndim=2: RMSprop(lr=0.0002, momentum=0.5)",
    "--scheduler",
    "CosineAnnealingLR(T_max=13470)",
    "--scheduler-interval",
    "batch",
];

#[test]
fn sigkill_then_resume_is_bit_identical_with_parameter_groups() {
    assert_eq!(kill_and_resume_trials(GROUPS, 19), 4);
}
