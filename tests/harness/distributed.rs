//! Data-parallel training (`train --nproc N`, or torchrun): N processes compute one process's
//! numbers — every sample once per epoch, each step's gradient the whole global batch's, the
//! epoch losses reduced as (sum, count) — within float32's sum-order noise — and match
//! torch.distributed's bits. A killed or stopped job, and bad job settings: `distributed_faults.rs`.
use std::path::Path;

use crate::common::{read_jsonl, root, run_bin, tempdir, text};
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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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
