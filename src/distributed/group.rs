//! A c10d process group (libtorch's own, the one under `torch.distributed`), through the shim in
//! `src/native/c10d.cpp`: join, broadcast, all-reduce. Every collective blocks until done and
//! fails with the backend's message, within the group's timeout, when another rank is gone.
use std::ffi::{c_char, CString};
use std::ptr::NonNull;
use std::time::Duration;

use tch::{Device, Kind, Tensor};

use super::env::{Backend, WorldEnv};
use crate::error::{Error, Result};
use crate::rng_state::shim_message;
use crate::tally::Reduce;

#[repr(C)]
pub(super) struct RawGroup {
    _private: [u8; 0],
}

extern "C" {
    fn tch_harness_c10d_has_nccl() -> i32;
    #[allow(clippy::too_many_arguments)]
    fn tch_harness_c10d_new(
        backend: *const c_char,
        host: *const c_char,
        port: i32,
        rank: i32,
        world: i32,
        host_store: i32,
        timeout_ms: i64,
        prefix: *const c_char,
        bind: *const c_char,
        interface: *const c_char,
        error: *mut *mut c_char,
    ) -> *mut RawGroup;
    fn tch_harness_c10d_broadcast(
        group: *mut RawGroup,
        tensors: *const *mut torch_sys::C_tensor,
        n: i32,
        root: i32,
        error: *mut *mut c_char,
    ) -> i32;
    fn tch_harness_c10d_allreduce(
        group: *mut RawGroup,
        tensor: *mut torch_sys::C_tensor,
        op: i32,
        error: *mut *mut c_char,
    ) -> i32;
    fn tch_harness_c10d_barrier(group: *mut RawGroup, error: *mut *mut c_char) -> i32;
    fn tch_harness_c10d_free(group: *mut RawGroup);
}

/// Whether this build has the NCCL backend (it needs the CUDA and NCCL headers at build time).
pub fn has_nccl() -> bool {
    // SAFETY: no arguments, no state.
    unsafe { tch_harness_c10d_has_nccl() != 0 }
}

/// How values combine in an all-reduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReduceOp {
    Sum = 0,
    Max = 1,
    Min = 2,
}

/// This process's membership of a group of `world` processes.
pub struct ProcessGroup {
    raw: NonNull<RawGroup>,
    pub rank: usize,
    pub world: usize,
    /// Its index among the ranks of its machine (its GPU with NCCL).
    pub local_rank: usize,
    pub backend: Backend,
}

// SAFETY: c10d backends are used from one thread at a time here; the handle moves, not shares.
unsafe impl Send for ProcessGroup {}

impl ProcessGroup {
    /// Joins the group `env` describes; returns once every rank has joined, or fails after
    /// `timeout`.
    pub fn join(env: &WorldEnv, backend: Backend, timeout: Duration) -> Result<ProcessGroup> {
        let text = |s: &str| {
            CString::new(s).map_err(|_| Error::Distributed(format!("a NUL byte in {s:?}")))
        };
        let (name, host) = (text(backend.name())?, text(&env.master_addr)?);
        let prefix = text(&format!("tch-harness/{}", env.restart_count))?;
        let bind = text(if env.is_loopback() { "127.0.0.1" } else { "" })?;
        let interface = text(env.interface.as_deref().unwrap_or(""))?;
        let mut error = std::ptr::null_mut();
        // SAFETY: every pointer is a live NUL-terminated string; the shim copies what it keeps.
        let raw = unsafe {
            tch_harness_c10d_new(
                name.as_ptr(),
                host.as_ptr(),
                i32::from(env.master_port),
                env.rank as i32,
                env.world as i32,
                i32::from(env.hosts_store()),
                timeout.as_millis().min(i64::MAX as u128) as i64,
                prefix.as_ptr(),
                bind.as_ptr(),
                interface.as_ptr(),
                &mut error,
            )
        };
        let raw = NonNull::new(raw).ok_or_else(|| {
            Error::Distributed(format!(
                "cannot join the {} group of {} processes at {}:{}: {}",
                backend.name(),
                env.world,
                env.master_addr,
                env.master_port,
                shim_message(error)
            ))
        })?;
        Ok(ProcessGroup {
            raw,
            rank: env.rank,
            world: env.world,
            local_rank: env.local_rank,
            backend,
        })
    }

