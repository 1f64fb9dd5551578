//! `optimizer.zero_grad()` as PyTorch does it by default (`set_to_none=True`): every gradient is
//! dropped, not zeroed. A parameter that then gets no gradient in a step (an unused branch) has
//! none, and the optimizers skip it; a zeroed gradient would still be stepped by weight decay and
//! momentum. tch 0.24 can only zero, so `src/native/grad.cpp` (compiled by build.rs) resets it.
use std::ffi::{c_char, c_int};

use tch::{TchError, Tensor};

use crate::error::{Error, Result};
use crate::rng_state::shim_message;

extern "C" {
    fn tch_harness_grad_reset(tensor: *const torch_sys::C_tensor, error: *mut *mut c_char)
        -> c_int;
}

/// `p.grad = None` for every parameter of `params` (Python's `zero_grad(set_to_none=True)`).
pub(super) fn set_grads_to_none(params: &[(String, Tensor)]) -> Result<()> {
    for (name, p) in params {
        if !p.grad().defined() {
            continue;
        }
        let mut error = std::ptr::null_mut();
        // SAFETY: `p` is live for the whole call; the shim neither keeps nor frees it, and changes
        // only its autograd metadata (as `p.grad = None` does through a shared reference).
        let status = unsafe { tch_harness_grad_reset(p.as_ptr(), &mut error) };
        if status != 0 {
            return Err(Error::Torch(TchError::Torch(format!(
                "dropping the gradient of '{name}' failed: {}",
                shim_message(error)
            ))));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use tch::{Kind, Tensor};

    use super::set_grads_to_none;

    #[test]
    fn a_dropped_gradient_is_none_and_the_next_backward_starts_afresh() {
        let p = Tensor::from_slice(&[1.0f32, 2.0]).set_requires_grad(true);
        (&p * 3.0).sum(Kind::Float).backward();
        let params = vec![("p".to_string(), p.shallow_clone())];
        set_grads_to_none(&params).unwrap();
        assert!(!p.grad().defined());
        set_grads_to_none(&params).unwrap(); // none already: nothing to do
        (&p * 5.0).sum(Kind::Float).backward();
        assert_eq!(Vec::<f32>::try_from(p.grad()).unwrap(), [5.0, 5.0]);
    }
}
