//! Resuming inside a gradient-accumulation window: SIGKILL anywhere, and Ctrl-C stops that land
//! inside a window (whose gradients the checkpoint then holds), give the uninterrupted run's
//! losses and weights to the bit.
use std::path::Path;
use std::time::Duration;

use crate::common::{run_bin, tempdir, text};
use crate::kill_resume::{
    epochs_flags, kill_and_resume_trials, losses, signal, spawn_resume, spawn_train,
    wait_until_training, SIGINT,
};
use tch_harness::run::{checkpoint_path, Checkpoint, LAST};

/// Gradient accumulation (windows of 7 batches, clipped at each window's end) with class weights,
/// so the partial epoch's count is a float sum: killed anywhere and resumed, to the bit.
const ACCUMULATING: &[&str] = &[
    "--optimizer",
    "sgd",
    "--momentum",
    "0.9",
    "--lr",
    "0.01",
    "--accumulate",
    "7",
    "--clip-grad-norm",
    "1.0",
    "--class-weights",
    "1,2,1,1,0.5,1,1,3,1,1",
];

#[test]
fn sigkill_then_resume_is_bit_identical_with_accumulation() {
    assert_eq!(kill_and_resume_trials(ACCUMULATING, 19), 4);
}

/// Ctrl-C stops at a batch boundary, which with windows of 7 batches is inside a window unless it
/// is one in seven: the checkpoint then holds the window's gradients so far (`grad.<param>`), and
/// the resumed run adds the rest of the window to them. Interrupted until a stop lands inside a
/// window, then finished: the losses and final weights are the uninterrupted run's, to the bit.
#[test]
fn sigint_inside_an_accumulation_window_then_resume_is_bit_identical() {
    let params = ["fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight"];
    sigint_inside_a_window_then_resume(ACCUMULATING, &params);
}

/// [`sigint_inside_an_accumulation_window_then_resume_is_bit_identical`] for `flags` (with
/// `--accumulate 7`), whose model trains `params` (sorted).
pub(crate) fn sigint_inside_a_window_then_resume(flags: &[&'static str], params: &[&str]) {
    let flags = epochs_flags("30", flags);
    let dir = tempdir();
    let reference = dir.path().join("uninterrupted");
    let done = run_bin(&[&["train", "--out", reference.to_str().unwrap()][..], &flags].concat());
    assert!(done.status.success(), "{}", text(&done));

    let run = dir.path().join("interrupted");
    let mut inside = false;
    let mut epochs_before = 0;
    for attempt in 0..6 {
        let child = if attempt == 0 {
            spawn_train(&run, &flags)
        } else {
            spawn_resume(&run)
        };
        wait_until_training(&run);
        if attempt > 0 {
            // config.json is there from the start: wait for the resumed process's first epoch,
            // so the signal cannot come before its handler is installed.
            wait_for_epochs(&run, epochs_before + 1);
        }
        std::thread::sleep(Duration::from_millis(100 + 150 * attempt));
        signal(&child, SIGINT);
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(130), "{}", text(&out));
        epochs_before = losses(&run).len();
        let checkpoint = Checkpoint::load(&checkpoint_path(&run, LAST)).unwrap();
        let partial = checkpoint
            .progress
            .partial
            .as_ref()
            .map_or(0, |p| p.batches);
        assert_eq!(
            checkpoint.grads.is_empty(),
            partial % 7 == 0,
            "gradients are saved exactly when the stop is inside a window (batch {partial})"
        );
        if partial % 7 != 0 {
            let mut names: Vec<_> = checkpoint.grads.iter().map(|(n, _)| n.as_str()).collect();
            names.sort_unstable();
            assert_eq!(names, params);
            inside = true;
            break;
        }
    }
    assert!(inside, "no stop landed inside an accumulation window");
    let finish = run_bin(&["train", "--resume", run.to_str().unwrap()]);
    assert!(finish.status.success(), "{}", text(&finish));
    assert_eq!(losses(&run), losses(&reference));
    let weights = |p: &Path| std::fs::read(p.join("model.safetensors")).unwrap();
    assert_eq!(weights(&run), weights(&reference), "final weights differ");
}

/// Waits (up to a minute) until `run`'s metrics.jsonl holds `n` epochs.
pub(crate) fn wait_for_epochs(run: &Path, n: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let lines =
        || std::fs::read_to_string(run.join("metrics.jsonl")).map_or(0, |s| s.lines().count());
    while lines() < n {
        assert!(
            std::time::Instant::now() < deadline,
            "no epoch {n} in a minute"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
