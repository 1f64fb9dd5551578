//! Gradient accumulation (`--accumulate N`): the optimizer steps every N batches on the gradient
//! of the mean over the counted elements of those batches (each batch's loss scaled by its count
//! over the window's), the short last window included. Bit-identical to scripts/reference.py's
//! loop, within 1e-5 of one batch N times larger, and a batch skipped inside a window is left out
//! of the window's mean.
use serde_json::Value;
use tch_harness::data::read_tensors;

use crate::common::{read_jsonl, run_bin, run_python, tempdir, text};
use crate::loss_counts::assert_compare_identical;
use crate::loss_fixture::{loss_fixture, task, SMOOTHING, WEIGHTS};
use crate::own_fixture::{path, rel};

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// Against scripts/reference.py's loop, to the bit:
///
/// ```python
/// for start in range(0, len(batches), accumulate):
///     window = batches[start:start + accumulate]            # the last one may be shorter
///     window_count = total(count for _, _, count in window)
///     optimizer.zero_grad()
///     for inputs, targets, count in window:
///         _loss = criterion(model(inputs), targets)
///         (_loss * (count / window_count)).backward()
///         total_loss += _loss.item() * count
///     clip_grad_norm_(...); optimizer.step(); scheduler.step()
/// ```
///
/// Windows with clipping and a per-step OneCycleLR
/// (digits: 85 batches of 16 per epoch, 22 windows of 4, the last of one batch of 3 samples), Adam
/// with the loss summed on the device, and class-weighted counts that are not integers.
#[test]
fn compare_with_accumulation_is_bit_identical() {
    assert_compare_identical(&strings(&[
        "--experiment",
        "digits-mlp",
        "--batch-size",
        "16",
        "--accumulate",
        "4",
        "--momentum",
        "0.9",
        "--clip-grad-norm",
        "1.0",
        "--scheduler",
        "OneCycleLR(max_lr=0.1, total_steps=44, cycle_momentum=False)",
        "--scheduler-interval",
        "batch",
    ]));
    assert_compare_identical(&strings(&[
        "--experiment",
        "breast-cancer",
        "--batch-size",
        "10",
        "--accumulate",
        "3",
        "--optimizer",
        "adam",
        "--lr",
        "0.01",
        "--loss-sync",
        "epoch",
    ]));
    let weights = [
        "--accumulate",
        "3",
        "--momentum",
        "0.9",
        "--class-weights",
        WEIGHTS,
        "--label-smoothing",
        SMOOTHING,
    ];
    assert_compare_identical(&task(
        "tokens",
        "data.safetensors",
        "cross-entropy",
        &weights,
    ));
}

/// Trains with `args` for 3 epochs; returns the metrics lines and the final weights.
fn train(args: &[&str]) -> (Vec<Value>, Vec<(String, tch::Tensor)>) {
    let dir = tempdir();
    let out = dir.path().join("run");
    let out_arg = path(&out);
    let base = [
        "train",
        "--epochs",
        "3",
        "--threads",
        "1",
        "--device",
        "cpu",
    ];
    let all = [&base[..], args, &["--out", &out_arg]].concat();
    let run = run_bin(&all);
    assert!(run.status.success(), "{}", text(&run));
    let weights = read_tensors(&out.join("model.safetensors")).unwrap();
    (read_jsonl(&out.join("metrics.jsonl")), weights)
}

/// N batches of B accumulated are one batch of N·B (same sample order, SGD): per-epoch losses and
/// final weights within 1e-5. breast-cancer: 426 samples, the last window 10 + 10 + 6 = the last
/// batch of 26; digits: 1,347 samples, the last window one batch of 3.
#[test]
fn accumulation_matches_the_larger_batch_within_1e_5() {
    for (experiment, small, n, large) in [
        ("breast-cancer", "10", "4", "40"),
        ("digits-mlp", "16", "4", "64"),
    ] {
        let common = ["--experiment", experiment, "--lr", "0.1"];
        let (acc_records, acc_weights) =
            train(&[&common[..], &["--batch-size", small, "--accumulate", n]].concat());
        let (big_records, big_weights) = train(&[&common[..], &["--batch-size", large]].concat());
        for (a, b) in acc_records.iter().zip(&big_records) {
            for key in ["train_loss", "eval_loss", "eval_accuracy"] {
                let (x, y) = (a[key].as_f64().unwrap(), b[key].as_f64().unwrap());
                assert!(rel(x, y) <= 1e-5, "{experiment} {key}: {x} vs {y}");
            }
            assert_eq!(
                a["batches"].as_u64().unwrap().div_ceil(4),
                b["batches"].as_u64().unwrap()
            );
        }
        for ((name, a), (_, b)) in acc_weights.iter().zip(&big_weights) {
            let scale = b.abs().max().double_value(&[]);
            let diff = (a - b).abs().max().double_value(&[]);
            assert!(
                diff <= 1e-5 * scale,
                "{experiment} {name}: max diff {diff} (scale {scale})"
            );
        }
        // Not the same run: windows of four are not the smaller batch alone.
        let (plain, _) = train(&[&common[..], &["--batch-size", small]].concat());
        let (x, y) = (
            plain[0]["train_loss"].as_f64().unwrap(),
            acc_records[0]["train_loss"].as_f64().unwrap(),
        );
        assert!(rel(x, y) > 1e-4, "{experiment}: accumulation did nothing");
    }
}

