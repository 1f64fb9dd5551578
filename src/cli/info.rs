//! `tch-harness info`: what this binary runs on, as `key: value` lines (scripts grep them).
use std::process::ExitCode;

use clap::Args;
use tch::Cuda;
use tch_harness::run::{LIBTORCH_VERSION, TCH_VERSION};

/// Versions, CUDA and threads as libtorch sees them here.
#[derive(Debug, Clone, Args)]
pub struct InfoArgs {}

impl InfoArgs {
    /// Prints one `key: value` line per fact.
    pub fn run(&self) -> anyhow::Result<ExitCode> {
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
        Ok(ExitCode::SUCCESS)
    }
}
