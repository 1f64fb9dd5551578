//! The `torch.backends` switches as flags, spelled as PyTorch spells them; shared by `train`,
//! `compare`, `eval` and `info`. An on/off switch is `--flag` (on) or `--flag true|false` (also
//! on/off, yes/no, 1/0).
use clap::builder::BoolishValueParser;
use clap::Args;
use tch_harness::backends::{Backends, MatmulPrecision, PYTORCH_DEFAULTS};

/// Deterministic kernels, cuDNN and TF32.
#[derive(Debug, Clone, Args)]
pub struct BackendArgs {
    /// Deterministic kernels: cuDNN deterministic with benchmark off,
    /// torch.use_deterministic_algorithms(True) (an op without a deterministic kernel is an
    /// error naming it) and CUBLAS_WORKSPACE_CONFIG=:4096:8 unless already set [default: on for
    /// compare and --trace, else off; `--deterministic false` turns it off].
    #[arg(
        long,
        value_name = "BOOL",
        num_args = 0..=1,
        default_missing_value = "true",
        value_parser = BoolishValueParser::new()
    )]
    pub deterministic: Option<bool>,
    /// torch.backends.cudnn.benchmark: cuDNN picks convolution kernels by timing them.
    #[arg(
        long,
        value_name = "BOOL",
        num_args = 0..=1,
        default_missing_value = "true",
        default_value_t = PYTORCH_DEFAULTS.cudnn_benchmark,
        value_parser = BoolishValueParser::new()
    )]
    pub cudnn_benchmark: bool,
    /// torch.backends.cudnn.allow_tf32: TF32 tensor cores in cuDNN convolutions (PyTorch's
    /// default: on).
    #[arg(
        long,
        value_name = "BOOL",
        num_args = 0..=1,
        default_missing_value = "true",
        default_value_t = PYTORCH_DEFAULTS.cudnn_allow_tf32,
        value_parser = BoolishValueParser::new()
    )]
    pub cudnn_allow_tf32: bool,
    #[arg(long, value_name = "P", default_value_t = PYTORCH_DEFAULTS.float32_matmul_precision.to_string(), help = format!(
        "torch.set_float32_matmul_precision ({}): float32 matmuls in float32, or on TF32 tensor \
         cores (high, medium) where the GPU has them.",
        MatmulPrecision::choices()
    ))]
    pub float32_matmul_precision: String,
}

impl BackendArgs {
    /// The switches, with `deterministic` when `--deterministic` is not given.
    pub fn to_backends(&self, deterministic: bool) -> anyhow::Result<Backends> {
        let backends = Backends {
            deterministic: self.deterministic.unwrap_or(deterministic),
            cudnn_benchmark: self.cudnn_benchmark,
            cudnn_allow_tf32: self.cudnn_allow_tf32,
            float32_matmul_precision: self.float32_matmul_precision.parse()?,
        };
        backends.check()?;
        Ok(backends)
    }
}
