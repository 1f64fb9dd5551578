//! Which experiment to build: a built-in one (optionally with another criterion), or a TorchScript
//! model with a data file.
use std::path::Path;

use tch::Device;

use super::files::{from_files, TORCHSCRIPT};
use super::{Builtin, Experiment};
use crate::criterion::Loss;
use crate::error::{Error, Result};

/// What names an experiment, as `train` and `eval` take it from their flags.
#[derive(Debug, Clone, Copy)]
pub struct ExperimentSpec<'a> {
    /// A built-in experiment's name, or `torchscript` with `model` and `data`.
    pub experiment: &'a str,
    pub model: Option<&'a Path>,
    pub data: Option<&'a Path>,
    /// The criterion: required with `model`; for a built-in experiment it replaces its own.
    pub loss: Option<Loss>,
    pub seed: u64,
}

impl ExperimentSpec<'_> {
    /// One-line errors for combinations that name no experiment.
    pub fn validate(&self) -> Result<()> {
        match (self.model, self.data) {
            (Some(_), None) => return Err(Error::Config("--model needs --data".into())),
            (None, Some(_)) => {
                return Err(Error::Config(
                    "--data needs --model (a TorchScript module to train on it)".into(),
                ))
            }
            (Some(_), Some(_)) if self.loss.is_none() => {
                return Err(Error::Config(
                    "--model needs --loss (mse, l1, smooth-l1, huber, cross-entropy, nll or bce-with-logits)"
                        .into(),
                ))
            }
            _ => {}
        }
        let torchscript = self.experiment == TORCHSCRIPT;
        if torchscript != self.model.is_some() {
            return Err(Error::Config(if torchscript {
                "experiment 'torchscript' needs --model and --data".into()
            } else {
                format!(
                    "--model cannot be used with the built-in experiment '{}'",
                    self.experiment
                )
            }));
        }
        if !torchscript {
            self.experiment.parse::<Builtin>()?;
        }
        Ok(())
    }

    /// Builds the experiment on `device` and checks model, data and criterion against each other
    /// before anything trains.
    pub fn build(&self, device: Device) -> Result<Experiment> {
        self.validate()?;
        if let (Some(model), Some(data), Some(loss)) = (self.model, self.data, self.loss) {
            return from_files(model, data, loss, self.seed, device);
        }
        let builtin: Builtin = self.experiment.parse()?;
        let mut experiment = builtin.build(self.seed, device)?;
        if let Some(loss) = self.loss {
            experiment.loss = loss;
        }
        experiment.check_task().map_err(|e| match e {
            Error::Data(message) => Error::Data(format!(
                "experiment {} with --loss {}: {message}",
                experiment.name, experiment.loss
            )),
            other => other,
        })?;
        Ok(experiment)
    }
}
