//! Each rank's time per step, split at the gradient all-reduce: before it (the window's forward
//! and backward passes) and blocked in it (the transfer, and the wait for the slowest rank). A
//! rank that others wait for shows a larger first number and a smaller second one.
use std::time::Instant;

use super::group::{ProcessGroup, ReduceOp};
use crate::error::Result;

#[derive(Debug, Default)]
pub struct StepTimes {
    window_start: Option<Instant>,
    sync_start: Option<Instant>,
    step_seconds: f64,
    sync_seconds: f64,
    windows: u32,
}

impl StepTimes {
    /// A window's first batch begins.
    pub fn window_started(&mut self) {
        self.window_start = Some(Instant::now());
    }

    /// Its gradients are complete: the wait for the all-reduce begins.
    pub fn sync_started(&mut self) {
        let now = Instant::now();
        if let Some(start) = self.window_start.take() {
            self.step_seconds += now.duration_since(start).as_secs_f64();
        }
        self.sync_start = Some(now);
    }

    /// The all-reduce is done.
    pub fn sync_done(&mut self) {
        if let Some(start) = self.sync_start.take() {
            self.sync_seconds += start.elapsed().as_secs_f64();
            self.windows += 1;
        }
    }

    /// The epoch's mean milliseconds per step (before the all-reduce, in it) of every rank, by
    /// rank, gathered in one all-reduce (each rank fills its own slots); starts the next epoch.
    pub fn take_epoch(&mut self, group: &ProcessGroup) -> Result<(Vec<f64>, Vec<f64>)> {
        let (rank, world) = (group.rank, group.world);
        let per_window = |seconds: f64| seconds * 1e3 / f64::from(self.windows.max(1));
        let mut values = vec![0.0; 2 * world];
        values[rank] = per_window(self.step_seconds);
        values[world + rank] = per_window(self.sync_seconds);
        group.all_reduce_f64(&mut values, ReduceOp::Sum)?;
        *self = StepTimes::default();
        let sync = values.split_off(world);
        Ok((values, sync))
    }
}
