//! Where a command runs: the flags `train`, `compare` and `eval` share.
use clap::Args;
use tch_harness::DeviceSpec;

/// Device and threads.
#[derive(Debug, Clone, Args)]
pub struct RuntimeArgs {
    /// Device: auto, cpu, cuda or cuda:N. Asking for CUDA where there is none is an error.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// libtorch intra-op threads [default: libtorch's choice].
    #[arg(long, allow_negative_numbers = true)]
    pub threads: Option<i32>,
}

impl RuntimeArgs {
    /// The parsed device (resolved later, when the run starts).
    pub fn device_spec(&self) -> anyhow::Result<DeviceSpec> {
        Ok(self.device.parse()?)
    }
}
