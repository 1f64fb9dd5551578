//! The loss trait: what the training loop asks of a criterion. A built-in loss implements it in
//! its own file; a port implements it for a loss of its own (a focal loss, a masked MSE) and
//! hands it to the loop through [`LossChoice::own`](super::LossChoice::own).
use std::fmt::Debug;

use tch::Tensor;

use super::{LossOption, SampleCounts};
use crate::error::Result;

/// What a loss takes as targets. The checks before training (dtype, class range, per-sample
/// shape) and at every batch (shapes, without broadcasting) follow from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Targets {
    /// int64 class indices `[N, …]` for outputs `[N, C, …]`, C classes on dimension 1. Targets
    /// equal to `ignore_index` (when there is one) are left out of the range check.
    ClassIndices { ignore_index: Option<i64> },
    /// Floats of the outputs' shape and dtype.
    LikeOutputs,
}

/// A criterion as the loop calls it: PyTorch's `criterion(outputs, targets)` with its options
/// already applied, plus what the loop needs to weight its batch means and count accuracy.
///
/// Every method is required: a loss says what its mean is over and whether it has an accuracy,
/// so a new one cannot silently average over the wrong count.
pub trait LossFn: Debug {
    /// Its name in errors, summaries and `--loss` (for the built-in ones).
    fn name(&self) -> &str;

    /// What it takes as targets.
    fn targets(&self) -> Targets;

    /// The options of [`LossOptions`](super::LossOptions) it is built with; a run that gives it
    /// any other is refused before training.
    fn accepts(&self) -> &'static [LossOption];

    /// The batch mean (PyTorch's default `reduction='mean'`). The shapes fit [`LossFn::targets`]:
    /// the caller checked them.
    fn forward(&self, outputs: &Tensor, targets: &Tensor) -> Result<Tensor>;

    /// What each sample of a split adds to the count [`LossFn::forward`]'s mean is over, and to
    /// the accuracy's count; read once per split from its targets (on any device).
    fn sample_counts(&self, targets: &Tensor) -> Result<SampleCounts>;

    /// Right predictions in a batch: an int64 scalar on the outputs' device (not read back), or
    /// `None` for a loss without an accuracy (regression).
    fn correct(&self, outputs: &Tensor, targets: &Tensor) -> Result<Option<Tensor>>;
}
