//! Flags of `train` (shared by `compare`).
use std::path::PathBuf;
use std::process::ExitCode;

use super::loss_args::LossArgs;
use super::runtime_args::RuntimeArgs;
use anyhow::Context;
use clap::parser::ValueSource;
use clap::{ArgMatches, Args};
use serde_json::{json, Value};
use tch_harness::optim::{OptimizerConfig, OptimizerKind};
use tch_harness::run::{self, FitEnd, StopFlag, INTERRUPTED_EXIT_CODE};
use tch_harness::{
    BatchSize, Builtin, ExperimentSource, Loss, LossSync, NonFinitePolicy, ScheduleInterval,
    TrainConfig,
};

/// What to train and how.
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    #[arg(long, default_value = "digits-mlp", help = format!("Built-in experiment: {}.", Builtin::choices()))]
    pub experiment: String,
    /// Your own model: a TorchScript module (torch.jit.script or trace, then .save; see
    /// scripts/export_experiment.py). Needs --data and --loss; the run saves the trained module as
    /// model.pt and its parameters, with PyTorch's names, as model.safetensors.
    #[arg(
        long,
        value_name = "FILE.pt",
        conflicts_with = "experiment",
        requires_all = ["data", "loss"]
    )]
    pub model: Option<PathBuf>,
    /// Data for --model: safetensors with `inputs` (float, or int64 token ids, [N, …]) and
    /// `targets` ([N, …]: float, or int64 class indices for cross-entropy/nll), optionally
    /// `eval_inputs`/`eval_targets` (evaluated after each epoch). Checked before training starts.
    #[arg(long, value_name = "FILE.safetensors", requires = "model")]
    pub data: Option<PathBuf>,
    #[arg(long, help = loss_help())]
    pub loss: Option<String>,
    #[command(flatten)]
    pub loss_args: LossArgs,
    /// Gradient accumulation: step the optimizer every N batches, on the gradient of the mean
    /// loss over the counted elements of those N batches (each batch's loss scaled by its count
    /// over theirs); the epoch's short last window is stepped too.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub accumulate: usize,
    /// Number of epochs.
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Samples per batch; the last batch may be smaller and is kept.
    #[arg(long, default_value_t = 64, allow_negative_numbers = true)]
    pub batch_size: i64,
    /// Learning rate.
    #[arg(long, default_value_t = 0.05, allow_negative_numbers = true)]
    pub lr: f64,
    #[arg(long, default_value = "sgd", value_name = "NAME|SPEC", help = format!(
        "Optimizer: {}, with --lr and the optimizer flags below; or PyTorch's spelling, e.g. \
         \"Adadelta(lr=1.0, rho=0.9)\" or \"AdamW(lr=1e-3, betas=(0.9, 0.98))\", with \
         torch.optim's defaults for what it leaves out.",
        OptimizerKind::choices()
    ))]
    pub optimizer: String,
    /// SGD momentum.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub momentum: f64,
    /// SGD dampening.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub dampening: f64,
    /// SGD Nesterov momentum.
    #[arg(long)]
    pub nesterov: bool,
    /// Weight decay [default: 0.01 for adamw, 0 otherwise].
    #[arg(long, allow_negative_numbers = true)]
    pub weight_decay: Option<f64>,
    /// Adam/AdamW beta1.
    #[arg(long, default_value_t = 0.9, allow_negative_numbers = true)]
    pub beta1: f64,
    /// Adam/AdamW beta2.
    #[arg(long, default_value_t = 0.999, allow_negative_numbers = true)]
    pub beta2: f64,
    /// Adam/AdamW epsilon.
    #[arg(long, default_value_t = 1e-8, allow_negative_numbers = true)]
    pub eps: f64,
    /// Adam/AdamW AMSGrad variant.
    #[arg(long)]
    pub amsgrad: bool,
    /// Seed for initialisation, synthetic data and the per-epoch sample order.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    /// Run directory [default: a fresh folder under runs/].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Start from these weights: a PyTorch state_dict saved with safetensors.
    #[arg(long, value_name = "FILE.safetensors")]
    pub init: Option<PathBuf>,
    /// Keep the training data in its stored order (no shuffling; with --data, the file's order).
    #[arg(long)]
    pub no_shuffle: bool,
    /// Write checkpoints/last.safetensors every N epochs (also at the end and on Ctrl-C).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub checkpoint_every: usize,
    #[arg(long, default_value = "stop", help = format!(
        "On a NaN or infinite batch loss ({}): stop with the last good checkpoint, or skip the \
         batch.",
        NonFinitePolicy::choices()
    ))]
    pub on_nonfinite: String,
    #[arg(long, default_value = "batch", help = format!(
        "When the loss is read from the device ({}): every batch, as the seed, or summed on the \
         device and read once per epoch (no per-batch GPU synchronisation). Same numbers.",
        LossSync::choices()
    ))]
    pub loss_sync: String,
    /// A torch.optim.lr_scheduler in PyTorch's spelling, e.g. "StepLR(step_size=1, gamma=0.7)",
    /// "OneCycleLR(max_lr=0.1, total_steps=220)" or "SequentialLR(schedulers=[LinearLR(
    /// start_factor=0.1, total_iters=2), CosineAnnealingLR(T_max=8)], milestones=[2])".
    #[arg(long, value_name = "SPEC")]
    pub scheduler: Option<String>,
    #[arg(long, default_value = "epoch", help = format!(
        "When the scheduler steps ({}): after each epoch (ReduceLROnPlateau on the eval loss, \
         else the train loss) or after each optimizer step.",
        ScheduleInterval::choices()
    ))]
    pub scheduler_interval: String,
    /// Clip the gradients' total norm to MAX before each optimizer step
    /// (torch.nn.utils.clip_grad_norm_); metrics.jsonl records each epoch's largest norm before
    /// clipping as grad_norm_max.
    #[arg(long, value_name = "MAX", allow_negative_numbers = true)]
    pub clip_grad_norm: Option<f64>,
    /// The norm --clip-grad-norm measures: 2, inf, or any p > 0.
    #[arg(
        long,
        default_value = "2",
        value_name = "P",
        allow_negative_numbers = true
    )]
    pub clip_norm_type: f64,
    /// Clamp every gradient element to [-V, V] before each optimizer step
    /// (torch.nn.utils.clip_grad_value_).
    #[arg(long, value_name = "V", allow_negative_numbers = true)]
    pub clip_grad_value: Option<f64>,
}

