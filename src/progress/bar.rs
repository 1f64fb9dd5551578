//! indicatif bars: one for epochs, one for the batches of the current epoch with the running
//! sample-weighted loss.
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::Progress;
use crate::progress::RunningLoss;

/// Refresh the batch bar every this many batches: formatting a message per batch would cost more
/// than a small model's step, and with `--loss-sync epoch` each refresh reads the device.
const REFRESH_EVERY: usize = 8;

/// Epoch and batch bars on stdout.
pub struct BarProgress {
    bars: MultiProgress,
    epochs: Option<ProgressBar>,
    batches: Option<ProgressBar>,
}

impl BarProgress {
    /// Bars drawn on stdout.
    pub fn new() -> Self {
        BarProgress {
            bars: MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::stdout()),
            epochs: None,
            batches: None,
        }
    }
}

impl Default for BarProgress {
    fn default() -> Self {
        Self::new()
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

impl Progress for BarProgress {
    fn start_epoch(&mut self, epoch: usize, epochs: usize, batches: usize) {
        let epoch_bar = self.epochs.get_or_insert_with(|| {
            let bar = self.bars.add(ProgressBar::new(epochs as u64));
            bar.set_style(style("epochs  [{bar:30}] {pos}/{len} {elapsed_precise}"));
            bar
        });
        epoch_bar.set_position(epoch as u64 - 1);
        let batch_bar = self.bars.add(ProgressBar::new(batches as u64));
        batch_bar.set_style(style("epoch {prefix} [{bar:30}] {pos}/{len} {msg}"));
        batch_bar.set_prefix(epoch.to_string());
        self.batches = Some(batch_bar);
    }

    fn batch(&mut self, batch: usize, loss: &dyn RunningLoss) {
        let Some(bar) = &self.batches else { return };
        if batch % REFRESH_EVERY == 0 || batch as u64 == bar.length().unwrap_or(0) {
            bar.set_position(batch as u64);
            if let Some(mean) = loss.mean() {
                bar.set_message(format!("loss {mean:.5} ({} samples)", loss.count()));
            }
        }
    }

    fn end_epoch(&mut self, summary: &str) {
        if let Some(bar) = self.batches.take() {
            bar.finish_and_clear();
            self.bars.remove(&bar);
        }
        if let Some(bar) = &self.epochs {
            bar.inc(1);
        }
        self.message(summary);
    }

    fn message(&mut self, line: &str) {
        let _ = self.bars.println(line);
    }
}

impl Drop for BarProgress {
    fn drop(&mut self) {
        if let Some(bar) = self.epochs.take() {
            bar.finish_and_clear();
        }
    }
}
