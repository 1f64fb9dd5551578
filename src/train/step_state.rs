//! What a checkpoint keeps of the step besides the optimizer's tensors: the hooks' state under
//! the keys checkpoints have always used (`schedule`, `transforms` for clipping; `scaler` for the
//! loss scaler), the rates of the last step, the open accumulation window and its gradients.
use serde_json::Value;

use super::accumulate::{held_grads, restore_grads, Window};
use super::hook::{Slot, StepHook};
use super::Step;
use crate::error::{Error, Result};
use crate::tensor_io::NamedTensors;

impl Step {
    /// The gradients of an accumulation window a stop came inside (for its checkpoint); none
    /// between windows.
    pub fn window_grads(&self) -> NamedTensors {
        if self.window.open {
            held_grads(&self.params)
        } else {
            Vec::new()
        }
    }

    /// Puts back [`Step::window_grads`] from a checkpoint.
    pub fn load_window_grads(&mut self, grads: &NamedTensors) -> Result<()> {
        restore_grads(&self.params, grads)
    }

    /// The hooks of `slot`.
    fn slot(&self, slot: Slot) -> impl Iterator<Item = &dyn StepHook> {
        self.hooks
            .iter()
            .map(|h| h.as_ref())
            .filter(move |h| h.slot() == slot)
    }

    /// The seams' state for a checkpoint: the schedule's (with the optimizer's rate), the rate of
    /// the last step (a run stopped after an epoch's last batch records it when resumed), the
    /// clipping's (`transforms`) and the open window's.
    pub fn state(&self) -> Result<Value> {
        let optimizer = self.optimizer.as_ref();
        let transforms = self
            .slot(Slot::Clip)
            .map(|h| h.state(optimizer))
            .collect::<Result<Vec<_>>>()?;
        let one = |slot| match self.slot(slot).next() {
            Some(h) => h.state(optimizer),
            None => Ok(Value::Null),
        };
        let (schedule, scaler) = (one(Slot::Schedule)?, one(Slot::Scaler)?);
        Ok(serde_json::json!({
            "schedule": schedule,
            "scaler": scaler,
            "last_lr": self.last_lrs[0],
            "last_lrs": self.last_lrs,
            "transforms": transforms,
            "window": self.window.state(),
        }))
    }

    /// Restores [`Step::state`] into a step built anew from the same configuration (`None`: a
    /// checkpoint from before seams had state, valid only for a step without any).
    pub fn load_state(&mut self, state: Option<&Value>) -> Result<()> {
        let corrupt = |what: &str| Error::Data(format!("checkpoint: {what}"));
        let (clips, schedules, scalers) = (
            self.slot(Slot::Clip).count(),
            self.slot(Slot::Schedule).count(),
            self.slot(Slot::Scaler).count(),
        );
        let Some(state) = state else {
            if clips + schedules + scalers > 0 {
                return Err(corrupt(
                    "no state for the --scheduler, gradient clipping or --grad-scaler",
                ));
            }
            return Ok(());
        };
        let saved = state["transforms"]
            .as_array()
            .map_or(&[][..], Vec::as_slice);
        if saved.len() != clips {
            return Err(corrupt("its gradient transforms differ from the run's"));
        }
        if state["schedule"].is_null() != (schedules == 0) {
            return Err(corrupt("its scheduler differs from the run's --scheduler"));
        }
        // A checkpoint from before loss scaling has no key: null, as a run without a scaler.
        let scaler = state.get("scaler").unwrap_or(&Value::Null);
        if scaler.is_null() != (scalers == 0) {
            return Err(corrupt(
                "its loss scaler differs from the run's --grad-scaler",
            ));
        }
        let mut saved = saved.iter();
        for hook in &mut self.hooks {
            let own = match hook.slot() {
                Slot::Clip => saved.next().expect("counted"),
                Slot::Schedule => &state["schedule"],
                Slot::Scaler => scaler,
                _ => continue,
            };
            hook.load_state(own, self.optimizer.as_mut())?;
        }
        self.last_lrs = match state.get("last_lrs") {
            Some(lrs) => {
                serde_json::from_value(lrs.clone()).map_err(|_| corrupt("bad last_lrs"))?
            }
            None => vec![state["last_lr"]
                .as_f64()
                .ok_or_else(|| corrupt("no last_lr"))?],
        };
        self.window = Window::load(&state["window"])?;
        Ok(())
    }
}
