//! Two hosts on one machine (`scripts/two_hosts.sh`): `torchrun --nnodes 2`, one node per network
//! namespace joined by a veth pair, trains what one process trains; a host whose processes are
//! killed ends the job on the other well within `--dist-timeout`. Where the sandbox forbids network
//! namespaces the script exits 77 and these tests print why and check nothing more.
use std::path::Path;
use std::process::Output;

use crate::common::{read_jsonl, root, tempdir, text};
use crate::distributed::{train, worst_difference};

/// breast-cancer, 5 epochs (what `distributed::train` runs): 426 training samples.
const FLAGS: [&str; 2] = ["--experiment", "breast-cancer"];
const SAMPLES: u64 = 426;

/// Runs `scripts/two_hosts.sh` with `options`, then `--`, the training flags and `train`'s own
/// fixed ones. `None` (after printing the script's reason) where namespaces are refused.
fn two_hosts(out: &Path, options: &[&str], flags: &[&str]) -> Option<Output> {
    let run = std::process::Command::new("bash")
        .arg(root().join("scripts/two_hosts.sh"))
        .arg("--out")
        .arg(out)
        .args(options)
        .arg("--")
        .args(flags)
        .args(["--threads", "1", "--device", "cpu"])
        .env("TCH_HARNESS_BIN", env!("CARGO_BIN_EXE_tch-harness"))
        .output()
        .expect("bash starts");
    if run.status.code() == Some(77) {
        eprintln!("two hosts not tested here: {}", text(&run).trim());
        return None;
    }
    Some(run)
}

/// The script's summary line's `key=value`.
fn summary<'a>(run: &'a Output, key: &str) -> &'a str {
    let out = std::str::from_utf8(&run.stdout).unwrap();
    let line = out.lines().rfind(|l| l.starts_with("two_hosts:"));
    let line = line.unwrap_or_else(|| panic!("no summary line\n{}", text(run)));
    let field = line
        .split(' ')
        .find_map(|f| f.strip_prefix(&format!("{key}=")));
    field.unwrap_or_else(|| panic!("no {key} in {line}"))
}

#[test]
fn two_hosts_train_what_two_local_processes_and_one_process_train() {
    let dir = tempdir();
    let flags = [&FLAGS[..], &["--epochs", "5"]].concat();
    let Some(run) = two_hosts(&dir.path().join("hosts"), &[], &flags) else {
        return;
    };
    assert!(run.status.success(), "{}", text(&run));
    let hosts = read_jsonl(&dir.path().join("hosts/run/metrics.jsonl"));
    let config = std::fs::read_to_string(dir.path().join("hosts/run/config.json")).unwrap();
    assert!(config.contains("\"world_size\": 2"), "{config}");
    // The same ranks, batches and collectives as `--nproc 2` on one host: the same bits.
    let local = train(&dir.path().join("local"), 2, &FLAGS);
    for (h, l) in hosts.iter().zip(&local) {
        for key in ["train_loss", "eval_loss", "eval_accuracy", "train_count"] {
            assert_eq!(h[key], l[key], "{key}: two hosts {h} vs --nproc 2 {l}");
        }
    }
    let one = train(&dir.path().join("one"), 1, &FLAGS);
    let worst = worst_difference(&hosts, &one, SAMPLES);
    eprintln!("two hosts vs one process: worst relative difference {worst:.1e}");
    assert!(worst <= 1e-5, "{worst:e}");
}

/// Kills every process of host `killed` after its first epoch; the other host's rank must fail its
/// next collective and its torchrun end, long before `--dist-timeout` (60 s here).
fn assert_other_host_ends(killed: usize) {
    let dir = tempdir();
    let flags = [&FLAGS[..], &["--epochs", "20000", "--dist-timeout", "60"]].concat();
    let killed_arg = killed.to_string();
    let options = ["--kill-host", &killed_arg, "--kill-after-epoch", "1"];
    let Some(run) = two_hosts(dir.path(), &options, &flags) else {
        return;
    };
    let other = 1 - killed;
    assert_ne!(
        summary(&run, &format!("host{other}_rc")),
        "0",
        "{}",
        text(&run)
    );
    let after: f64 = summary(&run, "other_ended_after_s").parse().unwrap();
    eprintln!("host {killed} killed: host {other} ended {after} s later");
    assert!(after < 30.0, "host {other} took {after} s");
    let log = std::fs::read_to_string(dir.path().join(format!("host{other}.log"))).unwrap();
    let errors: Vec<&str> = log.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{log}");
    assert!(
        errors[0].contains("another rank stopped or is unreachable"),
        "{log}"
    );
}

#[test]
fn a_killed_worker_host_ends_the_job_on_the_store_host() {
    assert_other_host_ends(1);
}

#[test]
fn a_killed_store_host_ends_the_job_on_the_worker_host() {
    assert_other_host_ends(0);
}
