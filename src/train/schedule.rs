//! The learning-rate seam filled by a `torch.optim.lr_scheduler` (see `schedule`): stepped after
//! each optimizer step (`--scheduler-interval batch`) or after each epoch, where a scheduler that
//! watches a metric (ReduceLROnPlateau) gets the epoch's eval loss, else its train loss — the
//! value a PyTorch script passes to `scheduler.step(val_loss)`.
use serde_json::{json, Value};

use super::step::LrSchedule;
use crate::config::ScheduleInterval;
use crate::error::{Error, Result};
use crate::optim::Optimizer;
use crate::run_state::EpochRecord;
use crate::schedule::{parse_scheduler, LrScheduler};

/// A scheduler and when it steps.
pub struct Scheduled {
    scheduler: Box<dyn LrScheduler>,
    interval: ScheduleInterval,
    spec: String,
}

impl Scheduled {
    /// Builds `spec` on the optimizer's rate, as PyTorch's constructor does (it may already set
    /// the rate: LinearLR's start factor, CyclicLR's base_lr).
    pub fn new(
        spec: &str,
        interval: ScheduleInterval,
        optimizer: &mut dyn Optimizer,
    ) -> Result<Self> {
        let mut lrs = optimizer.lrs();
        let scheduler = parse_scheduler(spec, &mut lrs)?;
        check_lrs(spec, &lrs)?;
        optimizer.set_lrs(&lrs)?;
        Ok(Scheduled {
            scheduler,
            interval,
            spec: spec.to_string(),
        })
    }

    fn step(&mut self, optimizer: &mut dyn Optimizer, metric: Option<f64>) -> Result<()> {
        let mut lrs = optimizer.lrs();
        self.scheduler.step(&mut lrs, metric)?;
        check_lrs(&self.spec, &lrs)?;
        optimizer.set_lrs(&lrs)
    }
}

/// A rate the scheduler computed must fit the float32 scalar the step uses (`gamma=1e308`
/// overflows only after some steps, so this is checked at each one).
fn check_lrs(spec: &str, lrs: &[f64]) -> Result<()> {
    let max = crate::optim::FLOAT32_MAX;
    match lrs.iter().find(|lr| !(lr.is_finite() && lr.abs() <= max)) {
        Some(lr) => Err(Error::Config(format!(
            "--scheduler {spec}: the learning rate became {lr:e}, beyond float32's range (|lr| <= {max:e})"
        ))),
        None => Ok(()),
    }
}

impl LrSchedule for Scheduled {
    fn after_step(&mut self, optimizer: &mut dyn Optimizer) -> Result<()> {
        if self.interval == ScheduleInterval::Batch {
            self.step(optimizer, None)?;
        }
        Ok(())
    }

    fn after_epoch(&mut self, optimizer: &mut dyn Optimizer, record: &EpochRecord) -> Result<()> {
        if self.interval == ScheduleInterval::Epoch {
            let metric = self
                .scheduler
                .needs_metric()
                .then(|| record.eval_loss.unwrap_or(record.train_loss));
            self.step(optimizer, metric)?;
        }
        Ok(())
    }

    fn state(&self, optimizer: &dyn Optimizer) -> Value {
        json!({ "scheduler": self.scheduler.state(), "lr": optimizer.lr(), "lrs": optimizer.lrs() })
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
        optimizer.set_lrs(&lrs)
    }
}