/// `train`: a new run from flags, or `--resume DIR` with the run's saved configuration.
#[derive(Debug, Clone, Args)]
pub struct TrainCommand {
    #[command(flatten)]
    pub args: TrainArgs,
    /// Continue the run in DIR from its last checkpoint, with its saved configuration (no other
    /// flag may be given).
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
}

/// With `--resume`, every setting comes from the run: a flag given as well is an error.
fn check_resume_alone(matches: &ArgMatches) -> anyhow::Result<()> {
    let given: Vec<String> = matches
        .ids()
        // Group ids (the derive names them after the structs) are not flags.
        .filter(|id| {
            id.as_str() != "resume" && id.as_str().starts_with(|c: char| c.is_ascii_lowercase())
        })
        .filter(|id| {
            matches!(
                matches.value_source(id.as_str()),
                Some(ValueSource::CommandLine)
            )
        })
        .map(|id| format!("--{}", id.as_str().replace('_', "-")))
        .collect();
    if !given.is_empty() {
        anyhow::bail!(
            "--resume continues the run with its saved configuration; remove {}",
            given.join(", ")
        );
    }
    Ok(())
}

impl TrainCommand {
    /// `tch-harness train`.
    pub fn run(&self, matches: &ArgMatches) -> anyhow::Result<ExitCode> {
        if self.resume.is_some() {
            check_resume_alone(matches)?;
        }
        let stop = StopFlag::on_signals()?;
        let mut progress = run::for_stdout();
        let outcome = match &self.resume {
            Some(dir) => run::resume(dir, &stop, progress.as_mut()).context("cannot resume")?,
            None => {
                let config = self.args.to_config()?;
                run::train(&config, self.args.out.as_deref(), &stop, progress.as_mut())
                    .context("training failed")?
            }
        };
        let dir = outcome.run_dir.display();
        if outcome.end == FitEnd::Stopped {
            eprintln!("interrupted: checkpoint saved in {dir}/checkpoints; resume with: tch-harness train --resume {dir}");
            return Ok(ExitCode::from(INTERRUPTED_EXIT_CODE));
        }
        progress.message(&format!("done: {dir}"));
        Ok(ExitCode::SUCCESS)
    }
}

/// The `--loss` help, from the loss table.
pub(super) fn loss_help() -> String {
    format!(
        "Criterion: {}. Required with --model; with a built-in experiment it replaces the \
         experiment's own.",
        Loss::choices()
    )
}

