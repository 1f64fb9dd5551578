//! Evaluation with the seed's accounting: batch means times batch sizes, over the dataset length.
use crate::criterion::Loss;
use crate::data::{eval_batches, Split};
use crate::error::Result;
use crate::metrics::{EpochAccuracy, EpochLoss, LossSync};
use crate::model::Model;

/// Loss (and accuracy, for classifiers) of a model over a held-out split.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvalStats {
    pub average_loss: f64,
    /// Correct / samples, counted per sample; `None` for regression losses.
    pub accuracy: Option<f64>,
    pub samples: u64,
    pub batches: usize,
}

/// Evaluates `model` on `split` under `no_grad`, in evaluation mode. With `LossSync::Epoch` the
/// loss sum and the correct count stay on the device until the end.
pub fn evaluate(
    model: &mut dyn Model,
    criterion: Loss,
    split: &Split,
    batch_size: i64,
    loss_sync: LossSync,
) -> Result<EvalStats> {
    model.set_train(false);
    let device = split.inputs.device();
    tch::no_grad(|| {
        let mut total_loss = EpochLoss::new(loss_sync, device)?;
        let mut accuracy = EpochAccuracy::new(loss_sync, device)?;
        let mut batches = 0;
        for (inputs, targets) in eval_batches(split, batch_size)? {
            let outputs = model.forward_t(&inputs, false)?;
            let loss = criterion.compute(&outputs, &targets)?;
            let batch_size = inputs.size()[0];
            total_loss.update(total_loss.read(&loss)?, batch_size)?;
            if let Some(correct) = criterion.correct(&outputs, &targets)? {
                accuracy.update(&correct, batch_size)?;
            }
            batches += 1;
        }
        Ok(EvalStats {
            average_loss: total_loss.average_over(split.len(), "eval")?,
            accuracy: accuracy.to_host()?.ratio(),
            samples: total_loss.count(),
            batches,
        })
    })
}
