//! The resolved configuration of a training run: what `config.json` records, what `--resume`
//! restores and what `scripts/reference.py --config` reads. It is made in one place only: the
//! parse from the file format ([`wire`]: `config.json`, `--config`, the command line's flags as
//! the CLI writes them, or [`TrainConfigBuilder`]), which checks every value once; readers get a
//! checked value and never check again.
mod averaging;
mod builder;
mod checks;
mod file;
mod grad_scaler;
mod parts;
mod precision;
mod scheduler;
mod wire;

pub use averaging::{Anneal, EmaConfig, SwaSpec};
pub use builder::TrainConfigBuilder;
pub use file::read_config_file;
pub use grad_scaler::{GradScalerSpec, ScalerOptions};
pub use parts::{ExperimentConfig, LoopConfig, RuntimeConfig};
pub use precision::Precision;
pub use scheduler::SchedulerSpec;

// Types a configuration names, owned by the layer that uses them.
pub use crate::data::BatchSize;
pub use crate::experiment::{ExperimentSource, TORCHSCRIPT};
pub use crate::tally::LossSync;

pub(crate) use checks::check_loss_ranges;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::names::named_enum;
use crate::optim::OptimizerConfig;

/// Everything that decides what a training run computes, checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "wire::ConfigWire", into = "wire::ConfigWire")]
pub struct TrainConfig {
    experiment: ExperimentConfig,
    runtime: RuntimeConfig,
    training: LoopConfig,
}

impl TrainConfig {
    /// A builder with PyTorch-like defaults for `experiment`; its `build` is the same parse (and
    /// the same checks) as a `config.json`'s.
    pub fn builder(experiment: ExperimentSource, optimizer: OptimizerConfig) -> TrainConfigBuilder {
        TrainConfigBuilder::new(experiment, optimizer)
    }

    /// A builder holding this configuration, to change some of it.
    pub fn to_builder(&self) -> TrainConfigBuilder {
        TrainConfigBuilder::from_config(self)
    }

    /// The parse: a configuration object in `config.json`'s keys (defaults for the keys it
    /// leaves out), every value checked. Errors are one line naming the flag or key.
    pub fn from_json(value: serde_json::Value) -> Result<TrainConfig> {
        serde_json::from_value(value).map_err(|e| Error::Config(e.to_string()))
    }

    /// What defines the experiment: model and data, criterion, seed, initial weights.
    pub fn experiment(&self) -> &ExperimentConfig {
        &self.experiment
    }

    /// Where it runs: device and threads.
    pub fn runtime(&self) -> &RuntimeConfig {
        &self.runtime
    }

    /// How the loop trains: epochs, batches, optimizer, scheduler, clipping, checkpoints.
    pub fn training(&self) -> &LoopConfig {
        &self.training
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
