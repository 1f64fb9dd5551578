//! Where a command runs: the flags `train`, `compare` and `eval` share.
use clap::Args;
use tch_harness::config::Precision;

use super::backend_args::BackendArgs;
use tch_harness::DeviceSpec;

/// Device, threads, precision and the `torch.backends` switches.
#[derive(Debug, Clone, Args)]
pub struct RuntimeArgs {
    /// Device: auto, cpu, cuda or cuda:N. Asking for CUDA where there is none is an error.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// libtorch intra-op threads [default: libtorch's choice].
    #[arg(long, allow_negative_numbers = true)]
    pub threads: Option<i32>,
    #[arg(long, default_value = "32", help = format!(
        "What the forward pass and the loss compute in ({}): float32, or under \
         torch.autocast(device.type, dtype=bfloat16 or float16), as Lightning's precision=.",
        Precision::choices()
    ))]
    pub precision: String,
    #[command(flatten)]
    pub backends: BackendArgs,
}

impl RuntimeArgs {
    /// The parsed device (resolved later, when the run starts).
    pub fn device_spec(&self) -> anyhow::Result<DeviceSpec> {
        Ok(self.device.parse()?)
    }
}
