//! Everything before a run directory exists: the runtime (threads, device), the experiment with
//! its initial weights, checked for being trainable, and the step with its hooks.
use crate::config::TrainConfig;
use crate::error::{Error, Result};
use crate::experiment::Experiment;
use crate::optim::{grouped, optimizer};
use crate::runtime;
use crate::train::{ClipGradNorm, ClipGradValue, Ema, GradScaler, Scheduled, Step, Swa};

/// Sets up the runtime (threads, device) of a checked `config` and builds the experiment with its
/// initial weights, checked for being trainable: everything before a run directory exists.
pub(crate) fn prepare(config: &TrainConfig) -> Result<Experiment> {
    let runtime_config = config.runtime();
    let device = runtime::init(
        runtime_config.device(),
        runtime_config.threads(),
        runtime_config.backends(),
    )?;
    let mut experiment = build_experiment(config, device)?;
    check_trainable(&mut experiment, config)?;
    crate::metrics::check(config, &experiment, device)?;
    Ok(experiment)
}

/// Builds the experiment a configuration names, on `device`, with its initial weights.
pub(crate) fn build_experiment(config: &TrainConfig, device: tch::Device) -> Result<Experiment> {
    let settings = config.experiment();
    let mut experiment = Experiment::build(
        settings.source(),
        settings.loss(),
        settings.loss_options(),
        settings.seed(),
        device,
    )?;
    if let Some(init) = settings.init() {
        experiment.load_state_dict_file(init, settings.init_key())?;
    }
    Ok(experiment)
}

/// An error, naming `--model` when there is one, unless training can change the model's output
/// (see [`Experiment::check_trainable`]); checked before a run directory is made or reopened.
pub(super) fn check_trainable(experiment: &mut Experiment, config: &TrainConfig) -> Result<()> {
    experiment
        .check_trainable()
        .map_err(|e| match (e, config.experiment().source()) {
            (Error::Data(message), crate::config::ExperimentSource::TorchScript { model, .. }) => {
                Error::file(model, message)
            }
            (e, _) => e,
        })
}

/// The optimizer of `config` over the experiment's parameters, with its seams (the port's own
/// hooks taken from the experiment).
pub(super) fn make_step(config: &TrainConfig, experiment: &mut Experiment) -> Result<Step> {
    let config = config.training();
    let mut optimizer = if config.param_groups().is_empty() {
        optimizer(config.optimizer(), experiment.parameters())?
    } else {
        grouped(
            config.optimizer(),
            config.param_groups(),
            experiment.parameters_in_model_order(),
        )?
    };
    let schedule = match config.scheduler() {
        Some(spec) => Some(Scheduled::new(
            spec,
            config.scheduler_interval(),
            optimizer.as_mut(),
        )?),
        None => None,
    };
    // Each hook finds its place in the pipeline by its slot (`train::Slot`).
    let mut step = Step::new(optimizer, experiment.parameters_in_model_order());
    if let Some(autocast) =
        crate::train::Autocast::for_run(config.precision(), experiment.device())?
    {
        step = step.with_hook(Box::new(autocast));
    }
    if let Some(max_norm) = config.clip_grad_norm() {
        step = step.with_hook(Box::new(ClipGradNorm::new(
            max_norm,
            config.clip_norm_type(),
        )));
    }
    if let Some(clip_value) = config.clip_grad_value() {
        step = step.with_hook(Box::new(ClipGradValue::new(clip_value)));
    }
    // SWA holds the regular scheduler: SWALR takes the rate over from `swa_start`.
    match (config.swa(), schedule) {
        (Some(swa), schedule) => {
            step = step.with_hook(Box::new(Swa::new(swa, schedule, experiment)?))
        }
        (None, Some(schedule)) => step = step.with_hook(Box::new(schedule)),
        (None, None) => {}
    }
    if let Some(ema) = config.ema() {
        step = step.with_hook(Box::new(Ema::new(ema, experiment)?));
    }
    for hook in std::mem::take(&mut experiment.hooks) {
        step = step.with_own_hook(hook)?;
    }
    if let Some(scaler) = config.scaler_options() {
        step = step.with_hook(Box::new(GradScaler::new(scaler, experiment.device())?));
    }
    Ok(step)
}
