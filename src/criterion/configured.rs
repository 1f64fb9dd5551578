//! A loss with its options, ready to call on each batch: what the training loop and evaluation
//! hold. Every call checks the batch's shapes first (see `targets.rs`), for a port's own loss too.
use std::rc::Rc;

use tch::{Device, Tensor};

use super::counts::SampleCounts;
use super::targets::check_shapes;
use super::{Loss, LossChoice, LossFn, LossOptions};
use crate::error::Result;

/// A criterion: the loss, built with the options it is called with.
#[derive(Debug, Clone)]
pub struct Criterion {
    loss: Rc<dyn LossFn>,
}

impl Criterion {
    /// `loss` with PyTorch's defaults.
    pub fn plain(loss: Loss) -> Criterion {
        Criterion {
            loss: Rc::from(loss.plain()),
        }
    }

    /// `loss` with `options`, checked against it (and against `classes` when known), its weight
    /// tensors on `device`.
    pub fn new(
        loss: &LossChoice,
        options: &LossOptions,
        classes: Option<i64>,
        device: Device,
    ) -> Result<Criterion> {
        let loss = loss.build(options, device)?;
        options.check_against(loss.as_ref(), classes)?;
        Ok(Criterion { loss })
    }

    /// The loss itself.
    pub fn loss(&self) -> &dyn LossFn {
        self.loss.as_ref()
    }

    /// The batch-mean loss of `outputs` against `targets`. Their shapes must fit exactly (`[N, …]`
    /// and `[N, …]`, or `[N, C, …]` and `[N, …]` for class indices).
    pub fn compute(&self, outputs: &Tensor, targets: &Tensor) -> Result<Tensor> {
        check_shapes(self.loss(), outputs, targets)?;
        self.loss.forward(outputs, targets)
    }

    /// Right answers in a batch, for losses with an accuracy: an int64 scalar on the outputs'
    /// device, not read back.
    pub fn correct(&self, outputs: &Tensor, targets: &Tensor) -> Result<Option<Tensor>> {
        self.loss.correct(outputs, targets)
    }

    /// What each sample of a split adds to the count its batch's mean is over, and to the
    /// accuracy's count: read from the targets once (on the host), before training.
    pub fn sample_counts(&self, targets: &Tensor) -> Result<SampleCounts> {
        self.loss.sample_counts(targets)
    }
}
