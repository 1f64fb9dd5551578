//! A NaN or infinite batch loss: stop with a message naming the epoch, the batch and the last
//! good checkpoint, or (`--on-nonfinite skip-batch`) skip the batch and average over the rest.
use crate::common::{assert_clean_error, read_jsonl, run_bin, run_python, tempdir, text};

/// Weights so large that some samples' squared error overflows float32 (about 3% of them), while
/// `--lr 0` keeps the weights fixed, so which samples overflow depends on the data only.
const OVERFLOW_INIT: &str = r#"
import sys, torch
from safetensors.torch import save_file
save_file({"fc1.weight": torch.full((1, 8), 3e18), "fc1.bias": torch.zeros(1)}, sys.argv[1])
"#;

/// The expected epoch loss with skipped batches: PyTorch's per-sample MSE at those weights, mean
/// over the finite ones (batch size 1, so a batch is a sample).
const FINITE_MEAN: &str = r#"
import sys, torch
sys.path.insert(0, "scripts")
from experiments import synthetic_regression
torch.manual_seed(0)
x, y, _, _ = synthetic_regression()
w, b = torch.full((1, 8), 3e18), torch.zeros(1)
per_sample = torch.stack([torch.nn.functional.mse_loss(x[i:i+1] @ w.T + b, y[i:i+1]) for i in range(len(x))])
finite = per_sample[torch.isfinite(per_sample)]
total = 0.0
for v in finite.tolist():
    total += v * 1
print(len(per_sample) - len(finite), total / len(finite))
"#;

/// Trains linear-regression one epoch at batch size 1 from the overflowing weights, with `extra`
/// flags; returns the process output and the run directory.
pub(crate) fn overflow_run(
    dir: &std::path::Path,
    extra: &[&str],
) -> (std::process::Output, std::path::PathBuf) {
    let init = dir.join("init.safetensors");
    run_python(OVERFLOW_INIT, &[init.to_str().unwrap()]);
    let run = dir.join("run");
    let mut args = vec![
        "train",
        "--experiment",
        "linear-regression",
        "--batch-size",
        "1",
        "--lr",
        "0",
    ];
    args.extend_from_slice(&[
        "--epochs",
        "1",
        "--device",
        "cpu",
        "--init",
        init.to_str().unwrap(),
    ]);
    args.extend_from_slice(&["--out", run.to_str().unwrap()]);
    args.extend_from_slice(extra);
    (run_bin(&args), run)
}

#[test]
fn nonfinite_loss_stops_with_epoch_batch_and_checkpoint() {
    let dir = tempdir();
    let (out, run) = overflow_run(dir.path(), &[]);
    assert_clean_error(&out, "epoch 1, batch");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the loss is inf") && stderr.contains("last good checkpoint: none yet"),
        "{stderr}"
    );
    assert!(!run.join("model.safetensors").exists());
}

#[test]
fn skip_batch_leaves_nonfinite_batches_out_of_the_average() {
    let dir = tempdir();
    let (out, run) = overflow_run(
        dir.path(),
        &["--no-shuffle", "--on-nonfinite", "skip-batch"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let expected = run_python(FINITE_MEAN, &[]);
    let (skipped, mean) = expected.trim().split_once(' ').unwrap();
    let (skipped, mean): (u64, f64) = (skipped.parse().unwrap(), mean.parse().unwrap());
    assert!(
        skipped > 0 && skipped < 1000,
        "the fixture must overflow some samples only: {skipped}"
    );
    let record = &read_jsonl(&run.join("metrics.jsonl"))[0];
    assert_eq!(record["skipped_batches"], skipped);
    assert_eq!(record["train_samples"], 1000 - skipped);
    let train_loss = record["train_loss"].as_f64().unwrap();
    assert!(
        ((train_loss - mean) / mean).abs() <= 1e-12,
        "{train_loss} vs PyTorch {mean}"
    );
}

#[test]
fn every_batch_skipped_names_the_true_dataset_size() {
    let dir = tempdir();
    let init = dir.path().join("huge.safetensors");
    let script = OVERFLOW_INIT.replace("3e18", "1e36");
    run_python(&script, &[init.to_str().unwrap()]);
    let run = dir.path().join("run");
    let out = run_bin(&[
        "train",
        "--experiment",
        "linear-regression",
        "--batch-size",
        "1",
        "--lr",
        "0",
        "--epochs",
        "1",
        "--device",
        "cpu",
        "--init",
        init.to_str().unwrap(),
        "--on-nonfinite",
        "skip-batch",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert_clean_error(&out, "(1000 of 1000 samples)");
}
