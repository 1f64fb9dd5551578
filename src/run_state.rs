//! Where a run stands, apart from its tensors: the finished epochs' records, a stopped epoch's
//! position, the best eval loss. The training loop updates it; checkpoints save it; resume
//! reads it back. Its own module, so that neither `train` nor `checkpoint` depends on the other.
use serde::{Deserialize, Serialize};

use crate::callbacks::CallbackState;
use crate::metrics::MetricValues;
use crate::rng_state::CpuRngState;
use crate::tally::Tally;

/// One line of `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based.
    pub epoch: usize,
    pub train_loss: f64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub eval_loss: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub eval_accuracy: Option<f64>,
    /// `--metrics` on the eval split, by name.
    #[serde(skip_serializing_if = "MetricValues::is_empty", default)]
    pub eval_metrics: MetricValues,
    pub train_samples: u64,
    /// What `train_loss` is over when it is not `train_samples`: the non-ignored targets (or
    /// their class-weight sum) of cross-entropy and nll.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub train_count: Option<f64>,
    /// The same for `eval_loss`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub eval_count: Option<f64>,
    pub batches: usize,
    #[serde(skip_serializing_if = "is_zero", default)]
    pub skipped_batches: usize,
    /// The learning rate of the epoch's last optimizer step.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lr: Option<f64>,
    /// Every parameter group's rate, when they differ (`--param-group`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lrs: Option<Vec<f64>>,
    /// The largest gradient norm before clipping (`--clip-grad-norm`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub grad_norm_max: Option<f64>,
    /// `--ema`: the averaged weights' eval loss and accuracy.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ema_eval_loss: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ema_eval_accuracy: Option<f64>,
    /// `--swa`: the same for the SWA average (from `swa_start` on).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub swa_eval_loss: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub swa_eval_accuracy: Option<f64>,
    /// `--grad-scaler`: the loss scale at the epoch's end.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub loss_scale: Option<f64>,
    /// `--grad-scaler`: optimizer steps skipped for a non-finite gradient.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub skipped_steps: Option<u64>,
    /// Data-parallel: each rank's mean milliseconds per step outside the gradient all-reduce and
    /// blocked in it (see `StepMetrics`), by rank: the slow rank is the one the others wait for.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rank_step_ms: Option<Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rank_sync_ms: Option<Vec<f64>>,
    /// Data-parallel: rank 0's gradient buckets all-reduced in the epoch (one per bucket per
    /// optimizer step), and how many went out while backward still ran.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub grad_buckets: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub grad_buckets_in_backward: Option<u64>,
    /// Wall time of the whole epoch: sample order, training, evaluation.
    pub seconds: f64,
    /// Wall time of the training part only (sample order and every step, up to the epoch loss
    /// being read): what throughput is measured on.
    #[serde(default)]
    pub train_seconds: f64,
    /// Time from the start of the first epoch of this process to the end of this epoch; the
    /// difference between two epochs' values is everything one epoch costs (files included).
    #[serde(default)]
    pub elapsed_seconds: f64,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl EpochRecord {
    /// The epoch's line on the terminal.
    pub fn summary(&self, epochs: usize) -> String {
        let mut line = format!(
            "epoch {:>3}/{epochs}  train_loss {:.6}",
            self.epoch, self.train_loss
        );
        if let Some(loss) = self.eval_loss {
            line += &format!("  eval_loss {loss:.6}");
        }
        if let Some(acc) = self.eval_accuracy {
            line += &format!("  eval_acc {:.2}%", acc * 100.0);
        }
        for (name, value) in &self.eval_metrics {
            line += &format!("  {name} {value:.4}");
        }
        if self.skipped_batches > 0 {
            line += &format!("  skipped {} non-finite batches", self.skipped_batches);
        }
        line + &format!(
            "  samples {}  batches {}  {:.3}s",
            self.train_samples, self.batches, self.seconds
        )
    }
}

/// An epoch in progress: the batches done so far and their loss. A stopped run saves it (Ctrl-C,
/// at a batch boundary) and picks the epoch up there.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PartialEpoch {
    /// The 1-based epoch in progress.
    pub epoch: usize,
    /// Batches already trained in it (skipped non-finite ones included).
    pub batches: usize,
    /// Their loss sum and sample count.
    pub total_loss: Tally,
    /// Batches skipped for a non-finite loss, and their samples.
    pub skipped_batches: usize,
    pub skipped_samples: u64,
    /// libtorch's global CPU generator at the stop (from the checkpoint's `rng.cpu`, not its
    /// JSON): `fit` puts it back after redrawing the epoch's order, before the next batch.
    #[serde(skip)]
    pub(crate) rng: Option<CpuRngState>,
}

impl PartialEpoch {
    /// The start of epoch `epoch`.
    pub fn start(epoch: usize) -> PartialEpoch {
        PartialEpoch {
            epoch,
            ..Default::default()
        }
    }
}

/// Where a run stands, apart from its tensors.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    /// Finished epochs, in order.
    pub records: Vec<EpochRecord>,
    /// The epoch in progress when the run was stopped, if any.
    pub partial: Option<PartialEpoch>,
    /// The lowest eval loss so far.
    pub best_eval_loss: Option<f64>,
    /// `--early-stopping` and `--checkpoint`'s state (their decisions so far).
    #[serde(skip_serializing_if = "CallbackState::is_empty", default)]
    pub callbacks: CallbackState,
}
