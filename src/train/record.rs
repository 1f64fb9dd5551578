//! An epoch's line of metrics.jsonl, built from what the epoch's training, evaluation and hooks
//! returned.
use super::epoch::EpochStats;
use super::evaluate::EvalStats;
use super::hook::StepMetrics;
use crate::run_state::EpochRecord;

/// The averaged models' eval metrics (`ema_eval_loss`, `swa_eval_accuracy`, …).
pub(super) fn averaged_record(record: &mut EpochRecord, evals: &[(&str, EvalStats)]) {
    for (kind, stats) in evals {
        let (loss, accuracy) = match *kind {
            "ema" => (&mut record.ema_eval_loss, &mut record.ema_eval_accuracy),
            _ => (&mut record.swa_eval_loss, &mut record.swa_eval_accuracy),
        };
        (*loss, *accuracy) = (Some(stats.average_loss), stats.accuracy);
    }
}

/// An epoch's line of metrics.jsonl (its times set by the caller); `lrs`: the rates of the
/// epoch's last step.
pub(super) fn epoch_record(
    epoch: usize,
    train: &EpochStats,
    eval: Option<EvalStats>,
    lrs: &[f64],
    metrics: StepMetrics,
) -> EpochRecord {
    EpochRecord {
        epoch,
        train_loss: train.average_loss,
        eval_loss: eval.as_ref().map(|e| e.average_loss),
        eval_accuracy: eval.as_ref().and_then(|e| e.accuracy),
        train_samples: train.samples,
        train_count: counted_apart(train.count, train.samples),
        eval_count: eval
            .as_ref()
            .and_then(|e| counted_apart(e.count, e.samples)),
        eval_metrics: eval.map(|e| e.metrics).unwrap_or_default(),
        batches: train.batches,
        skipped_batches: train.skipped_batches,
        lr: lrs.first().copied(),
        lrs: (lrs.iter().any(|&lr| lr != lrs[0])).then(|| lrs.to_vec()),
        grad_norm_max: metrics.grad_norm_max,
        ema_eval_loss: None,
        ema_eval_accuracy: None,
        swa_eval_loss: None,
        swa_eval_accuracy: None,
        loss_scale: metrics.loss_scale,
        skipped_steps: metrics.skipped_steps,
        rank_step_ms: metrics.rank_step_ms,
        rank_sync_ms: metrics.rank_sync_ms,
        grad_buckets: metrics.grad_buckets,
        grad_buckets_in_backward: metrics.grad_buckets_in_backward,
        seconds: 0.0,
        train_seconds: 0.0,
        elapsed_seconds: 0.0,
    }
}

/// A count for metrics.jsonl when it is not the sample count.
fn counted_apart(count: f64, samples: u64) -> Option<f64> {
    (count != samples as f64).then_some(count)
}
