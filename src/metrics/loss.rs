//! The seed's accounting: each batch's criterion returns a batch *mean*; multiply it by the batch
//! size, add it up, and divide by the number of samples — not by the number of batches.
use crate::error::{Error, Result};

/// Running sum of per-sample losses and the number of samples behind it.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LossAccumulator {
    sum: f64,
    count: u64,
}

impl LossAccumulator {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one batch: `batch_mean` is the criterion's mean over `batch_size` samples.
    pub fn update(&mut self, batch_mean: f64, batch_size: i64) {
        self.add_sum(batch_mean * batch_size as f64, batch_size);
    }

    /// Adds a batch whose loss is already a sum over `batch_size` samples.
    pub fn add_sum(&mut self, batch_sum: f64, batch_size: i64) {
        self.sum += batch_sum;
        self.count += batch_size.max(0) as u64;
    }

    /// Folds another shard's state into this one; merging shards equals accumulating the whole.
    pub fn merge(&mut self, other: &LossAccumulator) {
        self.sum += other.sum;
        self.count += other.count;
    }

    /// Sum of per-sample losses.
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// Number of samples seen.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The running sample-weighted mean, `None` before any sample.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }

    /// `total_loss / len(dataset)`, after checking that every sample of the dataset was seen
    /// exactly once: a dropped short batch would otherwise give a silently wrong average.
    pub fn average_over(&self, dataset_len: usize, phase: &'static str) -> Result<f64> {
        if self.count != dataset_len as u64 || dataset_len == 0 {
            return Err(Error::SampleCount {
                phase,
                seen: self.count,
                expected: dataset_len as u64,
            });
        }
        Ok(self.sum / dataset_len as f64)
    }
}
