//! `--loss-sync batch|epoch`: the device-side sum gives the seed's numbers, and renderers that do
//! not show the running loss never read it.
use std::cell::Cell;

use tch::{Device, Kind, Tensor};
use tch_harness::run::{BarProgress, PlainProgress, Progress, RunningLoss, Silent};
use tch_harness::{BatchCount, BatchMean, LossSync, Tally};

use crate::common::{assert_clean_error, read_jsonl, run_bin, tempdir, text};

fn train(dir: &std::path::Path, sync: &str) -> Vec<serde_json::Value> {
    let out = dir.join(sync);
    let args = [
        "train",
        "--experiment",
        "digits-mlp",
        "--epochs",
        "4",
        "--threads",
        "1",
        "--device",
        "cpu",
        "--loss-sync",
        sync,
        "--out",
        out.to_str().unwrap(),
    ];
    let run = run_bin(&args);
    assert!(run.status.success(), "{}", text(&run));
    let config = std::fs::read_to_string(out.join("config.json")).unwrap();
    assert!(
        config.contains(&format!("\"loss_sync\": \"{sync}\"")),
        "{config}"
    );
    read_jsonl(&out.join("metrics.jsonl"))
}

/// Through the binary, on a real experiment: both modes give the same epoch losses (bit for bit on
/// the CPU; the requirement is 1e-6 relative) and see every sample of the dataset once per epoch.
#[test]
fn batch_and_epoch_sync_give_the_same_losses_and_samples() {
    let dir = tempdir();
    let batch = train(dir.path(), "batch");
    let epoch = train(dir.path(), "epoch");
    assert_eq!(batch.len(), 4);
    assert_eq!(epoch.len(), 4);
    for (b, e) in batch.iter().zip(&epoch) {
        for key in ["train_loss", "eval_loss", "eval_accuracy"] {
            let (x, y) = (b[key].as_f64().unwrap(), e[key].as_f64().unwrap());
            assert!((x - y).abs() <= 1e-6 * x.abs(), "{key}: {x} vs {y}");
            assert_eq!(x.to_bits(), y.to_bits(), "{key}: not bit-identical");
        }
        for r in [b, e] {
            assert_eq!(
                r["train_samples"], 1347,
                "digits has 1,347 training samples"
            );
            assert_eq!(r["batches"], 22);
            assert!(r["train_seconds"].as_f64().unwrap() <= r["seconds"].as_f64().unwrap());
        }
    }
}

#[test]
fn bad_loss_sync_is_a_one_line_error() {
    let out = run_bin(&["train", "--epochs", "1", "--loss-sync", "sometimes"]);
    assert_clean_error(
        &out,
        "invalid --loss-sync 'sometimes' (expected batch or epoch)",
    );
}

/// Random batch means and sizes: the device sum, read once, equals the host's per-batch sum.
#[test]
fn device_accumulator_is_bit_identical_to_the_host_one() {
    tch::manual_seed(7);
    let means = Tensor::rand([500], (Kind::Float, Device::Cpu)).exp();
    let mut host = Tally::new();
    let mut device = Tally::for_sync(LossSync::Epoch, Device::Cpu).unwrap();
    let mut n = 0usize;
    for i in 0..500 {
        let mean = means.get(i);
        let size = 1 + i * 37 % 64;
        host.add(BatchMean::Read(mean.double_value(&[])), size)
            .unwrap();
        device.add(device.read(&mean).unwrap(), size).unwrap();
        n += size as usize;
    }
    assert_eq!(device.count(), host.count());
    let (h, d) = (
        host.average_over(n, "train").unwrap(),
        device.average_over(n, "train").unwrap(),
    );
    assert_eq!(h.to_bits(), d.to_bits(), "{h} vs {d}");
    assert!(device.average_over(n + 1, "train").is_err());
}

/// Counts that are not integers (class-weight sums): the device adds `mean × count` in two
/// roundings, as the host does, so the sums are still the same bits; integer counts that are not
/// batch sizes (non-ignored targets) too.
#[test]
fn device_tally_with_weighted_counts_is_bit_identical_to_the_host_one() {
    tch::manual_seed(11);
    let means = Tensor::rand([300], (Kind::Float, Device::Cpu)).exp();
    let mut host = Tally::new();
    let mut device = Tally::for_sync(LossSync::Epoch, Device::Cpu).unwrap();
    for i in 0..300 {
        let mean = means.get(i);
        let count = if i % 2 == 0 {
            0.1 * (i % 17) as f64 + 0.25 * (i % 5) as f64 + 0.3
        } else {
            (7 * i % 50 + 1) as f64
        };
        let batch = BatchCount { samples: 16, count };
        host.add(BatchMean::Read(mean.double_value(&[])), batch)
            .unwrap();
        device.add(device.read(&mean).unwrap(), batch).unwrap();
    }
    assert_eq!(device.count().to_bits(), host.count().to_bits());
    assert_eq!(device.samples(), 300 * 16);
    let (h, d) = (
        host.average_over(4800, "train").unwrap(),
        device.average_over(4800, "train").unwrap(),
    );
    assert_eq!(h.to_bits(), d.to_bits(), "{h} vs {d}");
}

/// The accumulated loss holds no autograd graph.
#[test]
fn device_accumulator_detaches() {
    let w = Tensor::ones([3], (Kind::Float, Device::Cpu)).set_requires_grad(true);
    let loss = (&w * 2.0).mean(Kind::Float);
    let mut total = Tally::for_sync(LossSync::Epoch, Device::Cpu).unwrap();
    for _ in 0..2 {
        let batch = total.read(&loss).unwrap();
        assert!(matches!(batch, BatchMean::OnDevice(_)), "{batch:?}");
        total.add(batch, 3).unwrap();
    }
    assert_eq!(total.samples(), 6);
    assert_eq!(total.count(), 6.0);
    assert_eq!(total.average_over(6, "train").unwrap(), 2.0);
}

/// Counts the reads a renderer makes of the running loss.
struct CountingLoss {
    reads: Cell<usize>,
}

impl RunningLoss for CountingLoss {
    fn count(&self) -> u64 {
        1
    }
    fn mean(&self) -> Option<f64> {
        self.reads.set(self.reads.get() + 1);
        Some(1.0)
    }
}

fn reads_over_an_epoch(progress: &mut dyn Progress, batches: usize) -> usize {
    let loss = CountingLoss {
        reads: Cell::new(0),
    };
    progress.start_epoch(1, 1, batches);
    for b in 1..=batches {
        progress.batch(b, &loss);
    }
    loss.reads.get()
}

/// Plain and silent output never read the (possibly device-side) running loss; the bar reads it
/// every 8 batches and at the last one.
#[test]
fn only_the_bar_reads_the_running_loss_and_rarely() {
    assert_eq!(reads_over_an_epoch(&mut Silent, 100), 0);
    assert_eq!(reads_over_an_epoch(&mut PlainProgress, 100), 0);
    let mut bar = BarProgress::new();
    assert_eq!(reads_over_an_epoch(&mut bar, 100), 100 / 8 + 1);
}
