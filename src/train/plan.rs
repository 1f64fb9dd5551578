//! An epoch's batches as planned before it starts: what each batch's mean is over (its count) and
//! the gradient-accumulation window it belongs to. Windows are `--accumulate` consecutive batches
//! of an epoch; the last one may be shorter and is stepped like the others. Every count is known
//! from the targets before the epoch, so a window's count is known before its first backward pass.
//!
//! In a data-parallel run a batch is a rank's rows of a global batch: its count is theirs, while
//! its window's count is the global window's (every rank holds all the targets, so no collective
//! is needed). Each rank's loss is then always scaled, by its count over the window's, so that
//! the gradients summed over the ranks are one process's.
use crate::error::{Error, Result};
use crate::tally::BatchCount;

/// One batch of an epoch's plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlannedBatch {
    /// What the batch's mean is over: its samples, or its non-ignored targets (their class-weight
    /// sum). 0: every target is ignored, and the batch is left out.
    pub count: f64,
    /// The first batch of its window (the gradients are cleared before it).
    pub starts_window: bool,
    /// The last batch of its window (the optimizer steps after it).
    pub ends_window: bool,
    /// The counts of its window's batches, summed in order.
    pub window_count: f64,
    /// The whole batch's count, over every rank (`count` is this rank's rows').
    pub global_count: f64,
    /// Whether the loss is scaled before backward: windows of more than one batch, or shards.
    scaled: bool,
}

impl PlannedBatch {
    /// The factor the batch's loss is scaled by before backward: its count over its window's, so
    /// that the window's gradient is the gradient of the mean over all its counted elements.
    /// `None` without accumulation in one process (the seed's plain `loss.backward()`).
    pub fn loss_scale(&self) -> Option<f64> {
        self.scaled.then(|| self.count / self.window_count)
    }

    /// Its samples and count, for the epoch's tally.
    pub fn counted(&self, batch_size: i64) -> BatchCount {
        BatchCount {
            samples: batch_size,
            count: self.count,
        }
    }
}

/// The planned batches of an epoch, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchPlan {
    batches: Vec<PlannedBatch>,
}

impl BatchPlan {
    /// Windows of `accumulate` (at least 1) batches over the batches' `counts`.
    pub fn new(counts: &[f64], accumulate: usize) -> BatchPlan {
        BatchPlan::sharded(counts, counts, accumulate, false)
    }

    /// A rank's batches: `local` are its rows' counts, `global` the whole batches' (the windows'
    /// counts); `sharded` for a data-parallel run.
    pub fn sharded(local: &[f64], global: &[f64], accumulate: usize, sharded: bool) -> BatchPlan {
        let size = accumulate.max(1);
        let mut batches = Vec::with_capacity(local.len());
        for (window, counts) in global.chunks(size).zip(local.chunks(size)) {
            let mut window_count = 0.0;
            for count in window {
                window_count += count;
            }
            for (i, (&count, &global_count)) in counts.iter().zip(window).enumerate() {
                batches.push(PlannedBatch {
                    count,
                    global_count,
                    starts_window: i == 0,
                    ends_window: i + 1 == counts.len(),
                    window_count,
                    scaled: accumulate > 1 || sharded,
                });
            }
        }
        BatchPlan { batches }
    }

    /// Batch `index` (0-based).
    #[inline]
    pub fn get(&self, index: usize) -> Result<PlannedBatch> {
        self.batches.get(index).copied().ok_or_else(|| {
            Error::Data(format!(
                "batch {} is beyond the epoch's {} planned batches",
                index + 1,
                self.batches.len()
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_keep_the_short_last_one_and_scale_by_counts() {
        let plan = BatchPlan::new(&[16.0, 16.0, 16.0, 16.0, 11.0], 2);
        let starts: Vec<bool> = (0..5).map(|b| plan.get(b).unwrap().starts_window).collect();
        let ends: Vec<bool> = (0..5).map(|b| plan.get(b).unwrap().ends_window).collect();
        assert_eq!(starts, [true, false, true, false, true]);
        assert_eq!(ends, [false, true, false, true, true]);
        assert_eq!(plan.get(0).unwrap().loss_scale(), Some(0.5));
        // The short last window is one batch: its scale is 1, not 1/2.
        assert_eq!(plan.get(4).unwrap().loss_scale(), Some(1.0));
        assert!(plan.get(5).is_err());
        let plain = BatchPlan::new(&[3.0, 2.0], 1);
        assert_eq!(plain.get(1).unwrap().loss_scale(), None);
        assert!(plain.get(1).unwrap().starts_window && plain.get(1).unwrap().ends_window);
    }

    #[test]
    fn a_batch_weighs_by_its_count_not_one_over_n() {
        let plan = BatchPlan::new(&[7.0, 1.0, 0.0], 3);
        assert_eq!(plan.get(0).unwrap().window_count, 8.0);
        assert_eq!(plan.get(0).unwrap().loss_scale(), Some(7.0 / 8.0));
        assert_eq!(plan.get(1).unwrap().loss_scale(), Some(1.0 / 8.0));
    }

    #[test]
    fn a_shard_weighs_by_its_share_of_the_global_window() {
        // Rank 1 of 2 over batches of 3, 3, 1: rows 1..3, 1..3 and 0..1.
        let plan = BatchPlan::sharded(&[2.0, 2.0, 1.0], &[3.0, 3.0, 1.0], 1, true);
        assert_eq!(plan.get(0).unwrap().loss_scale(), Some(2.0 / 3.0));
        assert_eq!(plan.get(2).unwrap().loss_scale(), Some(1.0));
        // Rank 0 holds none of the last batch: count 0, scale 0, still in its window.
        let rank0 = BatchPlan::sharded(&[1.0, 1.0, 0.0], &[3.0, 3.0, 1.0], 2, true);
        assert_eq!(rank0.get(0).unwrap().window_count, 6.0);
        assert_eq!(rank0.get(2).unwrap().count, 0.0);
        assert!(rank0.get(2).unwrap().ends_window);
    }
}
