//! The kill-and-resume trial the resume tests share: runs of the built binary started, signalled
//! (SIGINT, SIGKILL) at random points and resumed, and the checks that nothing written was torn
//! and that the losses and weights equal an uninterrupted run's (`resume.rs` and the tests of each
//! capability that must survive a kill).
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::common::{bin, read_jsonl, run_bin, tempdir, text};
use tch_harness::run::{checkpoint_path, Checkpoint, LAST};

/// Long enough (≈ 2 s of training after ≈ 0.7 s of start-up) to be killed mid-run.
fn flags(optimizer: &[&'static str]) -> Vec<&'static str> {
    epochs_flags("10", optimizer)
}

pub(crate) fn epochs_flags(epochs: &'static str, optimizer: &[&'static str]) -> Vec<&'static str> {
    let mut f = vec![
        "--epochs",
        epochs,
        "--batch-size",
        "1",
        "--threads",
        "1",
        "--device",
        "cpu",
    ];
    f.extend_from_slice(optimizer);
    f
}

pub(crate) fn spawn_train(out: &Path, flags: &[&str]) -> Child {
    bin()
        .arg("train")
        .args(flags)
        .arg("--out")
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn")
}

pub(crate) fn spawn_resume(out: &Path) -> Child {
    bin()
        .args(["train", "--resume"])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn")
}

pub(crate) fn signal(child: &Child, signal: i32) {
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc_kill(child.id() as i32, signal) };
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

/// Waits until the run has written its config.json: by then its signal handlers are installed
/// (a SIGINT before that would kill it the default way, which is not what these tests check).
pub(crate) fn wait_until_training(run: &Path) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !run.join("config.json").exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub(crate) const SIGINT: i32 = 2;
const SIGKILL: i32 = 9;

/// metrics.jsonl without the wall-clock `seconds`: what must be bit-identical.
pub(crate) fn losses(run: &Path) -> Vec<serde_json::Value> {
    read_jsonl(&run.join("metrics.jsonl"))
        .into_iter()
        .map(|mut v| {
            for wall_clock in ["seconds", "train_seconds", "elapsed_seconds"] {
                v.as_object_mut().unwrap().remove(wall_clock);
            }
            v
        })
        .collect()
}

/// After any kill: every metrics line is complete JSON, and the checkpoint, if any, loads.
pub(crate) fn assert_intact(run: &Path) {
    if let Ok(text) = std::fs::read_to_string(run.join("metrics.jsonl")) {
        for line in text.lines() {
            serde_json::from_str::<serde_json::Value>(line)
                .unwrap_or_else(|e| panic!("torn line {line:?}: {e}"));
        }
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "half a line at the end"
        );
    }
    let last = checkpoint_path(run, LAST);
    if last.exists() {
        Checkpoint::load(&last)
            .unwrap_or_else(|e| panic!("checkpoint unreadable after a kill: {e}"));
    }
}

/// A tiny deterministic generator for kill times (no external crates, reproducible failures).
fn kill_times(seed: u64, count: usize) -> Vec<Duration> {
    let mut state = seed;
    (0..count)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            Duration::from_millis(300 + (state >> 33) % 2400)
        })
        .collect()
}

pub(crate) fn kill_and_resume_trials(optimizer: &[&'static str], seed: u64) -> usize {
    let flags = flags(optimizer);
    let dir = tempdir();
    let reference = dir.path().join("uninterrupted");
    let done = run_bin(&[&["train", "--out", reference.to_str().unwrap()][..], &flags].concat());
    assert!(done.status.success(), "{}", text(&done));
    let expected = losses(&reference);
    assert_eq!(expected.len(), 10);
    if optimizer.contains(&"--scheduler") {
        let rates: Vec<_> = expected.iter().map(|r| r["lr"].as_f64().unwrap()).collect();
        assert!(
            rates.windows(2).any(|w| w[0] != w[1]),
            "the schedule never changed the rate: {rates:?}"
        );
    }

    let mut matched = 0;
    for (trial, pair) in kill_times(seed, 8).chunks(2).enumerate() {
        let run = dir.path().join(format!("trial-{trial}"));
        // First kill during the fresh run, second during its resume.
        let mut child = spawn_train(&run, &flags);
        std::thread::sleep(pair[0]);
        signal(&child, SIGKILL);
        child.wait().unwrap();
        assert_intact(&run);
        if !run.join("config.json").exists() {
            // Killed before the run existed: a user would start it again.
            let _ = std::fs::remove_dir_all(&run);
            // Killed once the run exists (a fixed delay is not enough on a loaded machine).
            let mut fresh = spawn_train(&run, &flags);
            wait_until_training(&run);
            std::thread::sleep(Duration::from_millis(200));
            signal(&fresh, SIGKILL);
            fresh.wait().unwrap();
            assert_intact(&run);
        }
        let mut resumed = spawn_resume(&run);
        std::thread::sleep(pair[1] / 2);
        signal(&resumed, SIGKILL);
        resumed.wait().unwrap();
        assert_intact(&run);

        let finish = spawn_resume(&run).wait_with_output().unwrap();
        assert!(finish.status.success(), "trial {trial}: {}", text(&finish));
        assert_intact(&run);
        assert_eq!(
            losses(&run),
            expected,
            "trial {trial} (kills at {pair:?}): losses differ from the uninterrupted run"
        );
        let weights = |p: &Path| std::fs::read(p.join("model.safetensors")).unwrap();
        assert_eq!(
            weights(&run),
            weights(&reference),
            "trial {trial}: final weights differ"
        );
        matched += 1;
    }
    matched
}
