//! The dataset is moved to the training device once; every batch is a view (a narrow) of the split
//! or of the epoch's one gather, on the split's device, so there is no per-batch copy, and in
//! particular no per-batch host-to-device copy on CUDA. Checked on the CPU through data pointers.
use tch::{Device, Kind, Tensor};
use tch_harness::data::{epoch_order, eval_batches, train_batches};
use tch_harness::distributed::Shard;
use tch_harness::{BatchSize, Builtin};

/// Bytes per sample (row) of a contiguous tensor.
fn row_bytes(t: &Tensor) -> usize {
    let per_row: i64 = t.size()[1..].iter().product();
    per_row as usize * t.kind().elt_size_in_bytes()
}

/// Batch `k` starts `k * batch_size` rows into `base`'s memory: it is a view, not a copy.
fn assert_views_of(base: &Tensor, batches: &[Tensor], batch_size: usize) {
    let start = base.data_ptr() as usize;
    for (k, batch) in batches.iter().enumerate() {
        assert_eq!(batch.device(), base.device());
        assert_eq!(
            batch.data_ptr() as usize,
            start + k * batch_size * row_bytes(base),
            "batch {k} is not a view of the gathered split"
        );
    }
}

#[test]
fn unshuffled_batches_are_views_of_the_device_resident_split() {
    let experiment = Builtin::DigitsMlp.build(0, Device::Cpu).unwrap();
    let split = &experiment.data.train;
    assert_eq!(split.inputs.device(), Device::Cpu);
    let (xs, ys): (Vec<_>, Vec<_>) =
        train_batches(split, BatchSize::new(64).unwrap(), None, Shard::WHOLE)
            .unwrap()
            .unzip();
    assert_eq!(xs.len(), 22);
    assert_views_of(&split.inputs, &xs, 64);
    assert_views_of(&split.targets, &ys, 64);
    let eval = experiment.data.eval.as_ref().unwrap();
    let (xs, ys): (Vec<_>, Vec<_>) = eval_batches(eval, BatchSize::new(64).unwrap(), Shard::WHOLE)
        .unwrap()
        .unzip();
    assert_views_of(&eval.inputs, &xs, 64);
    assert_views_of(&eval.targets, &ys, 64);
}

/// A shuffled epoch gathers the split once (one `index_select` on its device); the batches are
/// consecutive views of that one gather, and hold the samples in the epoch's order.
#[test]
fn shuffled_batches_are_views_of_one_gather() {
    let experiment = Builtin::DigitsMlp.build(0, Device::Cpu).unwrap();
    let split = &experiment.data.train;
    let order = epoch_order(split.len(), 0, 3);
    let (xs, ys): (Vec<_>, Vec<_>) = train_batches(
        split,
        BatchSize::new(64).unwrap(),
        Some(&order),
        Shard::WHOLE,
    )
    .unwrap()
    .unzip();
    let gathered = Tensor::cat(&xs, 0);
    assert!(gathered.equal(&split.inputs.index_select(0, &order)));
    assert!(Tensor::cat(&ys, 0).equal(&split.targets.index_select(0, &order)));
    // Consecutive in memory: one allocation made before the first batch, none per batch.
    let first = xs[0].data_ptr() as usize;
    for (k, batch) in xs.iter().enumerate() {
        assert_eq!(
            batch.data_ptr() as usize,
            first + k * 64 * row_bytes(&split.inputs)
        );
        assert_eq!(batch.device(), split.inputs.device());
    }
    let first = ys[0].data_ptr() as usize;
    for (k, batch) in ys.iter().enumerate() {
        assert_eq!(
            batch.data_ptr() as usize,
            first + k * 64 * Kind::Int64.elt_size_in_bytes()
        );
    }
}
