//! Where a command runs: `--device auto|cpu|cuda|cuda:N`, resolved against what libtorch can see,
//! `--threads`, and the `torch.backends` switches (`backends.rs`). All are applied once per
//! command, by [`init`], before anything is built; from then on the device travels in the run's
//! context. Asking for CUDA where there is none is an error, never a silent fall back to the
//! CPU.
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tch::{Cuda, Device};

use crate::backends::Backends;
use crate::error::{Error, Result};

/// A device as the user names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum DeviceSpec {
    /// CUDA device 0 when available, else the CPU.
    Auto,
    Cpu,
    /// `cuda` is `cuda:0`.
    Cuda(usize),
}

impl DeviceSpec {
    /// The device to run on; an error when CUDA is asked for and missing.
    pub fn resolve(self) -> Result<Device> {
        match self {
            DeviceSpec::Cpu => Ok(Device::Cpu),
            DeviceSpec::Auto => Ok(if Cuda::is_available() {
                Device::Cuda(0)
            } else {
                Device::Cpu
            }),
            DeviceSpec::Cuda(index) => {
                if !Cuda::is_available() {
                    return Err(Error::Device(format!(
                        "--device {self}: CUDA is not available (libtorch sees no GPU; see README, \"CUDA\")"
                    )));
                }
                let count = Cuda::device_count() as usize;
                if index >= count {
                    return Err(Error::Device(format!(
                        "--device {self}: only {count} CUDA device(s) are visible"
                    )));
                }
                Ok(Device::Cuda(index))
            }
        }
    }
}

/// Applies `threads` and the `torch.backends` switches to libtorch and resolves `device`: the one
/// place a command does any of them. The switches come first: the cuBLAS workspace variable must
/// be set before CUDA starts.
pub fn init(device: DeviceSpec, threads: Option<i32>, backends: &Backends) -> Result<Device> {
    init_threads(threads)?;
    crate::backends::apply(backends)?;
    device.resolve()
}

/// Applies `threads` to libtorch (for an experiment whose tensors are already on their device),
/// and the allocator settings a training process wants (`allocator`).
pub fn init_threads(threads: Option<i32>) -> Result<()> {
    crate::allocator::keep_freed_memory();
    if let Some(n) = threads {
        check_threads(n)?;
        tch::set_num_threads(n);
    }
    Ok(())
}

/// Threads per core beyond which a run only thrashes (and, far beyond, never finishes).
const MAX_THREADS_PER_CORE: usize = 8;

/// An error naming `--threads` unless it is at least 1 and within what this machine can run.
pub fn check_threads(threads: i32) -> Result<()> {
    if threads < 1 {
        return Err(Error::Config(format!(
            "--threads must be at least 1, got {threads}"
        )));
    }
    check_workload(1, threads as usize)
}

/// An error unless `processes` × `threads` stay within [`MAX_THREADS_PER_CORE`] per core.
pub fn check_workload(processes: usize, threads: usize) -> Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let limit = cores * MAX_THREADS_PER_CORE;
    let total = processes.saturating_mul(threads);
    if total <= limit {
        return Ok(());
    }
    let asked = match processes {
        1 => format!("--threads {threads}"),
        _ => format!("--nproc {processes} × {threads} thread(s) each"),
    };
    Err(Error::Config(format!(
        "{asked} is far more than this machine's {cores} core(s) can run (at most {limit} threads in all, {MAX_THREADS_PER_CORE} per core)"
    )))
}

/// How a resolved device is written in config.json and reports (`cpu`, `cuda:0`).
pub fn device_name(device: Device) -> String {
    match device {
        Device::Cuda(i) => format!("cuda:{i}"),
        _ => "cpu".to_string(),
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSpec::Auto => f.write_str("auto"),
            DeviceSpec::Cpu => f.write_str("cpu"),
            DeviceSpec::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

impl FromStr for DeviceSpec {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::Config(format!(
                "invalid device '{s}' (expected auto, cpu, cuda or cuda:N)"
            ))
        };
        match s {
            "auto" => Ok(DeviceSpec::Auto),
            "cpu" => Ok(DeviceSpec::Cpu),
            "cuda" => Ok(DeviceSpec::Cuda(0)),
            _ => {
                let index = s.strip_prefix("cuda:").ok_or_else(bad)?;
                index.parse().map(DeviceSpec::Cuda).map_err(|_| bad())
            }
        }
    }
}

impl TryFrom<String> for DeviceSpec {
    type Error = Error;

    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<DeviceSpec> for String {
    fn from(d: DeviceSpec) -> String {
        d.to_string()
    }
}
