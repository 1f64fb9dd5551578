//! One optimizer step and its seams. Gradients are cleared at the start of an accumulation
//! window and the optimizer steps at its end (every batch without `--accumulate`); between the
//! last backward pass and the optimizer's update the gradients pass through
//! [`GradientTransform`]s (clipping, an all-reduce across processes); after the update, and after
//! each epoch, an [`LrSchedule`] may set the learning rate. A run without them pays one empty
//! loop and one `None` check per batch.
//!
//! Accumulation scales each batch's loss before its backward pass, by its count over the window's
//! count (see `plan`), rather than the gradients after it: the window's count is known before its
//! first batch, the scale is one multiply of a scalar instead of a pass over every gradient, and it
//! is the loop a PyTorch user writes (`(loss * scale).backward()`), which `scripts/reference.py`
//! runs as it is. A batch left out for a non-finite loss inside a window gives no gradient; when
//! the window ends, the others' gradients are rescaled by `window count / trained count`, so the
//! step is still the gradient of the mean over the elements trained on.
use serde_json::Value;
use tch::Tensor;

use super::accumulate::{held_grads, rescale, restore_grads, Window};
use super::plan::PlannedBatch;
use crate::distributed::{GradSync, WindowTally};
use crate::error::Result;
use crate::interrupt::StopFlag;
use crate::optim::Optimizer;
use crate::run_state::EpochRecord;
use crate::tensor_io::NamedTensors;
use crate::trace::StepTrace;

/// Changes a batch's gradients in place before the optimizer sees them.
pub trait GradientTransform {
    /// `params` are the trained parameters with their state_dict names; their `.grad()` holds
    /// the gradients of the step (its accumulation window's). Returns whether the optimizer steps
    /// now.
    fn transform(&mut self, params: &[(String, Tensor)]) -> Result<bool>;

    /// At the end of an epoch: a value for its metrics line (`grad_norm_max`), reset after.
    fn end_epoch(&mut self) -> Result<Option<(&'static str, f64)>> {
        Ok(None)
    }

    /// What a checkpoint taken mid-epoch keeps to continue bit for bit.
    fn state(&self) -> Result<Value> {
        Ok(Value::Null)
    }

    /// Restores [`GradientTransform::state`].
    fn load_state(&mut self, _state: &Value) -> Result<()> {
        Ok(())
    }
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
    /// The learning rate of each parameter group at the last optimizer step (metrics.jsonl's
    /// `lr`, and `lrs` where groups differ).
    pub last_lrs: Vec<f64>,
    params: Vec<(String, Tensor)>,
    transforms: Vec<Box<dyn GradientTransform>>,
    schedule: Option<Box<dyn LrSchedule>>,
    window: Window,
    /// `--trace`: each optimizer step into trace.jsonl.
    trace: Option<Box<StepTrace>>,
    /// Data-parallel: the gradients summed over the ranks at each window's end.
    sync: Option<GradSync>,
}

impl Step {
    /// A plain step: `optimizer` over `params` (the same tensors, shallow clones), nothing around.
    pub fn new(optimizer: Box<dyn Optimizer>, params: Vec<(String, Tensor)>) -> Step {
        Step {
            last_lrs: optimizer.lrs(),
            optimizer,
            params,
            transforms: Vec::new(),
            schedule: None,
            window: Window::default(),
            trace: None,
            sync: None,
        }
    }

    /// Sums each window's gradients over the ranks before the gradient transforms.
    pub fn with_sync(mut self, sync: GradSync) -> Step {
        self.sync = Some(sync);
        self
    }

    /// Whether this step is one rank's of a data-parallel run.
    #[inline]
    pub fn is_distributed(&self) -> bool {
        self.sync.is_some()
    }

    /// Whether to stop now: this process was asked to, or, data-parallel, every rank agreed at
    /// the last window's end (ranks get their signals at different batches).
    #[inline]
    pub fn stop_requested(&self, stop: &StopFlag) -> bool {
        match &self.sync {
            Some(sync) => sync.stopping(),
            None => stop.requested(),
        }
    }

    /// Traces every optimizer step (`--trace`).
    pub(crate) fn set_trace(&mut self, trace: StepTrace) {
        self.trace = Some(Box::new(trace));
    }

    /// Tells the trace, if any, where an epoch begins (see [`StepTrace::begin_epoch`]).
    pub(crate) fn begin_epoch(
        &mut self,
        epoch: usize,
        order: Option<&Tensor>,
        n: usize,
        batch_size: i64,
        skipped: usize,
    ) -> Result<()> {
        match &mut self.trace {
            Some(trace) => trace.begin_epoch(epoch, order, n, batch_size, skipped),
            None => Ok(()),
        }
    }

    /// Adds a gradient transform, applied after those added before it.
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

