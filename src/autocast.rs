//! `torch.autocast(device.type, dtype=…)` for any device libtorch autocasts on (the CPU and
//! CUDA), which tch 0.24's `tch::autocast` is not: it switches CUDA's flag only, without a
//! dtype. `src/native/autocast.cpp` (compiled by build.rs) sets the thread-local state as
//! Python's `__enter__`/`__exit__` do; [`AutocastGuard`] puts the previous state back when it is
//! dropped, so an error or a panic inside the region cannot leave autocast on.
use std::ffi::{c_char, c_int};

use tch::{Device, Kind, Tensor};

use crate::config::Precision;
use crate::error::{Error, Result};
use crate::rng_state::shim_message;

extern "C" {
    fn tch_harness_autocast_enter(
        device_type: c_int,
        dtype: c_int,
        prev_enabled: *mut c_int,
        prev_dtype: *mut c_int,
        error: *mut *mut c_char,
    ) -> c_int;
    fn tch_harness_autocast_exit(
        device_type: c_int,
        prev_enabled: c_int,
        prev_dtype: c_int,
        error: *mut *mut c_char,
    ) -> c_int;
    fn tch_harness_autocast_state(
        device_type: c_int,
        enabled: *mut c_int,
        dtype: *mut c_int,
        error: *mut *mut c_char,
    ) -> c_int;
}

/// c10::DeviceType's value for a tch device (c10/core/DeviceType.h).
fn device_type(device: Device) -> c_int {
    match device {
        Device::Cpu => 0,
        Device::Cuda(_) => 1,
        Device::Vulkan => 10,
        Device::Mps => 13,
    }
}

/// The c10::ScalarType values autocast uses (c10/core/ScalarType.h; tch keeps its own private).
const SCALAR_TYPES: &[(Kind, c_int)] = &[
    (Kind::Half, 5),
    (Kind::Float, 6),
    (Kind::Double, 7),
    (Kind::BFloat16, 15),
];

fn scalar_type(kind: Kind) -> Result<c_int> {
    SCALAR_TYPES
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, code)| *code)
        .ok_or_else(|| Error::Config(format!("autocast cannot cast to {kind:?}")))
}

/// An autocast region: entered by [`AutocastGuard::enter`], left (the state before it put back)
/// when dropped.
#[must_use = "the region ends when the guard is dropped"]
pub struct AutocastGuard {
    device_type: c_int,
    prev_enabled: c_int,
    prev_dtype: c_int,
}

impl AutocastGuard {
    /// `torch.autocast(device.type, dtype=kind).__enter__()` on this thread.
    pub fn enter(device: Device, kind: Kind) -> Result<AutocastGuard> {
        let (device_type, dtype) = (device_type(device), scalar_type(kind)?);
        let (mut prev_enabled, mut prev_dtype, mut error) = (0, 0, std::ptr::null_mut());
        // SAFETY: plain values in, three out-pointers to locals; no C++ exception crosses.
        let status = unsafe {
            tch_harness_autocast_enter(
                device_type,
                dtype,
                &mut prev_enabled,
                &mut prev_dtype,
                &mut error,
            )
        };
        if status != 0 {
            return Err(Error::Device(format!(
                "autocast on {device:?}: {}",
                shim_message(error)
            )));
        }
        Ok(AutocastGuard {
            device_type,
            prev_enabled,
            prev_dtype,
        })
    }

    /// The region `precision` asks for on `device`; `None` (no region) for `32`.
    pub fn for_precision(precision: Precision, device: Device) -> Result<Option<AutocastGuard>> {
        precision
            .autocast_kind()
            .map(|kind| AutocastGuard::enter(device, kind))
            .transpose()
    }
}

