//! The process-wide switches PyTorch users set before training — `torch.backends.cudnn`'s
//! `deterministic`, `benchmark` and `allow_tf32`, `torch.use_deterministic_algorithms` and
//! `torch.set_float32_matmul_precision` — with PyTorch 2.11's defaults. tch binds none of them
//! but cuDNN's benchmark flag: `src/native/backends.cpp` sets them on at::globalContext() through
//! the functions Python's bindings call, and reads them back ([`state`]) for config.json.
use std::ffi::{c_char, c_int, CString};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::names::named_enum;
use crate::rng_state::shim_message;

extern "C" {
    fn tch_harness_backends_set(
        deterministic: c_int,
        benchmark: c_int,
        allow_tf32: c_int,
        matmul_precision: *const c_char,
        error: *mut *mut c_char,
    ) -> c_int;
    fn tch_harness_backends_get(
        deterministic_algorithms: *mut c_int,
        warn_only: *mut c_int,
        cudnn_deterministic: *mut c_int,
        cudnn_benchmark: *mut c_int,
        allow_tf32: *mut c_int,
        matmul_precision: *mut c_int,
        error: *mut *mut c_char,
    ) -> c_int;
}

named_enum! {
    /// `torch.set_float32_matmul_precision`: float32 matmuls in float32 (`highest`, PyTorch's
    /// default), or on TF32 tensor cores (`high`, `medium`) where the GPU has them.
    #[derive(Default)]
    pub enum MatmulPrecision: "invalid --float32-matmul-precision" {
        #[default]
        Highest = "highest",
        High = "high",
        Medium = "medium",
    }
}

/// cuBLAS's deterministic workspace (PyTorch's reproducibility notes); read by libtorch when
/// CUDA starts, so it is set before that, and a value the user set is kept.
pub const CUBLAS_WORKSPACE_CONFIG: &str = "CUBLAS_WORKSPACE_CONFIG";
const DETERMINISTIC_WORKSPACE: &str = ":4096:8";

/// The switches a run sets (config.json's `deterministic`, `cudnn_benchmark`,
/// `cudnn_allow_tf32`, `float32_matmul_precision`). `Default` is PyTorch 2.11's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backends {
    /// cuDNN deterministic, cuDNN benchmark off, `use_deterministic_algorithms(True)` (an op
    /// without a deterministic kernel is an error), and cuBLAS's deterministic workspace.
    pub deterministic: bool,
    /// `torch.backends.cudnn.benchmark`: pick convolution kernels by timing them.
    pub cudnn_benchmark: bool,
    /// `torch.backends.cudnn.allow_tf32`: TF32 in cuDNN convolutions (PyTorch: on).
    pub cudnn_allow_tf32: bool,
    /// `torch.set_float32_matmul_precision`.
    pub float32_matmul_precision: MatmulPrecision,
}

/// PyTorch 2.11's own defaults (`torch.backends.cudnn`, `torch.get_float32_matmul_precision()`);
/// tests/harness/backends.rs reads them from PyTorch and holds this equal.
pub const PYTORCH_DEFAULTS: Backends = Backends {
    deterministic: false,
    cudnn_benchmark: false,
    cudnn_allow_tf32: true,
    float32_matmul_precision: MatmulPrecision::Highest,
};

impl Default for Backends {
    fn default() -> Self {
        PYTORCH_DEFAULTS
    }
}

impl Backends {
    /// An error for switches that contradict each other.
    pub fn check(&self) -> Result<()> {
        if self.deterministic && self.cudnn_benchmark {
            return Err(Error::Config(
                "--cudnn-benchmark picks cuDNN kernels by timing them, which --deterministic rules \
                 out: turn one off (compare and --trace turn --deterministic on unless given \
                 --deterministic false)"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// Sets the switches for this process: the cuBLAS workspace variable first (deterministic only,
/// the user's own value kept), then at::globalContext(). Call before any CUDA work.
pub fn apply(backends: &Backends) -> Result<()> {
    backends.check()?;
    if backends.deterministic && std::env::var_os(CUBLAS_WORKSPACE_CONFIG).is_none() {
        std::env::set_var(CUBLAS_WORKSPACE_CONFIG, DETERMINISTIC_WORKSPACE);
    }
    let precision =
        CString::new(backends.float32_matmul_precision.name()).expect("a name without NUL");
    let mut error = std::ptr::null_mut();
    // SAFETY: plain values and a NUL-terminated string in; no C++ exception crosses.
    let status = unsafe {
        tch_harness_backends_set(
            backends.deterministic.into(),
            backends.cudnn_benchmark.into(),
            backends.cudnn_allow_tf32.into(),
            precision.as_ptr(),
            &mut error,
        )
    };
    if status != 0 {
        return Err(Error::Device(format!(
            "setting torch.backends: {}",
            shim_message(error)
        )));
    }
    Ok(())
}

/// What at::globalContext() and the environment hold now, as config.json's `backends` records
/// it (the reference records the same keys from Python's getters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackendsState {
    /// `torch.are_deterministic_algorithms_enabled()`.
    pub deterministic_algorithms: bool,
    /// `torch.is_deterministic_algorithms_warn_only_enabled()`.
    pub deterministic_warn_only: bool,
    pub cudnn_deterministic: bool,
    pub cudnn_benchmark: bool,
    pub cudnn_allow_tf32: bool,
    pub float32_matmul_precision: MatmulPrecision,
    /// `CUBLAS_WORKSPACE_CONFIG` in this process's environment.
    pub cublas_workspace_config: Option<String>,
}

/// Reads the switches back from at::globalContext().
pub fn state() -> Result<BackendsState> {
    let mut flags: [c_int; 6] = [0; 6];
    let mut error = std::ptr::null_mut();
    let [a, b, c, d, e, f] = &mut flags;
    // SAFETY: six out-pointers to locals; no C++ exception crosses.
    let status = unsafe { tch_harness_backends_get(a, b, c, d, e, f, &mut error) };
    if status != 0 {
        return Err(Error::Device(format!(
            "reading torch.backends: {}",
            shim_message(error)
        )));
    }
    let precision = match flags[5] {
        0 => MatmulPrecision::Highest,
        1 => MatmulPrecision::High,
        2 => MatmulPrecision::Medium,
        other => {
            return Err(Error::Device(format!(
                "unknown float32 matmul precision {other} in libtorch"
            )))
        }
    };
    Ok(BackendsState {
        deterministic_algorithms: flags[0] != 0,
        deterministic_warn_only: flags[1] != 0,
        cudnn_deterministic: flags[2] != 0,
        cudnn_benchmark: flags[3] != 0,
        cudnn_allow_tf32: flags[4] != 0,
        float32_matmul_precision: precision,
        cublas_workspace_config: std::env::var(CUBLAS_WORKSPACE_CONFIG).ok(),
    })
}

#[cfg(test)]
#[path = "backends_tests.rs"]
mod tests;
