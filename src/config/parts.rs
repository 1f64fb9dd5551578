//! The three parts of a [`TrainConfig`](super::TrainConfig): what the experiment is, where it
//! runs, and how the loop trains it. Fields are private: a part exists only once the one parse
//! (`TrainConfig`'s `TryFrom<ConfigWire>`) has checked it, so its readers never check again.
use std::path::{Path, PathBuf};

use super::{GradScalerSpec, NonFinitePolicy, Precision, ScheduleInterval, SchedulerSpec};
use crate::backends::Backends;
use crate::callbacks::{EarlyStoppingSpec, ModelCheckpointSpec};
use crate::criterion::{Loss, LossOptions};
use crate::data::BatchSize;
use crate::experiment::ExperimentSource;
use crate::logs::Loggers;
use crate::metrics::MetricSpec;
use crate::optim::{OptimizerConfig, ParamGroup};
use crate::pt::SaveFormat;
use crate::runtime::DeviceSpec;
use crate::tally::LossSync;

/// What defines the experiment: the model and data, the criterion, the seed, initial weights.
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentConfig {
    pub(super) source: ExperimentSource,
    pub(super) loss: Option<Loss>,
    pub(super) loss_options: LossOptions,
    pub(super) seed: u64,
    pub(super) init: Option<PathBuf>,
    pub(super) init_key: Option<String>,
}

impl ExperimentConfig {
    /// A built-in experiment, a TorchScript model with its data, or one built in Rust (a port).
    pub fn source(&self) -> &ExperimentSource {
        &self.source
    }

    /// The criterion asked for; `None` uses the experiment's own (required for TorchScript).
    pub fn loss(&self) -> Option<Loss> {
        self.loss
    }

    /// The criterion's options: ignore index, class weights, positive weights, label smoothing.
    pub fn loss_options(&self) -> &LossOptions {
        &self.loss_options
    }

    /// Seed for initialisation, synthetic data and the per-epoch sample order.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Initial weights: a PyTorch state_dict in safetensors.
    pub fn init(&self) -> Option<&Path> {
        self.init.as_deref()
    }

    /// The entry of a torch.save checkpoint dict that holds `init`'s state_dict (`--init-key`).
    pub fn init_key(&self) -> Option<&str> {
        self.init_key.as_deref()
    }

    /// The criterion the run trains with, when the configuration alone tells (a port's own loss
    /// is known once it is built).
    pub fn resolved_loss(&self) -> Option<Loss> {
        match (&self.source, self.loss) {
            (_, Some(loss)) => Some(loss),
            (ExperimentSource::Builtin(builtin), None) => Some(builtin.loss()),
            _ => None,
        }
    }
}

/// Where the run computes: the device, libtorch's threads and the `torch.backends` switches.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeConfig {
    pub(super) device: DeviceSpec,
    pub(super) threads: Option<i32>,
    pub(super) backends: Backends,
}

impl RuntimeConfig {
    /// The device asked for (resolved when the run starts).
    pub fn device(&self) -> DeviceSpec {
        self.device
    }

    /// libtorch intra-op threads; `None` keeps libtorch's default.
    pub fn threads(&self) -> Option<i32> {
        self.threads
    }

    /// `--deterministic`, `--cudnn-benchmark`, `--cudnn-allow-tf32`,
    /// `--float32-matmul-precision`, applied with the device and threads.
    pub fn backends(&self) -> &Backends {
        &self.backends
    }
}

/// How the loop trains: epochs, batches, the optimizer and its seams, checkpoints.
#[derive(Debug, Clone, PartialEq)]
pub struct LoopConfig {
    pub(super) epochs: usize,
    pub(super) batch_size: BatchSize,
    pub(super) optimizer: OptimizerConfig,
    pub(super) param_groups: Vec<ParamGroup>,
    pub(super) shuffle: bool,
    pub(super) checkpoint_every: usize,
    pub(super) on_nonfinite: NonFinitePolicy,
    pub(super) loss_sync: LossSync,
    pub(super) scheduler: Option<SchedulerSpec>,
    pub(super) scheduler_interval: ScheduleInterval,
    pub(super) clip_grad_norm: Option<f64>,
    pub(super) clip_norm_type: f64,
    pub(super) clip_grad_value: Option<f64>,
    pub(super) accumulate: usize,
    pub(super) grad_scaler: Option<GradScalerSpec>,
    pub(super) trace: bool,
    pub(super) metrics: Vec<MetricSpec>,
    pub(super) save_format: SaveFormat,
    pub(super) ema: Option<super::EmaConfig>,
    pub(super) swa: Option<super::SwaSpec>,
    pub(super) early_stopping: Option<EarlyStoppingSpec>,
    pub(super) model_checkpoint: Option<ModelCheckpointSpec>,
    pub(super) logger: Loggers,
    pub(super) log_every_n_steps: Option<usize>,
    pub(super) precision: Precision,
    pub(super) sync_batchnorm: bool,
    pub(super) bucket_cap_mb: Option<f64>,
}

impl LoopConfig {
    /// Number of epochs (at least 1).
    pub fn epochs(&self) -> usize {
        self.epochs
    }

    /// Samples per batch.
    pub fn batch_size(&self) -> BatchSize {
        self.batch_size
    }

