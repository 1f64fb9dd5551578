//! One training epoch, written as the seed's Python loop:
//!
//! ```python
//! total_loss = 0.0
//! for inputs, targets in dataloader:
//!     outputs = model(inputs)
//!     _loss = criterion(outputs, targets)          # batch mean
//!     batch_size = inputs.size(0)
//!     total_loss += _loss.item() * batch_size      # batch sum
//! average_loss = total_loss / len(dataloader.dataset)   # NOT / len(dataloader)
//! ```
//!
//! With `--loss-sync epoch` the batch sums stay on the device and `total_loss` is read once, at
//! the end (see `metrics::EpochLoss`); the numbers are the same.
use tch::Tensor;

use crate::criterion::Loss;
use crate::data::{train_batches, Split};
use crate::error::Result;
use crate::metrics::{EpochLoss, LossSync};
use crate::model::Model;
use crate::optim::Optimizer;
use crate::progress::Progress;

/// What one epoch of training saw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochStats {
    /// Sum of per-sample losses over the dataset length.
    pub average_loss: f64,
    /// Samples seen: always the dataset length (anything else is an error).
    pub samples: u64,
    /// Batches, the short last one included.
    pub batches: usize,
}

/// Trains `model` for one epoch over `split`, visiting samples in `order` (or stored order).
#[allow(clippy::too_many_arguments)] // the seed loop's inputs, spelled out
pub fn train_epoch(
    model: &mut dyn Model,
    optimizer: &mut dyn Optimizer,
    criterion: Loss,
    split: &Split,
    batch_size: i64,
    order: Option<&Tensor>,
    loss_sync: LossSync,
    progress: &mut dyn Progress,
) -> Result<EpochStats> {
    model.set_train(true);
    let mut total_loss = EpochLoss::new(loss_sync, split.inputs.device())?;
    let mut batches = 0;
    for (inputs, targets) in train_batches(split, batch_size, order)? {
        optimizer.zero_grad()?;
        let outputs = model.forward_t(&inputs, true)?;
        let loss = criterion.compute(&outputs, &targets)?; // batch mean
        loss.f_backward()?;
        optimizer.step()?;
        let batch_size = inputs.size()[0];
        total_loss.update(&loss, batch_size)?; // batch sum: loss.item() * batch_size
        batches += 1;
        progress.batch(batches, &total_loss);
    }
    let average_loss = total_loss.average_over(split.len(), "train")?; // NOT / batches
    Ok(EpochStats {
        average_loss,
        samples: total_loss.count(),
        batches,
    })
}
