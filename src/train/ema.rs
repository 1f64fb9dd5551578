//! `--ema DECAY`: an exponential moving average of the weights, as PyTorch users keep it:
//!
//! ```python
//! ema_model = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=…)
//! …
//! optimizer.step()
//! ema_model.update_parameters(model)   # after every step taken, not after a skipped one
//! ```
//!
//! The hook sits after the scheduler (`Slot::Average`): it reads the weights the step left.
//! With `--nproc N` every rank holds the same weights after a step, so each keeps the same
//! average (rank 0 alone writes it).
use super::averaged::{AveragedModel, Rule};
use super::hook::{Slot, StepHook, Update};
use crate::config::EmaConfig;
use crate::error::Result;
use crate::experiment::Experiment;

/// The EMA hook: its averaged model, updated after each optimizer step.
pub struct Ema {
    model: AveragedModel,
}

impl Ema {
    /// `AveragedModel(model, …)` of the experiment as it is now (its initial weights).
    pub fn new(config: &EmaConfig, experiment: &Experiment) -> Result<Ema> {
        let model = AveragedModel::new(
            "ema",
            Rule::Ema(config.decay),
            experiment.state_dict(),
            &experiment.parameters(),
            config.use_buffers,
        )?;
        Ok(Ema { model })
    }
}

impl StepHook for Ema {
    fn slot(&self) -> Slot {
        Slot::Average
    }

    fn after_update(&mut self, update: &mut Update) -> Result<()> {
        if update.stepped {
            self.model.update()?;
        }
        Ok(())
    }

    fn averaged(&self) -> Option<&AveragedModel> {
        Some(&self.model)
    }

    fn averaged_mut(&mut self) -> Option<&mut AveragedModel> {
        Some(&mut self.model)
    }
}
