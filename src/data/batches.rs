//! Mini-batches through `tch::data::Iter2`, keeping the short last batch.
use tch::data::Iter2;
use tch::Tensor;

use super::Split;
use crate::config::BatchSize;
use crate::error::Result;

/// Batches of the training split in `order` (a permutation of its samples, or `None` to keep the
/// stored order). Reordering is one gather on the split's own device, so a CUDA run does no
/// per-batch host-to-device copy.
pub fn train_batches(
    split: &Split,
    batch_size: BatchSize,
    order: Option<&Tensor>,
) -> Result<Iter2> {
    match order {
        Some(order) => {
            let order = order.f_to_device(split.inputs.device())?;
            let inputs = split.inputs.f_index_select(0, &order)?;
            let targets = split.targets.f_index_select(0, &order)?;
            iter(&inputs, &targets, batch_size)
        }
        None => iter(&split.inputs, &split.targets, batch_size),
    }
}

/// Batches of a held-out split, in stored order.
pub fn eval_batches(split: &Split, batch_size: BatchSize) -> Result<Iter2> {
    iter(&split.inputs, &split.targets, batch_size)
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
