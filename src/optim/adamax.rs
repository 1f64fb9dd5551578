//! `torch.optim.Adamax`: `_single_tensor_adamax` of PyTorch 2.11 (not capturable, not
//! differentiable), line for line.
use serde::{Deserialize, Serialize};
use tch::Tensor;

use super::checks;
use super::scaled::addcdiv_value_;
use super::slot_macros::{slot_optimizer, slot_state};
use super::slots::{count_step, l2_penalty};
use crate::error::Result;

/// `torch.optim.Adamax`'s options (`foreach`, `capturable` and `differentiable` aside).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdamaxConfig {
    pub lr: f64,
    pub betas: (f64, f64),
    pub eps: f64,
    pub weight_decay: f64,
    pub maximize: bool,
}

impl Default for AdamaxConfig {
    fn default() -> Self {
        AdamaxConfig {
            lr: 2e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            maximize: false,
        }
    }
}

impl AdamaxConfig {
    /// The checks of `Adamax.__init__`.
    pub fn validate(&self) -> Result<()> {
        checks::adam_like(self.lr, self.eps, self.betas, self.weight_decay)
    }
}

slot_state!(AdamaxConfig {
    step: f32,
    exp_avg: Tensor,
    exp_inf: Tensor,
});

slot_optimizer!(
    /// Adamax (Adam with the infinity norm), with optional L2 weight decay.
    Adamax(AdamaxConfig)
);

impl Adamax {
    fn update(&mut self) -> Result<()> {
        let c = &self.config;
        let (beta1, beta2) = c.betas;
        let fresh = |p: &Tensor, _: &Tensor| State::zeros(p);
        self.slots.step(c.maximize, fresh, |param, grad, s| {
            let step = count_step(&mut s.step);
            let grad = l2_penalty(grad, param, c.weight_decay)?;
            let _ = s.exp_avg.f_lerp_(&grad, 1.0 - beta1)?;
            // torch.maximum(exp_inf.mul_(beta2), grad.abs().add_(eps), out=exp_inf)
            let _ = s.exp_inf.f_mul_scalar_(beta2)?;
            let norm = grad.f_abs()?.f_add_scalar_(c.eps)?;
            let _ = s.exp_inf.f_maximum_out(&s.exp_inf, &norm)?;
            let bias_correction = 1.0 - beta1.powf(step);
            let clr = c.lr / bias_correction;
            addcdiv_value_(param, &s.exp_avg, &s.exp_inf, -clr)
        })
    }
}
