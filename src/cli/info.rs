//! `tch-harness info`: what this binary runs on, as `key: value` lines (scripts grep them).
use std::process::ExitCode;

use clap::Args;
use tch::Cuda;
use tch_harness::run::{LIBTORCH_VERSION, TCH_VERSION};

use super::backend_args::BackendArgs;

/// Versions, CUDA and threads as libtorch sees them here; the `torch.backends` switches as
/// libtorch reads them back after setting them as `train` would with the same flags.
#[derive(Debug, Clone, Args)]
pub struct InfoArgs {
    #[command(flatten)]
    pub backends: BackendArgs,
}

impl InfoArgs {
    /// Prints one `key: value` line per fact.
    pub fn run(&self) -> anyhow::Result<ExitCode> {
        tch_harness::backends::apply(&self.backends.to_backends(false)?)?;
        let cuda = Cuda::is_available();
        println!("tch: {TCH_VERSION}");
        println!("libtorch: {LIBTORCH_VERSION} (built against)");
        println!("cuda_available: {cuda}");
        println!(
            "cuda_devices: {}",
            if cuda { Cuda::device_count() } else { 0 }
        );
        println!("cudnn_available: {}", cuda && Cuda::cudnn_is_available());
        println!("threads: {}", tch::get_num_threads());
        let nccl = tch_harness::distributed::has_nccl();
        println!("c10d_backends: gloo{}", if nccl { ", nccl" } else { "" });
        // config.json's `backends`, one line per key (`null`: not set).
        let state = serde_json::to_value(tch_harness::backends::state()?)?;
        for (key, value) in state.as_object().into_iter().flatten() {
            match value {
                serde_json::Value::String(text) => println!("{key}: {text}"),
                other => println!("{key}: {other}"),
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
