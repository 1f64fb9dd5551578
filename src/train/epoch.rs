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

use crate::checkpoint::PartialEpoch;
use crate::config::NonFinitePolicy;
use crate::criterion::Loss;
use crate::data::{train_batches, Split};
use crate::error::Result;
use crate::interrupt::StopFlag;
use crate::metrics::{EpochLoss, LossSync};
use crate::model::Model;
use crate::optim::Optimizer;
use crate::progress::Progress;

/// What one finished epoch of training saw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochStats {
    /// Sum of per-sample losses over the samples trained on (the dataset length, less skipped
    /// batches).
    pub average_loss: f64,
    /// Samples seen and counted.
    pub samples: u64,
    /// Batches, the short last one included.
    pub batches: usize,
    /// Batches skipped for a non-finite loss (`--on-nonfinite skip-batch`).
    pub skipped_batches: usize,
}

/// How an epoch ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EpochEnd {
    Finished(EpochStats),
    /// Stopped at a batch boundary (Ctrl-C); the state to continue from.
    Stopped(PartialEpoch),
    /// A batch loss was NaN or infinite (`--on-nonfinite stop`): no update was made from it.
    NonFinite {
        batch: usize,
        loss: f64,
    },
}

/// The loop's settings for one epoch.
pub struct EpochPlan<'a> {
    pub epoch: usize,
    pub batch_size: i64,
    /// The epoch's sample order, or `None` for stored order.
    pub order: Option<&'a Tensor>,
    /// Where a stopped epoch left off (batches already done, their loss sum).
    pub resume_from: Option<PartialEpoch>,
    pub on_nonfinite: NonFinitePolicy,
    pub loss_sync: LossSync,
}

/// Trains `model` for one epoch over `split`.
pub fn train_epoch(
    model: &mut dyn Model,
    optimizer: &mut dyn Optimizer,
    criterion: Loss,
    split: &Split,
    plan: &EpochPlan,
    stop: &StopFlag,
    progress: &mut dyn Progress,
) -> Result<EpochEnd> {
    model.set_train(true);
    let start = plan.resume_from.unwrap_or(PartialEpoch {
        epoch: plan.epoch,
        ..Default::default()
    });
    let mut total_loss =
        EpochLoss::starting_from(plan.loss_sync, split.inputs.device(), start.total_loss)?;
    let mut batches = start.batches;
    let (mut skipped, mut skipped_samples) = (start.skipped_batches, start.skipped_samples);
    for (inputs, targets) in train_batches(split, plan.batch_size, plan.order)?.skip(batches) {
        optimizer.zero_grad()?;
        let outputs = model.forward_t(&inputs, true)?;
        let loss = criterion.compute(&outputs, &targets)?; // batch mean
        loss.f_backward()?;
        let batch_size = inputs.size()[0];
        let batch_loss = total_loss.read(&loss)?; // loss.item(), or left on the device
        batches += 1;
        if batch_loss.is_nonfinite() {
            if plan.on_nonfinite == NonFinitePolicy::Stop {
                return Ok(EpochEnd::NonFinite {
                    batch: batches,
                    loss: loss.f_double_value(&[])?,
                });
            }
            (skipped, skipped_samples) = (skipped + 1, skipped_samples + batch_size as u64);
            continue;
        }
        optimizer.step()?;
        total_loss.update(batch_loss, batch_size)?; // batch sum
        progress.batch(batches, &total_loss);
        if stop.requested() {
            let partial = PartialEpoch {
                epoch: plan.epoch,
                batches,
                total_loss: total_loss.to_host()?,
                skipped_batches: skipped,
                skipped_samples,
            };
            return Ok(EpochEnd::Stopped(partial));
        }
    }
    let counted = split.len() - skipped_samples as usize;
    let average_loss = total_loss.average_over(counted, "train")?; // NOT / batches
    Ok(EpochEnd::Finished(EpochStats {
        average_loss,
        samples: total_loss.count(),
        batches,
        skipped_batches: skipped,
    }))
}
