//! `F.binary_cross_entropy_with_logits(outputs, targets, pos_weight=…)`: logits and 0/1 float
//! targets of the same shape. The mean is over every element (`pos_weight` does not change it);
//! the accuracy counts each element whose logit's sign matches its target.
use tch::{Device, Kind, Reduction, Tensor};

use super::counts::{PerSample, SampleCounts};
use super::options::{cast, on_device};
use super::{Loss, LossFn, LossOption, LossOptions, Targets};
use crate::error::Result;

#[derive(Debug)]
pub(super) struct BceWithLogits {
    /// float64 on the run's device; cast to the outputs' dtype per batch.
    pos_weight: Option<Tensor>,
}

impl BceWithLogits {
    pub(super) fn new(options: &LossOptions, device: Device) -> Result<BceWithLogits> {
        Ok(BceWithLogits {
            pos_weight: on_device(&options.pos_weight, device)?,
        })
    }
}

impl LossFn for BceWithLogits {
    fn name(&self) -> &str {
        Loss::BceWithLogits.name()
    }

    fn targets(&self) -> Targets {
        Targets::LikeOutputs
    }

    fn accepts(&self) -> &'static [LossOption] {
        &[LossOption::PosWeight]
    }

    fn forward(&self, outputs: &Tensor, targets: &Tensor) -> Result<Tensor> {
        Ok(outputs.f_binary_cross_entropy_with_logits(
            targets,
            None,
            cast(&self.pos_weight, outputs)?,
            Reduction::Mean,
        )?)
    }

    fn sample_counts(&self, targets: &Tensor) -> Result<SampleCounts> {
        let n = targets.size()[0];
        Ok(SampleCounts {
            loss: PerSample::Constant(1.0),
            accuracy: Some(PerSample::Constant((targets.numel() as i64 / n) as f64)),
        })
    }

    fn correct(&self, outputs: &Tensor, targets: &Tensor) -> Result<Option<Tensor>> {
        let predicted = outputs.f_gt(0.0)?.f_to_kind(targets.kind())?;
        Ok(Some(predicted.f_eq_tensor(targets)?.f_sum(Kind::Int64)?))
    }
}
