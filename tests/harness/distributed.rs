//! Data-parallel training (`train --nproc N`, or torchrun): N processes compute one process's
//! numbers — every sample once per epoch, each step's gradient the whole global batch's, the
//! epoch losses reduced as (sum, count) — within float32's sum-order noise; a killed rank ends
//! the job naming it, and the run resumes with another number of processes.
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::{assert_clean_error, bin, read_jsonl, root, run_bin, tempdir, text};
use crate::own_fixture::{fixture, path};

/// Trains `flags` for 5 epochs with `nproc` processes into `out`; returns metrics.jsonl.
pub(crate) fn train(out: &Path, nproc: usize, flags: &[&str]) -> Vec<serde_json::Value> {
    train_for("5", out, nproc, flags)
}

/// [`train`] for `epochs` epochs.
pub(crate) fn train_for(
    epochs: &str,
    out: &Path,
    nproc: usize,
    flags: &[&str],
) -> Vec<serde_json::Value> {
    let mut args = vec![
        "train",
        "--epochs",
        epochs,
        "--threads",
        "1",
        "--device",
        "cpu",
    ];
    args.extend_from_slice(flags);
    let nproc = nproc.to_string();
    let out_arg = path(out);
    args.extend_from_slice(&["--nproc", &nproc, "--out", &out_arg]);
    let run = run_bin(&args);
    assert!(run.status.success(), "{}", text(&run));
    read_jsonl(&out.join("metrics.jsonl"))
}

/// The largest relative difference of the per-epoch losses and accuracies of `a` and `b`, after
/// checking that both counted the same samples and targets in every epoch.
pub(crate) fn worst_difference(
    a: &[serde_json::Value],
    b: &[serde_json::Value],
    samples: u64,
) -> f64 {
    assert_eq!(a.len(), b.len());
    let mut worst: f64 = 0.0;
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x["train_samples"].as_u64(), Some(samples), "{x}");
        assert_eq!(x["train_count"], y["train_count"], "{x} vs {y}");
        assert_eq!(x["batches"], y["batches"]);
        for key in ["train_loss", "eval_loss", "eval_accuracy"] {
            if let (Some(p), Some(q)) = (x[key].as_f64(), y[key].as_f64()) {
                worst = worst.max((p - q).abs() / q.abs().max(f64::MIN_POSITIVE));
            }
        }
    }
    worst
}

/// 1 vs 2 vs 3 processes, 5 epochs: the equality table of README, "More than one process".
fn assert_same_as_one_process(name: &str, flags: &[&str], samples: u64, tolerance: f64) {
    let dir = tempdir();
    let one = train(&dir.path().join("1"), 1, flags);
    for nproc in [2, 3] {
        let many = train(&dir.path().join(nproc.to_string()), nproc, flags);
        let worst = worst_difference(&many, &one, samples);
        eprintln!("{name}: nproc {nproc} vs 1, worst relative difference {worst:.1e}");
        assert!(
            worst <= tolerance,
            "{name} nproc {nproc}: {worst:e} > {tolerance:e}\n{many:?}\n{one:?}"
        );
    }
}

#[test]
fn n_processes_give_one_process_epoch_losses_on_every_experiment_without_buffers() {
    assert_same_as_one_process(
        "linear-regression",
        &["--experiment", "linear-regression"],
        1000,
        1e-5,
    );
    assert_same_as_one_process(
        "breast-cancer",
        &["--experiment", "breast-cancer"],
        426,
        1e-5,
    );
    // Token-weighted: targets padded with -100 (ignored); AdamW, OneCycleLR per batch, clipping.
    assert_same_as_one_process(
        "cmudict-gru",
        &["--config", "configs/cmudict-gru.toml"],
        2131,
        1e-5,
    );
    let f = fixture();
    // (The fixture's cross-entropy model has batch norm inside the module: not one process's.)
    let (model, data) = (f.model("nll"), f.data("nll"));
    let own = [
        "--model",
        &model,
        "--data",
        &data,
        "--loss",
        "nll",
        "--batch-size",
        "16",
    ];
    assert_same_as_one_process("torchscript", &own, 203, 1e-5);
    let ignore = [&own[..], &["--ignore-index", "1"]].concat();
    assert_same_as_one_process("torchscript --ignore-index 1", &ignore, 203, 1e-5);
}

