//! Never lose a run: processes killed at random points (SIGKILL), interrupted (SIGINT) and
//! resumed give the same per-epoch losses, to the bit, as an uninterrupted run.
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::common::{assert_clean_error, bin, read_jsonl, run_bin, tempdir, text};
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

const SGD_MOMENTUM: &[&str] = &["--optimizer", "sgd", "--momentum", "0.9", "--lr", "0.002"];
const ADAM: &[&str] = &["--optimizer", "adam", "--lr", "0.0005"];

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
fn assert_intact(run: &Path) {
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
