//! All epochs of a run: train, evaluate, record, checkpoint, report.
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::epoch::{EpochEnd, EpochPlan};
use super::{evaluate, train_epoch};
use crate::checkpoint::{checkpoint_actions, RunProgress};
use crate::config::TrainConfig;
use crate::data::{batch_count, epoch_order};
use crate::error::{Error, Result};
use crate::experiment::Experiment;
use crate::interrupt::StopFlag;
use crate::optim::Optimizer;
use crate::progress::Progress;

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
    pub train_samples: u64,
    pub batches: usize,
    #[serde(skip_serializing_if = "is_zero", default)]
    pub skipped_batches: usize,
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
        if self.skipped_batches > 0 {
            line += &format!("  skipped {} non-finite batches", self.skipped_batches);
        }
        line + &format!(
            "  samples {}  batches {}  {:.3}s",
            self.train_samples, self.batches, self.seconds
        )
    }
}

/// Where a run's epochs and checkpoints go. `fit` calls it after each epoch and when stopping.
pub trait RunSink {
    /// A finished epoch (its record is already in `progress.records`); `save_last`/`save_best`
    /// say which checkpoints to write.
    fn epoch_done(
        &mut self,
        experiment: &Experiment,
        optimizer: &dyn Optimizer,
        progress: &RunProgress,
        save_last: bool,
        save_best: bool,
    ) -> Result<()>;
    /// The run is stopping mid-epoch: save everything needed to continue.
    fn stopped(
        &mut self,
        experiment: &Experiment,
        optimizer: &dyn Optimizer,
        progress: &RunProgress,
    ) -> Result<()>;
    /// Where the last good checkpoint is, for error messages.
    fn last_checkpoint(&self) -> String;
}

/// How `fit` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FitEnd {
    /// Every epoch ran.
    Finished,
    /// A stop was requested (Ctrl-C); the state was handed to the sink.
    Stopped,
}

/// Trains `experiment` from where `state` stands to `config.epochs`, evaluating after each epoch
/// and handing each record and checkpoint to `sink`.
pub fn fit(
    experiment: &mut Experiment,
    optimizer: &mut dyn Optimizer,
    config: &TrainConfig,
    state: &mut RunProgress,
    sink: &mut dyn RunSink,
    stop: &StopFlag,
    progress: &mut dyn Progress,
) -> Result<FitEnd> {
    let train_len = experiment.data.train.len();
    let run_started = Instant::now();
    for epoch in state.records.len() + 1..=config.epochs {
        let started = Instant::now();
        progress.start_epoch(
            epoch,
            config.epochs,
            batch_count(train_len, config.batch_size),
        );
        let order = config
            .shuffle
            .then(|| epoch_order(train_len, config.seed, epoch));
        let plan = EpochPlan {
            epoch,
            batch_size: config.batch_size,
            order: order.as_ref(),
            resume_from: state.partial.take().filter(|p| p.epoch == epoch),
            on_nonfinite: config.on_nonfinite,
            loss_sync: config.loss_sync,
        };
        let loss = experiment.loss;
        let train = match train_epoch(
            experiment.model.as_mut(),
            optimizer,
            loss,
            &experiment.data.train,
            &plan,
            stop,
            progress,
        )? {
            EpochEnd::Finished(stats) if !stats.average_loss.is_finite() => {
                // Only with --loss-sync epoch: the batch losses were never read one by one.
                return Err(Error::NonFinite(format!(
                    "epoch {epoch}: the epoch loss is {} (--loss-sync epoch cannot name the batch, and its updates were made); last good checkpoint: {}",
                    stats.average_loss,
                    sink.last_checkpoint()
                )));
            }
            EpochEnd::Finished(stats) => stats,
            EpochEnd::Stopped(partial) => {
                state.partial = Some(partial);
                sink.stopped(experiment, optimizer, state)?;
                return Ok(FitEnd::Stopped);
            }
            EpochEnd::NonFinite { batch, loss } => {
                return Err(Error::NonFinite(format!(
                    "epoch {epoch}, batch {batch}: the loss is {loss} (no update was made from it); last good checkpoint: {}; use --on-nonfinite skip-batch to go on",
                    sink.last_checkpoint()
                )));
            }
        };
        let train_seconds = started.elapsed().as_secs_f64();
        let eval = match &experiment.data.eval {
            Some(split) => Some(evaluate(
                experiment.model.as_mut(),
                loss,
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
            skipped_batches: train.skipped_batches,
            seconds: started.elapsed().as_secs_f64(),
            train_seconds,
            elapsed_seconds: run_started.elapsed().as_secs_f64(),
        };
        let stopping = stop.requested();
        let actions = checkpoint_actions(
            epoch,
            config.epochs,
            config.checkpoint_every,
            record.eval_loss,
            state.best_eval_loss,
            stopping,
        );
        if actions.save_best {
            state.best_eval_loss = record.eval_loss;
        }
        let summary = record.summary(config.epochs);
        state.records.push(record);
        sink.epoch_done(
            experiment,
            optimizer,
            state,
            actions.save_last,
            actions.save_best,
        )?;
        progress.end_epoch(&summary);
        if stopping && epoch < config.epochs {
            return Ok(FitEnd::Stopped);
        }
    }
    Ok(FitEnd::Finished)
}
