//! A whole training run as the CLI starts it: check the configuration, set up the runtime once,
//! build the experiment, create (or reopen) the run directory, train, save the weights.
mod checkpoint_fit;
mod dir;
mod eval;
mod job;
mod lock;
mod ready;
mod recorder;
mod reopen;
mod resume;
mod setup;

pub(crate) use dir::{fresh_path, read_metrics, RunDir};
pub use dir::{CONFIG_FILE, METRICS_FILE, TORCHSCRIPT_FILE, WEIGHTS_FILE};
pub use eval::{eval, EvalConfig, EvalReport, SplitChoice};
pub use job::{check_backend, DistConfig};
use ready::Run;
pub use resume::{resume, resume_job, resume_with};
pub(crate) use setup::prepare;
use setup::{build_experiment, check_trainable, make_step};

pub use crate::checkpoint::{checkpoint_path, Checkpoint, BEST, LAST};
pub use crate::interrupt::{StopFlag, INTERRUPTED_EXIT_CODE};
pub use crate::progress::{for_stdout, BarProgress, PlainProgress, Progress, RunningLoss, Silent};
pub use crate::run_state::{EpochRecord, PartialEpoch, RunState};
pub use crate::train::FitEnd;

use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde_json::json;

use crate::config::{NonFinitePolicy, TrainConfig};
use crate::criterion::Criterion;
use crate::distributed::{ProcessGroup, WorldEnv};
use crate::error::{Error, Result};
use crate::experiment::Experiment;
use crate::runtime::{self, device_name, DeviceSpec};
use crate::trace::{StepTrace, TRACE_FILE};
use crate::train::Step;

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

/// Runs `config` from scratch, writing into `out` (or a fresh folder under `runs/`) — as one
/// rank of a data-parallel job when the torchrun variables say so (see [`train_job`]).
pub fn train(
    config: &TrainConfig,
    out: Option<&Path>,
    stop: &StopFlag,
    progress: &mut dyn Progress,
) -> Result<TrainOutcome> {
    train_job(config, out, stop, progress, &DistConfig::default())
}

/// [`train`], joining the job of `RANK`/`WORLD_SIZE`/`MASTER_ADDR`/`MASTER_PORT` when they are
/// set, as `dist` says: each rank trains on its rows of every batch, rank 0 writes the run.
pub fn train_job(
    config: &TrainConfig,
    out: Option<&Path>,
    stop: &StopFlag,
    progress: &mut dyn Progress,
    dist: &DistConfig,
) -> Result<TrainOutcome> {
    let Some(env) = job::world()? else {
        let experiment = prepare(config)?;
        return start(experiment, config, out, stop, progress, None);
    };
    let (device, group) = join_job(config, &env, dist)?;
    let mut experiment = build_experiment(config, device)?;
    check_trainable(&mut experiment, config)?;
    job::share_weights(&group, &experiment)?;
    start(experiment, config, out, stop, progress, Some(group))
}

/// A rank's device and group: one libtorch thread unless `--threads` says otherwise.
fn join_job(
    config: &TrainConfig,
    env: &WorldEnv,
    dist: &DistConfig,
) -> Result<(tch::Device, Rc<ProcessGroup>)> {
    if config.training().trace() {
        return Err(Error::Config(
            "--trace records one process's steps: it does not run with more than one process"
                .into(),
        ));
    }
    let runtime_config = config.runtime();
    let device = runtime::init(
        runtime_config.device(),
        runtime_config.threads().or(Some(1)),
        runtime_config.backends(),
    )?;
    let device = job::rank_device(
        device,
        runtime_config.device() == DeviceSpec::Auto,
        Some(env),
    );
    Ok((device, job::join(env, dist, device)?))
}

