//! One optimizer step and its seams. Between backward and the optimizer's update the gradients
//! pass through [`GradientTransform`]s (clipping, accumulation, an all-reduce across processes);
//! after the update, and after each epoch, an [`LrSchedule`] may set the learning rate. A run
//! without them pays one empty loop and one `None` check per batch.
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
}

/// The optimizer with what happens around its update.
pub struct Step {
    pub optimizer: Box<dyn Optimizer>,
    params: Vec<(String, Tensor)>,
    transforms: Vec<Box<dyn GradientTransform>>,
    schedule: Option<Box<dyn LrSchedule>>,
}

impl Step {
    /// A plain step: `optimizer` over `params` (the same tensors, shallow clones), nothing around.
    pub fn new(optimizer: Box<dyn Optimizer>, params: Vec<(String, Tensor)>) -> Step {
        Step {
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
    #[allow(dead_code)] // until the first schedule lands
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
