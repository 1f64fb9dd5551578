//! The scheduler hook: a `torch.optim.lr_scheduler` (see `schedule`) stepped after each optimizer
//! step (`--scheduler-interval batch`) or at each epoch's end, where a scheduler that watches a
//! metric (ReduceLROnPlateau) gets the epoch's eval loss, else its train loss — the value a
//! PyTorch script passes to `scheduler.step(val_loss)`. It sets the optimizer's rates and, with
//! `cycle_momentum=True`, its momentum (or beta1).
use serde_json::{json, Value};

use super::hook::{EpochDone, Slot, StepHook, Update};
use crate::config::{ScheduleInterval, SchedulerSpec};
use crate::error::{quote, Error, Result};
use crate::optim::Optimizer;
use crate::schedule::{scheduler, LrScheduler};

/// A scheduler and when it steps.
pub struct Scheduled {
    scheduler: LrScheduler,
    interval: ScheduleInterval,
    spec: String,
}

impl Scheduled {
    /// Builds `spec` on the optimizer's rate, as PyTorch's constructor does (it may already set
    /// the rate: LinearLR's start factor, CyclicLR's base_lr; and the momentum).
    pub fn new(
        spec: &SchedulerSpec,
        interval: ScheduleInterval,
        optimizer: &mut dyn Optimizer,
    ) -> Result<Self> {
        let mut lrs = optimizer.lrs();
        let scheduler = scheduler(spec.call(), &mut lrs)?;
        let spec = spec.as_str();
        check_lrs(spec, &lrs)?;
        if scheduler.momentums().is_some() && optimizer.momentums().iter().any(Option::is_none) {
            return Err(Error::Config(format!(
                "--scheduler {}: cycle_momentum=True (the default) needs an optimizer with \
                 momentum or betas (PyTorch: \"optimizer must support momentum or beta1\"); \
                 pass cycle_momentum=False",
                quote(spec)
            )));
        }
        let scheduled = Scheduled {
            scheduler,
            interval,
            spec: spec.to_string(),
        };
        optimizer.set_lrs(&lrs)?;
        scheduled.set_momentums(optimizer)?;
        Ok(scheduled)
    }

    fn step(&mut self, optimizer: &mut dyn Optimizer, metric: Option<f64>) -> Result<()> {
        let mut lrs = optimizer.lrs();
        self.scheduler.step(&mut lrs, metric)?;
        check_lrs(&self.spec, &lrs)?;
        optimizer.set_lrs(&lrs)?;
        self.set_momentums(optimizer)
    }

    /// The momentum the cycling schedulers set, if any, into the optimizer's groups.
    fn set_momentums(&self, optimizer: &mut dyn Optimizer) -> Result<()> {
        match self.scheduler.momentums() {
            Some(momentums) => optimizer.set_momentums(&momentums),
            None => Ok(()),
        }
    }
}

/// A rate the scheduler computed must fit the float32 scalar the step uses (`gamma=1e308`
/// overflows only after some steps, so this is checked at each one).
fn check_lrs(spec: &str, lrs: &[f64]) -> Result<()> {
    let max = crate::optim::FLOAT32_MAX;
    match lrs.iter().find(|lr| !(lr.is_finite() && lr.abs() <= max)) {
        Some(lr) => Err(Error::Config(format!(
            "--scheduler {}: the learning rate became {lr:e}, beyond float32's range (|lr| <= {max:e})",
            quote(spec)
        ))),
        None => Ok(()),
    }
}

impl StepHook for Scheduled {
    fn slot(&self) -> Slot {
        Slot::Schedule
    }

    /// Per batch: after each step taken (a skipped window does not advance the schedule).
    fn after_update(&mut self, update: &mut Update) -> Result<()> {
        if update.stepped && self.interval == ScheduleInterval::Batch {
            self.step(update.optimizer, None)?;
        }
        Ok(())
    }

    fn end_epoch(&mut self, done: &mut EpochDone) -> Result<()> {
        if self.interval == ScheduleInterval::Epoch {
            let metric = self
                .scheduler
                .needs_metric()
                .then(|| done.eval_loss.unwrap_or(done.train_loss));
            self.step(done.optimizer, metric)?;
        }
        Ok(())
    }

    fn state(&self, optimizer: &dyn Optimizer) -> Result<Value> {
        Ok(json!({
            "scheduler": self.scheduler.state(),
            "lr": optimizer.lr(),
            "lrs": optimizer.lrs(),
        }))
    }

    fn load_state(&mut self, state: &Value, optimizer: &mut dyn Optimizer) -> Result<()> {
        let bad = || Error::Data("corrupt scheduler state in the checkpoint".into());
        self.scheduler
            .load_state(state.get("scheduler").ok_or_else(bad)?)?;
        // Every group's rate (`lr` alone: a checkpoint from before parameter groups).
        let lrs: Vec<f64> = match state.get("lrs") {
            Some(lrs) => serde_json::from_value(lrs.clone()).map_err(|_| bad())?,
            None => vec![state.get("lr").and_then(Value::as_f64).ok_or_else(bad)?],
        };
        if lrs.len() != optimizer.lrs().len() {
            return Err(bad());
        }
        optimizer.set_lrs(&lrs)?;
        self.set_momentums(optimizer)
    }
}
