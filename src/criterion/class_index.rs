//! What cross-entropy and nll share, written once: class-index targets with an ignore index and
//! optional class weights, the count their mean is over, and the accuracy.
use tch::{Device, Kind, Tensor};

use super::counts::{PerSample, SampleCounts};
use super::options::{cast, on_device};
use super::{LossOptions, Targets, DEFAULT_IGNORE_INDEX};
use crate::error::Result;

/// The class-index options of a criterion: `ignore_index=` and `weight=`.
#[derive(Debug)]
pub struct ClassIndices {
    pub ignore_index: i64,
    /// The class weights as given (the counts are summed from them on the host).
    weights: Option<Vec<f64>>,
    /// The same as float64 on the run's device; cast to the outputs' dtype per batch (as
    /// PyTorch needs).
    weight_tensor: Option<Tensor>,
}

impl ClassIndices {
    /// PyTorch's defaults: ignore index -100, no class weights.
    pub fn plain() -> ClassIndices {
        ClassIndices {
            ignore_index: DEFAULT_IGNORE_INDEX,
            weights: None,
            weight_tensor: None,
        }
    }

    /// The ignore index and class weights of `options`, the weights on `device`.
    pub(super) fn new(options: &LossOptions, device: Device) -> Result<ClassIndices> {
        Ok(ClassIndices {
            ignore_index: options.ignore_index(),
            weights: options.class_weights.clone(),
            weight_tensor: on_device(&options.class_weights, device)?,
        })
    }

    /// What a class-index loss takes.
    pub fn targets(&self) -> Targets {
        Targets::ClassIndices {
            ignore_index: Some(self.ignore_index),
        }
    }

    /// The class weights in the dtype of `outputs`, for `weight=`.
    pub(super) fn weight(&self, outputs: &Tensor) -> Result<Option<Tensor>> {
        cast(&self.weight_tensor, outputs)
    }

    /// Right answers in a batch: an int64 scalar on the outputs' device. Ignored targets are
    /// never right (nor counted: see [`ClassIndices::sample_counts`]).
    pub fn correct(&self, outputs: &Tensor, targets: &Tensor) -> Result<Option<Tensor>> {
        let mut right = outputs.f_argmax(1, false)?.f_eq_tensor(targets)?;
        // argmax is never negative, so only an ignore index that is a class needs a mask.
        if self.ignore_index >= 0 {
            right = right.f_logical_and(&targets.f_ne(self.ignore_index)?)?;
        }
        Ok(Some(right.f_sum(Kind::Int64)?))
    }

    /// Per sample: its targets that are not ignored (the accuracy's count), and the loss's
    /// count — the same, or their class weights' sum (PyTorch's weighted mean divides by
    /// Σ weight[target] over the kept targets).
    pub fn sample_counts(&self, targets: &Tensor) -> Result<SampleCounts> {
        let n = targets.size()[0];
        let targets = targets.f_to_device(Device::Cpu)?;
        let keep = targets.f_ne(self.ignore_index)?;
        let kept = per_sample(&keep.f_to_kind(Kind::Double)?, n)?;
        let loss = match &self.weights {
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
        Ok(SampleCounts {
            loss,
            accuracy: Some(kept),
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
