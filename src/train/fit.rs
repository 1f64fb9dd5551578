//! All epochs of a run: train, evaluate, record, report.
use std::time::Instant;

use serde_json::{json, Value};

use super::{evaluate, train_epoch};
use crate::config::TrainConfig;
use crate::data::{batch_count, epoch_order};
use crate::error::Result;
use crate::experiment::Experiment;
use crate::optim::Optimizer;
use crate::progress::Progress;
use crate::run_dir::MetricsLog;

/// One line of `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochRecord {
    /// 1-based.
    pub epoch: usize,
    pub train_loss: f64,
    pub eval_loss: Option<f64>,
    pub eval_accuracy: Option<f64>,
    pub train_samples: u64,
    pub batches: usize,
    /// Wall time of the whole epoch: sample order, training, evaluation.
    pub seconds: f64,
    /// Wall time of the training part only (sample order and every step, up to the epoch loss
    /// being read): what throughput is measured on.
    pub train_seconds: f64,
    /// Time from the start of the first epoch of this process to the end of this epoch; the
    /// difference between two epochs' values is everything one epoch costs (logging included).
    pub elapsed_seconds: f64,
}

impl EpochRecord {
    /// The JSON object written to `metrics.jsonl` (absent values are left out).
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "epoch": self.epoch,
            "train_loss": self.train_loss,
            "train_samples": self.train_samples,
            "batches": self.batches,
            "seconds": self.seconds,
            "train_seconds": self.train_seconds,
            "elapsed_seconds": self.elapsed_seconds,
        });
        if let Some(loss) = self.eval_loss {
            v["eval_loss"] = json!(loss);
        }
        if let Some(acc) = self.eval_accuracy {
            v["eval_accuracy"] = json!(acc);
        }
        v
    }

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
        line + &format!(
            "  samples {}  batches {}  {:.3}s",
            self.train_samples, self.batches, self.seconds
        )
    }
}

/// The records of a finished run.
#[derive(Debug, Clone, Default)]
pub struct FitSummary {
    pub records: Vec<EpochRecord>,
}

/// Trains `experiment` for `config.epochs` epochs, evaluating after each, appending each epoch's
/// record to `log` as soon as it is known.
pub fn fit(
    experiment: &mut Experiment,
    optimizer: &mut dyn Optimizer,
    config: &TrainConfig,
    mut log: Option<&mut MetricsLog>,
    progress: &mut dyn Progress,
) -> Result<FitSummary> {
    let mut summary = FitSummary::default();
    let train_len = experiment.data.train.len();
    let run_started = Instant::now();
    for epoch in 1..=config.epochs {
        let started = Instant::now();
        progress.start_epoch(
            epoch,
            config.epochs,
            batch_count(train_len, config.batch_size),
        );
        let order = config
            .shuffle
            .then(|| epoch_order(train_len, config.seed, epoch));
        let train = train_epoch(
            experiment.model.as_mut(),
            optimizer,
            experiment.loss,
            &experiment.data.train,
            config.batch_size,
            order.as_ref(),
            config.loss_sync,
            progress,
        )?;
        let train_seconds = started.elapsed().as_secs_f64();
        let eval = match &experiment.data.eval {
            Some(split) => Some(evaluate(
                experiment.model.as_mut(),
                experiment.loss,
                split,
                config.batch_size,
                config.loss_sync,
            )?),
            None => None,
        };
        let record = EpochRecord {
            epoch,
            train_loss: train.average_loss,
            eval_loss: eval.map(|e| e.average_loss),
            eval_accuracy: eval.and_then(|e| e.accuracy),
            train_samples: train.samples,
            batches: train.batches,
            seconds: started.elapsed().as_secs_f64(),
            train_seconds,
            elapsed_seconds: run_started.elapsed().as_secs_f64(),
        };
        if let Some(log) = log.as_deref_mut() {
            log.write(&record.to_json())?;
        }
        progress.end_epoch(&record.summary(config.epochs));
        summary.records.push(record);
    }
    Ok(summary)
}
