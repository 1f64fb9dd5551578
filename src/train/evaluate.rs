//! Evaluation with the seed's accounting: batch means times batch sizes, over the dataset length.
use tch::Device;

use crate::config::{BatchSize, LossSync};
use crate::criterion::Loss;
use crate::data::{eval_batches, Split};
use crate::error::Result;
use crate::model::Model;
use crate::tally::{Reduce, Tally};

/// Loss (and accuracy, for classifiers) of a model over a held-out split.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvalStats {
    pub average_loss: f64,
    /// Correct / samples, counted per sample; `None` for regression losses.
    pub accuracy: Option<f64>,
    pub samples: u64,
    pub batches: usize,
}

/// How to go through a split.
#[derive(Debug, Clone, Copy)]
pub struct EvalPlan {
    pub batch_size: BatchSize,
    pub loss_sync: LossSync,
    /// Where the split's tensors live.
    pub device: Device,
}

/// Evaluates `model` on `split` under `no_grad`, in evaluation mode; the tallies are summed over
/// `processes` at the end. With `LossSync::Epoch` the loss sum and the correct count stay on the
/// device until then.
pub fn evaluate(
    model: &mut dyn Model,
    criterion: Loss,
    split: &Split,
    plan: EvalPlan,
    processes: &dyn Reduce,
) -> Result<EvalStats> {
    model.set_train(false);
    tch::no_grad(|| {
        let mut total_loss = Tally::for_sync(plan.loss_sync, plan.device)?;
        let mut correct = Tally::for_sync(plan.loss_sync, plan.device)?;
        let mut batches = 0;
        for (inputs, targets) in eval_batches(split, plan.batch_size)? {
            let outputs = model.forward_t(&inputs, false)?;
            let loss = criterion.compute(&outputs, &targets)?; // batch mean
            let batch_size = inputs.size()[0];
            total_loss.add(total_loss.read(&loss)?, batch_size)?; // batch sum
            if let Some(right) = criterion.correct(&outputs, &targets)? {
                correct.add_sum(&right, batch_size)?;
            }
            batches += 1;
        }
        total_loss.reduce(processes)?;
        correct.reduce(processes)?;
        Ok(EvalStats {
            average_loss: total_loss.average_over(split.len(), "eval")?,
            accuracy: correct.ratio()?,
            samples: total_loss.count(),
            batches,
        })
    })
}
