//! The resolved configuration of a training run: what `config.json` records and what `--resume`
//! restores. The CLI builds it; the library checks it.
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::criterion::Loss;
use crate::device::DeviceSpec;
use crate::error::{Error, Result};
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
    /// When the epoch's loss is read from the device: every batch (the seed) or once per epoch.
    #[serde(default)]
    pub loss_sync: LossSync,
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
            loss_sync: LossSync::Batch,
        }
    }

    /// One-line errors for values no run can use.
    pub fn validate(&self) -> Result<()> {
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
        self.optimizer.validate()
    }
}