/// The expected run, in PyTorch: windows of 3 batches of 8 in stored order; a batch whose loss is
/// not finite gets no backward pass, and the window's step is the gradient of the mean over the
/// batches trained on (each scaled by its samples over theirs); the epoch loss is over those.
const SKIPPED_IN_A_WINDOW: &str = r#"
import json, sys, torch, torch.nn.functional as F
from safetensors.torch import load_file
torch.set_num_threads(1)
torch._C._set_graph_executor_optimize(False)   # as the harness runs TorchScript (eager gradients)
model = torch.jit.load(sys.argv[1]); d = load_file(sys.argv[2])
x, y = d["inputs"], d["targets"]
opt = torch.optim.SGD(model.parameters(), lr=0.05, foreach=False)
batches = [(x[i:i + 8], y[i:i + 8]) for i in range(0, len(x), 8)]
losses = []
for epoch in range(2):
    total, count, skipped = 0.0, 0.0, 0
    for w in range(0, len(batches), 3):
        window = [(F.mse_loss(model(xb), yb), len(xb)) for xb, yb in batches[w:w + 3]]
        trained = [(l, n) for l, n in window if torch.isfinite(l)]
        skipped += len(window) - len(trained)
        kept = 0.0
        for _, n in trained:
            kept += n
        opt.zero_grad()
        for l, n in trained:
            (l * (n / kept)).backward()
            total += l.item() * n
            count += n
        if trained:
            opt.step()
    losses.append([total / count, skipped])
print(json.dumps({"losses": losses, "weights": {k: v.flatten().tolist() for k, v in model.named_parameters()}}))
"#;

/// `--on-nonfinite skip-batch` inside a window: sample 37's squared error overflows (batch 5,
/// the middle of the second window); its batch is left out and the window steps on the mean over
/// the other two — PyTorch's loop above, within 1e-6.
#[test]
fn a_skipped_batch_inside_a_window_is_left_out_of_its_mean() {
    let fx = loss_fixture();
    let (model, data) = (fx.model("blowup"), fx.file("blowup", "data.safetensors"));
    let expected: Value =
        serde_json::from_str(run_python(SKIPPED_IN_A_WINDOW, &[&model, &data]).trim()).unwrap();
    let dir = tempdir();
    let out = dir.path().join("run");
    let args = [
        "train",
        "--model",
        &model,
        "--data",
        &data,
        "--loss",
        "mse",
        "--batch-size",
        "8",
        "--accumulate",
        "3",
        "--no-shuffle",
        "--on-nonfinite",
        "skip-batch",
        "--epochs",
        "2",
        "--lr",
        "0.05",
        "--threads",
        "1",
        "--device",
        "cpu",
        "--out",
        &path(&out),
    ];
    let run = run_bin(&args);
    assert!(run.status.success(), "{}", text(&run));
    let records = read_jsonl(&out.join("metrics.jsonl"));
    for (record, want) in records.iter().zip(expected["losses"].as_array().unwrap()) {
        let (loss, skipped) = (want[0].as_f64().unwrap(), want[1].as_u64().unwrap());
        assert_eq!(skipped, 1);
        assert_eq!(
            record["skipped_batches"].as_u64(),
            Some(skipped),
            "{record}"
        );
        assert_eq!(record["train_samples"], 203 - 8);
        let got = record["train_loss"].as_f64().unwrap();
        assert!(rel(got, loss) <= 1e-6, "{got} vs PyTorch {loss}");
    }
    let weights = read_tensors(&out.join("model.safetensors")).unwrap();
    for (name, t) in &weights {
        let got = Vec::<f64>::try_from(&t.flatten(0, -1)).unwrap();
        let want: Vec<f64> = serde_json::from_value(expected["weights"][name].clone()).unwrap();
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g - w).abs() <= 1e-6 * w.abs().max(1.0),
                "{name}: {g} vs PyTorch {w}"
            );
        }
    }
}
