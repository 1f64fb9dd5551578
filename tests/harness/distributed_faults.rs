//! A data-parallel job that fails: a killed rank ends the job naming it, Ctrl-C stops every rank
//! at the same step, a non-finite loss on one rank stops them all, and the run resumes with
//! another number of processes to the uninterrupted run's numbers. Bad job settings are one-line
//! errors.
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::{assert_clean_error, bin, read_jsonl, run_bin, tempdir, text};
use crate::distributed::worst_difference;
use crate::own_fixture::path;

const LONG_RUN: [&str; 8] = [
    "--experiment",
    "breast-cancer",
    "--epochs",
    "120",
    "--threads",
    "1",
    "--device",
    "cpu",
];

/// The uninterrupted one-process run of `LONG_RUN` in `dir/whole`; its metrics.
fn whole_run(dir: &Path) -> Vec<serde_json::Value> {
    let whole = dir.join("whole");
    let mut args = vec!["train"];
    args.extend_from_slice(&LONG_RUN);
    let whole_arg = path(&whole);
    args.extend_from_slice(&["--out", &whole_arg]);
    assert!(run_bin(&args).status.success());
    read_jsonl(&whole.join("metrics.jsonl"))
}

/// `LONG_RUN` with 2 processes into `run`, once it has written 3 epochs.
pub(crate) fn job_under_way(run: &Path) -> std::process::Child {
    let job = bin()
        .arg("train")
        .args(LONG_RUN)
        .args(["--nproc", "2", "--out"])
        .arg(run)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let metrics = run.join("metrics.jsonl");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_to_string(&metrics).map_or(0, |m| m.lines().count()) < 3 {
        assert!(Instant::now() < deadline, "the job wrote no epochs");
        std::thread::sleep(Duration::from_millis(20));
    }
    job
}

/// Resumes `run` with `nproc` processes; checks it against the uninterrupted run.
fn resume_matches(run: &Path, nproc: &str, whole: &[serde_json::Value]) {
    let done = read_jsonl(&run.join("metrics.jsonl")).len();
    assert!(
        done < 120,
        "the interruption came too late to test anything"
    );
    let resumed = run_bin(&["train", "--resume", &path(run), "--nproc", nproc]);
    assert!(resumed.status.success(), "{}", text(&resumed));
    let worst = worst_difference(&read_jsonl(&run.join("metrics.jsonl")), whole, 426);
    eprintln!(
        "stopped after {done} epochs, resumed with {nproc}: worst relative difference {worst:.1e}"
    );
    assert!(worst <= 1e-5, "{worst:e}");
}

#[test]
fn a_killed_rank_ends_the_job_naming_it_and_the_run_resumes_with_another_nproc() {
    let dir = tempdir();
    let whole = whole_run(dir.path());
    let run = dir.path().join("run");
    let job = job_under_way(&run);
    let rank1 = worker(job.id(), 1).expect("rank 1 runs");
    // SAFETY: kill(2) on a process of this test's job.
    unsafe { libc::kill(rank1 as i32, 9) };
    let started = Instant::now();
    let out = job.wait_with_output().expect("the job ends");
    assert!(started.elapsed() < Duration::from_secs(30), "the job hung");
    assert_clean_error(&out, "rank 1 of 2 was killed by signal 9 (SIGKILL)");
    // The order of an epoch is global: the checkpoint means the same batches for 3 processes.
    resume_matches(&run, "3", &whole);
}

#[test]
fn ctrl_c_stops_every_rank_at_the_same_step_and_the_run_resumes_in_one_process() {
    let dir = tempdir();
    let whole = whole_run(dir.path());
    let run = dir.path().join("run");
    let job = job_under_way(&run);
    // SAFETY: kill(2) on this test's child, the launcher, which forwards it to every rank.
    unsafe { libc::kill(job.id() as i32, 2) };
    let out = job.wait_with_output().expect("the job ends");
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    resume_matches(&run, "1", &whole);
}

#[test]
fn a_nonfinite_loss_on_one_rank_stops_every_rank_at_the_same_step() {
    // Batches of 1 over 2 ranks: rank 1 holds every sample, some overflow; rank 0 holds none.
    let dir = tempdir();
    let (out, _) = crate::nonfinite::overflow_run(dir.path(), &["--nproc", "2"]);
    assert_clean_error(&out, "NaN or infinite");
}

#[test]
fn bad_job_settings_are_one_line_errors() {
    let out =
        |args: &[&str]| run_bin(&[&["train", "--epochs", "1", "--device", "cpu"], args].concat());
    assert_clean_error(&out(&["--nproc", "0"]), "--nproc must be at least 1");
    assert_clean_error(&out(&["--nproc", "100000"]), "far more than this machine");
    assert_clean_error(
        &out(&["--threads", "100000"]),
        "--threads 100000 is far more",
    );
    assert_clean_error(
        &out(&["--nproc", "2", "--dist-timeout", "0"]),
        "--dist-timeout",
    );
    assert_clean_error(&out(&["--nproc", "2", "--backend", "mpi"]), "--backend mpi");
    assert_clean_error(&out(&["--nproc", "2", "--backend", "nccl"]), "nccl");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let taken = out(&[
        "--nproc",
        "2",
        "--master-port",
        &port,
        "--dist-timeout",
        "10",
    ]);
    assert_clean_error(&taken, "rank 0 of 2 failed");
    let mismatch = bin()
        .args(["train", "--epochs", "1", "--nproc", "3"])
        .env("RANK", "0")
        .env("WORLD_SIZE", "2")
        .output()
        .unwrap();
    assert_clean_error(&mismatch, "WORLD_SIZE is 2");
    let bad_rank = bin()
        .args(["train", "--epochs", "1"])
        .env("RANK", "2")
        .env("WORLD_SIZE", "2")
        .output()
        .unwrap();
    assert_clean_error(&bad_rank, "below the world size");
}

/// The pid of the job's worker of rank `rank` (a child of `launcher` whose RANK it is).
pub(crate) fn worker(launcher: u32, rank: usize) -> Option<u32> {
    let children =
        std::fs::read_to_string(format!("/proc/{launcher}/task/{launcher}/children")).ok()?;
    children
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .find(|pid: &u32| {
            std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|env| {
                env.split(|&b| b == 0)
                    .any(|v| v == format!("RANK={rank}").as_bytes())
            })
        })
}
