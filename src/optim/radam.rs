//! `torch.optim.RAdam`: `_single_tensor_radam` of PyTorch 2.11 (not capturable, not
//! differentiable), line for line, including Python's `float / tensor`, which is
//! `tensor.reciprocal() * float`.
use serde::{Deserialize, Serialize};
use tch::Tensor;

use super::checks;
use super::scaled::{add_alpha_, addcmul_value_};
use super::slot_macros::{slot_optimizer, slot_state};
use super::slots::{count_step, weight_decay};
use crate::error::Result;

/// `torch.optim.RAdam`'s options (`foreach`, `capturable` and `differentiable` aside).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RAdamConfig {
    pub lr: f64,
    pub betas: (f64, f64),
    pub eps: f64,
    pub weight_decay: f64,
    pub decoupled_weight_decay: bool,
    pub maximize: bool,
}

impl Default for RAdamConfig {
    fn default() -> Self {
        RAdamConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled_weight_decay: false,
            maximize: false,
        }
    }
}

impl RAdamConfig {
    /// The checks of `RAdam.__init__`.
    pub fn validate(&self) -> Result<()> {
        checks::adam_like(self.lr, self.eps, self.betas, self.weight_decay)
    }
}

slot_state!(RAdamConfig {
    step: f32,
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
});

slot_optimizer!(
    /// RAdam (rectified Adam), with L2 or decoupled weight decay.
    RAdam(RAdamConfig)
);

impl RAdam {
    fn update(&mut self) -> Result<()> {
        let c = &self.config;
        let (beta1, beta2) = c.betas;
        let fresh = |p: &Tensor, _: &Tensor| State::zeros(p);
        self.slots.step(c.maximize, fresh, |param, grad, s| {
            let step = count_step(&mut s.step);
            let grad = weight_decay(param, grad, c.lr, c.weight_decay, c.decoupled_weight_decay)?;
            let _ = s.exp_avg.f_lerp_(&grad, 1.0 - beta1)?;
            let _ = s.exp_avg_sq.f_mul_scalar_(beta2)?;
            addcmul_value_(&mut s.exp_avg_sq, &grad, &grad, 1.0 - beta2)?;

            let bias_correction1 = 1.0 - beta1.powf(step);
            let bias_correction2 = 1.0 - beta2.powf(step);
            let bias_corrected_exp_avg = s.exp_avg.f_div_scalar(bias_correction1)?;
            let rho_inf = 2.0 / (1.0 - beta2) - 1.0;
            let rho_t = rho_inf - 2.0 * step * beta2.powf(step) / bias_correction2;

            let update = if rho_t > 5.0 {
                let rect = ((rho_t - 4.0) * (rho_t - 2.0) * rho_inf
                    / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
                    .powf(0.5);
                // (bias_correction2**0.5) / exp_avg_sq.sqrt().add_(eps)
                let adaptive_lr = s
                    .exp_avg_sq
                    .f_sqrt()?
                    .f_add_scalar_(c.eps)?
                    .f_reciprocal()?
                    .f_mul_scalar(bias_correction2.powf(0.5))?;
                bias_corrected_exp_avg
                    .f_mul_scalar(c.lr)?
                    .f_mul(&adaptive_lr)?
                    .f_mul_scalar(rect)?
            } else {
                bias_corrected_exp_avg.f_mul_scalar(c.lr)?
            };
            add_alpha_(param, &update, -1.0)
        })
    }
}
