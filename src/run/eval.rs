//! `tch-harness eval`: the loss (and accuracy) of a model over one split of a dataset, with the
//! seed's accounting — batch means times batch sizes, summed, over the number of samples — which
//! equals PyTorch's one-shot mean over the whole split, whatever the batch size.
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde_json::{json, Value};

use crate::criterion::Loss;
use crate::device::{device_name, DeviceSpec};
use crate::error::{Error, Result};
use crate::experiment::{ExperimentSpec, TORCHSCRIPT};
use crate::metrics::LossSync;
use crate::run::apply_threads;
use crate::train::{evaluate, EvalStats};

/// Which pair of a dataset to evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitChoice {
    /// `inputs`/`targets` (a built-in experiment's training split).
    Train,
    /// `eval_inputs`/`eval_targets` (a built-in experiment's held-out split).
    Eval,
}

impl SplitChoice {
    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            SplitChoice::Train => "train",
            SplitChoice::Eval => "eval",
        }
    }
}

impl fmt::Display for SplitChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SplitChoice {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "train" => Ok(SplitChoice::Train),
            "eval" => Ok(SplitChoice::Eval),
            _ => Err(Error::Config(format!(
                "unknown split '{s}' (expected train or eval)"
            ))),
        }
    }
}

/// What `eval` evaluates and how.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalConfig {
    /// A built-in experiment, or `torchscript` with `model` and `data`.
    pub experiment: String,
    pub model: Option<PathBuf>,
    pub data: Option<PathBuf>,
    /// A state_dict (safetensors) loaded into the model's parameters; required for a built-in
    /// experiment, optional for a TorchScript model (which carries its own weights).
    pub weights: Option<PathBuf>,
    pub loss: Option<Loss>,
    pub batch_size: i64,
    /// `None`: `train` for a data file, `eval` (the held-out split) for a built-in experiment.
    pub split: Option<SplitChoice>,
    /// Seed of the built-in experiment's data (linear-regression draws its data from it).
    pub seed: u64,
    pub device: DeviceSpec,
    pub threads: Option<i32>,
}

/// The result of `eval`.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalReport {
    pub experiment: String,
    pub split: SplitChoice,
    pub loss: Loss,
    pub device: String,
    pub stats: EvalStats,
}

impl EvalReport {
    /// The object `eval --json` prints.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "experiment": self.experiment,
            "split": self.split.name(),
            "criterion": self.loss.name(),
            "loss": self.stats.average_loss,
            "samples": self.stats.samples,
            "batches": self.stats.batches,
            "device": self.device,
        });
        if let Some(accuracy) = self.stats.accuracy {
            v["accuracy"] = json!(accuracy);
        }
        v
    }

    /// One line for people.
    pub fn summary(&self) -> String {
        let mut line = format!(
            "{} ({} split, {}): loss {:.6}",
            self.experiment, self.split, self.loss, self.stats.average_loss
        );
        if let Some(accuracy) = self.stats.accuracy {
            line += &format!("  accuracy {:.2}%", accuracy * 100.0);
        }
        line + &format!(
            "  samples {}  batches {}",
            self.stats.samples, self.stats.batches
        )
    }
}

/// Builds the experiment, loads `weights`, and evaluates the chosen split in evaluation mode.
pub fn run_eval(config: &EvalConfig) -> Result<EvalReport> {
    if config.batch_size < 1 {
        return Err(Error::Config(format!(
            "--batch-size must be at least 1, got {}",
            config.batch_size
        )));
    }
    let torchscript = config.experiment == TORCHSCRIPT;
    if !torchscript && config.weights.is_none() {
        return Err(Error::Config(format!(
            "evaluating the built-in experiment '{}' needs --weights FILE.safetensors",
            config.experiment
        )));
    }
    let spec = ExperimentSpec {
        experiment: &config.experiment,
        model: config.model.as_deref(),
        data: config.data.as_deref(),
        loss: config.loss,
        seed: config.seed,
    };
    spec.validate()?;
    apply_threads(config.threads);
    let device = config.device.resolve()?;
    let mut experiment = spec.build(device)?;
    if let Some(weights) = &config.weights {
        experiment.load_state_dict_file(weights)?;
    }
    let split_choice = config.split.unwrap_or(if torchscript {
        SplitChoice::Train
    } else {
        SplitChoice::Eval
    });
    let split = match split_choice {
        SplitChoice::Train => &experiment.data.train,
        SplitChoice::Eval => experiment.data.eval.as_ref().ok_or_else(|| {
            Error::Data(format!(
                "--split eval: {} has no 'eval_inputs'/'eval_targets'",
                config
                    .data
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| config.experiment.clone())
            ))
        })?,
    };
    let stats = evaluate(
        experiment.model.as_mut(),
        experiment.loss,
        split,
        config.batch_size,
        LossSync::Batch,
    )?;
    Ok(EvalReport {
        experiment: experiment.name.clone(),
        split: split_choice,
        loss: experiment.loss,
        device: device_name(device),
        stats,
    })
}
