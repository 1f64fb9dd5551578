//! `--log-every-n-steps N`: the training loss of every Nth batch (this process's batch mean,
//! before any accumulation share), for TensorBoard's `train_loss_step`. A step hook that only
//! collects; the recorder writes what it collected at the epoch's end.
use std::cell::RefCell;
use std::rc::Rc;

use tch::Tensor;

use crate::error::Result;
use crate::train::{EpochStart, PlannedBatch, Slot, StepHook};

/// (batch number in the run, 1-based; loss).
pub type StepLosses = Rc<RefCell<Vec<(u64, f64)>>>;

/// Reads the loss of every `every`th batch of the run.
pub struct StepLoss {
    every: u64,
    /// The run's batch number of the next batch, and of the one in progress.
    next: u64,
    current: u64,
    losses: StepLosses,
}

impl StepLoss {
    pub fn new(every: usize, losses: StepLosses) -> StepLoss {
        StepLoss {
            every: every as u64,
            next: 1,
            current: 0,
            losses,
        }
    }
}

impl StepHook for StepLoss {
    fn slot(&self) -> Slot {
        Slot::Trace // before the accumulation share scales the loss
    }

    fn begin_epoch(&mut self, start: &EpochStart) -> Result<()> {
        let per_epoch = start.samples.div_ceil(start.batch_size as usize) as u64;
        self.next = (start.epoch as u64 - 1) * per_epoch + start.skipped as u64 + 1;
        Ok(())
    }

    fn begin_batch(&mut self, _batch: &PlannedBatch) -> Result<()> {
        self.current = self.next; // every batch, trained or left out
        self.next += 1;
        Ok(())
    }

    fn scale_loss(&mut self, loss: Tensor, _batch: &PlannedBatch) -> Result<Tensor> {
        if self.current % self.every == 0 {
            let value = loss.f_double_value(&[])?;
            self.losses.borrow_mut().push((self.current, value));
        }
        Ok(loss)
    }
}
