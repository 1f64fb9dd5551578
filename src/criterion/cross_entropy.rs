//! `F.cross_entropy(outputs, targets, weight=…, ignore_index=…, label_smoothing=…)`: logits
//! `[N, C, …]`, int64 class indices `[N, …]`.
use tch::{Device, Reduction, Tensor};

use super::class_index::ClassIndices;
use super::counts::SampleCounts;
use super::{Loss, LossFn, LossOption, LossOptions, Targets};
use crate::error::Result;

#[derive(Debug)]
pub(super) struct CrossEntropy {
    classes: ClassIndices,
    label_smoothing: f64,
}

impl CrossEntropy {
    pub(super) fn new(options: &LossOptions, device: Device) -> Result<CrossEntropy> {
        Ok(CrossEntropy {
            classes: ClassIndices::new(options, device)?,
            label_smoothing: options.label_smoothing.unwrap_or(0.0),
        })
    }
}

impl LossFn for CrossEntropy {
    fn name(&self) -> &str {
        Loss::CrossEntropy.name()
    }

    fn targets(&self) -> Targets {
        self.classes.targets()
    }

    fn accepts(&self) -> &'static [LossOption] {
        &[
            LossOption::IgnoreIndex,
            LossOption::ClassWeights,
            LossOption::LabelSmoothing,
        ]
    }

    fn forward(&self, outputs: &Tensor, targets: &Tensor) -> Result<Tensor> {
        // F.cross_entropy: class dimension 1.
        Ok(outputs.f_cross_entropy_loss(
            targets,
            self.classes.weight(outputs)?,
            Reduction::Mean,
            self.classes.ignore_index,
            self.label_smoothing,
        )?)
    }

    fn sample_counts(&self, targets: &Tensor) -> Result<SampleCounts> {
        self.classes.sample_counts(targets)
    }

    fn correct(&self, outputs: &Tensor, targets: &Tensor) -> Result<Option<Tensor>> {
        self.classes.correct(outputs, targets)
    }
}
