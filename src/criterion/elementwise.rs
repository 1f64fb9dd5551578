//! What the element-wise regression losses (mse, l1, smooth-l1, huber) share, written once: float
//! targets of the outputs' shape, no options, a mean over every element — the same number of
//! elements per sample, so each sample counts 1 (the seed's `× batch_size`) — and no accuracy.
use std::fmt::Debug;

use tch::Tensor;

use super::counts::{PerSample, SampleCounts};
use super::{Loss, LossFn, LossOption, Targets};
use crate::error::Result;

/// One element-wise loss: its batch mean.
pub(super) trait Elementwise: Debug {
    /// `F.xxx_loss(outputs, targets)`, mean-reduced.
    fn mean(&self, outputs: &Tensor, targets: &Tensor) -> Result<Tensor>;
}

/// An [`Elementwise`] loss under its command-line name.
#[derive(Debug)]
pub(super) struct PerElement<E> {
    loss: Loss,
    formula: E,
}

impl<E: Elementwise + 'static> PerElement<E> {
    pub(super) fn boxed(loss: Loss, formula: E) -> Box<dyn LossFn> {
        Box::new(PerElement { loss, formula })
    }
}

impl<E: Elementwise> LossFn for PerElement<E> {
    fn name(&self) -> &str {
        self.loss.name()
    }

    fn targets(&self) -> Targets {
        Targets::LikeOutputs
    }

    fn accepts(&self) -> &'static [LossOption] {
        &[]
    }

    fn forward(&self, outputs: &Tensor, targets: &Tensor) -> Result<Tensor> {
        self.formula.mean(outputs, targets)
    }

    fn sample_counts(&self, _targets: &Tensor) -> Result<SampleCounts> {
        Ok(SampleCounts {
            loss: PerSample::Constant(1.0),
            accuracy: None,
        })
    }

    fn correct(&self, _outputs: &Tensor, _targets: &Tensor) -> Result<Option<Tensor>> {
        Ok(None)
    }
}
