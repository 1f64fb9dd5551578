//! `torch.optim.Rprop`: `_single_tensor_rprop` of PyTorch 2.11 (not capturable, not
//! differentiable), line for line. `lr` only seeds each parameter's `step_size` when its state is
//! made (as `param_groups[0]["lr"]` does in Python): a later `set_lr` changes only new states.
use serde::{Deserialize, Serialize};
use tch::Tensor;

use super::checks;
use super::slot_macros::{slot_optimizer, slot_state};
use super::slots::count_step;
use crate::error::Result;

/// `torch.optim.Rprop`'s options (`foreach`, `capturable` and `differentiable` aside).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RpropConfig {
    pub lr: f64,
    /// `(etaminus, etaplus)`.
    pub etas: (f64, f64),
    /// `(step_size_min, step_size_max)`.
    pub step_sizes: (f64, f64),
    pub maximize: bool,
}

impl Default for RpropConfig {
    fn default() -> Self {
        RpropConfig {
            lr: 1e-2,
            etas: (0.5, 1.2),
            step_sizes: (1e-6, 50.0),
            maximize: false,
        }
    }
}

impl RpropConfig {
    /// The checks of `Rprop.__init__`.
    pub fn validate(&self) -> Result<()> {
        checks::lr(self.lr)?;
        let (minus, plus) = self.etas;
        checks::ensure(0.0 < minus && minus < 1.0 && 1.0 < plus, || {
            format!("Invalid eta values: {minus:?}, {plus:?}")
        })
    }
}

slot_state!(RpropConfig {
    step: f32,
    prev: Tensor,
    step_size: Tensor,
});

slot_optimizer!(
    /// Resilient backpropagation: per-element step sizes grown or shrunk by the gradient's sign.
    Rprop(RpropConfig)
);

impl Rprop {
    fn update(&mut self) -> Result<()> {
        let c = &self.config;
        let (etaminus, etaplus) = c.etas;
        let (step_size_min, step_size_max) = c.step_sizes;
        let fresh = |p: &Tensor, grad: &Tensor| {
            Ok(State {
                step: 0.0,
                prev: p.f_zeros_like()?,
                step_size: grad.f_full_like(c.lr)?,
            })
        };
        self.slots.step(c.maximize, fresh, |param, grad, s| {
            count_step(&mut s.step);
            let mut sign = grad.f_mul(&s.prev)?.f_sign()?;
            // sign[sign.gt(0)] = etaplus; sign[sign.lt(0)] = etaminus; sign[sign.eq(0)] = 1
            let _ = sign.f_masked_fill_(&sign.f_gt(0)?, etaplus)?;
            let _ = sign.f_masked_fill_(&sign.f_lt(0)?, etaminus)?;
            let _ = sign.f_masked_fill_(&sign.f_eq(0)?, 1)?;
            let _ = s
                .step_size
                .f_mul_(&sign)?
                .f_clamp_(step_size_min, step_size_max)?;
            let mut grad = grad.f_detach_copy()?;
            let _ = grad.f_masked_fill_(&sign.f_eq(etaminus)?, 0)?;
            // param.addcmul_(grad.sign(), step_size, value=-1)
            let _ = param.f_addcmul_(&grad.f_sign()?.f_neg()?, &s.step_size)?;
            s.prev.f_copy_(&grad)?;
            Ok(())
        })
    }
}
