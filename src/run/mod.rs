//! A whole training run as the CLI starts it: check the configuration, build the experiment,
//! create (or reopen) the run directory, train, save the weights.
mod files;

pub use files::RunFiles;

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::checkpoint::{checkpoint_path, Checkpoint, RunProgress, LAST};
use crate::config::TrainConfig;
use crate::device::device_name;
use crate::error::{Error, Result};
use crate::experiment::Experiment;
use crate::interrupt::StopFlag;
use crate::optim::{optimizer, Optimizer};
use crate::progress::Progress;
use crate::run_dir::{RunDir, CONFIG_FILE, METRICS_FILE, TORCHSCRIPT_FILE, WEIGHTS_FILE};
use crate::tensor_file::write_tensors;
use crate::train::{fit, EpochRecord, FitEnd};

/// The tch version this binary was built with.
pub const TCH_VERSION: &str = "0.24.0";
/// The libtorch (PyTorch) version this binary was built against.
pub const LIBTORCH_VERSION: &str = env!("TCH_HARNESS_LIBTORCH_VERSION");

/// What a run left behind.
#[derive(Debug)]
pub struct TrainOutcome {
    pub run_dir: PathBuf,
    pub records: Vec<EpochRecord>,
    /// `Stopped` when a signal ended it early (a checkpoint was saved).
    pub end: FitEnd,
}

/// Builds the experiment a configuration names, on `device`, with its initial weights. Model,
/// data and criterion are checked against each other here, before any run directory exists.
pub fn build_experiment(config: &TrainConfig, device: tch::Device) -> Result<Experiment> {
    let mut experiment = config.spec().build(device)?;
    if let Some(init) = &config.init {
        experiment.load_state_dict_file(init)?;
    }
    Ok(experiment)
}

/// An error, naming `--model` when there is one, unless training can change the model's output
/// (see [`Experiment::check_trainable`]); checked before a run directory is made or reopened.
pub fn check_trainable(experiment: &mut Experiment, config: &TrainConfig) -> Result<()> {
    experiment
        .check_trainable()
        .map_err(|e| match (e, &config.model) {
            (Error::Data(message), Some(model)) => Error::file(model, message),
            (e, _) => e,
        })
}

/// Applies `--threads` to libtorch.
pub fn apply_threads(threads: Option<i32>) {
    if let Some(n) = threads {
        tch::set_num_threads(n);
    }
}

/// Runs `config` from scratch, writing into `out` (or a fresh folder under `runs/`).
pub fn train(
    config: &TrainConfig,
    out: Option<&Path>,
    stop: &StopFlag,
    progress: &mut dyn Progress,
) -> Result<TrainOutcome> {
    config.validate()?;
    apply_threads(config.threads);
    let device = config.device.resolve()?;
    let experiment = build_experiment(config, device)?;
    start(experiment, config, out, stop, progress)
}

/// Trains an experiment built in Rust — a port of your own PyTorch experiment (see README,
/// "Porting a PyTorch experiment") — with the harness's loop, checkpoints and run directory.
/// `config` gives the loop's settings (its `experiment` field is only the run's name; `device` is
/// not used: the experiment's tensors already live on theirs).
pub fn train_experiment(
    experiment: Experiment,
    config: &TrainConfig,
    out: Option<&Path>,
    stop: &StopFlag,
    progress: &mut dyn Progress,
) -> Result<TrainOutcome> {
    config.validate_settings()?;
    apply_threads(config.threads);
    start(experiment, config, out, stop, progress)
}

fn start(
    mut experiment: Experiment,
    config: &TrainConfig,
    out: Option<&Path>,
    stop: &StopFlag,
    progress: &mut dyn Progress,
) -> Result<TrainOutcome> {
    let device = experiment.data.train.inputs.device();
    check_trainable(&mut experiment, config)?;
    let mut optimizer = optimizer(&config.optimizer, experiment.parameters())?;
    let run = RunDir::create(out, &experiment.name)?;
    run.write_json(
        CONFIG_FILE,
        &json!({
            "config": config,
            "device": device_name(device),
            "threads": tch::get_num_threads(),
            "tch_version": TCH_VERSION,
            "libtorch_version": LIBTORCH_VERSION,
            "harness_version": env!("CARGO_PKG_VERSION"),
            "train_samples": experiment.data.train.len(),
            "eval_samples": experiment.data.eval.as_ref().map(|s| s.len()),
        }),
    )?;
    progress.message(&format!(
        "training {} on {} ({} train samples, batch {}), run directory {}",
        experiment.name,
        device_name(device),
        experiment.data.train.len(),
        config.batch_size,
        run.path().display()
    ));
    let state = RunProgress::default();
    run_epochs(
        config,
        &mut experiment,
        optimizer.as_mut(),
        state,
        run,
        stop,
        progress,
    )
}

