//! A whole training run as the CLI starts it: check the configuration, build the experiment,
//! create (or reopen) the run directory, train, save the weights.
mod eval;
mod files;
mod resume;

pub use eval::{run_eval, EvalConfig, EvalReport, SplitChoice};
pub use files::RunFiles;
pub use resume::{resume, resume_with};

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::checkpoint::RunProgress;
use crate::config::TrainConfig;
use crate::device::device_name;
use crate::error::{Error, Result};
use crate::experiment::Experiment;
use crate::interrupt::StopFlag;
use crate::optim::{optimizer, Optimizer};
use crate::progress::Progress;
use crate::run_dir::{RunDir, CONFIG_FILE, TORCHSCRIPT_FILE, WEIGHTS_FILE};
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

pub(crate) fn run_epochs(
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
