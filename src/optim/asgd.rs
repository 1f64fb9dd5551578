//! `torch.optim.ASGD`: `_single_tensor_asgd` of PyTorch 2.11 (not capturable), line for line.
//! `eta` and `mu` are float32 0-d tensors in Python, rewritten each step from Python floats
//! (`eta.copy_(torch.as_tensor(…))`), so each holds the float32 rounding of that float.
use serde::{Deserialize, Serialize};
use tch::Tensor;

use super::checks;
use super::scaled::add_alpha_;
use super::slot_macros::{slot_optimizer, slot_state};
use super::slots::{count_step, l2_penalty, py_max, scalar_f32};
use crate::error::Result;

/// `torch.optim.ASGD`'s options (`foreach`, `capturable` and `differentiable` aside).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AsgdConfig {
    pub lr: f64,
    pub lambd: f64,
    pub alpha: f64,
    pub t0: f64,
    pub weight_decay: f64,
    pub maximize: bool,
}

impl Default for AsgdConfig {
    fn default() -> Self {
        AsgdConfig {
            lr: 1e-2,
            lambd: 1e-4,
            alpha: 0.75,
            t0: 1e6,
            weight_decay: 0.0,
            maximize: false,
        }
    }
}

impl AsgdConfig {
    /// The checks of `ASGD.__init__` (it checks only these two).
    pub fn validate(&self) -> Result<()> {
        checks::lr(self.lr)?;
        checks::weight_decay(self.weight_decay)
    }
}

slot_state!(AsgdConfig {
    step: f32,
    eta: f32,
    mu: f32,
    ax: Tensor,
});

slot_optimizer!(
    /// Averaged stochastic gradient descent (the average `ax` is state; the parameters are the
    /// plain SGD iterate, as in PyTorch).
    Asgd(AsgdConfig)
);

impl Asgd {
    fn update(&mut self) -> Result<()> {
        let c = &self.config;
        let fresh = |p: &Tensor, _: &Tensor| {
            Ok(State {
                step: 0.0,
                // torch.as_tensor(lr, dtype=float32)
                eta: c.lr as f32,
                mu: 1.0,
                ax: p.f_zeros_like()?,
            })
        };
        self.slots.step(c.maximize, fresh, |param, grad, s| {
            let step = count_step(&mut s.step);
            let grad = l2_penalty(grad, param, c.weight_decay)?;
            let eta = f64::from(s.eta);
            let _ = param.f_mul_scalar_(1.0 - c.lambd * eta)?;
            add_alpha_(param, &grad, -eta)?;
            if s.mu != 1.0 {
                // ax.add_(param.sub(ax).mul_(mu)), `mu` a float32 0-d tensor
                let diff = param.f_sub(&s.ax)?.f_mul_(&scalar_f32(s.mu))?;
                let _ = s.ax.f_add_(&diff)?;
            } else {
                s.ax.f_copy_(param)?;
            }
            s.eta = (c.lr / (1.0 + c.lambd * c.lr * step).powf(c.alpha)) as f32;
            s.mu = (1.0 / py_max(1.0, step - c.t0)) as f32;
            Ok(())
        })
    }
}
