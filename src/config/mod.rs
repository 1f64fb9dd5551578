//! The resolved configuration of a training run: what `config.json` records, what `--resume`
//! restores and what `scripts/reference.py --config` reads. The CLI builds it; the library checks
//! it. The file format (kept since the first release) is in [`wire`].
mod file;
mod source;
mod wire;

pub use file::read_config_file;
pub use source::{ExperimentSource, TORCHSCRIPT};

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::criterion::{Loss, LossOptions};
use crate::error::{Error, Result};
use crate::names::named_enum;
use crate::optim::{OptimizerConfig, ParamGroup};
use crate::runtime::DeviceSpec;

/// Everything that decides what a training run computes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "wire::ConfigWire", into = "wire::ConfigWire")]
pub struct TrainConfig {
    /// What to train: a built-in experiment, a TorchScript model with its data, or one built in
    /// Rust by the caller.
    pub experiment: ExperimentSource,
    /// The criterion; `None` uses the experiment's own (required for TorchScript).
    pub loss: Option<Loss>,
    pub epochs: usize,
    pub batch_size: BatchSize,
    pub optimizer: OptimizerConfig,
    /// Parameters picked by name or dimension, with settings or an optimizer of their own.
    pub param_groups: Vec<ParamGroup>,
    pub seed: u64,
    pub device: DeviceSpec,
    /// libtorch intra-op threads; `None` keeps libtorch's default.
    pub threads: Option<i32>,
    /// Shuffle the training split each epoch (see `data::epoch_order`); false keeps file order.
    pub shuffle: bool,
    /// Initial weights: a PyTorch state_dict in safetensors.
    pub init: Option<PathBuf>,
    /// Write `checkpoints/last.safetensors` every this many epochs (and at the end, and on Ctrl-C).
    pub checkpoint_every: usize,
    /// What a NaN or infinite batch loss does.
    pub on_nonfinite: NonFinitePolicy,
    /// When the epoch's loss is read from the device: every batch (the seed) or once per epoch.
    pub loss_sync: LossSync,
    /// A `torch.optim.lr_scheduler` in PyTorch's spelling, `StepLR(step_size=1, gamma=0.7)`.
    pub scheduler: Option<String>,
    /// When the scheduler steps: after each epoch (the default) or after each optimizer step.
    pub scheduler_interval: ScheduleInterval,
    /// `clip_grad_norm_(max_norm=…)` before each optimizer step.
    pub clip_grad_norm: Option<f64>,
    /// The norm `clip_grad_norm` measures: a p > 0 or `f64::INFINITY` (PyTorch's default 2).
    pub clip_norm_type: f64,
    /// `clip_grad_value_(clip_value=…)` before each optimizer step.
    pub clip_grad_value: Option<f64>,
    /// Gradient accumulation: the optimizer steps every this many batches (1: every batch).
    pub accumulate: usize,
    /// Write trace.jsonl: every optimizer step's loss, batch and tensor fingerprints (`--trace`).
    pub trace: bool,
    /// The criterion's options: ignore index, class weights, positive weights, label smoothing.
    pub loss_options: LossOptions,
}

/// Samples per batch: at least 1, checked once, where the value enters (flag or file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct BatchSize(i64);

impl BatchSize {
    /// An error naming `--batch-size` unless `n >= 1`.
    pub fn new(n: i64) -> Result<BatchSize> {
        if n < 1 {
            return Err(Error::Config(format!(
                "--batch-size must be at least 1, got {n}"
            )));
        }
        Ok(BatchSize(n))
    }

    /// The number of samples.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for BatchSize {
    type Error = Error;

    fn try_from(n: i64) -> Result<BatchSize> {
        BatchSize::new(n)
    }
}

impl From<BatchSize> for i64 {
    fn from(b: BatchSize) -> i64 {
        b.0
    }
}

named_enum! {
    /// What to do when a batch loss is NaN or infinite.
    #[derive(Default)]
    pub enum NonFinitePolicy: "invalid --on-nonfinite" {
        /// Stop with an error naming the epoch, the batch and the last good checkpoint.
        #[default]
        Stop = "stop",
        /// Skip the batch (no update; its samples are left out of the epoch average) and go on.
        SkipBatch = "skip-batch",
    }
}

named_enum! {
    /// `--loss-sync`: when the running loss is read back from the device.
    ///
    /// `batch` (the default) is the seed's `total_loss += loss.item() * batch_size`: one read per
    /// batch, which on CUDA is a device-to-host copy and a synchronisation. `epoch` adds
    /// `loss * batch_size` on the device and reads the sum once, when the epoch ends. Both give
    /// the same bits (see `tally`); on the CPU `batch` is the cheaper one.
    #[derive(Default)]
    pub enum LossSync: "invalid --loss-sync" {
        /// Read every batch's loss (`loss.item()`), as the seed does.
        #[default]
        Batch = "batch",
        /// Keep the sum on the device; read it once per epoch.
        Epoch = "epoch",
    }
}

