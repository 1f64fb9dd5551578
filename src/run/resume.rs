//! `train --resume DIR`: rebuild the run from its config.json, load its last checkpoint, make
//! metrics.jsonl agree with it, and go on.
use std::path::Path;

use super::checkpoint_fit;
use super::dir::{RunDir, METRICS_FILE, WEIGHTS_FILE};
use super::job::{self, DistConfig};
use super::reopen::{check_resumable, check_same_samples, restore, saved_config};
use super::{
    build_experiment, check_trainable, join_job, make_step, with_group, Run, TrainOutcome,
};
use crate::checkpoint::{checkpoint_path, Checkpoint, LAST};
use crate::config::TrainConfig;
use crate::error::{Error, Result};
use crate::experiment::Experiment;
use crate::interrupt::StopFlag;
use crate::progress::Progress;
use crate::run_state::RunState;
use crate::runtime::{self, device_name};
use crate::trace::{StepTrace, TRACE_FILE};
use crate::train::FitEnd;

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
