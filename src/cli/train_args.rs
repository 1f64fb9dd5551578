//! Flags of `train` (shared by `compare`).
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use tch_harness::optim::{OptimizerConfig, OptimizerKind};
use tch_harness::{progress, DeviceSpec, LossSync, TrainConfig};

/// What to train and how.
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// Built-in experiment: digits-mlp, linear-regression or breast-cancer.
    #[arg(long, default_value = "digits-mlp")]
    pub experiment: String,
    /// Number of epochs.
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Samples per batch; the last batch may be smaller and is kept.
    #[arg(long, default_value_t = 64, allow_negative_numbers = true)]
    pub batch_size: i64,
    /// Learning rate.
    #[arg(long, default_value_t = 0.05, allow_negative_numbers = true)]
    pub lr: f64,
    /// Optimizer: sgd, adam or adamw.
    #[arg(long, default_value = "sgd")]
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
    /// Device: auto, cpu, cuda or cuda:N. Asking for CUDA where there is none is an error.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// libtorch intra-op threads [default: libtorch's choice].
    #[arg(long, allow_negative_numbers = true)]
    pub threads: Option<i32>,
    /// Run directory [default: a fresh folder under runs/].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Start from these weights: a PyTorch state_dict saved with safetensors.
    #[arg(long, value_name = "FILE.safetensors")]
    pub init: Option<PathBuf>,
    /// Keep the training data in its stored order (no shuffling).
    #[arg(long)]
    pub no_shuffle: bool,
    /// When the loss is read from the device: batch (every batch, as the seed) or epoch (summed
    /// on the device, read once per epoch; no per-batch GPU synchronisation). Same numbers.
    #[arg(long, default_value = "batch", value_name = "batch|epoch")]
    pub loss_sync: String,
}

impl TrainArgs {
    /// The library's configuration for these flags.
    pub fn to_config(&self) -> anyhow::Result<TrainConfig> {
        let kind: OptimizerKind = self.optimizer.parse()?;
        let optimizer = OptimizerConfig {
            momentum: self.momentum,
            dampening: self.dampening,
            nesterov: self.nesterov,
            weight_decay: self
                .weight_decay
                .unwrap_or(OptimizerConfig::default_weight_decay(kind)),
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
            amsgrad: self.amsgrad,
            ..OptimizerConfig::new(kind, self.lr)
        };
        let device: DeviceSpec = self.device.parse()?;
        let loss_sync: LossSync = self.loss_sync.parse()?;
        let config = TrainConfig {
            epochs: self.epochs,
            batch_size: self.batch_size,
            seed: self.seed,
            device,
            threads: self.threads,
            shuffle: !self.no_shuffle,
            init: self.init.clone(),
            loss_sync,
            ..TrainConfig::new(&self.experiment, optimizer)
        };
        config.validate()?;
        Ok(config)
    }

    /// `tch-harness train`.
    pub fn run(&self) -> anyhow::Result<ExitCode> {
        let config = self.to_config()?;
        let mut progress = progress::for_stdout();
        let outcome = tch_harness::run::train(&config, self.out.as_deref(), progress.as_mut())
            .context("training failed")?;
        progress.message(&format!("done: {}", outcome.run_dir.display()));
        Ok(ExitCode::SUCCESS)
    }
}
