//! The one point where tallies meet across processes: at the end of an epoch, train and eval,
//! every [`Tally`](super::Tally) is summed over the run's processes as (sum, count), so the
//! epoch's average is `Σ sums / Σ counts` — the seed's formula over the whole dataset.

use crate::error::Result;

/// Sums values over the processes of a run.
pub trait Reduce {
    /// How many processes take part (1: nothing to reduce).
    fn world_size(&self) -> usize;

    /// This process's rank among them (0 for a single process).
    fn rank(&self) -> usize {
        0
    }

    /// Replaces each value by its sum over every process.
    fn sum_f64(&self, values: &mut [f64]) -> Result<()>;

    /// A count summed over every process (no collective for one).
    fn sum_u64(&self, value: u64) -> Result<u64> {
        if self.world_size() == 1 {
            return Ok(value);
        }
        let mut values = [value as f64];
        self.sum_f64(&mut values)?;
        Ok(values[0] as u64)
    }
}

/// A run of one process.
#[derive(Debug, Clone, Copy, Default)]
pub struct SingleProcess;

impl Reduce for SingleProcess {
    fn world_size(&self) -> usize {
        1
    }

    fn sum_f64(&self, _: &mut [f64]) -> Result<()> {
        Ok(())
    }
}