impl TrainArgs {
    /// `--optimizer` with its flags: a name (`adam`) takes `--lr` and the optimizer flags that
    /// name one of its keywords; PyTorch's spelling (`Adam(lr=1e-3, betas=(0.9, 0.98))`) takes
    /// its keywords only, PyTorch's defaults for the rest.
    fn optimizer_config(&self) -> anyhow::Result<OptimizerConfig> {
        // JSON has no NaN or infinity (serde_json writes null, which would read as the default).
        let numbers = [
            ("momentum", self.momentum),
            ("dampening", self.dampening),
            ("weight decay", self.weight_decay.unwrap_or(0.0)),
            ("beta1", self.beta1),
            ("beta2", self.beta2),
            ("eps", self.eps),
            ("learning rate", self.lr),
        ];
        if let Some((name, v)) = numbers.iter().find(|(_, v)| !v.is_finite()) {
            anyhow::bail!("invalid {name} (must be finite): {v}");
        }
        let flags: [(&str, &str, Value, bool); 8] = [
            (
                "--momentum",
                "momentum",
                json!(self.momentum),
                self.momentum == 0.0,
            ),
            (
                "--dampening",
                "dampening",
                json!(self.dampening),
                self.dampening == 0.0,
            ),
            (
                "--nesterov",
                "nesterov",
                json!(self.nesterov),
                !self.nesterov,
            ),
            (
                "--weight-decay",
                "weight_decay",
                json!(self.weight_decay),
                self.weight_decay.is_none(),
            ),
            (
                "--beta1/--beta2",
                "betas",
                json!([self.beta1, self.beta2]),
                (self.beta1, self.beta2) == (0.9, 0.999),
            ),
            ("--eps", "eps", json!(self.eps), self.eps == 1e-8),
            ("--amsgrad", "amsgrad", json!(self.amsgrad), !self.amsgrad),
            ("--lr", "lr", json!(self.lr), self.lr == 0.05),
        ];
        if self.optimizer.contains('(') || self.optimizer.parse::<OptimizerKind>().is_err() {
            if let Some((flag, key, ..)) = flags.iter().find(|f| !f.3) {
                anyhow::bail!(
                    "{flag} cannot be combined with --optimizer {}: write {key}=… in it",
                    self.optimizer
                );
            }
            return Ok(OptimizerConfig::parse_call(&self.optimizer)?);
        }
        let kind: OptimizerKind = self.optimizer.parse()?;
        let mut fields = match serde_json::to_value(OptimizerConfig::new(kind, self.lr))? {
            Value::Object(fields) => fields,
            _ => unreachable!("a configuration serialises to an object"),
        };
        for (flag, key, value, default) in flags {
            match fields.get_mut(key) {
                Some(slot) if !value.is_null() => *slot = value,
                Some(_) => {}
                None if default => {}
                None => anyhow::bail!("{flag} does not apply to --optimizer {kind}"),
            }
        }
        Ok(serde_json::from_value(Value::Object(fields))?)
    }

    /// The library's configuration for these flags.
    pub fn to_config(&self) -> anyhow::Result<TrainConfig> {
        let optimizer = self.optimizer_config()?;
        let experiment = match (&self.model, &self.data) {
            (Some(model), Some(data)) => ExperimentSource::TorchScript {
                model: model.clone(),
                data: data.clone(),
            },
            _ => ExperimentSource::Builtin(self.experiment.parse()?),
        };
        let config = TrainConfig {
            loss: self.loss.as_deref().map(str::parse).transpose()?,
            epochs: self.epochs,
            batch_size: BatchSize::new(self.batch_size)?,
            seed: self.seed,
            device: self.runtime.device_spec()?,
            threads: self.runtime.threads,
            shuffle: !self.no_shuffle,
            init: self.init.clone(),
            checkpoint_every: self.checkpoint_every,
            on_nonfinite: self.on_nonfinite.parse()?,
            loss_sync: self.loss_sync.parse()?,
            scheduler: self.scheduler.clone(),
            scheduler_interval: self.scheduler_interval.parse()?,
            clip_grad_norm: self.clip_grad_norm,
            clip_norm_type: self.clip_norm_type,
            clip_grad_value: self.clip_grad_value,
            accumulate: self.accumulate,
            loss_options: self.loss_args.options(),
            ..TrainConfig::new(experiment, optimizer)
        };
        config.validate()?;
        Ok(config)
    }
}
