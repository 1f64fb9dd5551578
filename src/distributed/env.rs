//! The torchrun environment contract: `RANK`, `WORLD_SIZE`, `LOCAL_RANK`, `MASTER_ADDR`,
//! `MASTER_PORT`, and `TORCHELASTIC_USE_AGENT_STORE=True` when torchrun's agent hosts the store
//! (else rank 0 does). `train --nproc N` sets the same variables for its own workers, so one code
//! path serves both, and `torchrun --nnodes` runs across machines.
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A c10d backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// On the host (CPU tensors; CUDA tensors pass through host copies).
    Gloo,
    /// GPU to GPU, one GPU per process.
    Nccl,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Gloo => "gloo",
            Backend::Nccl => "nccl",
        }
    }

    /// PyTorch's default: NCCL for CUDA, Gloo for the CPU.
    pub fn default_for(cuda: bool) -> Backend {
        if cuda {
            Backend::Nccl
        } else {
            Backend::Gloo
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = Error;

    fn from_str(s: &str) -> Result<Backend> {
        match s {
            "gloo" => Ok(Backend::Gloo),
            "nccl" => Ok(Backend::Nccl),
            _ => Err(Error::Config(format!(
                "--backend {s}: expected gloo or nccl"
            ))),
        }
    }
}

/// Where this process stands in a job, as its environment says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorldEnv {
    pub rank: usize,
    pub world: usize,
    pub local_rank: usize,
    pub master_addr: String,
    pub master_port: u16,
    /// torchrun's agent hosts the TCPStore (every rank is a client).
    pub agent_store: bool,
    /// torchrun's restart count: a fresh key space for each attempt.
    pub restart_count: u32,
    /// `GLOO_SOCKET_IFNAME`: the network interface Gloo binds to.
    pub interface: Option<String>,
}

impl WorldEnv {
    /// The job this process belongs to, or `None` when `RANK` and `WORLD_SIZE` are not set
    /// (a single process).
    pub fn from_env() -> Result<Option<WorldEnv>> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// As [`WorldEnv::from_env`], from any source of variables.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Option<WorldEnv>> {
        let (Some(rank), Some(world)) = (var("RANK"), var("WORLD_SIZE")) else {
            return Ok(None);
        };
        let number = |name: &str, value: &str| -> Result<usize> {
            value.trim().parse().map_err(|_| {
                Error::Config(format!(
                    "{name}={value:?}: not a non-negative integer (the torchrun contract)"
                ))
            })
        };
        let (rank, world) = (number("RANK", &rank)?, number("WORLD_SIZE", &world)?);
        if world == 0 || rank >= world {
            return Err(Error::Config(format!(
                "RANK={rank} with WORLD_SIZE={world}: the rank must be below the world size"
            )));
        }
        let local_rank = match var("LOCAL_RANK") {
            Some(v) => number("LOCAL_RANK", &v)?,
            None => rank,
        };
        let master_port = match var("MASTER_PORT") {
            Some(v) => v
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|&p| p > 0)
                .ok_or_else(|| {
                    Error::Config(format!("MASTER_PORT={v:?}: not a port number (1-65535)"))
                })?,
            None => 29500,
        };
        Ok(Some(WorldEnv {
            rank,
            world,
            local_rank,
            master_addr: var("MASTER_ADDR").unwrap_or_else(|| "127.0.0.1".to_string()),
            master_port,
            agent_store: var("TORCHELASTIC_USE_AGENT_STORE").as_deref() == Some("True"),
            restart_count: var("TORCHELASTIC_RESTART_COUNT")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            interface: var("GLOO_SOCKET_IFNAME").filter(|v| !v.is_empty()),
        }))
    }

    /// Whether this process hosts the TCPStore: rank 0, unless torchrun's agent does.
    pub fn hosts_store(&self) -> bool {
        self.rank == 0 && !self.agent_store
    }

    /// Whether the job lives on this machine's loopback (Gloo then binds to 127.0.0.1).
    pub fn is_loopback(&self) -> bool {
        self.master_addr == "localhost" || self.master_addr.starts_with("127.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Result<Option<WorldEnv>> {
        WorldEnv::from_vars(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn reads_torchruns_contract() {
        assert_eq!(env(&[]).unwrap(), None);
        let world = env(&[
            ("RANK", "1"),
            ("WORLD_SIZE", "2"),
            ("LOCAL_RANK", "1"),
            ("MASTER_ADDR", "127.0.0.1"),
            ("MASTER_PORT", "29511"),
            ("TORCHELASTIC_USE_AGENT_STORE", "True"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!((world.rank, world.world, world.master_port), (1, 2, 29511));
        assert!(world.agent_store && !world.hosts_store() && world.is_loopback());
    }

    #[test]
    fn bad_values_are_one_line_errors() {
        let rank = env(&[("RANK", "2"), ("WORLD_SIZE", "2")]).unwrap_err();
        assert!(rank.to_string().contains("below the world size"), "{rank}");
        let port = env(&[("RANK", "0"), ("WORLD_SIZE", "2"), ("MASTER_PORT", "70000")]);
        assert!(port.unwrap_err().to_string().contains("MASTER_PORT"));
        assert!(env(&[("RANK", "x"), ("WORLD_SIZE", "2")]).is_err());
    }
}
