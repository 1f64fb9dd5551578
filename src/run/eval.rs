//! `tch-harness eval`: the loss (and accuracy) of a model over one split of a dataset, with the
//! seed's accounting — batch means times the counts they are over (batch sizes, or non-ignored
//! targets and their class weights), summed, over the split's count — which equals PyTorch's
//! one-shot mean over the whole split, whatever the batch size.
use std::path::PathBuf;

use serde_json::{json, Value};

use crate::backends::Backends;
use crate::config::{BatchSize, ExperimentSource, LossSync, Precision};
use crate::criterion::{Criterion, Loss, LossOptions};
use crate::error::{Error, Result};
use crate::experiment::Experiment;
use crate::metrics::{MetricSet, MetricSpec};
use crate::names::named_enum;
use crate::runtime::{self, device_name, DeviceSpec};
use crate::tally::SingleProcess;
use crate::train::{evaluate, EvalPlan, EvalStats};

named_enum! {
    /// Which pair of a dataset to evaluate.
    pub enum SplitChoice: "unknown split" {
        /// `inputs`/`targets` (a built-in experiment's training split).
        Train = "train",
        /// `eval_inputs`/`eval_targets` (a built-in experiment's held-out split).
        Eval = "eval",
    }
}

/// What `eval` evaluates and how.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalConfig {
    /// A built-in experiment, or a TorchScript model with its data.
    pub experiment: ExperimentSource,
    /// A state_dict (safetensors) loaded into the model's parameters; required for a built-in
    /// experiment, optional for a TorchScript model (which carries its own weights).
    pub weights: Option<PathBuf>,
    pub loss: Option<Loss>,
    /// The criterion's options (ignore index, class weights, …).
    pub loss_options: LossOptions,
    pub batch_size: BatchSize,
    /// `None`: `train` for a data file, `eval` (the held-out split) for a built-in experiment.
    pub split: Option<SplitChoice>,
    /// Seed of the built-in experiment's data (linear-regression draws its data from it).
    pub seed: u64,
    pub device: DeviceSpec,
    pub threads: Option<i32>,
    /// Autocast around the forward pass and the criterion, as in training.
    pub precision: Precision,
    /// `--deterministic` and the other `torch.backends` switches.
    pub backends: Backends,
    /// `--metrics`, as `train` computes them on its eval split.
    pub metrics: Vec<MetricSpec>,
}

/// The result of `eval`.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalReport {
    pub experiment: String,
    pub split: SplitChoice,
    /// The criterion's name.
    pub loss: String,
    pub device: String,
    pub stats: EvalStats,
}

impl EvalReport {
    /// The object `eval --json` prints.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "experiment": self.experiment,
            "split": self.split.name(),
            "criterion": self.loss,
            "loss": self.stats.average_loss,
            "samples": self.stats.samples,
            "batches": self.stats.batches,
            "device": self.device,
        });
        if self.stats.count != self.stats.samples as f64 {
            v["count"] = json!(self.stats.count);
        }
        if let Some(accuracy) = self.stats.accuracy {
            v["accuracy"] = json!(accuracy);
        }
        if !self.stats.metrics.is_empty() {
            v["metrics"] = json!(self.stats.metrics);
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
        for (name, value) in &self.stats.metrics {
            line += &format!("  {name} {value:.6}");
        }
        line + &format!(
            "  samples {}  batches {}",
            self.stats.samples, self.stats.batches
        )
    }
}

/// Builds the experiment, loads `weights`, and evaluates the chosen split in evaluation mode.
pub fn eval(config: &EvalConfig) -> Result<EvalReport> {
    let torchscript = matches!(config.experiment, ExperimentSource::TorchScript { .. });
    if !torchscript && config.weights.is_none() {
        return Err(Error::Config(format!(
            "evaluating the built-in experiment '{}' needs --weights FILE.safetensors",
            config.experiment
        )));
    }
    config.experiment.validate(config.loss)?;
    config.loss_options.validate()?;
    crate::config::check_loss_ranges(&config.loss_options)?;
    let device = runtime::init(config.device, config.threads, &config.backends)?;
    crate::autocast::check_precision(config.precision, device)?;
    let mut experiment = Experiment::build(
        &config.experiment,
        config.loss,
        &config.loss_options,
        config.seed,
        device,
    )?;
    if let Some(weights) = &config.weights {
        experiment.load_state_dict_file(weights, None)?;
    }
    let split_choice = config.split.unwrap_or(if torchscript {
        SplitChoice::Train
    } else {
        SplitChoice::Eval
    });
    let split = match split_choice {
        SplitChoice::Train => &experiment.data.train,
        SplitChoice::Eval => experiment.data.eval.as_ref().ok_or_else(|| {
            let source = match &config.experiment {
                ExperimentSource::TorchScript { data, .. } => data.display().to_string(),
                other => other.to_string(),
            };
            Error::Data(format!(
                "--split eval: {source} has no 'eval_inputs'/'eval_targets'"
            ))
        })?,
    };
    let plan = EvalPlan {
        batch_size: config.batch_size,
        loss_sync: LossSync::Batch,
        device,
        precision: config.precision,
    };
    let criterion = Criterion::new(
        &experiment.loss,
        &config.loss_options,
        experiment.classes,
        device,
    )?;
    let metrics = MetricSet::new(&config.metrics, &criterion, experiment.classes, device)?;
    let stats = evaluate(
        experiment.model.as_mut(),
        &criterion,
        split,
        plan,
        &SingleProcess,
        metrics,
    )?;
    Ok(EvalReport {
        experiment: experiment.name.clone(),
        split: split_choice,
        loss: experiment.loss.to_string(),
        device: device_name(device),
        stats,
    })
}
