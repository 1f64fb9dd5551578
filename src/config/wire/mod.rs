//! `config.json`'s `config` object, as every release has written it: the experiment as a name
//! (`torchscript` with `model` and `data` beside it), then the settings. [`TrainConfig`](super::TrainConfig) converts
//! from and to it, so runs made before the source was a type still resume. An unknown key is an
//! error naming it: a misspelt setting must not be silently ignored.
mod convert;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{ExperimentSource, LossSync, NonFinitePolicy, Precision, ScheduleInterval};
use crate::backends::MatmulPrecision;
use crate::criterion::Loss;
use crate::optim::{OptimizerConfig, ParamGroup};
use crate::pt::SaveFormat;
use crate::runtime::DeviceSpec;
use convert::source_files;

/// The flat form (field order = the file's key order).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConfigWire {
    // Fields are the file's keys; `builder` sets them, the parse below reads them.
    pub(super) experiment: String,
    pub(super) epochs: usize,
    pub(super) batch_size: i64,
    pub(super) optimizer: OptimizerConfig,
    #[serde(default)]
    pub(super) param_groups: Vec<ParamGroup>,
    pub(super) seed: u64,
    pub(super) device: DeviceSpec,
    pub(super) threads: Option<i32>,
    pub(super) shuffle: bool,
    pub(super) init: Option<PathBuf>,
    pub(super) model: Option<PathBuf>,
    pub(super) data: Option<PathBuf>,
    pub(super) loss: Option<Loss>,
    #[serde(default = "one")]
    pub(super) checkpoint_every: usize,
    #[serde(default)]
    pub(super) on_nonfinite: NonFinitePolicy,
    #[serde(default)]
    pub(super) loss_sync: LossSync,
    #[serde(default)]
    pub(super) scheduler: Option<String>,
    #[serde(default)]
    pub(super) scheduler_interval: ScheduleInterval,
    #[serde(default)]
    pub(super) clip_grad_norm: Option<f64>,
    /// A number, or `"inf"` (JSON has no infinity).
    #[serde(default = "two", with = "crate::trace::number_or_text")]
    pub(super) clip_norm_type: f64,
    #[serde(default)]
    pub(super) clip_grad_value: Option<f64>,
    #[serde(default = "one")]
    pub(super) accumulate: usize,
    #[serde(default)]
    pub(super) grad_scaler: Option<String>,
    #[serde(default)]
    pub(super) trace: bool,
    #[serde(default)]
    pub(super) ema: Option<f64>,
    #[serde(default)]
    pub(super) ema_use_buffers: bool,
    #[serde(default)]
    pub(super) swa: Option<String>,
    #[serde(default)]
    pub(super) precision: Precision,
    #[serde(default)]
    pub(super) ignore_index: Option<i64>,
    #[serde(default)]
    pub(super) class_weights: Option<Vec<f64>>,
    #[serde(default)]
    pub(super) pos_weight: Option<Vec<f64>>,
    #[serde(default)]
    pub(super) label_smoothing: Option<f64>,
    /// `--metrics`' names (`metrics::MetricSpec`).
    #[serde(default)]
    pub(super) metrics: Vec<String>,
    #[serde(default)]
    pub(super) init_key: Option<String>,
    #[serde(default)]
    pub(super) save_format: SaveFormat,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) early_stopping: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) model_checkpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) logger: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) log_every_n_steps: Option<usize>,
    /// Batch norm over every rank's rows when data-parallel (`--sync-batchnorm`); a run written
    /// before the key existed reads as on.
    #[serde(default = "yes")]
    pub(super) sync_batchnorm: bool,
    /// The gradient buckets' MiB when data-parallel (`--bucket-cap-mb`; `None`: DDP's default).
    #[serde(default)]
    pub(super) bucket_cap_mb: Option<f64>,
    /// `None` (not given, or a file from before the key): on with `trace`.
    #[serde(default)]
    pub(super) deterministic: Option<bool>,
    #[serde(default)]
    pub(super) cudnn_benchmark: bool,
    #[serde(default = "yes")]
    pub(super) cudnn_allow_tf32: bool,
    #[serde(default)]
    pub(super) float32_matmul_precision: MatmulPrecision,
}

fn yes() -> bool {
    true
}

fn two() -> f64 {
    2.0
}

fn one() -> usize {
    1
}

impl ConfigWire {
    /// The defaults every key left out of a file takes (PyTorch-like), for `experiment`.
    pub(super) fn defaults(
        experiment: &ExperimentSource,
        optimizer: OptimizerConfig,
    ) -> ConfigWire {
        let (model, data) = source_files(experiment);
        ConfigWire {
            experiment: experiment.name().to_string(),
            epochs: 10,
            batch_size: 64,
            optimizer,
            param_groups: Vec::new(),
            seed: 0,
            device: DeviceSpec::Auto,
            threads: None,
            shuffle: true,
            init: None,
            model,
            data,
            loss: None,
            checkpoint_every: 1,
            on_nonfinite: NonFinitePolicy::Stop,
            loss_sync: LossSync::Batch,
            scheduler: None,
            scheduler_interval: ScheduleInterval::Epoch,
            clip_grad_norm: None,
            clip_norm_type: 2.0,
            clip_grad_value: None,
            accumulate: 1,
            grad_scaler: None,
            trace: false,
            ema: None,
            ema_use_buffers: false,
            swa: None,
            precision: Precision::Full,
            ignore_index: None,
            class_weights: None,
            pos_weight: None,
            label_smoothing: None,
            metrics: Vec::new(),
            init_key: None,
            save_format: SaveFormat::Safetensors,
            early_stopping: None,
            model_checkpoint: None,
            logger: Vec::new(),
            log_every_n_steps: None,
            sync_batchnorm: true,
            bucket_cap_mb: None,
            deterministic: None,
            cudnn_benchmark: false,
            cudnn_allow_tf32: true,
            float32_matmul_precision: MatmulPrecision::Highest,
        }
    }
}
