//! Flags of `eval`.
use std::path::PathBuf;
use std::process::ExitCode;

use super::loss_args::LossArgs;
use super::runtime_args::RuntimeArgs;
use anyhow::Context;
use clap::Args;
use tch_harness::metrics::MetricSpec;
use tch_harness::run::{self, EvalConfig, SplitChoice};
use tch_harness::{BatchSize, Builtin, ExperimentSource, Loss};

/// Loss (and accuracy, for classification) of a model over a dataset: batch means times the
/// counts they are over (batch sizes, or the non-ignored targets and their class weights), over
/// the whole split's count, which equals PyTorch's mean over the whole split at once, whatever
/// --batch-size.
#[derive(Debug, Clone, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["model", "experiment"]))]
pub struct EvalArgs {
    /// A TorchScript module (as for `train --model`, or a run's model.pt). Needs --data and --loss.
    #[arg(
        long,
        value_name = "FILE.pt",
        conflicts_with = "experiment",
        requires_all = ["data", "loss"]
    )]
    pub model: Option<PathBuf>,
    /// Data for --model: safetensors with `inputs`/`targets`, optionally `eval_inputs`/`eval_targets`.
    #[arg(
        long,
        value_name = "FILE.safetensors",
        requires = "model",
        conflicts_with = "experiment"
    )]
    pub data: Option<PathBuf>,
    #[arg(long, requires = "weights", help = format!(
        "A built-in experiment ({}). Needs --weights.", Builtin::choices()
    ))]
    pub experiment: Option<String>,
    /// A state_dict (safetensors or torch.save's .pt/.pth, PyTorch names), e.g. a run's
    /// model.safetensors. Required with --experiment; with --model it replaces the module's
    /// parameters (buffers such as batch-norm statistics stay the module's: evaluate a run's
    /// model.pt to get the trained ones).
    #[arg(long, value_name = "FILE")]
    pub weights: Option<PathBuf>,
    #[arg(long, help = super::train_args::loss_help())]
    pub loss: Option<String>,
    #[command(flatten)]
    pub loss_args: LossArgs,
    /// Which pair to evaluate: `train` (the `inputs`/`targets` keys) or `eval`
    /// (`eval_inputs`/`eval_targets`) [default: train with --data, eval (the held-out split) with
    /// --experiment].
    #[arg(long)]
    pub split: Option<String>,
    /// Samples per batch; the last batch may be smaller and is kept. The result does not depend
    /// on it (up to float rounding).
    #[arg(long, default_value_t = 64, allow_negative_numbers = true)]
    pub batch_size: i64,
    /// Seed of a built-in experiment's data (use the training run's seed for linear-regression).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Metrics of the split, comma-separated, as `train --metrics` computes them: top{k}_accuracy,
    /// micro_/macro_precision, _recall, _f1 (class-index losses), perplexity (cross-entropy, nll).
    #[arg(long, value_name = "NAMES")]
    pub metrics: Option<String>,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    /// Print one JSON object: loss, samples, batches, accuracy (classification), metrics (with
    /// --metrics), split, criterion, experiment, device.
    #[arg(long)]
    pub json: bool,
}

impl EvalArgs {
    /// The library's configuration for these flags.
    pub fn to_config(&self) -> anyhow::Result<EvalConfig> {
        let loss: Option<Loss> = self.loss.as_deref().map(str::parse).transpose()?;
        let split: Option<SplitChoice> = self.split.as_deref().map(str::parse).transpose()?;
        let device = self.runtime.device_spec()?;
        let experiment = match (&self.model, &self.data, &self.experiment) {
            (Some(model), Some(data), _) => ExperimentSource::TorchScript {
                model: model.clone(),
                data: data.clone(),
            },
            (_, _, Some(name)) => ExperimentSource::Builtin(name.parse()?),
            _ => anyhow::bail!("eval needs --model with --data, or --experiment"),
        };
        Ok(EvalConfig {
            experiment,
            weights: self.weights.clone(),
            loss,
            loss_options: self.loss_args.options(),
            batch_size: BatchSize::new(self.batch_size)?,
            split,
            seed: self.seed,
            device,
            threads: self.runtime.threads,
            precision: self.runtime.precision.parse()?,
            backends: self.runtime.backends.to_backends(false)?,
            metrics: match &self.metrics {
                Some(list) => MetricSpec::parse_list(list)?,
                None => Vec::new(),
            },
        })
    }

    /// `tch-harness eval`.
    pub fn run(&self) -> anyhow::Result<ExitCode> {
        let config = self.to_config()?;
        let report = run::eval(&config).context("eval failed")?;
        if self.json {
            println!("{}", report.to_json());
        } else {
            println!("{}", report.summary());
        }
        Ok(ExitCode::SUCCESS)
    }
}
