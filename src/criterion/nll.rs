//! `F.nll_loss(outputs, targets, weight=…, ignore_index=…)`: log-probabilities `[N, C, …]`,
//! int64 class indices `[N, …]`.
use tch::{Device, Reduction, Tensor};

use super::class_index::ClassIndices;
use super::counts::SampleCounts;
use super::{Loss, LossFn, LossOption, LossOptions, Targets};
use crate::error::Result;

#[derive(Debug)]
pub(super) struct Nll {
    classes: ClassIndices,
}

impl Nll {
    pub(super) fn new(options: &LossOptions, device: Device) -> Result<Nll> {
        Ok(Nll {
            classes: ClassIndices::new(options, device)?,
        })
    }
}

impl LossFn for Nll {
    fn name(&self) -> &str {
        Loss::Nll.name()
    }

    fn targets(&self) -> Targets {
        self.classes.targets()
    }

    fn accepts(&self) -> &'static [LossOption] {
        &[LossOption::IgnoreIndex, LossOption::ClassWeights]
    }

    fn forward(&self, outputs: &Tensor, targets: &Tensor) -> Result<Tensor> {
        // F.nll_loss calls nll_loss_nd, which also takes [N, C, d1, …].
        Ok(outputs.f_nll_loss_nd(
            targets,
            self.classes.weight(outputs)?,
            Reduction::Mean,
            self.classes.ignore_index,
        )?)
    }

    fn sample_counts(&self, targets: &Tensor) -> Result<SampleCounts> {
        self.classes.sample_counts(targets)
    }

    fn correct(&self, outputs: &Tensor, targets: &Tensor) -> Result<Option<Tensor>> {
        self.classes.correct(outputs, targets)
    }
}
