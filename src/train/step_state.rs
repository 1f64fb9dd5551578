//! What a checkpoint keeps of the step besides the optimizer's tensors: the hooks' state under
//! the keys checkpoints have always used (`schedule`, `transforms` for clipping), the keyed hooks'
//! under `hooks` (the loss scaler's as `hooks.scaler`), the rates of the last step, the open
//! accumulation window and its gradients.
use serde_json::{Map, Value};

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

    /// The unkeyed hooks of `slot` (the built-in clipping and scheduler, under their old keys).
    fn unkeyed(&self, slot: Slot) -> impl Iterator<Item = &dyn StepHook> {
        self.hooks
            .iter()
            .map(|h| h.as_ref())
            .filter(move |h| h.slot() == slot && h.key().is_none())
    }

    /// The seams' state for a checkpoint: the schedule's (with the optimizer's rate), the rate of
    /// the last step (a run stopped after an epoch's last batch records it when resumed), the
    /// clipping's (`transforms`) and the open window's.
    pub fn state(&self) -> Result<Value> {
        let optimizer = self.optimizer.as_ref();
        let transforms = self
            .unkeyed(Slot::Clip)
            .map(|h| h.state(optimizer))
            .collect::<Result<Vec<_>>>()?;
        let schedule = match self.unkeyed(Slot::Schedule).next() {
            Some(h) => h.state(optimizer)?,
            None => Value::Null,
        };
        let keyed = self
            .hooks
            .iter()
            .filter_map(|h| Some((h.key()?.to_string(), h.state(optimizer))))
            .map(|(key, state)| Ok((key, state?)))
            .collect::<Result<Map<_, _>>>()?;
        Ok(serde_json::json!({
            "hooks": keyed,
            "schedule": schedule,
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
        let (clips, schedules) = (
            self.unkeyed(Slot::Clip).count(),
            self.unkeyed(Slot::Schedule).count(),
        );
        let Some(state) = state else {
            if clips + schedules > 0 || self.hooks.iter().any(|h| h.key().is_some()) {
                return Err(corrupt("no state for the step's hooks"));
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
        let keyed = keyed_states(state, &self.hooks)?;
        let mut saved = saved.iter();
        for hook in &mut self.hooks {
            let own = match (hook.key(), hook.slot()) {
                (Some(key), _) => &keyed[key],
                (None, Slot::Clip) => saved.next().expect("counted"),
                (None, Slot::Schedule) => &state["schedule"],
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

/// The checkpoint's `hooks` map, checked to hold a state for each keyed hook of the run and no
/// other (absent in checkpoints from before keyed hooks: then the run may have none).
fn keyed_states<'a>(state: &'a Value, hooks: &[Box<dyn StepHook>]) -> Result<&'a Value> {
    let keyed = &state["hooks"];
    let saved: Vec<&str> = match keyed {
        Value::Object(saved) => saved.keys().map(String::as_str).collect(),
        Value::Null => Vec::new(),
        _ => {
            return Err(Error::Data(
                "checkpoint: its hooks' state is not a map".into(),
            ))
        }
    };
    let keys: Vec<&str> = hooks.iter().filter_map(|h| h.key()).collect();
    if let Some(missing) = keys.iter().find(|k| !saved.contains(k)) {
        return Err(Error::Data(format!(
            "checkpoint: no state for the step hook '{missing}' (was it added after the run started?)"
        )));
    }
    if let Some(extra) = saved.iter().find(|k| !keys.contains(k)) {
        return Err(Error::Data(format!(
            "checkpoint: it holds the step hook '{extra}', which this run does not have"
        )));
    }
    Ok(keyed)
}
