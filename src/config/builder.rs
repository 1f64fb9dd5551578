//! A [`TrainConfig`] for library users (a Rust port): settings by name, then `build`, which is
//! the same parse and the same checks as a `config.json`'s, so a port cannot make a
//! configuration the command line would refuse.
use std::path::PathBuf;

use super::wire::ConfigWire;
use super::{
    ExperimentSource, LossSync, NonFinitePolicy, Precision, ScheduleInterval, TrainConfig,
};
use crate::backends::MatmulPrecision;
use crate::criterion::Loss;
use crate::error::Result;
use crate::optim::{OptimizerConfig, ParamGroup};
use crate::runtime::DeviceSpec;

/// Settings on their way to a [`TrainConfig`]; nothing is checked until [`build`](Self::build).
#[derive(Debug, Clone)]
pub struct TrainConfigBuilder {
    wire: ConfigWire,
}

/// One setter per key: `fn key(self, value) -> Self`, storing what the file would hold.
macro_rules! setters {
    ($($(#[$doc:meta])* $key:ident: $ty:ty => $wire:expr;)*) => {
        $(
            $(#[$doc])*
            pub fn $key(mut self, value: $ty) -> Self {
                #[allow(clippy::redundant_closure_call)]
                {
                    self.wire.$key = ($wire)(value);
                }
                self
            }
        )*
    };
}

impl TrainConfigBuilder {
    /// PyTorch-like defaults for `experiment`, trained with `optimizer`.
    pub(super) fn new(experiment: ExperimentSource, optimizer: OptimizerConfig) -> Self {
        TrainConfigBuilder {
            wire: ConfigWire::defaults(&experiment, optimizer),
        }
    }

    /// The settings of `config`.
    pub(super) fn from_config(config: &TrainConfig) -> Self {
        TrainConfigBuilder {
            wire: ConfigWire::from(config),
        }
    }

    /// The configuration, checked as a `config.json` is; a one-line error naming the setting.
    pub fn build(self) -> Result<TrainConfig> {
        TrainConfig::try_from(self.wire)
    }

    setters! {
        /// Number of epochs (at least 1).
        epochs: usize => |v| v;
        /// Samples per batch (at least 1).
        batch_size: i64 => |v| v;
        /// The optimizer of the parameters no group takes.
        optimizer: OptimizerConfig => |v| v;
        /// Parameter groups (see [`ParamGroup::parse`]).
        param_groups: Vec<ParamGroup> => |v| v;
        /// Seed for initialisation, data and the epoch order.
        seed: u64 => |v| v;
        /// The device (a port's experiment must have been built on it).
        device: DeviceSpec => |v| v;
        /// libtorch intra-op threads.
        threads: i32 => Some;
        /// Shuffle the training split each epoch.
        shuffle: bool => |v| v;
        /// Initial weights (a PyTorch state_dict in safetensors).
        init: PathBuf => Some;
        /// The criterion, instead of the experiment's own.
        loss: Loss => Some;
        /// Checkpoint every this many epochs.
        checkpoint_every: usize => |v| v;
        /// What a NaN or infinite batch loss does.
        on_nonfinite: NonFinitePolicy => |v| v;
        /// When the loss is read from the device.
        loss_sync: LossSync => |v| v;
        /// A scheduler in PyTorch's spelling, `StepLR(step_size=1, gamma=0.7)`.
        scheduler: &str => |v: &str| Some(v.to_string());
        /// When the scheduler steps.
        scheduler_interval: ScheduleInterval => |v| v;
        /// `clip_grad_norm_(max_norm=…)`.
        clip_grad_norm: f64 => Some;
        /// The norm `clip_grad_norm` measures (2, `f64::INFINITY`, any p > 0).
        clip_norm_type: f64 => |v| v;
        /// `clip_grad_value_(clip_value=…)`.
        clip_grad_value: f64 => Some;
        /// Gradient accumulation over this many batches.
        accumulate: usize => |v| v;
        /// A loss scaler in PyTorch's spelling, `GradScaler(init_scale=1024.0)`.
        grad_scaler: &str => |v: &str| Some(v.to_string());
        /// Write trace.jsonl.
        trace: bool => |v| v;
        /// Batch norm over every rank's rows when data-parallel (default on).
        sync_batchnorm: bool => |v| v;
        /// Data-parallel gradient buckets of this many MiB (DDP's `bucket_cap_mb`).
        bucket_cap_mb: f64 => Some;
        /// `32`, `bf16-mixed` or `16-mixed` (autocast around the forward pass and the criterion).
        precision: Precision => |v| v;
        /// Targets of this class count for nothing (cross-entropy, nll).
        ignore_index: i64 => Some;
        /// One weight per class (cross-entropy, nll).
        class_weights: Vec<f64> => Some;
        /// Weights of positive targets (bce-with-logits).
        pos_weight: Vec<f64> => Some;
        /// Label smoothing in [0, 1] (cross-entropy).
        label_smoothing: f64 => Some;
        /// Deterministic kernels and cuBLAS workspace (default: on with `trace`).
        deterministic: bool => Some;
        /// `torch.backends.cudnn.benchmark`.
        cudnn_benchmark: bool => |v| v;
        /// `torch.backends.cudnn.allow_tf32`.
        cudnn_allow_tf32: bool => |v| v;
        /// `torch.set_float32_matmul_precision`.
        float32_matmul_precision: MatmulPrecision => |v| v;
    }
}

#[cfg(test)]
mod tests {
    use super::TrainConfig;
    use crate::experiment::{Builtin, ExperimentSource};
    use crate::optim::{OptimizerConfig, OptimizerKind};

    fn builder() -> super::TrainConfigBuilder {
        let sgd = OptimizerConfig::new(OptimizerKind::Sgd, 0.1);
        TrainConfig::builder(ExperimentSource::Builtin(Builtin::LinearRegression), sgd)
    }

    /// The builder is the parse: what a config.json may not hold, a port may not build.
    #[test]
    fn build_checks_as_the_parse_does() {
        let error = |b: super::TrainConfigBuilder| b.build().unwrap_err().to_string();
        assert!(error(builder().epochs(0)).contains("--epochs must be at least 1"));
        assert!(error(builder().batch_size(0)).contains("--batch-size must be at least 1"));
        assert!(
            error(builder().clip_grad_norm(1e39)).contains("--clip-grad-norm 1e39 is out of range")
        );
        assert!(error(builder().scheduler("StepLR(")).starts_with("--scheduler: "));
    }

    /// A configuration written as config.json reads back equal, and `to_builder` keeps it.
    #[test]
    fn wire_round_trip_and_to_builder_keep_every_setting() {
        let config = builder()
            .epochs(3)
            .scheduler("StepLR(step_size=1, gamma=0.7)")
            .clip_grad_norm(1.0)
            .clip_norm_type(f64::INFINITY)
            .build()
            .unwrap();
        let json = serde_json::to_value(&config).unwrap();
        assert_eq!(json["clip_norm_type"], "inf");
        assert_eq!(TrainConfig::from_json(json).unwrap(), config);
        assert_eq!(config.to_builder().build().unwrap(), config);
        let scheduler = config.training().scheduler().unwrap();
        assert_eq!(scheduler.as_str(), "StepLR(step_size=1, gamma=0.7)");
    }

    /// `sync_batchnorm` is recorded, and a config.json from before the key reads as on.
    #[test]
    fn sync_batchnorm_is_recorded_and_defaults_to_on() {
        let off = builder().sync_batchnorm(false).build().unwrap();
        let mut json = serde_json::to_value(&off).unwrap();
        assert_eq!(json["sync_batchnorm"], false);
        assert!(!TrainConfig::from_json(json.clone())
            .unwrap()
            .training()
            .sync_batchnorm());
        json.as_object_mut().unwrap().remove("sync_batchnorm");
        assert!(TrainConfig::from_json(json)
            .unwrap()
            .training()
            .sync_batchnorm());
    }
}
