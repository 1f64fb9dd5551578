//! Mini-batches through `tch::data::Iter2`, keeping the short last batch; in a data-parallel run,
//! each rank's rows of every batch (see `distributed::Shard`).
use tch::data::Iter2;
use tch::Tensor;

use super::Split;
use super::{BatchSize, Shard};
use crate::error::Result;

/// The batches of a split, or one rank's rows of each.
pub struct Batches {
    batches: Iter2,
    shard: Shard,
}

impl Iterator for Batches {
    type Item = (Tensor, Tensor);

    #[inline]
    fn next(&mut self) -> Option<(Tensor, Tensor)> {
        let (inputs, targets) = self.batches.next()?;
        if self.shard.world == 1 {
            return Some((inputs, targets));
        }
        let rows = self.shard.range(inputs.size()[0] as usize);
        let (start, len) = (rows.start as i64, rows.len() as i64);
        // In bounds by construction (`Shard::range` lies within the batch): narrow cannot fail.
        Some((inputs.narrow(0, start, len), targets.narrow(0, start, len)))
    }
}

/// Batches of the training split in `order` (a permutation of its samples, or `None` to keep the
/// stored order). Reordering is one gather on the split's own device, so a CUDA run does no
/// per-batch host-to-device copy.
pub fn train_batches(
    split: &Split,
    batch_size: BatchSize,
    order: Option<&Tensor>,
    shard: Shard,
) -> Result<Batches> {
    let batches = match order {
        Some(order) => {
            let order = order.f_to_device(split.inputs.device())?;
            let inputs = split.inputs.f_index_select(0, &order)?;
            let targets = split.targets.f_index_select(0, &order)?;
            iter(&inputs, &targets, batch_size)?
        }
        None => iter(&split.inputs, &split.targets, batch_size)?,
    };
    Ok(Batches { batches, shard })
}

/// Batches of a held-out split, in stored order.
pub fn eval_batches(split: &Split, batch_size: BatchSize, shard: Shard) -> Result<Batches> {
    let batches = iter(&split.inputs, &split.targets, batch_size)?;
    Ok(Batches { batches, shard })
}

/// Number of batches, the short last one included: `ceil(n / batch_size)`.
pub fn batch_count(n: usize, batch_size: BatchSize) -> usize {
    n.div_ceil(batch_size.get() as usize)
}

fn iter(inputs: &Tensor, targets: &Tensor, batch_size: BatchSize) -> Result<Iter2> {
    let mut batches = Iter2::f_new(inputs, targets, batch_size.get())?;
    // Iter2 drops the short last batch unless told otherwise; PyTorch's DataLoader keeps it, and
    // the epoch average divides by the whole dataset, so it must be kept.
    batches
        .return_smaller_last_batch()
        .to_device(inputs.device());
    Ok(batches)
}
