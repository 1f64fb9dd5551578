//! What a killed, hostile or concurrent invocation may leave behind (docs/reliability.md):
//! workers die with their launcher, reads are bounded, `last` keeps up, leftovers are cleaned
//! and a run directory trains in one process at a time.
use std::time::{Duration, Instant};

use crate::common::{assert_clean_error, run_bin, tempdir};
use crate::distributed::{job_under_way, worker};
use crate::own_fixture::{fixture, path};

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