    /// Replaces each tensor's values by rank `root`'s (the initial parameters of DDP).
    pub fn broadcast(&self, tensors: &[Tensor], root: usize) -> Result<()> {
        let staged = tensors
            .iter()
            .map(|t| self.staged(t))
            .collect::<Result<Vec<_>>>()?;
        let ptrs: Vec<_> = staged.iter().map(|t| t.as_ptr() as *mut _).collect();
        let mut error = std::ptr::null_mut();
        // SAFETY: the tensors outlive the call; the shim only reads the pointers.
        let rc = unsafe {
            tch_harness_c10d_broadcast(
                self.raw.as_ptr(),
                ptrs.as_ptr(),
                ptrs.len() as i32,
                root as i32,
                &mut error,
            )
        };
        self.check(rc, "broadcast", error)?;
        for (tensor, staged) in tensors.iter().zip(&staged) {
            if tensor.device() != staged.device() {
                tch::no_grad(|| tensor.shallow_clone().f_copy_(staged))?;
            }
        }
        Ok(())
    }

    /// Reduces `tensor` in place over every rank: one collective.
    pub fn all_reduce(&self, tensor: &Tensor, op: ReduceOp) -> Result<()> {
        let staged = self.staged(tensor)?;
        let mut error = std::ptr::null_mut();
        // SAFETY: `staged` is a live tensor for the whole call.
        let rc = unsafe {
            tch_harness_c10d_allreduce(
                self.raw.as_ptr(),
                staged.as_ptr() as *mut _,
                op as i32,
                &mut error,
            )
        };
        self.check(rc, "all-reduce", error)?;
        if staged.device() != tensor.device() {
            tch::no_grad(|| tensor.shallow_clone().f_copy_(&staged))?;
        }
        Ok(())
    }

    /// Reduces host values over every rank (one collective of a float64 tensor).
    pub fn all_reduce_f64(&self, values: &mut [f64], op: ReduceOp) -> Result<()> {
        let tensor = Tensor::from_slice(values).to_kind(Kind::Double);
        let tensor = match self.backend {
            Backend::Nccl => tensor.f_to_device(Device::Cuda(self.local_rank))?,
            Backend::Gloo => tensor,
        };
        self.all_reduce(&tensor, op)?;
        let reduced = Vec::<f64>::try_from(tensor.f_to_device(Device::Cpu)?)?;
        values.copy_from_slice(&reduced);
        Ok(())
    }

    /// The shim's handle, for the other shims on this group (SyncBatchNorm).
    pub(super) fn raw(&self) -> *mut RawGroup {
        self.raw.as_ptr()
    }

    /// Waits for every rank.
    pub fn barrier(&self) -> Result<()> {
        let mut error = std::ptr::null_mut();
        // SAFETY: the group is live.
        let rc = unsafe { tch_harness_c10d_barrier(self.raw.as_ptr(), &mut error) };
        self.check(rc, "barrier", error)
    }

    /// The tensor a collective runs on: itself, or a host copy of a CUDA tensor for Gloo (which
    /// reduces on the host either way).
    fn staged(&self, tensor: &Tensor) -> Result<Tensor> {
        Ok(match (self.backend, tensor.device()) {
            (Backend::Gloo, Device::Cuda(_)) => tensor.f_to_device(Device::Cpu)?,
            _ => tensor.shallow_clone(),
        })
    }

    fn check(&self, rc: i32, what: &str, error: *mut c_char) -> Result<()> {
        collective_result(rc, what, self.world, error)
    }
}

/// The result of a collective over `world` processes that the shim returned as `rc` and `error`.
pub(super) fn collective_result(
    rc: i32,
    what: &str,
    world: usize,
    error: *mut c_char,
) -> Result<()> {
    if rc == 0 {
        return Ok(());
    }
    Err(Error::Distributed(format!(
        "{what} over {world} processes failed (another rank stopped or is unreachable): {}",
        shim_message(error)
    )))
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        // SAFETY: made by tch_harness_c10d_new, freed once.
        unsafe { tch_harness_c10d_free(self.raw.as_ptr()) }
    }
}

impl Reduce for ProcessGroup {
    fn world_size(&self) -> usize {
        self.world
    }

    fn rank(&self) -> usize {
        self.rank
    }

    fn sum_f64(&self, values: &mut [f64]) -> Result<()> {
        self.all_reduce_f64(values, ReduceOp::Sum)
    }
}
