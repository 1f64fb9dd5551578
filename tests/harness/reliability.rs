//! What a killed, hostile or concurrent invocation may leave behind (docs/reliability.md):
//! workers die with their launcher, reads are bounded, `last` keeps up, leftovers are cleaned
//! and a run directory trains in one process at a time.
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::{assert_clean_error, bin, run_bin, tempdir, text};
use crate::distributed_faults::{job_under_way, worker};
use crate::own_fixture::{fixture, path};
use crate::resume_fit::edit_config;
use crate::resume_untouched::assert_resume_refused;

fn alive(pid: u32) -> bool {
    // A zombie (killed, not yet reaped by init) trains no more.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit(')')
            .next()
            .is_some_and(|r| !r.trim_start().starts_with('Z'))
    })
}

#[test]
fn workers_die_with_a_sigkilled_launcher() {
    let dir = tempdir();
    let mut job = job_under_way(&dir.path().join("run"));
    let ranks: Vec<u32> = (0..2)
        .map(|r| worker(job.id(), r).expect("the rank runs"))
        .collect();
    job.kill().expect("SIGKILL the launcher");
    job.wait().expect("reaped");
    let deadline = Instant::now() + Duration::from_secs(5);
    while ranks.iter().any(|&pid| alive(pid)) {
        assert!(
            Instant::now() < deadline,
            "workers {ranks:?} outlived their launcher"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn endless_and_non_regular_files_are_one_line_errors_at_once() {
    let dir = tempdir();
    let folder = path(dir.path());
    let model = fixture().model("mse");
    let started = Instant::now();
    for (input, needle) in [
        ("/dev/zero", "not a regular file"),
        (&folder, "is a directory"),
    ] {
        assert_clean_error(&run_bin(&["train", "--config", input]), needle);
        let eval = ["eval", "--data", input, "--loss", "mse", "--model", &model];
        assert_clean_error(&run_bin(&eval), needle);
        let init = ["train", "--epochs", "1", "--init", input, "--out", &folder];
        assert_clean_error(&run_bin(&init), needle);
    }
    assert!(started.elapsed() < Duration::from_secs(30), "a read ran on");
}

/// A writer SIGKILLed mid-write leaves `.<file>.tmp-<pid>`: resume removes those of dead
/// processes and leaves a live process's alone.
#[test]
fn resume_removes_the_temporaries_of_killed_writers() {
    let dir = tempdir();
    let run = dir.path().join("run");
    let args = ["--experiment", "linear-regression", "--threads", "1"];
    let first = run_bin(&[&["train", "--epochs", "1", "--out", &path(&run)][..], &args].concat());
    assert!(first.status.success(), "{}", crate::common::text(&first));
    // A pid that existed and is gone: a child that has been waited for.
    let mut child = std::process::Command::new("true")
        .spawn()
        .expect("true runs");
    let dead = child.id();
    child.wait().expect("reaped");
    let checkpoints = run.join("checkpoints");
    let stale = checkpoints.join(format!(".last.safetensors.tmp-{dead}"));
    let live = checkpoints.join(format!(".last.safetensors.tmp-{}", std::process::id()));
    std::fs::write(&stale, b"torn").unwrap();
    std::fs::write(&live, b"being written").unwrap();
    // Two more epochs: edit the saved epoch count the way a longer run would be resumed.
    let config_path = run.join("config.json");
    let text = std::fs::read_to_string(&config_path).unwrap();
    std::fs::write(&config_path, text.replace("\"epochs\": 1", "\"epochs\": 2")).unwrap();
    let resumed = run_bin(&["train", "--resume", &path(&run)]);
    assert!(
        resumed.status.success(),
        "{}",
        crate::common::text(&resumed)
    );
    assert!(!stale.exists(), "a dead writer's temporary file was left");
    assert!(live.exists(), "a live process's temporary file was removed");
}

/// `train ARGS --out run` started in the background, returned once `ready` (a file of the run)
/// is there and not empty.
pub(crate) fn training_under_way(run: &Path, args: &[&str], ready: &str) -> Child {
    let child = bin()
        .arg("train")
        .args(args)
        .arg("--out")
        .arg(run)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let ready = run.join(ready);
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::metadata(&ready).map_or(true, |m| m.len() == 0) {
        assert!(Instant::now() < deadline, "{} never came", ready.display());
        std::thread::sleep(Duration::from_millis(10));
    }
    child
}

/// Sends `signal` to `child`.
pub(crate) fn signal(child: &Child, signal: i32) {
    // SAFETY: kill(2) on the pid of a child this test started and has not reaped.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
}

/// SIGSTOPs `child` and waits until every thread of it has stopped (a write in progress ends
/// first), so that its files hold still.
fn pause(child: &Child) {
    signal(child, libc::SIGSTOP);
    let stopped = |stat: String| {
        stat.rsplit(')')
            .next()
            .is_some_and(|r| r.trim_start().starts_with(['T', 't']))
    };
    let tasks = format!("/proc/{}/task", child.id());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_dir(&tasks).unwrap().all(|task| {
        std::fs::read_to_string(task.unwrap().path().join("stat")).map_or(true, stopped)
    }) {
        assert!(Instant::now() < deadline, "the trainer does not stop");
        std::thread::sleep(Duration::from_millis(10));
    }
}

const ENDLESS: [&str; 8] = [
    "--experiment",
    "digits-mlp",
    "--epochs",
    "1000000",
    "--threads",
    "1",
    "--device",
    "cpu",
];

/// A second `--resume` of a run that a process is training is one line naming the run, and
/// changes nothing (the trainer is paused with SIGSTOP so that the folder holds still); once
/// the trainer is SIGKILLed, its lock is gone and the run resumes.
#[test]
fn a_run_in_training_is_locked_against_resume() {
    let dir = tempdir();
    let run = dir.path().join("run");
    let mut trainer = training_under_way(&run, &ENDLESS, "checkpoints/last.safetensors");
    pause(&trainer);
    assert_resume_refused(&run, "another process is training in this run");
    assert!(trainer.try_wait().unwrap().is_none(), "the trainer ended");
    trainer.kill().expect("SIGKILL");
    trainer.wait().expect("reaped");
    // No more epochs: the resume only has to get past the lock.
    edit_config(&run, |c| c["epochs"] = 1.into());
    let resumed = run_bin(&["train", "--resume", &path(&run)]);
    assert!(resumed.status.success(), "{}", text(&resumed));
}

/// Under `--nproc 2` the writing rank holds the lock: a `--resume` beside the job is refused,
/// and the run resumes once the job is killed.
#[test]
fn a_distributed_run_is_locked_by_its_writer() {
    let dir = tempdir();
    let run = dir.path().join("run");
    let args = [&ENDLESS[..], &["--nproc", "2"]].concat();
    let mut job = training_under_way(&run, &args, "checkpoints/last.safetensors");
    let beside = run_bin(&["train", "--resume", &path(&run)]);
    assert!(job.try_wait().unwrap().is_none(), "the job ended");
    assert_clean_error(&beside, "another process is training in this run");
    job.kill().expect("SIGKILL the launcher");
    job.wait().expect("reaped");
    edit_config(&run, |c| c["epochs"] = 1.into());
    // The ranks die with their launcher (PR_SET_PDEATHSIG), a moment later.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let resumed = run_bin(&["train", "--resume", &path(&run)]);
        if resumed.status.success() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still locked: {}",
            text(&resumed)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
