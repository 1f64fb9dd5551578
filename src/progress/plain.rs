//! One line per epoch, nothing per batch: for logs, pipes and CI.
use std::io::Write;

use super::Progress;
use crate::progress::RunningLoss;

/// Prints each epoch's summary on its own line and flushes it.
#[derive(Debug, Default)]
pub struct PlainProgress;

impl Progress for PlainProgress {
    fn start_epoch(&mut self, _: usize, _: usize, _: usize) {}

    fn batch(&mut self, _: usize, _: &dyn RunningLoss) {}

    fn end_epoch(&mut self, summary: &str) {
        self.message(summary);
    }

    fn message(&mut self, line: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}
