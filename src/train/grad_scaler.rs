//! `torch.amp.GradScaler` at the step's seams, op for op as `torch/amp/grad_scaler.py` (2.11)
//! does it in PyTorch's canonical loop:
//!
//! ```python
//! scaler.scale(loss * share).backward()   # phase 2: after the accumulation share
//! # at the window's end:
//! scaler.unscale_(optimizer)              # phase 3, once, after the ranks' sum, before clipping
//! clip_grad_norm_(model.parameters(), max_norm)
//! scaler.step(optimizer)                  # skipped when a gradient is not finite
//! scaler.update()                         # phase 4, stepped or skipped
//! scheduler.step()                        # a per-batch scheduler steps either way
//! ```
//!
//! The scale is a float32 scalar tensor and the growth tracker an int32 one, on the run's device;
//! `unscale_` multiplies by `scale.double().reciprocal().float()` in
//! `_amp_foreach_non_finite_check_and_unscale_`, and `update` is `_amp_update_scale_`. A skipped
//! window is [`Decision::SkipUpdate`]: clipping still runs on its gradients (which the next window
//! clears; their norm is left out of `grad_norm_max`), and the hooks after the update (the
//! scheduler, the trace) see it as `stepped`, as PyTorch's loop goes on after `scaler.step`.
//!
//! Data-parallel, the gradients this hook sees are already summed over the ranks (`GradSync`
//! comes first) and every rank holds the same sum, so every rank finds the same non-finite
//! values and takes the same decision without another all-reduce.
use serde_json::{json, Value};
use tch::{Device, Kind, Tensor};

use super::hook::{Decision, EpochDone, Grads, Slot, StepHook, Update};
use super::plan::PlannedBatch;
use crate::config::ScalerOptions;
use crate::error::{Error, Result};
use crate::optim::Optimizer;

/// The loss scaler: its scale and growth tracker, and the epoch's skipped steps.
pub struct GradScaler {
    options: ScalerOptions,
    /// float32, shape `[]`.
    scale: Tensor,
    /// int32, shape `[]`: windows in a row without a non-finite gradient.
    growth_tracker: Tensor,
    /// The last window's `found_inf` (float32 0 or 1), until `update`.
    found_inf: Option<Tensor>,
    /// Windows of this epoch whose optimizer step was skipped.
    skipped_steps: u64,
}

impl GradScaler {
    /// A scaler at `init_scale` on `device`, as `_lazy_init_scale_growth_tracker` makes it.
    pub fn new(options: ScalerOptions, device: Device) -> Result<GradScaler> {
        let scalar: [i64; 0] = [];
        Ok(GradScaler {
            options,
            scale: Tensor::f_full(scalar, options.init_scale, (Kind::Float, device))?,
            growth_tracker: Tensor::f_full(scalar, 0, (Kind::Int, device))?,
            found_inf: None,
            skipped_steps: 0,
        })
    }

    /// The current scale.
    pub fn scale(&self) -> Result<f64> {
        Ok(self.scale.f_double_value(&[])?)
    }

    /// `unscale_`: every gradient times the inverse scale; whether one was not finite.
    fn unscale(&mut self, params: &[(String, Tensor)]) -> Result<bool> {
        tch::no_grad(|| {
            let inv_scale = self
                .scale
                .f_to_kind(Kind::Double)?
                .f_reciprocal()?
                .f_to_kind(Kind::Float)?;
            let mut found_inf = self.scale.f_zeros_like()?;
            // PyTorch groups the gradients by device and dtype for the foreach op; its kernels
            // treat each tensor alone, so one call per gradient gives the same bits.
            for (_, p) in params {
                let mut grad = p.grad();
                if grad.defined() {
                    grad.f_internal_amp_non_finite_check_and_unscale(&mut found_inf, &inv_scale)?;
                }
            }
            // `scaler.step`'s own test: `sum(v.item() for v in found_inf_per_device)`.
            let found = found_inf.f_double_value(&[])? != 0.0;
            self.found_inf = Some(found_inf);
            Ok(found)
        })
    }

    /// `update`: `_amp_update_scale_` with the window's `found_inf`.
    fn update(&mut self) -> Result<()> {
        let Some(found_inf) = self.found_inf.take() else {
            return Ok(());
        };
        let o = self.options;
        let _ = tch::no_grad(|| {
            self.scale.f_internal_amp_update_scale_(
                &self.growth_tracker,
                &found_inf,
                o.growth_factor,
                o.backoff_factor,
                o.growth_interval,
            )
        })?;
        Ok(())
    }
}

impl StepHook for GradScaler {
    fn slot(&self) -> Slot {
        Slot::Scaler
    }

    /// `scaler.scale(loss)`: `loss * scale` (a tensor product, as PyTorch's).
    fn scale_loss(&mut self, loss: Tensor, _: &PlannedBatch) -> Result<Tensor> {
        Ok(loss.f_mul(&self.scale.f_to_device(loss.device())?)?)
    }

    fn after_backward(&mut self, grads: &mut Grads) -> Result<Decision> {
        if self.unscale(grads.params)? {
            self.skipped_steps += 1;
            return Ok(Decision::SkipUpdate);
        }
        Ok(Decision::Step)
    }

    /// Only after a window that reached `scaler.step` (not one the window check skipped: it had
    /// no backward pass, and PyTorch's loop would not have called the scaler).
    fn after_update(&mut self, _: &mut Update) -> Result<()> {
        self.update()
    }

    fn end_epoch(&mut self, done: &mut EpochDone) -> Result<()> {
        done.metrics.loss_scale = Some(self.scale()?);
        done.metrics.skipped_steps = Some(std::mem::take(&mut self.skipped_steps));
        Ok(())
    }

    /// Its state goes under `hooks.scaler` in a checkpoint.
    fn key(&self) -> Option<&str> {
        Some("scaler")
    }

    fn state(&self, _: &dyn Optimizer) -> Result<Value> {
        Ok(json!({
            "scale": self.scale()?,
            "growth_tracker": self.growth_tracker.f_int64_value(&[])?,
            "skipped_steps": self.skipped_steps,
        }))
    }

    fn load_state(&mut self, state: &Value, _: &mut dyn Optimizer) -> Result<()> {
        let bad = || Error::Data("checkpoint: corrupt loss-scaler state".into());
        let scale = state["scale"].as_f64().ok_or_else(bad)?;
        let tracker = state["growth_tracker"].as_i64().ok_or_else(bad)?;
        self.skipped_steps = state["skipped_steps"].as_u64().ok_or_else(bad)?;
        // The scale is a float32 value: exact in the JSON number and back.
        let _ = self.scale.f_fill_(scale)?;
        let _ = self.growth_tracker.f_fill_(tracker)?;
        Ok(())
    }
}
