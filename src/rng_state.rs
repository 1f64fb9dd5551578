//! The state of libtorch's global CPU generator — the one `tch::manual_seed`, `randperm` and
//! `Tensor::dropout` (at::dropout) draw from — as a tensor, so that a checkpoint can hold it and a
//! resume can put it back (`torch.get_rng_state()` / `torch.set_rng_state()` in Python). tch 0.24
//! exposes neither; `src/native/rng.cpp` (compiled by build.rs) does, catching every C++ exception.
use std::ffi::{c_char, c_int, CStr};

use tch::{Kind, Tensor};

use crate::error::{Error, Result};

/// Bytes in the state of libtorch 2.11's CPU generator (`CPUGeneratorImplState`: the mt19937
/// engine's 624 words and position plus the cached normal draws), as `torch.get_rng_state()`.
pub const CPU_RNG_STATE_BYTES: i64 = 5056;

extern "C" {
    fn tch_harness_cpu_rng_get_state(error: *mut *mut c_char) -> *mut torch_sys::C_tensor;
    fn tch_harness_cpu_rng_set_state(
        state: *const torch_sys::C_tensor,
        error: *mut *mut c_char,
    ) -> c_int;
    fn tch_harness_rng_free_error(error: *mut c_char);
}

/// A copy of the global CPU generator's state: a uint8 tensor of [`CPU_RNG_STATE_BYTES`] bytes.
pub fn cpu_rng_state() -> Result<Tensor> {
    let mut error = std::ptr::null_mut();
    // SAFETY: the shim returns a new `at::Tensor*` that we own, or null with `error` set.
    let ptr = unsafe { tch_harness_cpu_rng_get_state(&mut error) };
    if ptr.is_null() {
        return Err(shim_error("reading the CPU generator's state", error));
    }
    // SAFETY: torch-sys's C_tensor is an `at::Tensor*`; `from_ptr` takes ownership.
    Ok(unsafe { Tensor::from_ptr(ptr) })
}

/// Sets the global CPU generator's state from one [`cpu_rng_state`] returned (it must be on the
/// CPU, uint8, of [`CPU_RNG_STATE_BYTES`] bytes).
pub fn set_cpu_rng_state(state: &Tensor) -> Result<()> {
    check_state(state)?;
    set_unchecked(&state.f_contiguous()?)
}

/// The shim's set, with libtorch's own checks only.
fn set_unchecked(state: &Tensor) -> Result<()> {
    let mut error = std::ptr::null_mut();
    // SAFETY: `state` outlives the call; the shim neither keeps nor frees it.
    let status = unsafe { tch_harness_cpu_rng_set_state(state.as_ptr(), &mut error) };
    if status != 0 {
        return Err(shim_error("setting the CPU generator's state", error));
    }
    Ok(())
}

/// A saved generator state, checked: what a checkpoint holds (`rng.cpu`) and resume puts back.
pub struct CpuRngState(Tensor);

impl CpuRngState {
    /// The generator's state now.
    pub fn capture() -> Result<CpuRngState> {
        cpu_rng_state().map(CpuRngState)
    }

    /// A state read from a file; an error unless it has the shape of this libtorch's states.
    pub fn from_tensor(state: Tensor) -> Result<CpuRngState> {
        check_state(&state)?;
        Ok(CpuRngState(state))
    }

    /// Puts the generator back to this state.
    pub fn restore(&self) -> Result<()> {
        set_cpu_rng_state(&self.0)
    }

    pub fn tensor(&self) -> &Tensor {
        &self.0
    }
}

impl Clone for CpuRngState {
    fn clone(&self) -> Self {
        CpuRngState(self.0.copy())
    }
}

impl PartialEq for CpuRngState {
    fn eq(&self, other: &Self) -> bool {
        self.0.equal(&other.0)
    }
}

impl std::fmt::Debug for CpuRngState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CpuRngState({} bytes)", self.0.numel())
    }
}

