//! What a progress display may read of an epoch's running loss while the epoch is under way.

/// A running, sample-weighted loss. `count` is always free; `mean` may have to read a device (a
/// CUDA run with `--loss-sync epoch` keeps the sum on the GPU), which synchronises it: call it
/// every few batches at most, and only when the value is shown.
pub trait RunningLoss {
    /// Samples accumulated so far (kept on the host: no device read).
    fn count(&self) -> u64;

    /// The running mean, `None` before any sample or when the device cannot be read.
    fn mean(&self) -> Option<f64>;
}

impl RunningLoss for super::LossAccumulator {
    fn count(&self) -> u64 {
        super::LossAccumulator::count(self)
    }

    fn mean(&self) -> Option<f64> {
        super::LossAccumulator::mean(self)
    }
}
