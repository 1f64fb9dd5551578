//! Converting between `ConfigWire` and [`TrainConfig`], both ways; the one parse of a file's values.
use std::path::PathBuf;

use super::ConfigWire;
use crate::backends::Backends;
use crate::callbacks::{EarlyStoppingSpec, ModelCheckpointSpec};
use crate::config::checks::check;
use crate::config::{
    BatchSize, EmaConfig, ExperimentConfig, ExperimentSource, GradScalerSpec, LoopConfig,
    RuntimeConfig, SchedulerSpec, SwaSpec, TrainConfig, TORCHSCRIPT,
};
use crate::criterion::LossOptions;
use crate::error::{quote, Error, Result};
use crate::experiment::Builtin;
use crate::logs::Loggers;
use crate::metrics::MetricSpec;

/// The one parse: every value checked here, once (see `checks`).
impl TryFrom<ConfigWire> for TrainConfig {
    type Error = Error;

    fn try_from(w: ConfigWire) -> Result<TrainConfig> {
        let experiment = ExperimentConfig {
            source: source(&w.experiment, w.model, w.data)?,
            loss: w.loss,
            loss_options: LossOptions {
                ignore_index: w.ignore_index,
                class_weights: w.class_weights,
                pos_weight: w.pos_weight,
                label_smoothing: w.label_smoothing,
            },
            seed: w.seed,
            init: w.init,
            init_key: w.init_key,
        };
        let training = LoopConfig {
            epochs: w.epochs,
            batch_size: BatchSize::new(w.batch_size)?,
            optimizer: w.optimizer,
            param_groups: w.param_groups,
            shuffle: w.shuffle,
            checkpoint_every: w.checkpoint_every,
            on_nonfinite: w.on_nonfinite,
            loss_sync: w.loss_sync,
            scheduler: w
                .scheduler
                .as_deref()
                .map(SchedulerSpec::parse)
                .transpose()?,
            scheduler_interval: w.scheduler_interval,
            clip_grad_norm: w.clip_grad_norm,
            clip_norm_type: w.clip_norm_type,
            clip_grad_value: w.clip_grad_value,
            accumulate: w.accumulate,
            grad_scaler: w
                .grad_scaler
                .as_deref()
                .map(GradScalerSpec::parse)
                .transpose()?,
            trace: w.trace,
            metrics: MetricSpec::parse_names(&w.metrics)?,
            save_format: w.save_format,
            ema: ema(w.ema, w.ema_use_buffers)?,
            swa: w.swa.as_deref().map(SwaSpec::parse).transpose()?,
            early_stopping: w
                .early_stopping
                .as_deref()
                .map(EarlyStoppingSpec::parse)
                .transpose()?,
            model_checkpoint: w
                .model_checkpoint
                .as_deref()
                .map(ModelCheckpointSpec::parse)
                .transpose()?,
            logger: Loggers::parse(&w.logger)?.with_every_n_steps(w.log_every_n_steps)?,
            log_every_n_steps: w.log_every_n_steps,
            precision: w.precision,
            sync_batchnorm: w.sync_batchnorm,
            bucket_cap_mb: w.bucket_cap_mb.map(bucket_cap).transpose()?,
        };
        let runtime = RuntimeConfig {
            device: w.device,
            threads: w.threads,
            backends: Backends {
                deterministic: w.deterministic.unwrap_or(w.trace),
                cudnn_benchmark: w.cudnn_benchmark,
                cudnn_allow_tf32: w.cudnn_allow_tf32,
                float32_matmul_precision: w.float32_matmul_precision,
            },
        };
        let config = TrainConfig {
            experiment,
            runtime,
            training,
        };
        check(&config)?;
        Ok(config)
    }
}

/// `--ema` and `--ema-use-buffers`, the second only with the first.
fn ema(decay: Option<f64>, use_buffers: bool) -> Result<Option<EmaConfig>> {
    match decay {
        Some(decay) => EmaConfig::new(decay, use_buffers).map(Some),
        None if use_buffers => Err(Error::Config("--ema-use-buffers needs --ema DECAY".into())),
        None => Ok(None),
    }
}

/// `--model` and `--data` of a TorchScript source; `None` for the others.
pub(super) fn source_files(source: &ExperimentSource) -> (Option<PathBuf>, Option<PathBuf>) {
    match source {
        ExperimentSource::TorchScript { model, data } => (Some(model.clone()), Some(data.clone())),
        _ => (None, None),
    }
}