#[test]
fn digits_mlp_stays_within_float32_noise_also_when_accumulating_and_clipping() {
    // Splitting a batch's GEMMs changes the last bits of each gradient (1e-8 relative for 37
    // steps); at step 38 one gradient differs by 1.5e-5 (the size of one ReLU input that close
    // to 0 changing sign), and from then on the runs differ by a few 1e-5 (one process with
    // --threads 2 is bit-identical to --threads 1, so this is the split, not the machine). 2 and
    // 3 processes land on the same values.
    assert_same_as_one_process("digits-mlp", &[], 1347, 1e-4);
    let flags = [
        "--accumulate",
        "3",
        "--clip-grad-norm",
        "1.0",
        "--batch-size",
        "50",
    ];
    assert_same_as_one_process("digits-mlp accumulate+clip", &flags, 1347, 1e-4);
}

#[test]
fn torchrun_runs_the_same_job_as_nproc() {
    let dir = tempdir();
    let flags = [
        "--experiment",
        "breast-cancer",
        "--epochs",
        "3",
        "--threads",
        "1",
        "--device",
        "cpu",
    ];
    let ours = dir.path().join("nproc");
    let mut args = vec!["train"];
    args.extend_from_slice(&flags);
    let ours_arg = path(&ours);
    args.extend_from_slice(&["--nproc", "2", "--out", &ours_arg]);
    assert!(run_bin(&args).status.success());
    let theirs = dir.path().join("torchrun");
    let out = std::process::Command::new(root().join(".venv/bin/torchrun"))
        .args([
            "--no-python",
            "--nproc-per-node",
            "2",
            "--master-port",
            &free_port().to_string(),
        ])
        .arg(env!("CARGO_BIN_EXE_tch-harness"))
        .arg("train")
        .args(flags)
        .arg("--out")
        .arg(&theirs)
        .current_dir(root())
        .output()
        .expect("torchrun starts");
    assert!(out.status.success(), "{}", text(&out));
    // Same arithmetic, same collectives: the same bits, whoever hosts the store.
    let (a, b) = (
        read_jsonl(&ours.join("metrics.jsonl")),
        read_jsonl(&theirs.join("metrics.jsonl")),
    );
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x["train_loss"], y["train_loss"]);
        assert_eq!(x["eval_loss"], y["eval_loss"]);
    }
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(theirs.join("config.json")).unwrap())
            .unwrap();
    assert_eq!(config["world_size"], 2);
    assert_eq!(config["backend"], "gloo");
}

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
    unsafe { kill(rank1 as i32, 9) };
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
    unsafe { kill(job.id() as i32, 2) };
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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}

#[test]
fn compare_nproc_diffs_like_with_like_against_torch_distributed() {
    // reference.py --nproc N runs the same shards, loss scales and one all-reduce per step
    // with torch.distributed (Gloo): the same bits, where one process differs by 1e-5.
    for (flags, nproc) in [
        (vec!["--experiment", "digits-mlp", "--epochs", "5"], "2"),
        (
            vec!["--config", "configs/cmudict-gru.toml", "--epochs", "2"],
            "3",
        ),
    ] {
        let dir = tempdir();
        let out_dir = path(&dir.path().join("cmp"));
        let mut args = vec![
            "compare",
            "--threads",
            "1",
            "--device",
            "cpu",
            "--nproc",
            nproc,
        ];
        args.extend_from_slice(&flags);
        args.extend_from_slice(&["--out", &out_dir]);
        let out = run_bin(&args);
        assert!(out.status.success(), "{}", text(&out));
        let report: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("cmp/compare.json")).unwrap(),
        )
        .unwrap();
        eprintln!(
            "compare --nproc {nproc} {flags:?}: max relative difference {}",
            report["max_rel_diff"]
        );
        assert_eq!(report["max_rel_diff"].as_f64(), Some(0.0), "{report}");
    }
}
