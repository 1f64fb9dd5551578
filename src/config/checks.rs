//! What the one parse checks, once, before a [`TrainConfig`] exists: values no run can use are
//! one-line errors naming their flag (the `--config` key is the flag's name with `_`).
use super::{NonFinitePolicy, TrainConfig};
use crate::criterion::LossOptions;
use crate::error::{Error, Result};
use crate::optim::{OptimizerConfig, FLOAT32_MAX};
use crate::tally::LossSync;

/// Every check of a configuration; called by the parse only.
pub(super) fn check(config: &TrainConfig) -> Result<()> {
    let (experiment, training) = (&config.experiment, &config.training);
    if training.epochs == 0 {
        return Err(Error::Config("--epochs must be at least 1, got 0".into()));
    }
    if let Some(threads) = config.runtime.threads {
        crate::runtime::check_threads(threads)?;
    }
    config.runtime.backends.check()?;
    if training.checkpoint_every == 0 {
        return Err(Error::Config(
            "--checkpoint-every must be at least 1, got 0".into(),
        ));
    }
    if training.on_nonfinite == NonFinitePolicy::SkipBatch && training.loss_sync == LossSync::Epoch
    {
        return Err(Error::Config(
            "--on-nonfinite skip-batch needs --loss-sync batch (with epoch the batch losses are never read)".into(),
        ));
    }
    if experiment.init_key.is_some() && experiment.init.is_none() {
        return Err(Error::Config(
            "--init-key needs --init (the checkpoint file to read)".into(),
        ));
    }
    experiment.source.validate(experiment.loss)?;
    if training.accumulate == 0 {
        return Err(Error::Config(
            "--accumulate must be at least 1, got 0".into(),
        ));
    }
    check_loss_ranges(&experiment.loss_options)?;
    match experiment.resolved_loss() {
        Some(loss) => experiment.loss_options.check_for(loss, None)?,
        None => experiment.loss_options.validate()?,
    }
    training.optimizer.validate()?;
    for group in &training.param_groups {
        group.optimizer.validate()?;
    }
    check_clipping(config)?;
    if let Some(spec) = &training.scheduler {
        let lrs: Vec<f64> = std::iter::once(&training.optimizer)
            .chain(training.param_groups.iter().map(|g| &g.optimizer))
            .map(OptimizerConfig::lr)
            .collect();
        spec.check(&lrs, training.scheduler_interval)?;
    }
    Ok(())
}

/// An error unless `v` fits the float32 scalar or tensor it becomes (a larger one would turn
/// into infinity, or be refused by libtorch mid-training).
pub(crate) fn check_float32(flag: &str, v: f64) -> Result<()> {
    if v.is_finite() && v.abs() > FLOAT32_MAX {
        return Err(Error::Config(format!(
            "{flag} {v:e} is out of range (at most {FLOAT32_MAX:e}, float32's largest value)"
        )));
    }
    Ok(())
}

/// The criterion's weights become float32 tensors: each within float32's range (their sign and
/// finiteness are the criterion's own checks). Shared with `eval`.
pub(crate) fn check_loss_ranges(options: &LossOptions) -> Result<()> {
    for (flag, values) in [
        ("--class-weights", &options.class_weights),
        ("--pos-weight", &options.pos_weight),
    ] {
        for v in values.iter().flatten() {
            check_float32(flag, *v)?;
        }
    }
    if let Some(x) = options.label_smoothing {
        check_float32("--label-smoothing", x)?;
    }
    Ok(())
}

/// Clipping thresholds must be positive, finite and within float32, the norm a p > 0 or
/// infinity; clipping by norm and by value together is refused (their order would be a guess).
fn check_clipping(config: &TrainConfig) -> Result<()> {
    let training = &config.training;
    let positive = |flag: &str, v: f64| {
        if !(v.is_finite() && v > 0.0) {
            return Err(Error::Config(format!(
                "{flag} must be finite and > 0, got {v}"
            )));
        }
        check_float32(flag, v)
    };
    if let Some(v) = training.clip_grad_norm {
        positive("--clip-grad-norm", v)?;
    }
    if let Some(v) = training.clip_grad_value {
        positive("--clip-grad-value", v)?;
    }
    let p = training.clip_norm_type;
    if !(p == f64::INFINITY || p.is_finite() && p > 0.0) {
        return Err(Error::Config(format!(
            "--clip-norm-type must be a p > 0 or inf, got {p}"
        )));
    }
    check_float32("--clip-norm-type", p)?;
    if training.clip_grad_norm.is_some() && training.clip_grad_value.is_some() {
        return Err(Error::Config(
            "--clip-grad-norm and --clip-grad-value: choose one".into(),
        ));
    }
    Ok(())
}
