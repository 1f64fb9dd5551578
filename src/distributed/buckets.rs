//! Gradient buckets all-reduced while backward runs (`src/native/buckets.cpp`): DDP's bucket
//! assignment, and a handle that arms the C++ hooks for a window's last backward pass and
//! collects the summed buckets after it.
use std::ptr::NonNull;

use tch::{Kind, Tensor};

use super::group::{collective_result, ProcessGroup, RawGroup};
use crate::error::{Error, Result};
use crate::rng_state::shim_message;

/// DDP's default size of the first bucket (`torch.distributed._DEFAULT_FIRST_BUCKET_BYTES`):
/// small, so that the last layers' all-reduce starts early in backward.
pub const FIRST_BUCKET_BYTES: usize = 1 << 20;

/// DDP's default `bucket_cap_mb`.
pub const BUCKET_CAP_MB: f64 = 25.0;

#[repr(C)]
struct RawBuckets {
    _private: [u8; 0],
}

extern "C" {
    fn tch_harness_buckets_new(
        group: *mut RawGroup,
        params: *const *mut torch_sys::C_tensor,
        n: i32,
        order: *const i64,
        bucket_sizes: *const i64,
        k: i32,
        error: *mut *mut std::ffi::c_char,
    ) -> *mut RawBuckets;
    fn tch_harness_buckets_arm(
        buckets: *mut RawBuckets,
        tail: *const torch_sys::C_tensor,
        error: *mut *mut std::ffi::c_char,
    ) -> i32;
    fn tch_harness_buckets_finish(
        buckets: *mut RawBuckets,
        tail: *const torch_sys::C_tensor,
        out: *mut *mut torch_sys::C_tensor,
        early: *mut i64,
        error: *mut *mut std::ffi::c_char,
    ) -> i32;
    fn tch_harness_buckets_free(buckets: *mut RawBuckets);
}

/// A bucket being filled: its (dtype, device), indices, bytes, and whether a first one closed.
type OpenBucket = ((Kind, tch::Device), Vec<usize>, usize, bool);

/// Parameter indices per bucket, in launch order, as `dist._compute_bucket_assignment_by_size`
/// makes them for DDP: the parameters in reverse (the order backward makes their gradients),
/// one dtype and device per bucket, a bucket closed once it holds `first_bytes` (the first) or
/// `cap_bytes` (the others) or more.
pub fn bucket_assignment(
    params: &[(String, Tensor)],
    first_bytes: usize,
    cap_bytes: usize,
) -> Vec<Vec<usize>> {
    let mut done = Vec::new();
    // Open buckets per (dtype, device): the indices, their bytes, whether the first closed.
    let mut open: Vec<OpenBucket> = Vec::new();
    for i in (0..params.len()).rev() {
        let p = &params[i].1;
        let key = (p.kind(), p.device());
        let at = match open.iter().position(|(k, ..)| *k == key) {
            Some(at) => at,
            None => {
                open.push((key, Vec::new(), 0, false));
                open.len() - 1
            }
        };
        let (_, indices, bytes, first_done) = &mut open[at];
        indices.push(i);
        *bytes += p.numel() * p.kind().elt_size_in_bytes();
        let limit = if *first_done { cap_bytes } else { first_bytes };
        if *bytes >= limit {
            done.push(std::mem::take(indices));
            (*bytes, *first_done) = (0, true);
        }
    }
    done.extend(
        open.into_iter()
            .filter_map(|(_, i, ..)| (!i.is_empty()).then_some(i)),
    );
    done
}

/// The C++ hooks over a model's parameters; dropped, they are removed.
pub struct GradBuckets {
    raw: NonNull<RawBuckets>,
    /// Parameter indices per bucket, in launch order.
    pub layout: Vec<Vec<usize>>,
    world: usize,
}