/// The source a name and the two file keys describe. A name that is neither a built-in nor
/// `torchscript` is a port's (an experiment built in Rust); building it without the port's own
/// builder is an error naming the built-in ones.
fn source(name: &str, model: Option<PathBuf>, data: Option<PathBuf>) -> Result<ExperimentSource> {
    match (name, model, data) {
        (TORCHSCRIPT, Some(model), Some(data)) => Ok(ExperimentSource::TorchScript { model, data }),
        (TORCHSCRIPT, _, _) => Err(Error::Config(
            "experiment 'torchscript' needs --model and --data".into(),
        )),
        (name, None, None) => Ok(match name.parse::<Builtin>() {
            Ok(builtin) => ExperimentSource::Builtin(builtin),
            Err(_) => ExperimentSource::Port(name.to_string()),
        }),
        (name, model, data) => {
            // Name the keys actually given: each conflicts with a non-TorchScript experiment.
            let given = match (model.is_some(), data.is_some()) {
                (true, true) => "--model and --data",
                (true, false) => "--model",
                _ => "--data",
            };
            Err(Error::Config(format!(
                "--experiment '{}' cannot be used with {given} (a built-in experiment has its own model and data)",
                quote(name)
            )))
        }
    }
}

impl From<TrainConfig> for ConfigWire {
    fn from(c: TrainConfig) -> ConfigWire {
        ConfigWire::from(&c)
    }
}

impl From<&TrainConfig> for ConfigWire {
    fn from(c: &TrainConfig) -> ConfigWire {
        let (e, t, r) = (c.experiment(), c.training(), c.runtime());
        let (model, data) = source_files(e.source());
        let options = e.loss_options().clone();
        ConfigWire {
            experiment: e.source().name().to_string(),
            epochs: t.epochs(),
            batch_size: t.batch_size().get(),
            optimizer: t.optimizer().clone(),
            param_groups: t.param_groups().to_vec(),
            seed: e.seed(),
            device: r.device(),
            threads: r.threads(),
            shuffle: t.shuffle(),
            init: e.init().map(PathBuf::from),
            model,
            data,
            loss: e.loss(),
            checkpoint_every: t.checkpoint_every(),
            on_nonfinite: t.on_nonfinite(),
            loss_sync: t.loss_sync(),
            scheduler: t.scheduler().map(|s| s.as_str().to_string()),
            scheduler_interval: t.scheduler_interval(),
            clip_grad_norm: t.clip_grad_norm(),
            clip_norm_type: t.clip_norm_type(),
            clip_grad_value: t.clip_grad_value(),
            accumulate: t.accumulate(),
            grad_scaler: t.grad_scaler().map(|s| s.as_str().to_string()),
            trace: t.trace(),
            ema: t.ema().map(|e| e.decay),
            ema_use_buffers: t.ema().is_some_and(|e| e.use_buffers),
            swa: t.swa().map(|s| s.as_str().to_string()),
            precision: t.precision(),
            ignore_index: options.ignore_index,
            class_weights: options.class_weights,
            pos_weight: options.pos_weight,
            label_smoothing: options.label_smoothing,
            metrics: t.metrics().iter().map(ToString::to_string).collect(),
            init_key: e.init_key().map(str::to_string),
            save_format: t.save_format(),
            early_stopping: t.early_stopping().map(|s| s.as_str().to_string()),
            model_checkpoint: t.model_checkpoint().map(|s| s.as_str().to_string()),
            logger: t.logger().names(),
            log_every_n_steps: t.log_every_n_steps(),
            sync_batchnorm: t.sync_batchnorm(),
            bucket_cap_mb: t.bucket_cap_mb(),
            deterministic: Some(r.backends().deterministic),
            cudnn_benchmark: r.backends().cudnn_benchmark,
            cudnn_allow_tf32: r.backends().cudnn_allow_tf32,
            float32_matmul_precision: r.backends().float32_matmul_precision,
        }
    }
}

/// `--bucket-cap-mb`: a positive, finite size.
fn bucket_cap(mb: f64) -> Result<f64> {
    match mb.is_finite() && mb > 0.0 {
        true => Ok(mb),
        false => Err(Error::Config(format!(
            "--bucket-cap-mb must be a positive number of MiB, got {mb}"
        ))),
    }
}
