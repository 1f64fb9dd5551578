//! Flags of a data-parallel run: `--nproc` here, or the torchrun variables, name the job.
use std::ffi::OsString;
use std::time::Duration;

use clap::Args;
use tch_harness::distributed::{launch, Backend, LaunchPlan, WorldEnv};
use tch_harness::run::{DistConfig, StopFlag};

/// More than one process.
#[derive(Debug, Clone, Args)]
pub struct DistArgs {
    /// Train with N processes on this machine, data-parallel over libtorch's c10d on 127.0.0.1:
    /// each takes its rows of every batch, the gradients are summed once per step, and the
    /// numbers are one process's (see README, "More than one process"). Under torchrun, the
    /// job comes from its variables instead.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub nproc: Option<i64>,
    /// The c10d backend: gloo or nccl [default: nccl on CUDA, gloo on the CPU].
    #[arg(long)]
    pub backend: Option<String>,
    /// How long joining the group, and each collective, may wait for the other processes.
    #[arg(
        long,
        default_value_t = 300.0,
        value_name = "SECONDS",
        allow_negative_numbers = true
    )]
    pub dist_timeout: f64,
    /// The port of --nproc's rendezvous store on 127.0.0.1 [default: a free one].
    #[arg(long, value_name = "PORT")]
    pub master_port: Option<u16>,
}

/// The flags' ids (`check_resume_alone` lets them through).
pub const DIST_FLAGS: [&str; 4] = ["nproc", "backend", "dist_timeout", "master_port"];

impl DistArgs {
    /// How a rank joins its group.
    pub fn config(&self) -> anyhow::Result<DistConfig> {
        if !(self.dist_timeout.is_finite() && self.dist_timeout > 0.0) {
            anyhow::bail!(
                "--dist-timeout must be a positive number of seconds, got {}",
                self.dist_timeout
            );
        }
        Ok(DistConfig {
            backend: self
                .backend
                .as_deref()
                .map(str::parse::<Backend>)
                .transpose()?,
            // `try_`: 1e300 seconds is finite and positive but no Duration (a panic otherwise).
            timeout: Duration::try_from_secs_f64(self.dist_timeout).map_err(|_| {
                anyhow::anyhow!(
                    "--dist-timeout {:e} is out of range (at most {} seconds)",
                    self.dist_timeout,
                    Duration::MAX.as_secs()
                )
            })?,
        })
    }

    /// The processes asked for: `--nproc` (at least 1, and a world size under torchrun must match).
    pub fn nproc(&self, world: Option<&WorldEnv>) -> anyhow::Result<usize> {
        let Some(n) = self.nproc else {
            return Ok(world.map_or(1, |w| w.world));
        };
        if n < 1 {
            anyhow::bail!("--nproc must be at least 1, got {n}");
        }
        if let Some(world) = world.filter(|w| w.world != n as usize) {
            anyhow::bail!(
                "--nproc {n} but the job's WORLD_SIZE is {} (torchrun names the processes; drop --nproc)",
                world.world
            );
        }
        Ok(n as usize)
    }

    /// Starts `nproc` workers of this command line and waits for them; their exit status.
    pub fn launch(
        &self,
        nproc: usize,
        threads: Option<i32>,
        stop: &StopFlag,
    ) -> anyhow::Result<u8> {
        tch_harness::check_workload(nproc, threads.unwrap_or(1).max(1) as usize)?;
        let plan = LaunchPlan {
            nproc,
            master_port: self.master_port,
            args: std::env::args_os().skip(1).collect::<Vec<OsString>>(),
        };
        Ok(launch(&plan, stop)?)
    }
}
