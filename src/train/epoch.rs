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
//! A batch's weight is the count its mean is over (`plan`): its size for the seed's losses, its
//! non-ignored targets (or their class-weight sum) for cross-entropy and nll, whose mean PyTorch
//! takes over those. A batch whose every target is ignored has no mean (PyTorch's is NaN) and is
//! left out: no forward pass, no gradient, nothing added. With `--accumulate N` the step's seams
//! clear the gradients at a window's start and step at its end (`Step::begin_batch`/`end_batch`).
//!
//! With `--loss-sync epoch` the batch sums stay on the device and `total_loss` is read once, at
//! the end (see `tally`); the numbers are the same.
use tch::Tensor;

use super::plan::BatchPlan;
use super::{RunContext, Step};
use crate::config::{BatchSize, LossSync, NonFinitePolicy};
use crate::criterion::Criterion;
use crate::data::train_batches;
use crate::distributed::{Shard, SyncBatchNorm};
use crate::error::{Error, Result};
use crate::experiment::Experiment;
use crate::model::{with_batch_rows, BatchRows};
use crate::run_state::PartialEpoch;
use crate::tally::{Reduce, Tally};

/// What one finished epoch of training saw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochStats {
    /// Mean loss over what was trained on (samples, or counted targets), less skipped batches.
    pub average_loss: f64,
    /// Samples seen and counted.
    pub samples: u64,
    /// What the average is over: `samples`, or the targets' count or class-weight sum.
    pub count: f64,
    /// Batches, the short last one included.
    pub batches: usize,
    /// Batches skipped for a non-finite loss (`--on-nonfinite skip-batch`).
    pub skipped_batches: usize,
}

/// How an epoch ended.
#[derive(Debug, Clone, PartialEq)]
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
    pub batch_size: BatchSize,
    /// The epoch's sample order, or `None` for stored order.
    pub order: Option<&'a Tensor>,
    /// Where the epoch begins: its start, or where a stopped run left it.
    pub start: PartialEpoch,
    pub on_nonfinite: NonFinitePolicy,
    pub loss_sync: LossSync,
    pub criterion: &'a Criterion,
    /// Each batch's count and accumulation window.
    pub batches: &'a BatchPlan,
}

/// Trains the experiment's model for one epoch over its training split. Never inlined, so that a
/// profiler can collect exactly this span (scripts/profile.sh: `--toggle-collect='*::train_epoch'`).
#[inline(never)]
pub fn train_epoch(
    experiment: &mut Experiment,
    step: &mut Step,
    plan: EpochPlan,
    ctx: &mut RunContext,
) -> Result<EpochEnd> {
    let (model, split) = experiment.parts();
    model.set_train(true);
    let mut epoch = plan.start;
    let mut total_loss =
        std::mem::take(&mut epoch.total_loss).placed(plan.loss_sync, ctx.device)?;
    let shard = Shard::of(ctx.processes); // this process's rows of each batch: all of them, unless data-parallel
    for (inputs, targets) in
        train_batches(split, plan.batch_size, plan.order, shard)?.skip(epoch.batches)
    {
        let batch = plan.batches.get(epoch.batches)?; // its count and accumulation window
        epoch.batches += 1;
        step.begin_batch(&batch)?; // zero_grad at a window's start
        let batch_size = inputs.size()[0];
        let rows = global_rows(split.len(), plan.batch_size, epoch.batches - 1, shard);
        if batch.count == 0.0 {
            total_loss.add_uncounted(batch_size); // every target ignored, or no rows here
            if batch.global_count > 0.0 && SyncBatchNorm::active() {
                // The other ranks' batch norm waits for this rank's statistics and gradients.
                let zero = step.forward(&mut || {
                    let outputs = with_batch_rows(rows, || model.forward_t(&inputs, true))?;
                    Ok(outputs.f_sum(outputs.kind())?.f_mul_scalar(0.0)?)
                })?;
                zero.f_backward()?;
            }
        } else {
            let loss = step.forward(&mut || {
                let outputs = with_batch_rows(rows, || model.forward_t(&inputs, true))?;
                plan.criterion.compute(&outputs, &targets) // batch mean
            })?;
            let batch_loss = total_loss.read(&loss)?; // loss.item(), or left on the device
            if batch_loss.is_nonfinite() {
                if plan.on_nonfinite == NonFinitePolicy::Stop && !step.is_distributed() {
                    return nonfinite(&epoch, &loss); // (data-parallel: all ranks, at the step)
                }
                epoch.skip(batch_size);
                step.skip(&batch);
            } else {
                step.backward(&loss, &batch)?; // scaled to its share of the window
                total_loss.add(batch_loss, batch.counted(batch_size))?; // batch sum
            }
        }
        step.end_batch(&batch)?; // a window's end: the hooks, optimizer.step(), the scheduler
        ctx.progress.batch(epoch.batches, &total_loss);
        if step.stop_requested(ctx.stop) {
            return stopped(epoch, &total_loss, ctx.processes); // data-parallel: agreed at the window's end
        }
    }
    total_loss.reduce(ctx.processes)?;
    let skipped = ctx.processes.sum_u64(epoch.skipped_samples)?; // every rank's
    let counted = split.len() - skipped as usize;
    if counted == 0 && skipped > 0 {
        // Else the sample check reads "saw 0 samples but the dataset has 0".
        return Err(Error::Data(format!(
            "train: every batch had a non-finite loss and was skipped ({skipped} of {} samples); the epoch has no average",
            split.len()
        )));
    }
    let average_loss = total_loss.average_over(counted, "train")?; // NOT / batches
    Ok(EpochEnd::Finished(EpochStats {
        average_loss,
        samples: total_loss.samples(),
        count: total_loss.count(),
        batches: epoch.batches,
        skipped_batches: epoch.skipped_batches,
    }))
}

/// This rank's rows of batch `index` (0-based) of an epoch over `len` samples.
fn global_rows(len: usize, batch_size: BatchSize, index: usize, shard: Shard) -> BatchRows {
    let size = batch_size.get() as usize;
    let global = size.min(len.saturating_sub(index * size));
    let range = shard.range(global);
    BatchRows {
        global: global as i64,
        start: range.start as i64,
        end: range.end as i64,
    }
}

impl PartialEpoch {
    /// A batch left out for its non-finite loss (`--on-nonfinite skip-batch`).
    fn skip(&mut self, batch_size: i64) {
        self.skipped_batches += 1;
        self.skipped_samples += batch_size as u64;
    }
}

/// The end of an epoch whose last batch had a non-finite loss.
fn nonfinite(epoch: &PartialEpoch, loss: &Tensor) -> Result<EpochEnd> {
    Ok(EpochEnd::NonFinite {
        batch: epoch.batches,
        loss: loss.f_double_value(&[])?,
    })
}

/// The end of an epoch stopped after its current batch, with its loss so far (on the host),
/// summed over the processes: the checkpoint holds the whole job's, whoever resumes it.
fn stopped(
    mut epoch: PartialEpoch,
    total_loss: &Tally,
    processes: &dyn Reduce,
) -> Result<EpochEnd> {
    epoch.total_loss = total_loss.to_host()?;
    epoch.total_loss.reduce(processes)?;
    epoch.skipped_samples = processes.sum_u64(epoch.skipped_samples)?;
    Ok(EpochEnd::Stopped(epoch))
}
