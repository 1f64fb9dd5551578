//! A loss with its options, ready to call on each batch: PyTorch's
//! `F.cross_entropy(outputs, targets, weight=…, ignore_index=…, label_smoothing=…)`,
//! `F.nll_loss(…, weight=…, ignore_index=…)` and
//! `F.binary_cross_entropy_with_logits(…, pos_weight=…)`, mean-reduced.
use tch::{Device, Kind, Reduction, Tensor};

use super::counts::{PerSample, SampleCounts};
use super::{Loss, LossOptions};
use crate::error::Result;

/// A criterion: the loss and the options it is called with.
#[derive(Debug)]
pub struct Criterion {
    pub loss: Loss,
    ignore_index: i64,
    label_smoothing: f64,
    /// float64 on the run's device; cast to the outputs' dtype per batch (as PyTorch needs).
    class_weights: Option<Tensor>,
    pos_weight: Option<Tensor>,
    /// The class weights as given (the counts are summed from them on the host).
    weights: Option<Vec<f64>>,
}

impl Criterion {
    /// `loss` with PyTorch's defaults.
    pub fn plain(loss: Loss) -> Criterion {
        Criterion {
            loss,
            ignore_index: super::DEFAULT_IGNORE_INDEX,
            label_smoothing: 0.0,
            class_weights: None,
            pos_weight: None,
            weights: None,
        }
    }

    /// `loss` with `options`, checked against it (and against `classes` when known), its weight
    /// tensors on `device`.
    pub fn new(
        loss: Loss,
        options: &LossOptions,
        classes: Option<i64>,
        device: Device,
    ) -> Result<Criterion> {
        options.check_for(loss, classes)?;
        let on_device = |values: &Option<Vec<f64>>| -> Result<Option<Tensor>> {
            values
                .as_ref()
                .map(|v| Ok(Tensor::f_from_slice(v)?.f_to_device(device)?))
                .transpose()
        };
        Ok(Criterion {
            loss,
            ignore_index: options.ignore_index(),
            label_smoothing: options.label_smoothing.unwrap_or(0.0),
            class_weights: on_device(&options.class_weights)?,
            pos_weight: on_device(&options.pos_weight)?,
            weights: options.class_weights.clone(),
        })
    }

    /// The batch-mean loss of `outputs` against `targets`. Their shapes must fit exactly (`[N, …]`
    /// and `[N, …]`, or `[N, C, …]` and `[N, …]` for class indices).
    pub fn compute(&self, outputs: &Tensor, targets: &Tensor) -> Result<Tensor> {
        self.loss.check_shapes(outputs, targets)?;
        let mean = Reduction::Mean;
        let cast = |w: &Option<Tensor>| -> Result<Option<Tensor>> {
            w.as_ref()
                .map(|w| Ok(w.f_to_kind(outputs.kind())?))
                .transpose()
        };
        Ok(match self.loss {
            Loss::Mse => outputs.f_mse_loss(targets, mean)?,
            Loss::L1 => outputs.f_l1_loss(targets, mean)?,
            Loss::SmoothL1 => outputs.f_smooth_l1_loss(targets, mean, 1.0)?,
            Loss::Huber => outputs.f_huber_loss(targets, mean, 1.0)?,
            // F.cross_entropy: class dimension 1.
            Loss::CrossEntropy => outputs.f_cross_entropy_loss(
                targets,
                cast(&self.class_weights)?,
                mean,
                self.ignore_index,
                self.label_smoothing,
            )?,
            // F.nll_loss calls nll_loss_nd, which also takes [N, C, d1, …].
            Loss::Nll => outputs.f_nll_loss_nd(
                targets,
                cast(&self.class_weights)?,
                mean,
                self.ignore_index,
            )?,
            Loss::BceWithLogits => outputs.f_binary_cross_entropy_with_logits(
                targets,
                None,
                cast(&self.pos_weight)?,
                mean,
            )?,
        })
    }

    /// Right answers in a batch, for classification losses: an int64 scalar on the outputs'
    /// device, not read back. Ignored targets are never right (nor counted: see
    /// [`Criterion::sample_counts`]).
    pub fn correct(&self, outputs: &Tensor, targets: &Tensor) -> Result<Option<Tensor>> {
        Ok(match self.loss {
            Loss::CrossEntropy | Loss::Nll => {
                let mut right = outputs.f_argmax(1, false)?.f_eq_tensor(targets)?;
                // argmax is never negative, so only an ignore index that is a class needs a mask.
                if self.ignore_index >= 0 {
                    right = right.f_logical_and(&targets.f_ne(self.ignore_index)?)?;
                }
                Some(right.f_sum(Kind::Int64)?)
            }
            Loss::BceWithLogits => {
                let predicted = outputs.f_gt(0.0)?.f_to_kind(targets.kind())?;
                Some(predicted.f_eq_tensor(targets)?.f_sum(Kind::Int64)?)
            }
            _ => None,
        })
    }

    /// What each sample of a split adds to the count its batch's mean is over, and to the
    /// accuracy's count: read from the targets once (on the host), before training.
    pub fn sample_counts(&self, targets: &Tensor) -> Result<SampleCounts> {
        let n = targets.size()[0];
        Ok(match self.loss {
            Loss::CrossEntropy | Loss::Nll => {
                let targets = targets.f_to_device(Device::Cpu)?;
                let keep = targets.f_ne(self.ignore_index)?;
                let kept = per_sample(&keep.f_to_kind(Kind::Double)?, n)?;
                let loss = match &self.weights {
                    // PyTorch's weighted mean divides by Σ weight[target] over kept targets.
                    Some(weights) => {
                        let safe = targets.f_masked_fill(&keep.f_logical_not()?, 0)?;
                        let w = Tensor::f_from_slice(weights)?
                            .f_index_select(0, &safe.f_flatten(0, -1)?)?
                            .f_reshape(targets.size())?
                            .f_masked_fill(&keep.f_logical_not()?, 0.0)?;
                        per_sample(&w, n)?
                    }
                    None => kept.clone(),
                };
                SampleCounts {
                    loss,
                    accuracy: Some(kept),
                }
            }
            Loss::BceWithLogits => SampleCounts {
                loss: PerSample::Constant(1.0),
                accuracy: Some(PerSample::Constant((targets.numel() as i64 / n) as f64)),
            },
            _ => SampleCounts {
                loss: PerSample::Constant(1.0),
                accuracy: None,
            },
        })
    }
}

/// Per-sample sums of a float64 tensor `[N, …]` (`reshape(N, -1).sum(1)`, the reference's op).
fn per_sample(values: &Tensor, n: i64) -> Result<PerSample> {
    let sums = values
        .f_reshape([n, -1])?
        .f_sum_dim_intlist(1, false, Kind::Double)?;
    Ok(PerSample::from_values(Vec::<f64>::try_from(&sums)?))
}
