//! `train --resume DIR`: rebuild the run from its config.json, load its last checkpoint, make
//! metrics.jsonl agree with it, and go on.
use std::path::Path;

use super::checkpoint_fit;
use super::dir::{RunDir, CONFIG_FILE, METRICS_FILE, WEIGHTS_FILE};
use super::job::{self, DistConfig};
use super::{
    build_experiment, check_trainable, join_job, make_step, with_group, Run, TrainOutcome,
};
use crate::checkpoint::{checkpoint_path, Checkpoint, CHECKPOINT_DIR, LAST};
use crate::config::{ExperimentSource, TrainConfig};
use crate::error::{Error, Result};
use crate::experiment::Experiment;
use crate::interrupt::StopFlag;
use crate::progress::Progress;
use crate::run_state::RunState;
use crate::runtime::{self, device_name};
use crate::trace::{StepTrace, TRACE_FILE};
use crate::train::{FitEnd, Step};

/// Continues the run in `dir` from its last checkpoint (or from the start when it was killed
/// before it finished an epoch), with the configuration saved in its config.json (only `epochs`
/// and `checkpoint_every` may have been edited since).
pub fn resume(dir: &Path, stop: &StopFlag, progress: &mut dyn Progress) -> Result<TrainOutcome> {
    resume_job(dir, stop, progress, &DistConfig::default())
}

/// [`resume`] as one rank of the job the torchrun variables describe (any number of ranks: the
/// epoch's order is global, so the checkpoint means the same batches for all).
pub fn resume_job(
    dir: &Path,
    stop: &StopFlag,
    progress: &mut dyn Progress,
    dist: &DistConfig,
) -> Result<TrainOutcome> {
    resume_in(dir, build_experiment, stop, progress, dist)
}

/// [`resume`] for an experiment built in Rust: `build` makes it again from the saved
/// configuration (same seed, same data) before the checkpoint is loaded into it.
pub fn resume_with(
    dir: &Path,
    build: impl FnOnce(&TrainConfig, tch::Device) -> Result<Experiment>,
    stop: &StopFlag,
    progress: &mut dyn Progress,
) -> Result<TrainOutcome> {
    resume_in(dir, build, stop, progress, &DistConfig::default())
}

fn resume_in(
    dir: &Path,
    build: impl FnOnce(&TrainConfig, tch::Device) -> Result<Experiment>,
    stop: &StopFlag,
    progress: &mut dyn Progress,
    dist: &DistConfig,
) -> Result<TrainOutcome> {
    let world = job::world()?;
    let rank0 = world.as_ref().map_or(true, |env| env.rank == 0);
    let run_dir = RunDir::open(dir)?;
    // The writing process holds the run to its end: a second `--resume` stops here.
    let run_dir = if rank0 { run_dir.locked()? } else { run_dir };
    let (config, saved) = saved_config(&run_dir)?;
    let last = checkpoint_path(run_dir.path(), LAST);
    check_resumable(&run_dir, &last)?;
    // No checkpoint (and, checked above, no finished epoch): the run starts over.
    let checkpoint = match last.exists() {
        true => Some(Checkpoint::load(&last)?),
        false => None,
    };
    let (device, group) = match world {
        Some(env) => {
            let (device, group) = join_job(&config, &env, dist)?;
            (device, Some(group))
        }
        None => (
            runtime::init(
                config.runtime().device(),
                config.runtime().threads(),
                config.runtime().backends(),
            )?,
            None,
        ),
    };
    let mut experiment = build(&config, device)?;
    check_same_samples(&saved, &config, &experiment, dir)?;
    check_trainable(&mut experiment, &config)?;
    let step = make_step(&config, &mut experiment)?;
    let mut step = with_group(step, group.as_ref(), &experiment, &config, stop)?;
    // After the build: a config.json value that is wrong in itself is named as such first.
    if let Some(trained) = checkpoint.as_ref().and_then(|c| c.config.as_ref()) {
        let now = serde_json::to_value(&config).map_err(|e| Error::Config(e.to_string()))?;
        checkpoint_fit::check_config(trained, &now, &last)?;
    }
    let state = match checkpoint {
        Some(checkpoint) => restore(checkpoint, &last, &mut experiment, &mut step)?,
        None => RunState::default(),
    };
    if rank0 {
        // Everything checked: what a writer killed mid-write left goes now.
        crate::atomic::remove_stale_temporaries(run_dir.path());
        crate::atomic::remove_stale_temporaries(&run_dir.file("checkpoints"));
    } else {
        // The gradients of a window a one-process run stopped in count once, on rank 0.
        step.zero_grad()?;
    }
    if config.training().trace() {
        let path = run_dir.file(TRACE_FILE);
        step.set_trace(StepTrace::resume(&path, &experiment, &state)?);
    }
    if state.records.len() >= config.training().epochs() && run_dir.file(WEIGHTS_FILE).exists() {
        if !rank0 {
            return Ok(TrainOutcome {
                run_dir: dir.to_path_buf(),
                records: state.records,
                end: FitEnd::Finished,
            });
        }
        progress.message(&format!(
            "{}: the run is already complete ({} epochs)",
            dir.display(),
            config.training().epochs()
        ));
        return Ok(TrainOutcome {
            run_dir: dir.to_path_buf(),
            records: state.records,
            end: FitEnd::Finished,
        });
    }
    if !rank0 {
        let run = Run {
            config: &config,
            experiment,
            step,
            state,
            dir: None,
            group,
        };
        return run.go(stop, progress); // rank 0 alone writes the run directory
    }
    // metrics.jsonl may hold epochs after the checkpoint (killed in between): the checkpoint's
    // records are the truth, so each epoch ends up in the file exactly once.
    let lines: String = state
        .records
        .iter()
        .map(|r| serde_json::to_string(r).expect("records serialise") + "\n")
        .collect();
    let metrics = run_dir.file(METRICS_FILE);
    // Replaced only when it differs: a resume that fails later leaves an agreeing file untouched.
    if std::fs::read(&metrics).ok().as_deref() != Some(lines.as_bytes()) {
        crate::atomic::write_atomic(&metrics, lines.as_bytes())?;
    }
    progress.message(&format!(
        "resuming {} on {} after epoch {}{}, run directory {}",
        experiment.name,
        device_name(device),
        state.records.len(),
        state
            .partial
            .as_ref()
            .map(|p| format!(" (+{} batches of epoch {})", p.batches, p.epoch))
            .unwrap_or_default(),
        dir.display()
    ));
    let run = Run {
        config: &config,
        experiment,
        step,
        state,
        dir: Some(run_dir),
        group,
    };
    run.go(stop, progress)
}

/// An error, before anything is written, when the run cannot go on from where its files say it
/// is: `checkpoints/` is not a folder, or there is no last checkpoint but metrics.jsonl records
/// epochs (a finished run that lost it, or one killed before its first checkpoint with
/// `checkpoint_every` > 1): starting over would have to overwrite those records. A run killed
/// before it finished an epoch has nothing to lose and starts over.
fn check_resumable(run_dir: &RunDir, last: &Path) -> Result<()> {
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
fn saved_config(run: &RunDir) -> Result<(TrainConfig, serde_json::Value)> {
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
fn check_same_samples(
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
fn restore(
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