/// An error unless `state` looks like a CPU generator state of this libtorch.
fn check_state(state: &Tensor) -> Result<()> {
    let size = state.size();
    if state.kind() != Kind::Uint8 || state.device() != tch::Device::Cpu || size.len() != 1 {
        return Err(Error::Data(format!(
            "not a CPU generator state: expected a 1-d uint8 CPU tensor, got {:?} {size:?} on {:?}",
            state.kind(),
            state.device()
        )));
    }
    if size[0] != CPU_RNG_STATE_BYTES {
        return Err(Error::Data(format!(
            "not a CPU generator state of this libtorch: {} bytes, expected {CPU_RNG_STATE_BYTES}",
            size[0]
        )));
    }
    Ok(())
}

/// The shim's message (one line, without a C++ backtrace), freeing it.
fn shim_error(what: &str, error: *mut c_char) -> Error {
    Error::Config(format!("{what} failed: {}", shim_message(error)))
}

/// The first line of a message a C++ shim (`src/native/guard.h`) malloc'd, freeing it.
pub(crate) fn shim_message(error: *mut c_char) -> String {
    if error.is_null() {
        return "unknown error".to_string();
    }
    // SAFETY: a NUL-terminated string the shim malloc'd; freed once, here.
    let message = unsafe { CStr::from_ptr(error) }
        .to_string_lossy()
        .into_owned();
    unsafe { tch_harness_rng_free_error(error) };
    message
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unit tests run on several threads: these draw from the one global generator.
    fn lock() -> std::sync::MutexGuard<'static, ()> {
        static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
        LOCK.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn draws() -> Tensor {
        let cpu = (Kind::Float, tch::Device::Cpu);
        let uniform = Tensor::rand([64], cpu);
        let normal = Tensor::randn([7], cpu); // an odd count leaves a cached normal draw
        let mask = Tensor::ones([256], cpu).dropout(0.5, true);
        let order = Tensor::randperm(50, (Kind::Int64, tch::Device::Cpu)).to_kind(Kind::Float);
        Tensor::cat(&[uniform, normal, mask, order], 0)
    }

    #[test]
    fn restoring_the_state_replays_the_same_draws() {
        let _rng = lock();
        tch::manual_seed(123);
        let _ = draws();
        let state = cpu_rng_state().unwrap();
        assert_eq!(state.kind(), Kind::Uint8);
        assert_eq!(state.size(), [CPU_RNG_STATE_BYTES]);
        let first = draws();
        set_cpu_rng_state(&state).unwrap();
        let again = draws();
        assert!(first.equal(&again), "the draws after a restore differ");
        assert!(!first.equal(&draws()), "the generator did not move on");
        // A state is a copy: drawing did not change it.
        assert!(state.equal(&{
            set_cpu_rng_state(&state).unwrap();
            cpu_rng_state().unwrap()
        }));
    }

    #[test]
    fn a_corrupt_state_is_a_one_line_error() {
        let _rng = lock();
        let before = cpu_rng_state().unwrap();
        let cpu = tch::Device::Cpu;
        let cases = [
            Tensor::zeros([CPU_RNG_STATE_BYTES - 8], (Kind::Uint8, cpu)),
            Tensor::zeros([CPU_RNG_STATE_BYTES], (Kind::Float, cpu)),
            Tensor::zeros([2, CPU_RNG_STATE_BYTES / 2], (Kind::Uint8, cpu)),
        ];
        for bad in &cases {
            let err = set_cpu_rng_state(bad).unwrap_err().to_string();
            assert!(err.contains("not a CPU generator state"), "{err}");
            assert_eq!(err.lines().count(), 1, "{err}");
        }
        assert!(
            cpu_rng_state().unwrap().equal(&before),
            "a refused state changed it"
        );
        // libtorch's own checks throw: the shim hands the exception back as a message.
        let err = set_unchecked(&cases[0]).unwrap_err().to_string();
        assert!(
            err.starts_with("setting the CPU generator's state failed: "),
            "{err}"
        );
        assert!(err.contains("RNG state") || err.contains("size"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(cpu_rng_state().unwrap().equal(&before));
    }
}