named_enum! {
    /// `--scheduler-interval`: when `scheduler.step()` is called.
    #[derive(Default)]
    pub enum ScheduleInterval: "invalid --scheduler-interval" {
        /// After each epoch (ReduceLROnPlateau: on its eval loss, else its train loss).
        #[default]
        Epoch = "epoch",
        /// After each optimizer step (OneCycleLR and CyclicLR are written for this).
        Batch = "batch",
    }
}

impl TrainConfig {
    /// PyTorch-like defaults for `experiment`.
    pub fn new(experiment: ExperimentSource, optimizer: OptimizerConfig) -> Self {
        TrainConfig {
            experiment,
            loss: None,
            epochs: 10,
            batch_size: BatchSize(64),
            optimizer,
            param_groups: Vec::new(),
            seed: 0,
            device: DeviceSpec::Auto,
            threads: None,
            shuffle: true,
            init: None,
            checkpoint_every: 1,
            on_nonfinite: NonFinitePolicy::Stop,
            loss_sync: LossSync::Batch,
            scheduler: None,
            scheduler_interval: ScheduleInterval::Epoch,
            clip_grad_norm: None,
            clip_norm_type: 2.0,
            clip_grad_value: None,
            accumulate: 1,
            trace: false,
            loss_options: LossOptions::default(),
        }
    }

    /// One-line errors for values no run can use.
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(Error::Config("--epochs must be at least 1, got 0".into()));
        }
        if let Some(threads) = self.threads {
            crate::runtime::check_threads(threads)?;
        }
        if self.checkpoint_every == 0 {
            return Err(Error::Config(
                "--checkpoint-every must be at least 1, got 0".into(),
            ));
        }
        if self.on_nonfinite == NonFinitePolicy::SkipBatch && self.loss_sync == LossSync::Epoch {
            return Err(Error::Config(
                "--on-nonfinite skip-batch needs --loss-sync batch (with epoch the batch losses are never read)".into(),
            ));
        }
        self.experiment.validate(self.loss)?;
        if self.accumulate == 0 {
            return Err(Error::Config(
                "--accumulate must be at least 1, got 0".into(),
            ));
        }
        match self.resolved_loss() {
            Some(loss) => self.loss_options.check_for(loss, None)?,
            None => self.loss_options.validate()?,
        }
        self.optimizer.validate()?;
        for group in &self.param_groups {
            group.optimizer.validate()?;
        }
        self.validate_clipping()?;
        if let Some(spec) = &self.scheduler {
            let per_batch = self.scheduler_interval == ScheduleInterval::Batch;
            let lrs: Vec<f64> = std::iter::once(&self.optimizer)
                .chain(self.param_groups.iter().map(|g| &g.optimizer))
                .map(OptimizerConfig::lr)
                .collect();
            crate::schedule::check(spec, &lrs, per_batch)?;
        }
        Ok(())
    }
}

impl TrainConfig {
    /// The criterion the run trains with, when the configuration alone tells (a port's own loss
    /// is known once it is built).
    pub fn resolved_loss(&self) -> Option<Loss> {
        match (&self.experiment, self.loss) {
            (_, Some(loss)) => Some(loss),
            (ExperimentSource::Builtin(builtin), None) => Some(builtin.loss()),
            _ => None,
        }
    }

    /// Clipping thresholds must be positive and finite, the norm a p > 0 or infinity; clipping by
    /// norm and by value together is refused (their order would be a guess).
    fn validate_clipping(&self) -> Result<()> {
        let positive = |flag: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(Error::Config(format!(
                    "{flag} must be finite and > 0, got {v}"
                )))
            }
        };
        if let Some(v) = self.clip_grad_norm {
            positive("--clip-grad-norm", v)?;
        }
        if let Some(v) = self.clip_grad_value {
            positive("--clip-grad-value", v)?;
        }
        let p = self.clip_norm_type;
        if !(p == f64::INFINITY || p.is_finite() && p > 0.0) {
            return Err(Error::Config(format!(
                "--clip-norm-type must be a p > 0 or inf, got {p}"
            )));
        }
        if self.clip_grad_norm.is_some() && self.clip_grad_value.is_some() {
            return Err(Error::Config(
                "--clip-grad-norm and --clip-grad-value: choose one".into(),
            ));
        }
        Ok(())
    }
}
