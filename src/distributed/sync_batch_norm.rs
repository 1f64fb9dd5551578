//! SyncBatchNorm: while a [`SyncBatchNorm`] scope is open, every batch-norm layer in training mode
//! normalises with the statistics of the whole global batch, every rank's rows together, as
//! `torch.nn.SyncBatchNorm` (`convert_sync_batchnorm`) does; its running statistics are updated
//! alike on every rank. The autograd function is C++ (`src/native/sync_batch_norm.cpp`): its
//! forward all-gathers each rank's (mean, invstd, count), its backward all-reduces
//! (sum_dy, sum_dy_xmu), so every rank must run both for every batch, rows or not.
use std::cell::RefCell;
use std::ffi::c_char;
use std::rc::Rc;

use tch::Tensor;

use super::group::{ProcessGroup, RawGroup};
use crate::error::{Error, Result};
use crate::rng_state::shim_message;

extern "C" {
    #[allow(clippy::too_many_arguments)]
    fn tch_harness_sync_batch_norm(
        group: *mut RawGroup,
        input: *const torch_sys::C_tensor,
        weight: *const torch_sys::C_tensor,
        bias: *const torch_sys::C_tensor,
        running_mean: *const torch_sys::C_tensor,
        running_var: *const torch_sys::C_tensor,
        eps: f64,
        momentum: f64,
        error: *mut *mut c_char,
    ) -> *mut torch_sys::C_tensor;
}

thread_local! {
    static GROUP: RefCell<Option<Rc<ProcessGroup>>> = const { RefCell::new(None) };
}

/// The scope of synchronised batch norm over a group; closed when dropped.
pub struct SyncBatchNorm {
    before: Option<Rc<ProcessGroup>>,
}

impl SyncBatchNorm {
    /// Opens the scope on this thread (a group of one changes nothing: PyTorch's
    /// SyncBatchNorm falls back to plain batch norm there too).
    pub fn enter(group: Rc<ProcessGroup>) -> SyncBatchNorm {
        let group = (group.world > 1).then_some(group);
        SyncBatchNorm {
            before: GROUP.with(|g| g.replace(group)),
        }
    }

    /// Whether batch norm is synchronised on this thread now.
    pub fn active() -> bool {
        GROUP.with(|g| g.borrow().is_some())
    }
}

impl Drop for SyncBatchNorm {
    fn drop(&mut self) {
        GROUP.with(|g| *g.borrow_mut() = self.before.take());
    }
}

/// Arguments of one synchronised batch-norm forward (those of `sync_batch_norm.apply`).
pub struct SyncBatchNormArgs<'a> {
    pub weight: Option<&'a Tensor>,
    pub bias: Option<&'a Tensor>,
    pub running_mean: Option<&'a Tensor>,
    pub running_var: Option<&'a Tensor>,
    pub eps: f64,
    /// The running statistics' update factor (`exponential_average_factor`).
    pub momentum: f64,
}

/// The forward of `xs` ([N, C, …], N may be 0) over the open scope's group; `None` when no scope
/// is open (plain batch norm then).
pub fn sync_batch_norm(xs: &Tensor, args: &SyncBatchNormArgs) -> Result<Option<Tensor>> {
    let Some(group) = GROUP.with(|g| g.borrow().clone()) else {
        return Ok(None);
    };
    let ptr = |t: Option<&Tensor>| t.map_or(std::ptr::null(), |t| t.as_ptr());
    let mut error = std::ptr::null_mut();
    // SAFETY: every tensor outlives the call; the shim returns a new tensor the caller owns.
    let out = unsafe {
        tch_harness_sync_batch_norm(
            group.raw(),
            xs.as_ptr(),
            ptr(args.weight),
            ptr(args.bias),
            ptr(args.running_mean),
            ptr(args.running_var),
            args.eps,
            args.momentum,
            &mut error,
        )
    };
    if out.is_null() {
        return Err(Error::Distributed(format!(
            "SyncBatchNorm over {} processes failed (another rank stopped or is unreachable): {}",
            group.world,
            shim_message(error)
        )));
    }
    // SAFETY: a tensor the shim allocated with `new`, owned from here.
    Ok(Some(unsafe { Tensor::from_ptr(out) }))
}