    /// The optimizer of every parameter no group takes.
    pub fn optimizer(&self) -> &OptimizerConfig {
        &self.optimizer
    }

    /// Parameters picked by name or dimension, with settings or an optimizer of their own.
    pub fn param_groups(&self) -> &[ParamGroup] {
        &self.param_groups
    }

    /// Shuffle the training split each epoch (see `data::epoch_order`); false keeps file order.
    pub fn shuffle(&self) -> bool {
        self.shuffle
    }

    /// Write `checkpoints/last.safetensors` every this many epochs (and at the end, on Ctrl-C).
    pub fn checkpoint_every(&self) -> usize {
        self.checkpoint_every
    }

    /// What a NaN or infinite batch loss does.
    pub fn on_nonfinite(&self) -> NonFinitePolicy {
        self.on_nonfinite
    }

    /// When the epoch's loss is read from the device: every batch (the seed) or once per epoch.
    pub fn loss_sync(&self) -> LossSync {
        self.loss_sync
    }

    /// A `torch.optim.lr_scheduler`, parsed and checked against the optimizer's rates.
    pub fn scheduler(&self) -> Option<&SchedulerSpec> {
        self.scheduler.as_ref()
    }

    /// When the scheduler steps: after each epoch (the default) or after each optimizer step.
    pub fn scheduler_interval(&self) -> ScheduleInterval {
        self.scheduler_interval
    }

    /// `clip_grad_norm_(max_norm=…)` before each optimizer step.
    pub fn clip_grad_norm(&self) -> Option<f64> {
        self.clip_grad_norm
    }

    /// The norm `clip_grad_norm` measures: a p > 0 or `f64::INFINITY` (PyTorch's default 2).
    pub fn clip_norm_type(&self) -> f64 {
        self.clip_norm_type
    }

    /// `clip_grad_value_(clip_value=…)` before each optimizer step.
    pub fn clip_grad_value(&self) -> Option<f64> {
        self.clip_grad_value
    }

    /// Gradient accumulation: the optimizer steps every this many batches (1: every batch).
    pub fn accumulate(&self) -> usize {
        self.accumulate
    }

    /// `--grad-scaler`: a `torch.amp.GradScaler`'s options (`None`: no loss scaling).
    pub fn grad_scaler(&self) -> Option<&GradScalerSpec> {
        self.grad_scaler.as_ref()
    }

    /// The loss scaler the run trains with: `--grad-scaler`'s options unless `enabled=False`;
    /// without the flag, PyTorch's defaults for `16-mixed` (as Lightning pairs them), none else.
    pub fn scaler_options(&self) -> Option<super::ScalerOptions> {
        match &self.grad_scaler {
            Some(spec) => Some(spec.options()).filter(|o| o.enabled),
            None if self.precision == Precision::F16Mixed => Some(Default::default()),
            None => None,
        }
    }

    /// Write trace.jsonl: every optimizer step's loss, batch and tensor fingerprints.
    pub fn trace(&self) -> bool {
        self.trace
    }

    /// `--metrics`: computed on the eval split each epoch.
    pub fn metrics(&self) -> &[MetricSpec] {
        &self.metrics
    }

    /// The formats of the final weights: safetensors, and with `pt` also `model.pth`.
    pub fn save_format(&self) -> SaveFormat {
        self.save_format
    }

    /// `--ema`: an exponential moving average of the weights, updated after each step.
    pub fn ema(&self) -> Option<&super::EmaConfig> {
        self.ema.as_ref()
    }

    /// `--swa`: stochastic weight averaging from an epoch on, with `SWALR`.
    pub fn swa(&self) -> Option<&super::SwaSpec> {
        self.swa.as_ref()
    }

    /// `--early-stopping`: Lightning's `EarlyStopping`, checked after each epoch.
    pub fn early_stopping(&self) -> Option<&EarlyStoppingSpec> {
        self.early_stopping.as_ref()
    }

    /// `--checkpoint`: Lightning's `ModelCheckpoint`, the best files kept after each epoch.
    pub fn model_checkpoint(&self) -> Option<&ModelCheckpointSpec> {
        self.model_checkpoint.as_ref()
    }

    /// `--logger`: TensorBoard event files and/or `metrics.csv` beside `metrics.jsonl`.
    pub fn logger(&self) -> Loggers {
        self.logger
    }

    /// `--log-every-n-steps`: TensorBoard's per-batch training loss, every this many batches.
    pub fn log_every_n_steps(&self) -> Option<usize> {
        self.log_every_n_steps
    }

    /// What the forward pass and the criterion compute in: float32, or autocast to a half type.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// `--sync-batchnorm`: with more than one process, batch norm's statistics are the whole
    /// global batch's (`torch.nn.SyncBatchNorm`); one process is unaffected.
    pub fn sync_batchnorm(&self) -> bool {
        self.sync_batchnorm
    }

    /// `--bucket-cap-mb`: with more than one process, the gradient buckets' size (DDP's
    /// `bucket_cap_mb`; `None`: its default, a first bucket of 1 MiB then 25 MiB).
    pub fn bucket_cap_mb(&self) -> Option<f64> {
        self.bucket_cap_mb
    }
}