impl Drop for AutocastGuard {
    /// `__exit__`: the cast cache cleared when the outermost region ends, the state put back.
    fn drop(&mut self) {
        let mut error = std::ptr::null_mut();
        // SAFETY: plain values in; the device type was accepted by `enter`, so this cannot fail
        // but for an exception, whose message is freed below.
        let status = unsafe {
            tch_harness_autocast_exit(
                self.device_type,
                self.prev_enabled,
                self.prev_dtype,
                &mut error,
            )
        };
        if status != 0 {
            let _ = shim_message(error); // frees it; Drop cannot return it
        }
    }
}

/// Runs `f` under `precision`'s autocast on `device` (directly for `32`).
pub fn autocast<T>(
    precision: Precision,
    device: Device,
    f: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let _region = AutocastGuard::for_precision(precision, device)?;
    f()
}

/// Whether autocast is on for `device`'s type, and its dtype (`torch.is_autocast_enabled`,
/// `torch.get_autocast_dtype`).
pub fn autocast_state(device: Device) -> Result<(bool, Kind)> {
    let (mut enabled, mut dtype, mut error) = (0, 0, std::ptr::null_mut());
    // SAFETY: as in `enter`.
    let status = unsafe {
        tch_harness_autocast_state(device_type(device), &mut enabled, &mut dtype, &mut error)
    };
    if status != 0 {
        return Err(Error::Device(format!(
            "autocast on {device:?}: {}",
            shim_message(error)
        )));
    }
    let kind = SCALAR_TYPES
        .iter()
        .find(|(_, code)| *code == dtype)
        .map(|(kind, _)| *kind)
        .ok_or_else(|| Error::Device(format!("autocast dtype {dtype} is not a float type")))?;
    Ok((enabled != 0, kind))
}

/// Before training: an error unless `precision`'s autocast works on `device` — the device type
/// has autocast and a matrix product under it runs and comes out in the autocast dtype (a
/// device without those kernels fails here, not at the first batch).
pub fn check_precision(precision: Precision, device: Device) -> Result<()> {
    let Some(kind) = precision.autocast_kind() else {
        return Ok(());
    };
    let fail = |why: String| {
        Error::Device(format!(
            "--precision {precision}: autocast to {kind:?} does not work on {device:?}: {why}"
        ))
    };
    let probe = autocast(precision, device, || {
        let ones = Tensor::f_ones([2, 2], (Kind::Float, device))?;
        Ok(ones.f_matmul(&ones)?.kind())
    });
    match probe {
        Ok(got) if got == kind => Ok(()),
        Ok(got) => Err(fail(format!("a matmul came out as {got:?}"))),
        Err(e) => Err(fail(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu_state() -> (bool, Kind) {
        autocast_state(Device::Cpu).unwrap()
    }

    #[test]
    fn a_region_casts_and_puts_the_previous_state_back_even_on_error() {
        let before = cpu_state();
        assert!(!before.0, "autocast is off outside a region");
        let ones = Tensor::ones([2, 2], (Kind::Float, Device::Cpu));
        let inside = autocast(Precision::F16Mixed, Device::Cpu, || {
            assert_eq!(cpu_state(), (true, Kind::Half));
            // Nested, as `with autocast(bf16): with autocast(f16):` is.
            autocast(Precision::Bf16Mixed, Device::Cpu, || {
                assert_eq!(cpu_state(), (true, Kind::BFloat16));
                Ok(())
            })?;
            assert_eq!(cpu_state(), (true, Kind::Half));
            Ok(ones.matmul(&ones).kind())
        });
        assert_eq!(inside.unwrap(), Kind::Half);
        assert_eq!(cpu_state(), before);
        let failed: Result<()> = autocast(Precision::Bf16Mixed, Device::Cpu, || {
            Err(Error::Data("inside".into()))
        });
        assert!(failed.is_err());
        assert_eq!(cpu_state(), before, "restored after an error");
        assert_eq!(ones.matmul(&ones).kind(), Kind::Float);
    }

    #[test]
    fn the_cpu_autocasts_to_both_dtypes_and_32_needs_nothing() {
        for precision in Precision::ALL {
            check_precision(*precision, Device::Cpu).unwrap();
        }
    }
}
