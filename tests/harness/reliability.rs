//! What a killed, hostile or concurrent invocation may leave behind (docs/reliability.md):
//! workers die with their launcher, reads are bounded, `last` keeps up, leftovers are cleaned
//! and a run directory trains in one process at a time.
use std::time::{Duration, Instant};

use crate::common::tempdir;
use crate::distributed::{job_under_way, worker};

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
