//! Gradient accumulation at the step's seams: the open window's bookkeeping, its two hooks (the
//! loss's share of the window, the window check at its end), and its gradients, which a stop
//! inside the window saves in the checkpoint and a resumed run puts back, so that the window goes
//! on adding to the same `.grad` tensors bit for bit.
use serde_json::{json, Value};
use tch::Tensor;

use super::hook::{Decision, Grads, Slot, StepHook};
use super::plan::PlannedBatch;
use crate::error::{Error, Result};
use crate::tensor_io::NamedTensors;

/// The accumulation window in progress.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Window {
    /// Some batch of the window is done and the window has not ended: the gradients hold part of
    /// its sum.
    pub open: bool,
    /// Batches of the window whose backward pass ran.
    pub trained: u64,
    /// The counts of the window's batches left out for a non-finite loss.
    pub skipped: f64,
    /// How many they are (a data-parallel run's ranks agree on them at the window's end, where
    /// a stopped window cannot be: not in checkpoints).
    pub nonfinite: u64,
}

impl Window {
    /// The window for a checkpoint.
    pub fn state(&self) -> Value {
        json!({ "open": self.open, "trained": self.trained, "skipped": self.skipped })
    }

    /// Restores [`Window::state`]; a checkpoint from before accumulation has none (no window).
    pub fn load(state: &Value) -> Result<Window> {
        if state.is_null() {
            return Ok(Window::default());
        }
        let bad = || Error::Data("checkpoint: corrupt accumulation window".into());
        Ok(Window {
            open: state["open"].as_bool().ok_or_else(bad)?,
            trained: state["trained"].as_u64().ok_or_else(bad)?,
            skipped: state["skipped"].as_f64().ok_or_else(bad)?,
            nonfinite: 0,
        })
    }
}

/// Scales each batch's loss by its share of the window's count (see `plan`).
pub(super) struct LossShare;

impl StepHook for LossShare {
    fn slot(&self) -> Slot {
        Slot::LossShare
    }

    fn scale_loss(&mut self, loss: Tensor, batch: &PlannedBatch) -> Result<Tensor> {
        match batch.loss_scale() {
            Some(scale) => Ok(loss.f_mul_scalar(scale)?),
            None => Ok(loss),
        }
    }
}

/// At a window's end: skips it when no batch was trained on (every target ignored, or every loss
/// non-finite: there is no gradient to step from); rescales it when some batches were left out.
pub(super) struct WindowCheck;

impl StepHook for WindowCheck {
    fn slot(&self) -> Slot {
        Slot::WindowCheck
    }

    fn after_backward(&mut self, grads: &mut Grads) -> Result<Decision> {
        let (window, batch) = (&grads.window, grads.batch);
        if window.trained == 0 {
            return Ok(Decision::Skip);
        }
        if window.skipped > 0.0 {
            let trained = batch.window_count - window.skipped;
            rescale(grads.params, batch.window_count / trained)?;
        }
        Ok(Decision::Step)
    }
}

/// The gradients the parameters hold (those that have one), under the parameters' names.
pub(super) fn held_grads(params: &[(String, Tensor)]) -> NamedTensors {
    params
        .iter()
        .map(|(name, p)| (name.clone(), p.grad()))
        .filter(|(_, g)| g.defined())
        .collect()
}

/// Puts saved gradients back into the parameters of the same names (a parameter without a
/// gradient yet is given one first: a backward pass of zero).
pub(super) fn restore_grads(params: &[(String, Tensor)], saved: &NamedTensors) -> Result<()> {
    for (name, grad) in saved {
        let Some((_, p)) = params.iter().find(|(n, _)| n == name) else {
            return Err(Error::Data(format!(
                "checkpoint: a gradient for '{name}', which the model does not train"
            )));
        };
        if grad.size() != p.size() {
            return Err(Error::Data(format!(
                "checkpoint: the gradient of '{name}' has shape {:?}, expected {:?}",
                grad.size(),
                p.size()
            )));
        }
        if !p.grad().defined() {
            p.f_sum(p.kind())?.f_mul_scalar(0.0)?.f_backward()?;
        }
        tch::no_grad(|| -> Result<()> {
            let grad = grad.f_to_device(p.device())?.f_to_kind(p.kind())?;
            let mut held = p.grad();
            held.f_copy_(&grad)?;
            Ok(())
        })?;
    }
    Ok(())
}

/// Multiplies every gradient by `factor`.
fn rescale(params: &[(String, Tensor)], factor: f64) -> Result<()> {
    tch::no_grad(|| {
        for (_, mut g) in held_grads(params) {
            let _ = g.f_mul_scalar_(factor)?;
        }
        Ok(())
    })
}
