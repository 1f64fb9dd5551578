//! The seed's accounting: sample-weighted epoch loss, never the mean of batch means.
use tch::{Kind, Tensor};
use tch_harness::data::{train_batches, Split};
use tch_harness::distributed::Shard;
use tch_harness::{BatchMean, BatchSize, Tally};

/// `tally.add(batch_mean, batch_size)` for a mean already on the host.
fn add(tally: &mut Tally, batch_mean: f64, batch_size: i64) {
    tally.add(BatchMean::Read(batch_mean), batch_size).unwrap();
}

/// 105 samples, batch 10: 11 batches, the last of 5. Every per-sample loss is 1, so the epoch
/// loss is 105 / 105 = 1, while dividing the sum by the 11 batches would give 9.545….
#[test]
fn seed_worked_example_105_samples_batch_10() {
    let inputs = Tensor::zeros([105, 3], (Kind::Float, tch::Device::Cpu));
    let targets = Tensor::ones([105], (Kind::Float, tch::Device::Cpu));
    let split = Split::new(inputs, targets, "example").unwrap();
    let mut total_loss = Tally::new();
    let mut batch_sizes = Vec::new();
    let batch = BatchSize::new(10).unwrap();
    for (inputs, targets) in train_batches(&split, batch, None, Shard::WHOLE).unwrap() {
        // Every sample's loss is 1: |0 - 1|, so the batch mean is 1.
        let loss = inputs
            .sum_dim_intlist(1, false, Kind::Float)
            .l1_loss(&targets, tch::Reduction::Mean);
        let batch_size = inputs.size()[0];
        add(&mut total_loss, loss.double_value(&[]), batch_size);
        batch_sizes.push(batch_size);
    }
    assert_eq!(batch_sizes.len(), 11);
    assert_eq!(
        *batch_sizes.last().unwrap(),
        5,
        "the short last batch is kept"
    );
    let average_loss = total_loss.average_over(105, "train").unwrap();
    assert_eq!(average_loss, 1.0);
    let wrong = total_loss.sum().unwrap() / batch_sizes.len() as f64;
    assert!((wrong - 9.545454545454545).abs() < 1e-12, "{wrong}");
}

/// A dropped batch is an error, not a silently wrong average.
#[test]
fn sample_count_mismatch_is_an_error() {
    let mut acc = Tally::new();
    add(&mut acc, 1.0, 100);
    let err = acc.average_over(105, "train").unwrap_err().to_string();
    assert!(
        err.contains("saw 100 samples but the dataset has 105"),
        "{err}"
    );
    assert!(Tally::new().average_over(0, "train").is_err());
}

/// For any dataset size and batch size, the accumulated average equals the plain mean of the
/// per-sample losses, and merging shards equals accumulating the whole.
#[test]
fn accumulator_properties_over_sizes() {
    // A deterministic spread of per-sample losses.
    let sample_loss = |i: usize| ((i * 7919) % 1000) as f64 / 997.0 + 0.125;
    for n in [1usize, 2, 7, 63, 64, 65, 105, 1347] {
        let exact = (0..n).map(sample_loss).sum::<f64>() / n as f64;
        for batch in [1usize, 3, 10, 64, 200] {
            let mut whole = Tally::new();
            let mut shards = [Tally::new(), Tally::new(), Tally::new()];
            for (b, start) in (0..n).step_by(batch).enumerate() {
                let end = (start + batch).min(n);
                let mean = (start..end).map(sample_loss).sum::<f64>() / (end - start) as f64;
                add(&mut whole, mean, (end - start) as i64);
                add(&mut shards[b % 3], mean, (end - start) as i64);
            }
            let avg = whole.average_over(n, "train").unwrap();
            assert!(
                (avg - exact).abs() <= 1e-12 * exact.abs(),
                "n={n} batch={batch}: {avg} vs {exact}"
            );
            let mut merged = Tally::new();
            shards.iter().for_each(|s| merged.merge(s).unwrap());
            assert_eq!(merged.samples(), n as u64);
            assert_eq!(merged.count(), n as f64);
            let merged_avg = merged.average_over(n, "train").unwrap();
            assert!(
                (merged_avg - avg).abs() <= 1e-12 * avg.abs(),
                "n={n} batch={batch}"
            );
        }
    }
}
