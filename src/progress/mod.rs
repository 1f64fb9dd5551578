//! How a run reports itself: bars on a terminal, plain lines otherwise.
mod bar;
mod plain;

pub use bar::BarProgress;
pub use plain::PlainProgress;

use std::io::IsTerminal;

use crate::tally::Tally;

/// What a progress display may read of an epoch's running loss while the epoch is under way.
/// `count` is always free; `mean` may have to read a device (a CUDA run with `--loss-sync epoch`
/// keeps the sum on the GPU), which synchronises it: call it every few batches at most, and only
/// when the value is shown.
pub trait RunningLoss {
    /// Samples counted so far (kept on the host: no device read).
    fn count(&self) -> u64;

    /// The running mean, `None` before any sample or when the device cannot be read.
    fn mean(&self) -> Option<f64>;
}

impl RunningLoss for Tally {
    fn count(&self) -> u64 {
        Tally::samples(self)
    }

    fn mean(&self) -> Option<f64> {
        Tally::mean(self)
    }
}

/// Receives the loop's events. Implementations must be cheap per batch: `batch` runs on the hot
/// path. Reading `loss.mean()` may synchronise the device (`--loss-sync epoch` on CUDA), so a
/// renderer that does not show the running loss never calls it, and one that does calls it every
/// few batches only.
pub trait Progress {
    /// An epoch of `batches` batches begins.
    fn start_epoch(&mut self, epoch: usize, epochs: usize, batches: usize);
    /// Batch `batch` (1-based) is done; `loss` gives the epoch's running mean and count.
    fn batch(&mut self, batch: usize, loss: &dyn RunningLoss);
    /// The epoch is done; `summary` is its one-line report.
    fn end_epoch(&mut self, summary: &str);
    /// A message outside the epoch lines (warnings, where files went).
    fn message(&mut self, line: &str);
}

/// Bars when stdout is a terminal, plain epoch lines when it is not.
pub fn for_stdout() -> Box<dyn Progress> {
    if std::io::stdout().is_terminal() {
        Box::new(BarProgress::new())
    } else {
        Box::new(PlainProgress)
    }
}

/// Reports nothing per batch and prints nothing (for benchmarks and library use).
#[derive(Debug, Default)]
pub struct Silent;

impl Progress for Silent {
    fn start_epoch(&mut self, _: usize, _: usize, _: usize) {}
    fn batch(&mut self, _: usize, _: &dyn RunningLoss) {}
    fn end_epoch(&mut self, _: &str) {}
    fn message(&mut self, _: &str) {}
}
