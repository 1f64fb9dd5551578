//! One optimizer step and its seams. Between backward and the optimizer's update the gradients
//! pass through [`GradientTransform`]s (clipping, accumulation, an all-reduce across processes);
//! after the update, and after each epoch, an [`LrSchedule`] may set the learning rate. A run
//! without them pays one empty loop and one `None` check per batch.
use serde_json::Value;
use tch::Tensor;

use crate::error::Result;
use crate::optim::Optimizer;
use crate::run_state::EpochRecord;

/// Changes a batch's gradients in place before the optimizer sees them.
pub trait GradientTransform {
    /// `params` are the trained parameters with their state_dict names; their `.grad()` holds
    /// the batch's gradients. Returns whether the optimizer steps now (false inside an
    /// accumulation window).
    fn transform(&mut self, params: &[(String, Tensor)]) -> Result<bool>;
}

/// Sets the learning rate as training goes.
pub trait LrSchedule {
    /// After each optimizer step (schedules stepped per batch).
    fn after_step(&mut self, optimizer: &mut dyn Optimizer) -> Result<()>;
    /// After each epoch, with its record (schedules stepped per epoch, or on a metric).
    fn after_epoch(&mut self, optimizer: &mut dyn Optimizer, record: &EpochRecord) -> Result<()>;
    /// What a checkpoint keeps to continue bit for bit (the optimizer's current rate included).
    fn state(&self, optimizer: &dyn Optimizer) -> Value;
    /// Restores [`LrSchedule::state`] after the schedule and optimizer were built anew.
    fn load_state(&mut self, state: &Value, optimizer: &mut dyn Optimizer) -> Result<()>;
}

/// The optimizer with what happens around its update.
pub struct Step {
    pub optimizer: Box<dyn Optimizer>,
    /// The learning rate of the last optimizer step (metrics.jsonl's `lr`).
    pub last_lr: f64,
    params: Vec<(String, Tensor)>,
    transforms: Vec<Box<dyn GradientTransform>>,
    schedule: Option<Box<dyn LrSchedule>>,
}

impl Step {
    /// A plain step: `optimizer` over `params` (the same tensors, shallow clones), nothing around.
    pub fn new(optimizer: Box<dyn Optimizer>, params: Vec<(String, Tensor)>) -> Step {
        Step {
            last_lr: optimizer.lr(),
            optimizer,
            params,
            transforms: Vec::new(),
            schedule: None,
        }
    }

    /// Adds a gradient transform, applied after those added before it.
    #[allow(dead_code)] // until the first transform (clipping) lands
    pub fn with_transform(mut self, transform: Box<dyn GradientTransform>) -> Step {
        self.transforms.push(transform);
        self
    }

    /// Sets the learning-rate schedule.
    pub fn with_schedule(mut self, schedule: Box<dyn LrSchedule>) -> Step {
        self.schedule = Some(schedule);
        self
    }

    /// Clears the gradients before a batch's backward pass.
    #[inline]
    pub fn zero_grad(&mut self) -> Result<()> {
        self.optimizer.zero_grad()
    }

    /// The gradient seam; returns whether the optimizer steps now.
    #[inline]
    pub fn transform_gradients(&mut self) -> Result<bool> {
        let mut ready = true;
        for transform in &mut self.transforms {
            ready &= transform.transform(&self.params)?;
        }
        Ok(ready)
    }

    /// The optimizer's update, remembering the rate it used.
    #[inline]
    pub fn optimizer_step(&mut self) -> Result<()> {
        self.last_lr = self.optimizer.lr();
        self.optimizer.step()
    }

    /// The per-step learning-rate seam.
    #[inline]
    pub fn schedule_step(&mut self) -> Result<()> {
        match &mut self.schedule {
            Some(schedule) => schedule.after_step(self.optimizer.as_mut()),
            None => Ok(()),
        }
    }

    /// The per-epoch learning-rate seam.
    pub fn schedule_epoch(&mut self, record: &EpochRecord) -> Result<()> {
        match &mut self.schedule {
            Some(schedule) => schedule.after_epoch(self.optimizer.as_mut(), record),
            None => Ok(()),
        }
    }
}

impl Step {
    /// The schedule's state for a checkpoint (`None` without a schedule), with the rate of the
    /// last step (a run stopped after an epoch's last batch records it when resumed).
    pub fn schedule_state(&self) -> Option<Value> {
        let schedule = self.schedule.as_ref()?;
        Some(serde_json::json!({
            "schedule": schedule.state(self.optimizer.as_ref()),
            "last_lr": self.last_lr,
        }))
    }

    /// Restores a checkpoint's schedule state; an error if one is saved and none is configured,
    /// or the other way round.
    pub fn load_schedule_state(&mut self, state: Option<&Value>) -> Result<()> {
        match (&mut self.schedule, state) {
            (Some(schedule), Some(state)) => {
                let (Some(inner), Some(last_lr)) =
                    (state.get("schedule"), state["last_lr"].as_f64())
                else {
                    return Err(crate::error::Error::Data(
                        "corrupt scheduler state in the checkpoint".into(),
                    ));
                };
                self.last_lr = last_lr;
                schedule.load_state(inner, self.optimizer.as_mut())
            }
            (None, None) => Ok(()),
            (Some(_), None) => Err(crate::error::Error::Data(
                "the checkpoint holds no scheduler state but the run has a --scheduler".into(),
            )),
            (None, Some(_)) => Err(crate::error::Error::Data(
                "the checkpoint holds a scheduler state but the run has no --scheduler".into(),
            )),
        }
    }
}