/// Trains an experiment built in Rust — a port of your own PyTorch experiment (see README,
/// "Porting a PyTorch experiment") — with the harness's loop, checkpoints and run directory.
/// `config` gives the loop's settings (its `experiment` is `ExperimentSource::Port(name)`;
/// `device` is not used: the experiment's tensors already live on theirs).
pub fn train_experiment(
    experiment: Experiment,
    config: &TrainConfig,
    out: Option<&Path>,
    stop: &StopFlag,
    progress: &mut dyn Progress,
) -> Result<TrainOutcome> {
    runtime::init_threads(config.runtime().threads())?;
    // Late for the cuBLAS workspace when the port already ran CUDA work (see docs/porting.md).
    crate::backends::apply(config.runtime().backends())?;
    let mut experiment = experiment;
    // The port built its tensors on a device already: `config.device` must name that one.
    let device = experiment.device();
    let asked = config.runtime().device();
    if asked != DeviceSpec::Auto && asked.resolve()? != device {
        return Err(Error::Device(format!(
            "config.device is {asked} but the experiment was built on {device:?}: build it there"
        )));
    }
    check_trainable(&mut experiment, config)?;
    // A port's own loss is known only now: its options are checked against it here.
    Criterion::new(
        &experiment.loss,
        config.experiment().loss_options(),
        experiment.classes,
        device,
    )?;
    start(experiment, config, out, stop, progress, None)
}

/// A new run of a prepared (built and checked) experiment: its directory, its `config.json`,
/// then its epochs.
pub(crate) fn start(
    experiment: Experiment,
    config: &TrainConfig,
    out: Option<&Path>,
    stop: &StopFlag,
    progress: &mut dyn Progress,
    group: Option<Rc<ProcessGroup>>,
) -> Result<TrainOutcome> {
    crate::callbacks::check_monitors(config, experiment.data.eval.is_some())?;
    let mut experiment = experiment;
    let step = make_step(config, &mut experiment)?;
    let mut step = with_group(step, group.as_ref(), &experiment, config, stop)?;
    let device = experiment.device();
    if group.as_ref().is_some_and(|g| g.rank > 0) {
        let run = Run {
            config,
            experiment,
            step,
            state: RunState::default(),
            dir: None,
            group,
        };
        return run.go(stop, progress); // rank 0 alone writes the run directory
    }
    let dir = RunDir::create(out, &experiment.name)?;
    if let Some(warning) = group
        .as_ref()
        .and_then(|_| job::buffers_warning(&experiment, config.training().sync_batchnorm()))
    {
        progress.message(&warning);
    }
    if config.training().trace() {
        step.set_trace(StepTrace::start(&dir.file(TRACE_FILE), &experiment)?);
    }
    dir.write_json(
        CONFIG_FILE,
        &json!({
            "config": config,
            "device": device_name(device),
            "threads": tch::get_num_threads(),
            // Read back from libtorch: what the run computes with, beside what was asked.
            "backends": crate::backends::state()?,
            "world_size": group.as_ref().map_or(1, |g| g.world),
            "backend": group.as_ref().map(|g| g.backend),
            "tch_version": TCH_VERSION,
            "libtorch_version": LIBTORCH_VERSION,
            "harness_version": env!("CARGO_PKG_VERSION"),
            "train_samples": experiment.data.train.len(),
            "eval_samples": experiment.data.eval.as_ref().map(|s| s.len()),
        }),
    )?;
    progress.message(&format!(
        "training {} on {} ({} train samples, batch {}{}), run directory {}",
        experiment.name,
        device_name(device),
        experiment.data.train.len(),
        config.training().batch_size().get(),
        group.as_ref().map_or(String::new(), |g| format!(
            " over {} {} processes",
            g.world, g.backend
        )),
        dir.path().display()
    ));
    let run = Run {
        config,
        experiment,
        step,
        state: RunState::default(),
        dir: Some(dir),
        group,
    };
    run.go(stop, progress)
}

/// The step of one rank of `group`: its gradients summed over the ranks at each window's end.
fn with_group(
    step: Step,
    group: Option<&Rc<ProcessGroup>>,
    experiment: &Experiment,
    config: &TrainConfig,
    stop: &StopFlag,
) -> Result<Step> {
    match group {
        Some(group) => job::sync_step(
            step,
            group,
            experiment,
            stop,
            config.training().on_nonfinite() == NonFinitePolicy::Stop,
            config.training().sync_batchnorm(),
            config.training().bucket_cap_mb(),
        ),
        None => Ok(step),
    }
}
