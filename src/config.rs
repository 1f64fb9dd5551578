//! The resolved configuration of a training run: what `config.json` records and what `--resume`
//! restores. The CLI builds it; the library checks it.
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::criterion::Loss;
use crate::device::DeviceSpec;
use crate::error::{Error, Result};
use crate::experiment::ExperimentSpec;
use crate::metrics::LossSync;
use crate::optim::OptimizerConfig;

/// Everything that decides what a training run computes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// A built-in experiment (`digits-mlp`, …) or `torchscript` for `--model`/`--data`.
    pub experiment: String,
    pub epochs: usize,
    pub batch_size: i64,
    pub optimizer: OptimizerConfig,
    pub seed: u64,
    pub device: DeviceSpec,
    /// libtorch intra-op threads; `None` keeps libtorch's default.
    pub threads: Option<i32>,
    /// Shuffle the training split each epoch (see `data::epoch_order`); false keeps file order.
    pub shuffle: bool,
    /// Initial weights: a PyTorch state_dict in safetensors.
    pub init: Option<PathBuf>,
    /// A TorchScript model file (with `data`), instead of a built-in experiment.
    pub model: Option<PathBuf>,
    /// A safetensors data file (`inputs`, `targets`, optional `eval_inputs`, `eval_targets`).
    pub data: Option<PathBuf>,
    /// The criterion; `None` uses the experiment's own.
    pub loss: Option<Loss>,
    /// Write `checkpoints/last.safetensors` every this many epochs (and at the end, and on Ctrl-C).
    #[serde(default = "one")]
    pub checkpoint_every: usize,
    /// What a NaN or infinite batch loss does.
    #[serde(default)]
    pub on_nonfinite: NonFinitePolicy,
    /// When the epoch's loss is read from the device: every batch (the seed) or once per epoch.
    #[serde(default)]
    pub loss_sync: LossSync,
}

/// What to do when a batch loss is NaN or infinite.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NonFinitePolicy {
    /// Stop with an error naming the epoch, the batch and the last good checkpoint.
    #[default]
    Stop,
    /// Skip the batch (no update; its samples are left out of the epoch average) and go on.
    SkipBatch,
}

impl std::str::FromStr for NonFinitePolicy {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "stop" => Ok(NonFinitePolicy::Stop),
            "skip-batch" => Ok(NonFinitePolicy::SkipBatch),
            _ => Err(Error::Config(format!(
                "invalid --on-nonfinite '{s}' (expected stop or skip-batch)"
            ))),
        }
    }
}

fn one() -> usize {
    1
}

impl TrainConfig {
    /// PyTorch-like defaults for a built-in experiment.
    pub fn new(experiment: &str, optimizer: OptimizerConfig) -> Self {
        TrainConfig {
            experiment: experiment.to_string(),
            epochs: 10,
            batch_size: 64,
            optimizer,
            seed: 0,
            device: DeviceSpec::Auto,
            threads: None,
            shuffle: true,
            init: None,
            model: None,
            data: None,
            loss: None,
            checkpoint_every: 1,
            on_nonfinite: NonFinitePolicy::Stop,
            loss_sync: LossSync::Batch,
        }
    }

    /// One-line errors for values no run can use, the experiment's name included.
    pub fn validate(&self) -> Result<()> {
        self.validate_settings()?;
        self.spec().validate()
    }

    /// The checks of [`TrainConfig::validate`] but the experiment's name: for an experiment built
    /// in Rust (`run::train_experiment`).
    pub fn validate_settings(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(Error::Config("--epochs must be at least 1, got 0".into()));
        }
        if self.batch_size < 1 {
            return Err(Error::Config(format!(
                "--batch-size must be at least 1, got {}",
                self.batch_size
            )));
        }
        if let Some(threads) = self.threads {
            if threads < 1 {
                return Err(Error::Config(format!(
                    "--threads must be at least 1, got {threads}"
                )));
            }
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
        self.optimizer.validate()
    }

    /// The experiment this configuration trains.
    pub fn spec(&self) -> ExperimentSpec<'_> {
        ExperimentSpec {
            experiment: &self.experiment,
            model: self.model.as_deref(),
            data: self.data.as_deref(),
            loss: self.loss,
            seed: self.seed,
        }
    }
}
