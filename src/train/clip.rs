//! Gradient clipping, hooks after backward (see `hook`), as `torch.nn.utils` computes it in PyTorch 2.11 on
//! the CPU (where `foreach=None` takes the foreach path, whose CPU kernels run per tensor):
//!
//! ```python
//! norms = [torch.linalg.vector_norm(g, norm_type) for g in grads]     # _foreach_norm
//! total_norm = torch.linalg.vector_norm(torch.stack(norms), norm_type)
//! clip_coef = max_norm / (total_norm + 1e-6)                          # reciprocal() * max_norm
//! clip_coef_clamped = torch.clamp(clip_coef, max=1.0)
//! for g in grads: g.mul_(clip_coef_clamped)                           # _foreach_mul_
//! ```
//!
//! and `clip_grad_value_`: `clamp_min_(-v)` then `clamp_max_(v)`. The parameters go in
//! `model.parameters()` order (the order of the norms changes the total's last bits).
use serde_json::{json, Value};
use tch::Tensor;

use super::hook::{Decision, EpochDone, Grads, Slot, StepHook};
use crate::error::{Error, Result};
use crate::optim::Optimizer;

/// `clip_grad_norm_(params, max_norm, norm_type)`; remembers the epoch's largest pre-clip norm
/// (on the device: no read per batch).
pub struct ClipGradNorm {
    max_norm: f64,
    norm_type: f64,
    largest: Option<Tensor>,
}

impl ClipGradNorm {
    /// Clips to `max_norm` in the `norm_type`-norm (`f64::INFINITY` for the max norm).
    pub fn new(max_norm: f64, norm_type: f64) -> ClipGradNorm {
        ClipGradNorm {
            max_norm,
            norm_type,
            largest: None,
        }
    }

    /// The total norm of `grads`, as `_get_total_norm` computes it.
    fn total_norm(&self, grads: &[Tensor]) -> Result<Tensor> {
        let p = self.norm_type;
        let all: [i64; 0] = [];
        // `_group_tensors_by_device_and_dtype`: groups in order of first appearance.
        let mut groups: Vec<((tch::Device, tch::Kind), Vec<&Tensor>)> = Vec::new();
        for g in grads {
            let key = (g.device(), g.kind());
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, members)) => members.push(g),
                None => groups.push((key, vec![g])),
            }
        }
        let first = grads[0].device();
        let mut norms = Vec::with_capacity(grads.len());
        for (_, members) in groups {
            for g in members {
                norms.push(g.f_norm_scalaropt_dim(p, all, false)?.f_to_device(first)?);
            }
        }
        Ok(Tensor::f_stack(&norms, 0)?.f_norm_scalaropt_dim(p, all, false)?)
    }
}

impl StepHook for ClipGradNorm {
    fn slot(&self) -> Slot {
        Slot::Clip
    }

    fn after_backward(&mut self, grads: &mut Grads) -> Result<Decision> {
        // A window a loss scaler skips is clipped as PyTorch's loop does, but its norm (of
        // non-finite gradients) is not one of a step taken.
        let record = !grads.update_skipped;
        let grads = defined_grads(grads.params);
        if grads.is_empty() {
            return Ok(Decision::Step);
        }
        tch::no_grad(|| {
            let total = self.total_norm(&grads)?;
            let coef = total
                .f_add_scalar(1e-6)?
                .f_reciprocal()?
                .f_mul_scalar(self.max_norm)?
                .f_clamp_max(1.0)?;
            for mut g in grads {
                let _ = g.f_mul_(&coef.f_to_device(g.device())?)?;
            }
            if record {
                self.largest = Some(match self.largest.take() {
                    Some(largest) => largest.f_maximum(&total)?,
                    None => total,
                });
            }
            Ok(Decision::Step)
        })
    }

    /// The epoch's largest norm, reset after.
    fn end_epoch(&mut self, done: &mut EpochDone) -> Result<()> {
        if let Some(largest) = self.largest.take() {
            done.metrics.grad_norm_max = Some(largest.f_double_value(&[])?);
        }
        Ok(())
    }

    fn state(&self, _: &dyn Optimizer) -> Result<Value> {
        Ok(match &self.largest {
            Some(largest) => json!({ "largest": largest.f_double_value(&[])? }),
            None => json!({}),
        })
    }

    fn load_state(&mut self, state: &Value, _: &mut dyn Optimizer) -> Result<()> {
        self.largest = match state.get("largest") {
            Some(v) => {
                let v = v.as_f64().ok_or_else(|| {
                    Error::Data("corrupt gradient-clipping state in the checkpoint".into())
                })?;
                // A float64 scalar: the maximum with later float32 norms stays exact.
                Some(Tensor::from(v))
            }
            None => None,
        };
        Ok(())
    }
}

/// `clip_grad_value_(params, clip_value)`.
pub struct ClipGradValue {
    clip_value: f64,
}

impl ClipGradValue {
    /// Clamps every gradient element to `[-clip_value, clip_value]`.
    pub fn new(clip_value: f64) -> ClipGradValue {
        ClipGradValue { clip_value }
    }
}

impl StepHook for ClipGradValue {
    fn slot(&self) -> Slot {
        Slot::Clip
    }

    fn after_backward(&mut self, grads: &mut Grads) -> Result<Decision> {
        tch::no_grad(|| {
            for mut g in defined_grads(grads.params) {
                let _ = g.f_clamp_min_(-self.clip_value)?;
                let _ = g.f_clamp_max_(self.clip_value)?;
            }
            Ok(Decision::Step)
        })
    }
}

/// The gradients of the parameters that have one, in order.
fn defined_grads(params: &[(String, Tensor)]) -> Vec<Tensor> {
    params
        .iter()
        .map(|(_, p)| p.grad())
        .filter(Tensor::defined)
        .collect()
}
