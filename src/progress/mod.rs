//! How a run reports itself: bars on a terminal, plain lines otherwise.
mod bar;
mod plain;

pub use bar::BarProgress;
pub use plain::PlainProgress;

use std::io::IsTerminal;

use crate::metrics::LossAccumulator;

/// Receives the loop's events. Implementations must be cheap per batch: `batch` runs on the hot
/// path.
pub trait Progress {
    /// An epoch of `batches` batches begins.
    fn start_epoch(&mut self, epoch: usize, epochs: usize, batches: usize);
    /// Batch `batch` (1-based) is done; `loss` holds the epoch's running sum and count.
    fn batch(&mut self, batch: usize, loss: &LossAccumulator);
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
    fn batch(&mut self, _: usize, _: &LossAccumulator) {}
    fn end_epoch(&mut self, _: &str) {}
    fn message(&mut self, _: &str) {}
}
