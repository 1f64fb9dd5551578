//! All epochs of a run: train, evaluate, record, schedule, checkpoint, report.
use std::time::Instant;

use super::epoch::{EpochEnd, EpochPlan, EpochStats};
use super::evaluate::{EvalPlan, EvalStats};
use super::hook::EpochStart;
use super::plan::BatchPlan;
use super::record::{averaged_record, epoch_record};
use super::{evaluate, train_epoch, RunContext, Step};
use crate::checkpoint::checkpoint_actions;
use crate::config::TrainConfig;
use crate::criterion::{Criterion, PerSample};
use crate::data::{batch_count, epoch_order};
use crate::distributed::Shard;
use crate::error::{Error, Result};
use crate::experiment::Experiment;
use crate::metrics::MetricSet;
use crate::run_state::{PartialEpoch, RunState};

/// How `fit` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FitEnd {
    /// Every epoch ran.
    Finished,
    /// A stop was requested (Ctrl-C); the state was handed to the sink.
    Stopped,
}

/// Trains `experiment` from where `state` stands to `config.training().epochs()`, evaluating after each epoch
/// and handing each record and checkpoint to the context's sink.
pub fn fit(
    experiment: &mut Experiment,
    step: &mut Step,
    config: &TrainConfig,
    state: &mut RunState,
    ctx: &mut RunContext,
) -> Result<FitEnd> {
    let epochs = Epochs::new(experiment, config, ctx)?;
    let run_started = Instant::now();
    if let Some(stopped) = state.callbacks.stopped() {
        ctx.progress
            .message(&format!("stopped: {}", stopped.reason)); // a resumed run that had ended
        return Ok(FitEnd::Finished);
    }
    for epoch in state.records.len() + 1..=config.training().epochs() {
        let started = Instant::now();
        let Some(train) = epochs.train(epoch, experiment, step, state, ctx)? else {
            return Ok(FitEnd::Stopped); // the state went to the sink
        };
        let train_seconds = started.elapsed().as_secs_f64();
        let eval = epochs.evaluate(experiment, ctx)?;
        // The hooks' epoch end: the per-epoch scheduler step, and their typed metrics.
        let metrics = step.end_epoch(train.average_loss, eval.as_ref().map(|e| e.average_loss))?;
        let averaged = epochs.evaluate_averaged(epoch, experiment, step, ctx)?; // after SWA's update
        let mut record = epoch_record(epoch, &train, eval, &step.last_lrs, metrics);
        averaged_record(&mut record, &averaged);
        record.seconds = started.elapsed().as_secs_f64();
        record.train_seconds = train_seconds;
        record.elapsed_seconds = run_started.elapsed().as_secs_f64();
        let early_stop = crate::callbacks::epoch_end(config, &record, state, ctx.processes)?;
        let stopping = early_stop || step.stop_requested(ctx.stop); // agreed by every rank
        let actions = checkpoint_actions(
            epoch,
            config.training().epochs(),
            config.training().checkpoint_every(),
            record.eval_loss,
            state.best_eval_loss,
            stopping,
        );
        if actions.save_best {
            state.best_eval_loss = record.eval_loss;
        }
        let summary = record.summary(config.training().epochs());
        state.records.push(record);
        ctx.sink.epoch_done(experiment, step, state, actions)?;
        ctx.progress.end_epoch(&summary);
        if let Some(stopped) = state.callbacks.stopped().filter(|_| early_stop) {
            ctx.progress
                .message(&format!("stopped: {}", stopped.reason));
            return Ok(FitEnd::Finished);
        }
        if stopping && epoch < config.training().epochs() {
            return Ok(FitEnd::Stopped);
        }
    }
    Ok(FitEnd::Finished)
}

/// What every epoch of a run shares.
struct Epochs<'a> {
    config: &'a TrainConfig,
    criterion: Criterion,
    /// What each training sample's loss counts for.
    counts: PerSample,
    /// This process's rows of every batch (all of them in a single process).
    shard: Shard,
}

impl<'a> Epochs<'a> {
    fn new(experiment: &Experiment, config: &'a TrainConfig, ctx: &RunContext) -> Result<Self> {
        let (loss, options, classes) = (
            &experiment.loss,
            config.experiment().loss_options(),
            experiment.classes,
        );
        let criterion = Criterion::new(loss, options, classes, ctx.device)?;
        let counts = criterion
            .sample_counts(&experiment.data.train.targets)?
            .loss;
        Ok(Epochs {
            config,
            criterion,
            counts,
            shard: Shard::of(ctx.processes),
        })
    }