impl GradBuckets {
    /// Hooks `params` (which must require grad) into `layout`'s buckets on `group`.
    pub fn new(
        group: &ProcessGroup,
        params: &[(String, Tensor)],
        layout: Vec<Vec<usize>>,
    ) -> Result<GradBuckets> {
        let ptrs: Vec<_> = params.iter().map(|(_, p)| p.as_ptr() as *mut _).collect();
        let order: Vec<i64> = layout.iter().flatten().map(|&i| i as i64).collect();
        let sizes: Vec<i64> = layout.iter().map(|b| b.len() as i64).collect();
        let mut error = std::ptr::null_mut();
        // SAFETY: the pointers are live for the call; the shim keeps its own tensor handles.
        let raw = unsafe {
            tch_harness_buckets_new(
                group.raw(),
                ptrs.as_ptr(),
                ptrs.len() as i32,
                order.as_ptr(),
                sizes.as_ptr(),
                sizes.len() as i32,
                &mut error,
            )
        };
        let raw = NonNull::new(raw).ok_or_else(|| {
            Error::Distributed(format!(
                "cannot hook the gradient buckets: {}",
                shim_message(error)
            ))
        })?;
        Ok(GradBuckets {
            raw,
            layout,
            world: group.world,
        })
    }

    /// Before the window's last backward pass: buckets go out as their gradients are ready,
    /// `tail` riding in the last one.
    pub fn arm(&mut self, tail: &Tensor) -> Result<()> {
        let mut error = std::ptr::null_mut();
        // SAFETY: live handle and tensor; the shim keeps its own handle of `tail`.
        let rc = unsafe { tch_harness_buckets_arm(self.raw.as_ptr(), tail.as_ptr(), &mut error) };
        self.check(rc, error)
    }

    /// After it (`tail` when `arm` was not called this window): every bucket summed over the
    /// ranks, and how many of them went out during backward.
    pub fn finish(&mut self, tail: Option<&Tensor>) -> Result<(Vec<Tensor>, usize)> {
        let mut out = vec![std::ptr::null_mut(); self.layout.len()];
        let mut early = 0i64;
        let mut error = std::ptr::null_mut();
        let tail = tail.map_or(std::ptr::null(), |t| t.as_ptr());
        // SAFETY: `out` has one slot per bucket; each filled slot is a tensor we own from here.
        let rc = unsafe {
            tch_harness_buckets_finish(
                self.raw.as_ptr(),
                tail,
                out.as_mut_ptr(),
                &mut early,
                &mut error,
            )
        };
        let flats: Vec<Tensor> = out
            .into_iter()
            .filter(|p| !p.is_null())
            // SAFETY: allocated by the shim with `new`, owned once.
            .map(|p| unsafe { Tensor::from_ptr(p) })
            .collect();
        self.check(rc, error)?;
        Ok((flats, early as usize))
    }

    fn check(&self, rc: i32, error: *mut std::ffi::c_char) -> Result<()> {
        collective_result(rc, "all-reduce", self.world, error)
    }
}

impl Drop for GradBuckets {
    fn drop(&mut self) {
        // SAFETY: made by tch_harness_buckets_new, freed once.
        unsafe { tch_harness_buckets_free(self.raw.as_ptr()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(sizes: &[i64]) -> Vec<(String, Tensor)> {
        sizes
            .iter()
            .map(|&n| {
                (
                    format!("p{n}"),
                    Tensor::zeros([n], (Kind::Float, tch::Device::Cpu)),
                )
            })
            .collect()
    }

    /// As `dist._compute_bucket_assignment_by_size(params[::-1], [1 MiB, 25 MiB])` gives them:
    /// the last parameters first, a bucket closed at the parameter that reaches its limit.
    #[test]
    fn buckets_follow_ddp_assignment() {
        let p = params(&[10, 20, 30, 40]); // 40, 80, 120, 160 bytes
        assert_eq!(
            bucket_assignment(&p, 1 << 20, 25 << 20),
            vec![vec![3, 2, 1, 0]]
        );
        assert_eq!(
            bucket_assignment(&p, 100, 200),
            vec![vec![3], vec![2, 1], vec![0]]
        );
        assert_eq!(
            bucket_assignment(&p, 160, 1),
            vec![vec![3], vec![2], vec![1], vec![0]]
        );
    }
}
