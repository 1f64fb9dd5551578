//! Evaluation with the seed's accounting: batch means times the counts they are over (batch
//! sizes, or non-ignored targets and their class weights), over the whole split's count — PyTorch's
//! one-shot mean over the split, whatever the batch size.
use tch::Device;

use crate::autocast::AutocastGuard;
use crate::config::{BatchSize, LossSync, Precision};
use crate::criterion::{Criterion, PerSample};
use crate::data::{eval_batches, Split};
use crate::distributed::Shard;
use crate::error::Result;
use crate::metrics::{MetricSet, MetricValues};
use crate::model::Model;
use crate::tally::{BatchCount, Reduce, Tally};

/// Loss (and accuracy, for classifiers) of a model over a held-out split, and the `--metrics`.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalStats {
    pub average_loss: f64,
    /// Correct / targets, counted per target (ignored ones left out); `None` for regression.
    pub accuracy: Option<f64>,
    pub samples: u64,
    /// What the average is over: `samples`, or the targets' count or class-weight sum.
    pub count: f64,
    pub batches: usize,
    /// `--metrics` by name (see `metrics`), summed over the processes like the tallies.
    pub metrics: MetricValues,
}

/// How to go through a split.
#[derive(Debug, Clone, Copy)]
pub struct EvalPlan {
    pub batch_size: BatchSize,
    pub loss_sync: LossSync,
    /// Where the split's tensors live.
    pub device: Device,
    /// Autocast around the forward passes and the criterion, as in training.
    pub precision: Precision,
}

/// Evaluates `model` on `split` under `no_grad`, in evaluation mode; the tallies are summed over
/// `processes` at the end, each of which evaluates its rows of every batch. With `LossSync::Epoch` the loss sum and the correct count stay on the
/// device until then. A batch whose every target is ignored adds nothing to the loss. `metrics`
/// (empty, new) are updated from the same outputs.
pub fn evaluate(
    model: &mut dyn Model,
    criterion: &Criterion,
    split: &Split,
    plan: EvalPlan,
    processes: &dyn Reduce,
    mut metrics: MetricSet,
) -> Result<EvalStats> {
    model.set_train(false);
    let counts = criterion.sample_counts(&split.targets)?;
    let size = plan.batch_size.get() as usize;
    let shard = Shard::of(processes);
    let per_batch = |c: &PerSample| c.per_batch(split.len(), size, None, shard);
    let loss_counts = per_batch(&counts.loss);
    let accuracy_counts = counts.accuracy.as_ref().map(per_batch);
    // The whole pass in one autocast region, as the reference's `with no_grad(), autocast(…):`.
    let _region = AutocastGuard::for_precision(plan.precision, plan.device)?;
    tch::no_grad(|| {
        let mut total_loss = Tally::for_sync(plan.loss_sync, plan.device)?;
        let mut correct = Tally::for_sync(plan.loss_sync, plan.device)?;
        let mut batches = 0;
        for (inputs, targets) in eval_batches(split, plan.batch_size, shard)? {
            let outputs = model.forward_t(&inputs, false)?;
            let batch_size = inputs.size()[0];
            let planned = |counts: &[f64]| {
                counts.get(batches).copied().ok_or_else(|| {
                    crate::error::Error::Data(format!(
                        "eval: more batches than the split holds ({})",
                        counts.len()
                    ))
                })
            };
            let count = planned(&loss_counts)?;
            if count > 0.0 {
                let loss = criterion.compute(&outputs, &targets)?; // batch mean
                let batch = BatchCount {
                    samples: batch_size,
                    count,
                };
                total_loss.add(total_loss.read(&loss)?, batch)?; // batch sum
            } else {
                total_loss.add_uncounted(batch_size); // every target ignored
            }
            if let (Some(right), Some(counts)) =
                (criterion.correct(&outputs, &targets)?, &accuracy_counts)
            {
                let batch = BatchCount {
                    samples: batch_size,
                    count: planned(counts)?,
                };
                correct.add_sum(&right, batch)?;
            }
            metrics.update(&outputs, &targets)?;
            batches += 1;
        }
        total_loss.reduce(processes)?;
        correct.reduce(processes)?;
        Ok(EvalStats {
            average_loss: total_loss.average_over(split.len(), "eval")?,
            accuracy: correct.ratio()?,
            samples: total_loss.samples(),
            count: total_loss.count(),
            batches,
            metrics: metrics.values(processes)?,
        })
    })
}