    /// Trains epoch `epoch` (from where a stopped run left it); `None` when a stop came inside
    /// it, its state handed to the sink. Never inlined: its span is `train_seconds`, profiled as one.
    #[inline(never)]
    fn train(
        &self,
        epoch: usize,
        experiment: &mut Experiment,
        step: &mut Step,
        state: &mut RunState,
        ctx: &mut RunContext,
    ) -> Result<Option<EpochStats>> {
        let (config, train_len) = (self.config, experiment.data.train.len());
        ctx.progress.start_epoch(
            epoch,
            config.training().epochs(),
            batch_count(train_len, config.training().batch_size()),
        );
        let order = config
            .training()
            .shuffle()
            .then(|| epoch_order(train_len, config.experiment().seed(), epoch));
        let mut start = state.partial.take().filter(|p| p.epoch == epoch);
        if let Some(rng) = start.as_mut().and_then(|p| p.rng.take()) {
            rng.restore()?; // the generator as the stopped run left it, past this order's draw
        }
        let batches = epoch_plan(&self.counts, train_len, config, order.as_ref(), self.shard)?;
        let mut start = start.unwrap_or_else(|| PartialEpoch::start(epoch));
        if self.shard.rank > 0 {
            // A stopped epoch's tallies are the whole job's: rank 0 carries them on.
            start.total_loss = crate::tally::Tally::new();
            start.skipped_samples = 0;
        }
        step.begin_epoch(&EpochStart {
            epoch,
            order: order.as_ref(),
            samples: train_len,
            batch_size: config.training().batch_size().get(),
            skipped: start.batches,
        })?;
        let plan = EpochPlan {
            batch_size: config.training().batch_size(),
            order: order.as_ref(),
            start,
            on_nonfinite: config.training().on_nonfinite(),
            loss_sync: config.training().loss_sync(),
            criterion: &self.criterion,
            batches: &batches,
        };
        match train_epoch(experiment, step, plan, ctx)? {
            EpochEnd::Finished(stats) if !stats.average_loss.is_finite() => {
                // Only with --loss-sync epoch: the batch losses were never read one by one.
                Err(Error::NonFinite(format!(
                    "epoch {epoch}: the epoch loss is {} (--loss-sync epoch cannot name the batch, and its updates were made); last good checkpoint: {}",
                    stats.average_loss,
                    ctx.sink.last_checkpoint()
                )))
            }
            EpochEnd::Finished(stats) => Ok(Some(stats)),
            EpochEnd::Stopped(partial) => {
                state.partial = Some(partial);
                ctx.sink.stopped(experiment, step, state)?;
                Ok(None)
            }
            EpochEnd::NonFinite { batch, loss } => Err(Error::NonFinite(format!(
                "epoch {epoch}, batch {batch}: the loss is {loss} (no update was made from it); last good checkpoint: {}; use --on-nonfinite skip-batch to go on",
                ctx.sink.last_checkpoint()
            ))),
        }
    }

    /// Each averaged model (`--ema`, `--swa`) that has averaged something, evaluated with its
    /// weights swapped into the model (SWA's after `update_bn`, in the last epoch).
    fn evaluate_averaged(
        &self,
        epoch: usize,
        experiment: &mut Experiment,
        step: &mut Step,
        ctx: &RunContext,
    ) -> Result<Vec<(&'static str, EvalStats)>> {
        let mut evals = Vec::new();
        for model in step.averaged_models().filter(|m| m.n_averaged > 0) {
            if model.updates_bn() && epoch == self.config.training().epochs() {
                model.update_bn(|| super::swa::bn_pass(experiment, self.config, epoch))?;
            }
            if let Some(stats) = model.swapped(|| self.evaluate(experiment, ctx))? {
                evals.push((model.kind, stats));
            }
        }
        Ok(evals)
    }

    /// The eval split's loss (and accuracy), if there is one.
    fn evaluate(&self, experiment: &mut Experiment, ctx: &RunContext) -> Result<Option<EvalStats>> {
        let plan = EvalPlan {
            batch_size: self.config.training().batch_size(),
            loss_sync: self.config.training().loss_sync(),
            device: ctx.device,
            precision: self.config.training().precision(),
        };
        let model = experiment.model.as_mut();
        match &experiment.data.eval {
            Some(split) => {
                let metrics = MetricSet::new(
                    self.config.training().metrics(),
                    &self.criterion,
                    experiment.classes,
                    ctx.device,
                )?;
                let stats = evaluate(model, &self.criterion, split, plan, ctx.processes, metrics)?;
                Ok(Some(stats))
            }
            None => Ok(None),
        }
    }
}

/// The epoch's batches: their counts in the epoch's sample order, in windows of `--accumulate`;
/// of this rank's rows, in windows of the whole batches' counts.
fn epoch_plan(
    counts: &PerSample,
    n: usize,
    config: &TrainConfig,
    order: Option<&tch::Tensor>,
    shard: Shard,
) -> Result<BatchPlan> {
    let order = match (counts, order) {
        (PerSample::Each(_), Some(order)) => Some(Vec::<i64>::try_from(order)?),
        _ => None,
    };
    let size = config.training().batch_size().get() as usize;
    let global = counts.per_batch(n, size, order.as_deref(), Shard::WHOLE);
    if shard == Shard::WHOLE {
        return Ok(BatchPlan::new(&global, config.training().accumulate()));
    }
    let local = counts.per_batch(n, size, order.as_deref(), shard);
    Ok(BatchPlan::sharded(
        &local,
        &global,
        config.training().accumulate(),
        true,
    ))
}