    /// Before a batch: clears the gradients at the start of its accumulation window (before every
    /// batch without accumulation: the seed's `optimizer.zero_grad()`).
    #[inline]
    pub fn begin_batch(&mut self, batch: &PlannedBatch) -> Result<()> {
        if batch.starts_window {
            self.window = Window::default();
            self.zero_grad()?;
        }
        if let Some(trace) = &mut self.trace {
            trace.begin_batch(batch.starts_window);
        }
        Ok(())
    }

    /// The batch's backward pass, its loss scaled by its share of the window's count when
    /// batches accumulate.
    #[inline]
    pub fn backward(&mut self, loss: &Tensor, batch: &PlannedBatch) -> Result<()> {
        if let Some(trace) = &mut self.trace {
            trace.loss(loss)?;
        }
        match batch.loss_scale() {
            Some(scale) => loss.f_mul_scalar(scale)?.f_backward()?,
            None => loss.f_backward()?,
        }
        self.window.trained += 1;
        Ok(())
    }

    /// A batch left out of its window for a non-finite loss: no backward pass from it.
    pub fn skip(&mut self, batch: &PlannedBatch) {
        self.window.skipped += batch.count;
        self.window.nonfinite += 1;
    }

    /// After a batch: at the end of its window, the gradient transforms, the optimizer's update
    /// and a per-step schedule — unless no batch of the window was trained on (every target
    /// ignored, or every loss non-finite): there is no gradient to step from.
    #[inline]
    pub fn end_batch(&mut self, batch: &PlannedBatch) -> Result<()> {
        if !batch.ends_window {
            self.window.open = true;
            return Ok(());
        }
        let mut window = std::mem::take(&mut self.window);
        if let Some(sync) = &mut self.sync {
            if batch.window_count == 0.0 {
                return Ok(()); // every target of the whole window ignored: no rank steps
            }
            let local = WindowTally {
                trained: window.trained as f64,
                skipped: window.skipped,
                nonfinite: window.nonfinite as f64,
                stop: 0.0,
            };
            let all = sync.reduce(&self.params, local)?; // one collective per bucket
            (window.trained, window.skipped) = (all.trained as u64, all.skipped);
        }
        if window.trained == 0 {
            return Ok(());
        }
        if window.skipped > 0.0 {
            let trained = batch.window_count - window.skipped;
            rescale(&self.params, batch.window_count / trained)?;
        }
        if self.transform_gradients()? {
            self.optimizer_step()?;
            if let Some(trace) = &mut self.trace {
                trace.after_step(&self.params)?;
            }
            self.schedule_step()?;
        }
        Ok(())
    }

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
        self.last_lrs = self.optimizer.lrs();
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
    /// The transforms' values for the epoch's metrics line (`grad_norm_max`), reset after.
    pub fn end_epoch(&mut self) -> Result<Vec<(&'static str, f64)>> {
        let mut values = Vec::new();
        for transform in &mut self.transforms {
            values.extend(transform.end_epoch()?);
        }
        Ok(values)
    }

    /// The seams' state for a checkpoint: the schedule's (with the optimizer's rate), the rate of
    /// the last step (a run stopped after an epoch's last batch records it when resumed) and the
    /// gradient transforms'.
    pub fn state(&self) -> Result<Value> {
        let transforms = self
            .transforms
            .iter()
            .map(|t| t.state())
            .collect::<Result<Vec<_>>>()?;
        Ok(serde_json::json!({
            "schedule": self.schedule.as_ref().map(|s| s.state(self.optimizer.as_ref())),
            "last_lr": self.last_lrs[0],
            "last_lrs": self.last_lrs,
            "transforms": transforms,
            "window": self.window.state(),
        }))
    }

    /// Restores [`Step::state`] into a step built anew from the same configuration (`None`: a
    /// checkpoint from before seams had state, valid only for a step without any).
    pub fn load_state(&mut self, state: Option<&Value>) -> Result<()> {
        let corrupt = |what: &str| crate::error::Error::Data(format!("checkpoint: {what}"));
        let Some(state) = state else {
            if self.schedule.is_some() || !self.transforms.is_empty() {
                return Err(corrupt("no state for the --scheduler or gradient clipping"));
            }
            return Ok(());
        };
        let saved = state["transforms"]
            .as_array()
            .map_or(&[][..], Vec::as_slice);
        if saved.len() != self.transforms.len() {
            return Err(corrupt("its gradient transforms differ from the run's"));
        }
        for (transform, saved) in self.transforms.iter_mut().zip(saved) {
            transform.load_state(saved)?;
        }
        match (&mut self.schedule, &state["schedule"]) {
            (Some(schedule), saved) if !saved.is_null() => {
                schedule.load_state(saved, self.optimizer.as_mut())?
            }
            (None, Value::Null) => {}
            _ => return Err(corrupt("its scheduler differs from the run's --scheduler")),
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
