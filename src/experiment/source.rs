//! What a run trains, as a type: a built-in experiment, a TorchScript model with its data file,
//! or an experiment built in Rust by the caller (a port; see `run::train_experiment`).
use std::fmt;
use std::path::PathBuf;

use super::Builtin;
use crate::criterion::Loss;
use crate::error::{Error, Result};

/// Where a run's model and data come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExperimentSource {
    /// One of the built-in experiments (`digits-mlp`, …).
    Builtin(Builtin),
    /// The user's TorchScript module and safetensors data (`--model`, `--data`); needs `--loss`.
    TorchScript { model: PathBuf, data: PathBuf },
    /// An experiment the caller builds in Rust, known here by its name only.
    Port(String),
}

impl ExperimentSource {
    /// The name runs and checkpoints record: the built-in's name, `torchscript`, or the port's.
    pub fn name(&self) -> &str {
        match self {
            ExperimentSource::Builtin(builtin) => builtin.name(),
            ExperimentSource::TorchScript { .. } => TORCHSCRIPT,
            ExperimentSource::Port(name) => name,
        }
    }

    /// One-line errors for a criterion this source cannot do without.
    pub fn validate(&self, loss: Option<Loss>) -> Result<()> {
        if matches!(self, ExperimentSource::TorchScript { .. }) && loss.is_none() {
            return Err(Error::Config(format!(
                "--model needs --loss ({})",
                Loss::choices()
            )));
        }
        Ok(())
    }
}

/// The experiment name of a run on `--model`/`--data` (in `config.json`, run folder names).
pub const TORCHSCRIPT: &str = "torchscript";

impl fmt::Display for ExperimentSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