/// Continues the run in `dir` from its last checkpoint (or from the start when it was killed
/// before the first one), with the configuration saved in its config.json.
pub fn resume(dir: &Path, stop: &StopFlag, progress: &mut dyn Progress) -> Result<TrainOutcome> {
    resume_with(dir, build_experiment, stop, progress)
}

/// [`resume`] for an experiment built in Rust: `build` makes it again from the saved
/// configuration (same seed, same data) before the checkpoint is loaded into it.
pub fn resume_with(
    dir: &Path,
    build: impl FnOnce(&TrainConfig, tch::Device) -> Result<Experiment>,
    stop: &StopFlag,
    progress: &mut dyn Progress,
) -> Result<TrainOutcome> {
    let run = RunDir::open(dir)?;
    let (config, saved) = saved_config(&run)?;
    apply_threads(config.threads);
    let device = config.device.resolve()?;
    let mut experiment = build(&config, device)?;
    check_same_samples(&saved, &config, &experiment, dir)?;
    check_trainable(&mut experiment, &config)?;
    let mut optimizer = optimizer(&config.optimizer, experiment.parameters())?;
    let last = checkpoint_path(run.path(), LAST);
    let state = if last.exists() {
        restore(&last, &mut experiment, optimizer.as_mut())?
    } else {
        RunProgress::default()
    };
    if state.records.len() >= config.epochs && run.file(WEIGHTS_FILE).exists() {
        progress.message(&format!(
            "{}: the run is already complete ({} epochs)",
            dir.display(),
            config.epochs
        ));
        return Ok(TrainOutcome {
            run_dir: dir.to_path_buf(),
            records: state.records,
            end: FitEnd::Finished,
        });
    }
    // metrics.jsonl may hold epochs after the checkpoint (killed in between): the checkpoint's
    // records are the truth, so each epoch ends up in the file exactly once.
    let lines: String = state
        .records
        .iter()
        .map(|r| serde_json::to_string(r).expect("records serialise") + "\n")
        .collect();
    crate::atomic::write_atomic(&run.file(METRICS_FILE), lines.as_bytes())?;
    progress.message(&format!(
        "resuming {} on {} after epoch {}{}, run directory {}",
        experiment.name,
        device_name(device),
        state.records.len(),
        state
            .partial
            .map(|p| format!(" (+{} batches of epoch {})", p.batches, p.epoch))
            .unwrap_or_default(),
        dir.display()
    ));
    run_epochs(
        &config,
        &mut experiment,
        optimizer.as_mut(),
        state,
        run,
        stop,
        progress,
    )
}

fn run_epochs(
    config: &TrainConfig,
    experiment: &mut Experiment,
    optimizer: &mut dyn Optimizer,
    mut state: RunProgress,
    run: RunDir,
    stop: &StopFlag,
    progress: &mut dyn Progress,
) -> Result<TrainOutcome> {
    let mut files = RunFiles::new(run)?;
    let end = fit(
        experiment, optimizer, config, &mut state, &mut files, stop, progress,
    )?;
    files.finish()?;
    let run_dir = files.dir.path().to_path_buf();
    if end == FitEnd::Finished {
        write_tensors(
            &files.dir.file(WEIGHTS_FILE),
            &experiment.state_dict(),
            None,
        )?;
        // Saved in evaluation mode, ready for inference after `torch.jit.load`.
        experiment.model.set_train(false);
        if let Some(module) = experiment.model.torchscript() {
            module.save(&files.dir.file(TORCHSCRIPT_FILE))?;
        }
    }
    Ok(TrainOutcome {
        run_dir,
        records: state.records,
        end,
    })
}

/// The configuration a run was started with, and the whole config.json.
fn saved_config(run: &RunDir) -> Result<(TrainConfig, serde_json::Value)> {
    let path = run.file(CONFIG_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::file(&path, e))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::file(&path, format!("not valid JSON ({e})")))?;
    let config: TrainConfig = serde_json::from_value(value["config"].clone())
        .map_err(|e| Error::file(&path, format!("not a tch-harness run configuration ({e})")))?;
    config
        .validate_settings()
        .map_err(|e| Error::file(&path, e))?;
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
    let source = config
        .data
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| format!("experiment {}", experiment.name));
    Err(Error::Data(format!(
        "{source} now holds {} but the run in {} started with {}; it cannot be resumed on other data",
        counts(now),
        dir.display(),
        counts((train, eval))
    )))
}

/// Loads a checkpoint into the experiment and optimizer; returns the run's progress.
fn restore(
    path: &Path,
    experiment: &mut Experiment,
    optimizer: &mut dyn Optimizer,
) -> Result<RunProgress> {
    let checkpoint = Checkpoint::load(path)?;
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
    optimizer
        .load_state(&checkpoint.optimizer)
        .map_err(|e| Error::file(path, e))?;
    Ok(checkpoint.progress)
}
