//! The seams of one optimizer step, as one ordered pipeline of hooks. Each phase calls every
//! hook in [`Slot`] order:
//!
//! 1. `around_forward`: wraps the forward pass and the criterion (autocast's place);
//! 2. `scale_loss`: the batch loss before its backward pass (the trace reads it first, then the
//!    accumulation share scales it);
//!    `before_backward` then sees the window as it stands (data-parallel: the gradient buckets
//!    armed for the window's last backward pass);
//! 3. `after_backward`, at an accumulation window's end: gradient sync, the window check
//!    (nothing trained, or batches left out for a non-finite loss), the loss scaler's unscaling,
//!    clipping; any hook may decide [`Decision::Skip`], and the hooks after it do not run, or
//!    [`Decision::SkipUpdate`] (the loss scaler), and they do;
//! 4. `after_update`, whether or not the optimizer stepped (the trace, the scheduler);
//! 5. `end_epoch`: the scheduler's per-epoch step, and typed metrics for `metrics.jsonl`.
//!
//! A hook's checkpoint state goes under its [`StepHook::key`] (see `Step::state`); a port adds
//! its own hooks through [`Experiment::hooks`](crate::Experiment).
use serde_json::Value;
use tch::Tensor;

use super::accumulate::Window;
use super::averaged::AveragedModel;
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
    /// `--grad-scaler`: scales the loss, unscales the window's gradients (checkpoint key `scaler`).
    Scaler,
    /// `--clip-grad-norm`, `--clip-grad-value` (checkpoint key `transforms`).
    Clip,
    /// `--scheduler` (checkpoint key `schedule`); `--swa`, which takes the rate over.
    Schedule,
    /// `--ema`: averages the weights after each update (its tensors: checkpoint `averaged.`).
    Average,
}

/// What the optimizer does at a window's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Step,
    Skip,
    /// No update, but the hooks after it still run (clipping, as PyTorch's loop clips before
    /// `scaler.step` skips) and the window counts as a step (`Update::stepped`: the scheduler, the
    /// trace): a loss scaler found a non-finite gradient.
    SkipUpdate,
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
    /// A hook before said [`Decision::SkipUpdate`]: no update is made from these gradients.
    pub update_skipped: bool,
}

/// After a window's end.
pub struct Update<'a> {
    pub optimizer: &'a mut dyn Optimizer,
    pub params: &'a [(String, Tensor)],
    /// Whether the window counts as an optimizer step: the optimizer stepped, or a loss scaler
    /// skipped its update ([`Decision::SkipUpdate`], after which PyTorch's loop goes on as after
    /// a step: the scheduler steps).
    pub stepped: bool,
}

/// The typed values the hooks give an epoch's line of `metrics.jsonl`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepMetrics {
    /// The largest gradient norm before clipping (`--clip-grad-norm`).
    pub grad_norm_max: Option<f64>,
    /// `--grad-scaler`: the scale at the epoch's end.
    pub loss_scale: Option<f64>,
    /// `--grad-scaler`: the epoch's windows whose update a non-finite gradient skipped.
    pub skipped_steps: Option<u64>,
    /// Data-parallel: each rank's mean milliseconds per step outside the gradient all-reduce
    /// (data, forward, backward, update) and blocked in it (the transfer, and waiting for the
    /// slowest rank), by rank.
    pub rank_step_ms: Option<Vec<f64>>,
    pub rank_sync_ms: Option<Vec<f64>>,
    /// Data-parallel: the gradient buckets this rank all-reduced in the epoch, and how many of
    /// them went out while backward still ran (the overlap).
    pub grad_buckets: Option<u64>,
    pub grad_buckets_in_backward: Option<u64>,
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

    /// Just before a batch's backward pass (not for a batch left out), with its window so far.
    fn before_backward(&mut self, _batch: &PlannedBatch, _window: &Window) -> Result<()> {
        Ok(())
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

    /// The name its [`StepHook::state`] goes under in a checkpoint (`hooks.<key>`), unique in a
    /// run. `None` for a hook without state of its own (the built-in clipping and scheduler keep
    /// the keys checkpoints have always used, `transforms` and `schedule`).
    fn key(&self) -> Option<&str> {
        None
    }

    /// The averaged copy of the model it keeps (`--ema`, `--swa`), evaluated and saved by `fit`.
    fn averaged(&self) -> Option<&AveragedModel> {
        None
    }

    fn averaged_mut(&mut self) -> Option<&mut AveragedModel> {
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
