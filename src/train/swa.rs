//! `--swa "SWA(swa_lr=…, swa_start=…, anneal_epochs=10, anneal_strategy='cos')"`: stochastic
//! weight averaging in PyTorch's recipe (`torch.optim.swa_utils`):
//!
//! ```python
//! swa_model = AveragedModel(model)
//! swa_scheduler = SWALR(optimizer, swa_lr=…, anneal_epochs=…, anneal_strategy=…)
//! for epoch in range(1, epochs + 1):
//!     train(…)                                   # a per-batch scheduler steps before swa_start
//!     if epoch >= swa_start:
//!         swa_model.update_parameters(model)
//!         swa_scheduler.step()
//!     else:
//!         scheduler.step()
//! ```
//!
//! SWALR takes the rate over from the regular scheduler, so this hook holds that scheduler and
//! sits at its slot (`Slot::Schedule`, checkpoint key `schedule`): before `swa_start` it passes
//! every phase to it, from then on it averages and anneals instead.
use serde_json::{json, Value};

use super::averaged::{AveragedModel, Rule};
use super::hook::{EpochDone, EpochStart, Slot, StepHook, Update};
use super::Scheduled;
use crate::config::{Anneal, SwaSpec, TrainConfig};
use crate::data::{epoch_order, train_batches};
use crate::distributed::Shard;
use crate::error::{Error, Result};
use crate::experiment::Experiment;
use crate::optim::Optimizer;

/// The SWA hook: the regular scheduler until `swa_start`, then the average and SWALR.
pub struct Swa {
    spec: SwaSpec,
    scheduler: Option<Scheduled>,
    model: AveragedModel,
    /// The epoch under way (1-based).
    epoch: usize,
    /// SWALR's steps so far (its `_step_count - 1`).
    swalr_steps: usize,
}

impl Swa {
    /// `AveragedModel(model)` of the experiment as it is now, and SWALR over `scheduler`.
    pub fn new(
        spec: &SwaSpec,
        scheduler: Option<Scheduled>,
        experiment: &Experiment,
    ) -> Result<Swa> {
        let model = AveragedModel::new(
            "swa",
            Rule::Swa,
            experiment.state_dict(),
            &experiment.parameters(),
            false,
        )?;
        Ok(Swa {
            spec: spec.clone(),
            scheduler,
            model,
            epoch: 0,
            swalr_steps: 0,
        })
    }

    fn averaging(&self) -> bool {
        self.epoch >= self.spec.swa_start
    }

    /// `SWALR.step()`: each group's rate moves from its own toward `swa_lr` (`get_lr`).
    fn swalr_step(&mut self, optimizer: &mut dyn Optimizer) -> Result<()> {
        self.swalr_steps += 1;
        let lrs: Vec<f64> = optimizer
            .lrs()
            .iter()
            .map(|&lr| swalr(&self.spec, self.swalr_steps, lr))
            .collect();
        optimizer.set_lrs(&lrs)
    }
}

/// `update_bn(train_loader, swa_model)`'s pass over the training split: every batch forward in
/// training mode (dropout draws as in training), in the last epoch's order, which the
/// reference's loader draws again, reseeding the generator; every process passes every batch.
pub(crate) fn bn_pass(
    experiment: &mut Experiment,
    config: &TrainConfig,
    epoch: usize,
) -> Result<()> {
    let (model, split) = experiment.parts();
    let seed = config.experiment().seed();
    let order = config
        .training()
        .shuffle()
        .then(|| epoch_order(split.len(), seed, epoch));
    model.set_train(true);
    let batch_size = config.training().batch_size();
    tch::no_grad(|| {
        for (inputs, _) in train_batches(split, batch_size, order.as_ref(), Shard::WHOLE)? {
            let _ = model.forward_t(&inputs, true)?;
        }
        Ok(())
    })
}

/// SWALR's `get_lr` at its step `step` (≥ 1) for a group at rate `lr`, in Python's float
/// arithmetic (`max(0, min(1, …))` of exact quotients, `math.cos`).
fn swalr(spec: &SwaSpec, step: usize, lr: f64) -> f64 {
    let anneal = |t: f64| match spec.anneal_strategy {
        Anneal::Linear => t,
        Anneal::Cos => (1.0 - (std::f64::consts::PI * t).cos()) / 2.0,
    };
    let epochs = spec.anneal_epochs.max(1) as f64;
    let step = if spec.anneal_epochs == 0 {
        step.max(1)
    } else {
        step
    } as f64;
    let prev_alpha = anneal(((step - 1.0) / epochs).clamp(0.0, 1.0));
    let prev_lr = if prev_alpha == 1.0 {
        spec.swa_lr
    } else {
        (lr - prev_alpha * spec.swa_lr) / (1.0 - prev_alpha)
    };
    let alpha = anneal((step / epochs).clamp(0.0, 1.0));
    spec.swa_lr * alpha + prev_lr * (1.0 - alpha)
}

impl StepHook for Swa {
    fn slot(&self) -> Slot {
        Slot::Schedule
    }

    fn begin_epoch(&mut self, start: &EpochStart) -> Result<()> {
        self.epoch = start.epoch;
        Ok(())
    }

    fn after_update(&mut self, update: &mut Update) -> Result<()> {
        let averaging = self.averaging();
        match &mut self.scheduler {
            Some(scheduler) if !averaging => scheduler.after_update(update),
            _ => Ok(()),
        }
    }

    fn end_epoch(&mut self, done: &mut EpochDone) -> Result<()> {
        if self.averaging() {
            self.model.update()?;
            return self.swalr_step(done.optimizer);
        }
        match &mut self.scheduler {
            Some(scheduler) => scheduler.end_epoch(done),
            None => Ok(()),
        }
    }

    fn state(&self, optimizer: &dyn Optimizer) -> Result<Value> {
        let scheduler = match &self.scheduler {
            Some(scheduler) => scheduler.state(optimizer)?,
            None => Value::Null,
        };
        Ok(json!({
            "scheduler": scheduler,
            "swalr_steps": self.swalr_steps,
            "lrs": optimizer.lrs(),
        }))
    }

    fn load_state(&mut self, state: &Value, optimizer: &mut dyn Optimizer) -> Result<()> {
        let bad = || Error::Data("corrupt SWA state in the checkpoint".into());
        if let Some(scheduler) = &mut self.scheduler {
            scheduler.load_state(&state["scheduler"], optimizer)?;
        }
        self.swalr_steps = state["swalr_steps"].as_u64().ok_or_else(bad)? as usize;
        let lrs: Vec<f64> = serde_json::from_value(state["lrs"].clone()).map_err(|_| bad())?;
        if lrs.len() != optimizer.lrs().len() {
            return Err(bad());
        }
        optimizer.set_lrs(&lrs)
    }

    fn averaged(&self) -> Option<&AveragedModel> {
        Some(&self.model)
    }

    fn averaged_mut(&mut self) -> Option<&mut AveragedModel> {
        Some(&mut self.model)
    }
}
