//! The seams of one optimizer step, as one ordered pipeline of hooks. Each phase calls every
//! hook in [`Slot`] order:
//!
//! 1. `around_forward`: wraps the forward pass and the criterion (autocast's place);
//! 2. `scale_loss`: the batch loss before its backward pass (the trace reads it first, then the
//!    accumulation share scales it);
//! 3. `after_backward`, at an accumulation window's end: gradient sync, the window check
//!    (nothing trained, or batches left out for a non-finite loss), clipping; any hook may decide
//!    [`Decision::Skip`], and the hooks after it do not run;
//! 4. `after_update`, whether or not the optimizer stepped (the trace, the scheduler);
//! 5. `end_epoch`: the scheduler's per-epoch step, and typed metrics for `metrics.jsonl`.
//!
//! A hook's checkpoint state goes under the key its slot names (see `Step::state`).
use serde_json::Value;
use tch::Tensor;

use super::accumulate::Window;
use super::plan::PlannedBatch;
use crate::error::Result;
use crate::optim::Optimizer;

/// Where a hook runs: at every phase, hooks run in this order (hooks of one slot in the order
/// they were added). The one place the pipeline's order is declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Slot {
    /// `--precision`: autocast around the forward pass (before the trace reads the loss).
    Autocast,
    /// `--trace`: reads each loss before it is scaled, the parameters after each update.
    Trace,
    /// The accumulation share: each batch's loss times its count over its window's.
    LossShare,
    /// Data-parallel: the window's gradients and tallies summed over the ranks.
    GradSync,
    /// A window with nothing trained is skipped; one with batches left out is rescaled.
    WindowCheck,
    /// `--clip-grad-norm`, `--clip-grad-value` (checkpoint key `transforms`).
    Clip,
    /// `--scheduler` (checkpoint key `schedule`).
    Schedule,
}

/// What the optimizer does at a window's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Step,
    Skip,
}

/// Where an epoch starts, for the hooks that follow the batches (the trace).
#[derive(Debug, Clone, Copy)]
pub struct EpochStart<'a> {
    /// 1-based.
    pub epoch: usize,
    /// The sample order, `None` for stored order.
    pub order: Option<&'a Tensor>,
    pub samples: usize,
    pub batch_size: i64,
    /// Batches already done (a resumed epoch).
    pub skipped: usize,
}

/// A window's gradients after its last backward pass.
pub struct Grads<'a> {
    /// The trained parameters, `model.parameters()` order; `.grad()` holds the window's sum.
    pub params: &'a [(String, Tensor)],
    /// The window's last batch.
    pub batch: &'a PlannedBatch,
    pub window: &'a mut Window,
}

/// After a window's end.
pub struct Update<'a> {
    pub optimizer: &'a mut dyn Optimizer,
    pub params: &'a [(String, Tensor)],
    /// Whether the optimizer stepped.
    pub stepped: bool,
}

/// The typed values the hooks give an epoch's line of `metrics.jsonl`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StepMetrics {
    /// The largest gradient norm before clipping (`--clip-grad-norm`).
    pub grad_norm_max: Option<f64>,
}

/// An epoch's end, as the hooks see it.
pub struct EpochDone<'a> {
    pub optimizer: &'a mut dyn Optimizer,
    pub train_loss: f64,
    pub eval_loss: Option<f64>,
    pub metrics: &'a mut StepMetrics,
}

/// One seam of the step; every phase does nothing unless a hook says otherwise.
pub trait StepHook {
    /// Its place in the pipeline.
    fn slot(&self) -> Slot;

    fn begin_epoch(&mut self, _start: &EpochStart) -> Result<()> {
        Ok(())
    }

    fn begin_batch(&mut self, _batch: &PlannedBatch) -> Result<()> {
        Ok(())
    }

    /// Calls `forward` (the model and the criterion) once and returns its batch loss.
    fn around_forward(&mut self, forward: &mut dyn FnMut() -> Result<Tensor>) -> Result<Tensor> {
        forward()
    }

    /// The loss to back-propagate from, given the one the hooks before made.
    fn scale_loss(&mut self, loss: Tensor, _batch: &PlannedBatch) -> Result<Tensor> {
        Ok(loss)
    }

    /// At a window's end, after its last backward pass: whether the optimizer steps.
    fn after_backward(&mut self, _grads: &mut Grads) -> Result<Decision> {
        Ok(Decision::Step)
    }

    /// At a window's end, after the optimizer stepped or skipped.
    fn after_update(&mut self, _update: &mut Update) -> Result<()> {
        Ok(())
    }

    fn end_epoch(&mut self, _done: &mut EpochDone) -> Result<()> {
        Ok(())
    }

    /// Data-parallel: whether every rank agreed to stop at the last window's end.
    fn agreed_stop(&self) -> Option<bool> {
        None
    }

    /// What a checkpoint keeps to continue bit for bit.
    fn state(&self, _optimizer: &dyn Optimizer) -> Result<Value> {
        Ok(Value::Null)
    }

    /// Restores [`StepHook::state`] into a hook (and optimizer) built anew.
    fn load_state(&mut self, _state: &Value, _optimizer: &mut dyn Optimizer) -> Result<()> {
        Ok(())
    }
}

/// Runs `forward` inside every hook's `around_forward`, the first hook outermost.
pub(super) fn around(
    hooks: &mut [Box<dyn StepHook>],
    forward: &mut dyn FnMut() -> Result<Tensor>,
) -> Result<Tensor> {
    match hooks.split_first_mut() {
        None => forward(),
        Some((first, rest)) => first.around_forward(&mut || around(rest, forward)),
    }
}
