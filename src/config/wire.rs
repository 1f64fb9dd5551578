//! `config.json`'s `config` object, as every release has written it: the experiment as a name
//! (`torchscript` with `model` and `data` beside it), then the settings. [`TrainConfig`] converts
//! from and to it, so runs made before the source was a type still resume. An unknown key is an
//! error naming it: a misspelt setting must not be silently ignored.
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{
    BatchSize, ExperimentSource, LossSync, NonFinitePolicy, ScheduleInterval, TrainConfig,
};
use crate::criterion::{Loss, LossOptions};
use crate::error::{Error, Result};
use crate::experiment::Builtin;
use crate::optim::{OptimizerConfig, ParamGroup};
use crate::runtime::DeviceSpec;

/// The flat form (field order = the file's key order).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConfigWire {
    experiment: String,
    epochs: usize,
    batch_size: BatchSize,
    optimizer: OptimizerConfig,
    #[serde(default)]
    param_groups: Vec<ParamGroup>,
    seed: u64,
    device: DeviceSpec,
    threads: Option<i32>,
    shuffle: bool,
    init: Option<PathBuf>,
    model: Option<PathBuf>,
    data: Option<PathBuf>,
    loss: Option<Loss>,
    #[serde(default = "one")]
    checkpoint_every: usize,
    #[serde(default)]
    on_nonfinite: NonFinitePolicy,
    #[serde(default)]
    loss_sync: LossSync,
    #[serde(default)]
    scheduler: Option<String>,
    #[serde(default)]
    scheduler_interval: ScheduleInterval,
    #[serde(default)]
    clip_grad_norm: Option<f64>,
    /// A number, or `"inf"` (JSON has no infinity).
    #[serde(default = "two", with = "number_or_inf")]
    clip_norm_type: f64,
    #[serde(default)]
    clip_grad_value: Option<f64>,
    #[serde(default = "one")]
    accumulate: usize,
    #[serde(default)]
    trace: bool,
    #[serde(default)]
    ignore_index: Option<i64>,
    #[serde(default)]
    class_weights: Option<Vec<f64>>,
    #[serde(default)]
    pos_weight: Option<Vec<f64>>,
    #[serde(default)]
    label_smoothing: Option<f64>,
}

fn two() -> f64 {
    2.0
}

/// `f64::INFINITY` as `"inf"`, other values as numbers.
mod number_or_inf {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Form {
        Number(f64),
        Text(String),
    }

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if *v == f64::INFINITY {
            Form::Text("inf".into()).serialize(s)
        } else {
            Form::Number(*v).serialize(s)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        match Form::deserialize(d)? {
            Form::Number(v) => Ok(v),
            Form::Text(t) if t == "inf" => Ok(f64::INFINITY),
            Form::Text(t) => Err(serde::de::Error::custom(format!(
                "expected a number or \"inf\", got \"{t}\""
            ))),
        }
    }
}

fn one() -> usize {
    1
}

impl TryFrom<ConfigWire> for TrainConfig {
    type Error = Error;

    fn try_from(w: ConfigWire) -> Result<TrainConfig> {
        let experiment = source(&w.experiment, w.model, w.data)?;
        Ok(TrainConfig {
            experiment,
            loss: w.loss,
            epochs: w.epochs,
            batch_size: w.batch_size,
            optimizer: w.optimizer,
            param_groups: w.param_groups,
            seed: w.seed,
            device: w.device,
            threads: w.threads,
            shuffle: w.shuffle,
            init: w.init,
            checkpoint_every: w.checkpoint_every,
            on_nonfinite: w.on_nonfinite,
            loss_sync: w.loss_sync,
            scheduler: w.scheduler,
            scheduler_interval: w.scheduler_interval,
            clip_grad_norm: w.clip_grad_norm,
            clip_norm_type: w.clip_norm_type,
            clip_grad_value: w.clip_grad_value,
            accumulate: w.accumulate,
            trace: w.trace,
            loss_options: LossOptions {
                ignore_index: w.ignore_index,
                class_weights: w.class_weights,
                pos_weight: w.pos_weight,
                label_smoothing: w.label_smoothing,
            },
        })
    }
}

/// The source a name and the two file keys describe. A name that is neither a built-in nor
/// `torchscript` is a port's (an experiment built in Rust); building it without the port's own
/// builder is an error naming the built-in ones.
fn source(name: &str, model: Option<PathBuf>, data: Option<PathBuf>) -> Result<ExperimentSource> {
    match (name, model, data) {
        (super::source::TORCHSCRIPT, Some(model), Some(data)) => {
            Ok(ExperimentSource::TorchScript { model, data })
        }
        (super::source::TORCHSCRIPT, _, _) => Err(Error::Config(
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
                "--experiment '{name}' cannot be used with {given} (a built-in experiment has its own model and data)"
            )))
        }
    }
}

impl From<TrainConfig> for ConfigWire {
    fn from(c: TrainConfig) -> ConfigWire {
        let name = c.experiment.name().to_string();
        let (model, data) = match c.experiment {
            ExperimentSource::TorchScript { model, data } => (Some(model), Some(data)),
            _ => (None, None),
        };
        ConfigWire {
            experiment: name,
            epochs: c.epochs,
            batch_size: c.batch_size,
            optimizer: c.optimizer,
            param_groups: c.param_groups,
            seed: c.seed,
            device: c.device,
            threads: c.threads,
            shuffle: c.shuffle,
            init: c.init,
            model,
            data,
            loss: c.loss,
            checkpoint_every: c.checkpoint_every,
            on_nonfinite: c.on_nonfinite,
            loss_sync: c.loss_sync,
            scheduler: c.scheduler,
            scheduler_interval: c.scheduler_interval,
            clip_grad_norm: c.clip_grad_norm,
            clip_norm_type: c.clip_norm_type,
            clip_grad_value: c.clip_grad_value,
            accumulate: c.accumulate,
            trace: c.trace,
            ignore_index: c.loss_options.ignore_index,
            class_weights: c.loss_options.class_weights,
            pos_weight: c.loss_options.pos_weight,
            label_smoothing: c.loss_options.label_smoothing,
        }
    }
}
