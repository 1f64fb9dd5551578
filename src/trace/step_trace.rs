//! `train --trace`: the harness's own loop traced through its step seams. The loop is not
//! touched: a hook of the step (`train::hook`, first in the pipeline), told where each epoch,
//! batch and window begins, reading each batch's loss before it is scaled for its backward pass,
//! and the parameters after each optimizer update.
use std::path::Path;

use tch::{Device, Kind, Tensor};

use super::{TraceLine, Tracer};
use crate::error::Result;
use crate::experiment::Experiment;
use crate::run_state::RunState;
use crate::tensor_io::NamedTensors;
use crate::train::{EpochStart, PlannedBatch, Slot, StepHook, Update};

impl StepHook for StepTrace {
    fn slot(&self) -> Slot {
        Slot::Trace
    }

    fn begin_epoch(&mut self, start: &EpochStart) -> Result<()> {
        let (order, n) = (start.order, start.samples);
        self.begin(start.epoch, order, n, start.batch_size, start.skipped)
    }

    fn begin_batch(&mut self, batch: &PlannedBatch) -> Result<()> {
        self.begin_window(batch.starts_window);
        Ok(())
    }

    fn scale_loss(&mut self, loss: Tensor, _: &PlannedBatch) -> Result<Tensor> {
        self.losses.push(loss.f_double_value(&[])?);
        Ok(loss)
    }

    fn after_update(&mut self, update: &mut Update) -> Result<()> {
        match update.stepped {
            true => self.after_step(update.params),
            false => Ok(()),
        }
    }
}

/// The trace of a run, and where in the epoch the loop is.
pub(crate) struct StepTrace {
    tracer: Tracer,
    /// State_dict entries that are not trained (buffers), traced after each step too.
    buffers: NamedTensors,
    epoch: usize,
    /// The epoch's sample order (int64, on the CPU), its length and the batch size.
    order: Tensor,
    batch_size: i64,
    /// Batches begun this epoch, and the first sample of the current window.
    batches: usize,
    window_start: i64,
    losses: Vec<f64>,
}

impl StepTrace {
    /// A new trace at `path`, starting with the experiment's initial state.
    pub fn start(path: &Path, experiment: &Experiment) -> Result<StepTrace> {
        let mut tracer = Tracer::create(path)?;
        tracer.start(&experiment.state_dict())?;
        Ok(StepTrace::with(tracer, experiment))
    }

    /// The trace of a resumed run: its lines up to where `state` (the checkpoint) stands are
    /// kept, so the finished trace equals an uninterrupted run's.
    pub fn resume(path: &Path, experiment: &Experiment, state: &RunState) -> Result<StepTrace> {
        let finished = state.records.len();
        let partial = state.partial.as_ref().map(|p| (p.epoch, p.batches));
        let tracer = Tracer::continue_after(path, |line: &TraceLine| match line.epoch {
            None => true,
            Some(e) if e <= finished => true,
            Some(e) => partial.is_some_and(|(pe, pb)| pe == e && line.batch <= Some(pb)),
        })?;
        Ok(StepTrace::with(tracer, experiment))
    }

    fn with(tracer: Tracer, experiment: &Experiment) -> StepTrace {
        let trained = experiment.parameters();
        let buffers = experiment
            .state_dict()
            .into_iter()
            .filter(|(name, _)| !trained.iter().any(|(p, _)| p == name))
            .collect();
        StepTrace {
            tracer,
            buffers,
            epoch: 0,
            order: Tensor::new(),
            batch_size: 1,
            batches: 0,
            window_start: 0,
            losses: Vec::new(),
        }
    }

    /// An epoch begins (at batch `skipped` when resumed inside it), in `order` (or stored
    /// order) over `n` samples.
    fn begin(
        &mut self,
        epoch: usize,
        order: Option<&Tensor>,
        n: usize,
        batch_size: i64,
        skipped: usize,
    ) -> Result<()> {
        self.order = match order {
            Some(order) => order.f_to_device(Device::Cpu)?.f_to_kind(Kind::Int64)?,
            None => Tensor::f_arange(n as i64, (Kind::Int64, Device::Cpu))?,
        };
        (self.epoch, self.batch_size, self.batches) = (epoch, batch_size, skipped);
        Ok(())
    }

    /// A batch begins; `starts_window`: the first of its accumulation window.
    fn begin_window(&mut self, starts_window: bool) {
        if starts_window {
            self.window_start = self.batches as i64 * self.batch_size;
            self.losses.clear();
        }
        self.batches += 1;
    }

    /// After the optimizer's update: one line for the window.
    fn after_step(&mut self, params: &[(String, Tensor)]) -> Result<()> {
        let n = self.order.size()[0];
        let end = (self.batches as i64 * self.batch_size).min(n);
        let indices = self
            .order
            .f_narrow(0, self.window_start, end - self.window_start)?;
        let mut traced: NamedTensors = params
            .iter()
            .map(|(name, t)| (name.clone(), t.shallow_clone()))
            .collect();
        traced.extend(
            self.buffers
                .iter()
                .map(|(n, t)| (n.clone(), t.shallow_clone())),
        );
        self.tracer
            .step(&traced, &self.losses, &indices, self.epoch, self.batches)
    }
}
