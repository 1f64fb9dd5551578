//! Flags of `train` (shared by `compare`).
use std::path::PathBuf;

use super::config_file::{explicit_flags, merge};
use super::loss_args::LossArgs;
use super::optimizer_args::OptimizerArgs;
use super::runtime_args::RuntimeArgs;
use anyhow::Context;
use clap::{ArgMatches, Args};
use serde_json::Value;
use tch_harness::error::quote;
use tch_harness::optim::{OptimizerConfig, OptimizerKind};
use tch_harness::{Builtin, Loss, LossSync, NonFinitePolicy, ScheduleInterval, TrainConfig};

/// What to train and how.
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// Take the settings from FILE (TOML, or JSON such as a run's config.json), in config.json's
    /// keys; flags given on the command line override it. An unknown key is an error.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
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
    #[arg(
        long,
        value_name = "FILE.safetensors",
        requires = "model",
        conflicts_with = "experiment"
    )]
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
    /// Write trace.jsonl in the run directory: the initial state, then per optimizer step the
    /// batch loss, its samples and every tensor's gradient and new value as fingerprints, for
    /// `diff` to find the first step where two runs part.
    #[arg(long)]
    pub trace: bool,
    /// Number of epochs.
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Samples per batch; the last batch may be smaller and is kept.
    #[arg(long, default_value_t = 64, allow_negative_numbers = true)]
    pub batch_size: i64,
    #[command(flatten)]
    pub optimizer: OptimizerArgs,
    /// Parameters with settings or an optimizer of their own, "SELECT: SPEC" (repeatable; the
    /// first group that selects a parameter takes it): "*.bias|*norm*: weight_decay=0.0", or
    /// "ndim=2: Muon(lr=0.02)" with --optimizer adamw for the rest.
    #[arg(long, value_name = "SELECT: SPEC")]
    pub param_group: Vec<String>,
    /// Seed for initialisation, synthetic data and the per-epoch sample order.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    /// Run directory [default: a fresh folder under runs/].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Start from these weights: a PyTorch state_dict saved with safetensors or torch.save
    /// (.pt/.pth/.bin, told apart by content).
    #[arg(long, value_name = "FILE")]
    pub init: Option<PathBuf>,
    /// The entry of a torch.save checkpoint dict ({"model": state_dict, …}) that --init loads.
    #[arg(long, value_name = "KEY")]
    pub init_key: Option<String>,
    #[arg(long, default_value = "safetensors", help = format!(
        "Formats of the final weights ({}): model.safetensors, and with pt also model.pth \
         (torch.load(weights_only=True) reads it).",
        tch_harness::pt::SaveFormat::choices()
    ))]
    pub save_format: String,
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
    /// Metrics of the eval split in metrics.jsonl's eval_metrics, comma-separated: top{k}_accuracy,
    /// micro_/macro_precision, _recall, _f1 (class-index losses), perplexity (cross-entropy, nll).
    #[arg(long, value_name = "NAMES")]
    pub metrics: Option<String>,
    /// Keep an exponential moving average of the weights, updated after every optimizer step
    /// (swa_utils.AveragedModel with get_ema_multi_avg_fn(DECAY)); evaluated each epoch
    /// (ema_eval_loss) and saved as model_ema.safetensors.
    #[arg(long, value_name = "DECAY", allow_negative_numbers = true)]
    pub ema: Option<f64>,
    /// --ema averages the buffers (batch norm statistics) too (use_buffers=True).
    #[arg(long)]
    pub ema_use_buffers: bool,
    /// Stochastic weight averaging in PyTorch's recipe, e.g. "SWA(swa_lr=0.05, swa_start=5,
    /// anneal_epochs=10, anneal_strategy='cos')": from epoch swa_start (1-based) the weights are
    /// averaged at each epoch's end and SWALR drives the rate; saved as model_swa.safetensors.
    #[arg(long, value_name = "SPEC")]
    pub swa: Option<String>,
    /// Stop when a metric stops improving, in Lightning's spelling, e.g.
    /// "EarlyStopping(monitor='eval_loss', patience=5, min_delta=0.0, mode='min')".
    #[arg(long, value_name = "SPEC")]
    pub early_stopping: Option<String>,
    /// Keep the best checkpoints in checkpoints/best/, in Lightning's spelling, e.g.
    /// "ModelCheckpoint(monitor='eval_accuracy', mode='max', save_top_k=3)".
    #[arg(long, value_name = "SPEC")]
    pub checkpoint: Option<String>,
    /// Logs beside metrics.jsonl, comma-separated: tensorboard (event files in the run
    /// directory), csv (metrics.csv in Lightning's CSVLogger layout). Default: none.
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub logger: Vec<String>,
    /// With --logger tensorboard: the training loss of every Nth batch as train_loss_step.
    #[arg(long, value_name = "N")]
    pub log_every_n_steps: Option<usize>,
    /// Scale the loss as torch.amp.GradScaler does, in PyTorch's spelling: "GradScaler()" or
    /// "GradScaler(init_scale=1024.0, growth_interval=100)" (enabled=False: off); metrics.jsonl
    /// records loss_scale and skipped_steps.
    #[arg(long, value_name = "SPEC")]
    pub grad_scaler: Option<String>,
    /// With --nproc > 1: batch norm's statistics over every process's rows of each batch, as
    /// torch.nn.SyncBatchNorm (on), or each process's own rows, as DDP without it (off). One
    /// process is unaffected.
    #[arg(long, default_value = "on", value_name = "on|off")]
    pub sync_batchnorm: String,
    /// With --nproc > 1: the gradient buckets' size in MiB, DDP's bucket_cap_mb (not given: a
    /// first bucket of 1 MiB, for the last layers, then 25 MiB, as DDP's default); each bucket is
    /// all-reduced during backward as soon as its gradients are ready.
    #[arg(long, value_name = "MB", allow_negative_numbers = true)]
    pub bucket_cap_mb: Option<f64>,
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
    /// The library's configuration: these flags, over `--config FILE` when given (`matches`
    /// tell which flags the command line gave), through the library's one parse.
    pub fn resolve(&self, matches: &ArgMatches) -> anyhow::Result<TrainConfig> {
        let explicit = explicit_flags(matches);
        let Some(file) = &self.config else {
            let optimizer = self.optimizer.to_config(&explicit)?;
            let mut flags = self.to_wire(&optimizer)?;
            flags.insert("param_groups".into(), self.param_groups(&optimizer)?);
            return Ok(TrainConfig::from_json(Value::Object(flags))?);
        };
        // Keyword flags alone edit the file's optimizer (`merge`): here they must not meet SGD.
        let optimizer = if explicit.iter().any(|id| id == "optimizer") {
            self.optimizer.to_config(&explicit)?
        } else {
            OptimizerConfig::new(OptimizerKind::Sgd, self.optimizer.lr)
        };
        let flags = self.to_wire(&optimizer)?;
        let mut merged = merge(file, flags, &self.optimizer, &explicit)?;
        if explicit.iter().any(|id| id == "param_group") {
            // On top of the optimizer the file and flags make together.
            let optimizer: OptimizerConfig = serde_json::from_value(merged["optimizer"].clone())?;
            merged.insert("param_groups".into(), self.param_groups(&optimizer)?);
        }
        TrainConfig::from_json(Value::Object(merged))
            .with_context(|| quote(&file.display().to_string()))
    }
}
