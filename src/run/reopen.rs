//! What `--resume` reads back from a run directory before it goes on: the saved configuration,
//! the checks that the run can go on (files, data), and the checkpoint restored into the model
//! and optimizer.
use std::path::Path;

use super::checkpoint_fit;
use super::dir::{RunDir, CONFIG_FILE, METRICS_FILE, WEIGHTS_FILE};
use crate::checkpoint::{Checkpoint, CHECKPOINT_DIR};
use crate::config::{ExperimentSource, TrainConfig};
use crate::error::{Error, Result};
use crate::experiment::Experiment;
use crate::run_state::RunState;
use crate::train::Step;

/// An error, before anything is written, when the run cannot go on from where its files say it
/// is: `checkpoints/` is not a folder, or there is no last checkpoint but metrics.jsonl records
/// epochs (a finished run that lost it, or one killed before its first checkpoint with
/// `checkpoint_every` > 1): starting over would have to overwrite those records. A run killed
/// before it finished an epoch has nothing to lose and starts over.
pub(super) fn check_resumable(run_dir: &RunDir, last: &Path) -> Result<()> {
    let folder = run_dir.file(CHECKPOINT_DIR);
    if folder.exists() && !folder.is_dir() {
        return Err(Error::file(
            &folder,
            "not a folder; the run cannot be resumed",
        ));
    }
    if last.exists() {
        if !last.is_file() {
            return Err(Error::file(last, "not a regular file"));
        }
        return Ok(());
    }
    let metrics = run_dir.file(METRICS_FILE);
    let epochs = match metrics.exists() {
        true => super::dir::read_metrics(&metrics)?.len(),
        false => 0,
    };
    match (epochs, run_dir.file(WEIGHTS_FILE).exists()) {
        (0, _) => Ok(()),
        (_, true) => Err(Error::file(
            last,
            format!(
                "missing, but {METRICS_FILE} records {epochs} epochs; the run cannot be resumed"
            ),
        )),
        (_, false) => Err(Error::file(
            last,
            format!(
                "missing: no checkpoint to resume from, but {METRICS_FILE} records {epochs} \
                 epochs (stopped before its first checkpoint); start a new run"
            ),
        )),
    }
}

/// The configuration a run was started with, and the whole config.json.
pub(super) fn saved_config(run: &RunDir) -> Result<(TrainConfig, serde_json::Value)> {
    let path = run.file(CONFIG_FILE);
    let text = crate::bounded::read_to_string(&path, crate::bounded::CONFIG_LIMIT)
        .map_err(|e| Error::file(&path, e))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::file(&path, format!("not valid JSON ({e})")))?;
    let config: TrainConfig = serde_json::from_value(value["config"].clone())
        .map_err(|e| Error::file(&path, format!("not a tch-harness run configuration ({e})")))?;
    Ok((config, value))
}

/// An error when the data a run is resumed on has other sample counts than the data it started
/// with (config.json's `train_samples`/`eval_samples`; runs that did not record them pass): the
/// checkpoint's epoch and batch positions would not mean the same samples.
pub(super) fn check_same_samples(
    saved: &serde_json::Value,
    config: &TrainConfig,
    experiment: &Experiment,
    dir: &Path,
) -> Result<()> {
    let now = (
        experiment.data.train.len() as u64,
        experiment.data.eval.as_ref().map(|s| s.len() as u64),
    );
    let Some(train) = saved.get("train_samples").and_then(|v| v.as_u64()) else {
        return Ok(());
    };
    let eval = match saved.get("eval_samples") {
        Some(v) => v.as_u64(),
        None => now.1,
    };
    if (train, eval) == now {
        return Ok(());
    }
    let counts = |(train, eval): (u64, Option<u64>)| match eval {
        Some(eval) => format!("{train} training and {eval} held-out samples"),
        None => format!("{train} training samples and no held-out split"),
    };
    let source = match config.experiment().source() {
        ExperimentSource::TorchScript { data, .. } => data.display().to_string(),
        _ => format!("experiment {}", experiment.name),
    };
    Err(Error::Data(format!(
        "{source} now holds {} but the run in {} started with {}; it cannot be resumed on other data",
        counts(now),
        dir.display(),
        counts((train, eval))
    )))
}

/// Loads a checkpoint into the experiment and optimizer, checking that every tensor fits;
/// returns the run's progress.
pub(super) fn restore(
    checkpoint: Checkpoint,
    path: &Path,
    experiment: &mut Experiment,
    step: &mut Step,
) -> Result<RunState> {
    if checkpoint.experiment != experiment.name {
        return Err(Error::file(
            path,
            format!(
                "checkpoint of experiment '{}', but this run is '{}'",
                checkpoint.experiment, experiment.name
            ),
        ));
    }
    experiment
        .load_state_dict(&checkpoint.model)
        .map_err(|e| Error::file(path, e))?;
    step.optimizer
        .load_state(&checkpoint.optimizer)
        .map_err(|e| Error::file(path, e))?;
    checkpoint_fit::check_optimizer_state(&checkpoint.optimizer, &step.optimizer.state(), path)?;
    step.load_state(checkpoint.step.as_ref())
        .map_err(|e| Error::file(path, e))?;
    step.load_averaged(&checkpoint.averaged)
        .map_err(|e| Error::file(path, e))?;
    step.load_window_grads(&checkpoint.grads)
        .map_err(|e| Error::file(path, e))?;
    let mut progress = checkpoint.progress;
    // libtorch's global CPU generator goes back to where the run was when the checkpoint was
    // taken. At an epoch boundary that is now: the experiment is built (its init drew from the
    // generator) and nothing else draws before the next epoch, whose order, when shuffled,
    // reseeds it as in the uninterrupted run. A stopped epoch's state was taken after its order
    // was drawn, and `fit` draws that order again: `fit` puts it back after that draw. An old
    // checkpoint has no state: resumed as before (exact when the model draws nothing).
    match (checkpoint.rng, progress.partial.as_mut()) {
        (Some(rng), Some(partial)) => partial.rng = Some(rng),
        (Some(rng), None) => rng.restore().map_err(|e| Error::file(path, e))?,
        (None, _) => {}
    }
    Ok(progress)
}
