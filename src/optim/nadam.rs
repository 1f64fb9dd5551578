//! `torch.optim.NAdam`: `_single_tensor_nadam` of PyTorch 2.11 (not capturable, not
//! differentiable), line for line. `mu_product` is a float32 0-d tensor in Python, multiplied in
//! place by a Python float each step; here an `f32` multiplied through that tensor.
use serde::{Deserialize, Serialize};
use tch::Tensor;

use super::checks;
use super::scaled::{addcdiv_value_, addcmul_value_};
use super::slot_macros::{slot_optimizer, slot_state};
use super::slots::{count_step, scalar_f32, weight_decay};
use crate::error::Result;

/// `torch.optim.NAdam`'s options (`foreach`, `capturable` and `differentiable` aside).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NAdamConfig {
    pub lr: f64,
    pub betas: (f64, f64),
    pub eps: f64,
    pub weight_decay: f64,
    pub momentum_decay: f64,
    pub decoupled_weight_decay: bool,
    pub maximize: bool,
}

impl Default for NAdamConfig {
    fn default() -> Self {
        NAdamConfig {
            lr: 2e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            momentum_decay: 4e-3,
            decoupled_weight_decay: false,
            maximize: false,
        }
    }
}

impl NAdamConfig {
    /// The checks of `NAdam.__init__`.
    pub fn validate(&self) -> Result<()> {
        checks::adam_like(self.lr, self.eps, self.betas, self.weight_decay)?;
        checks::ensure(0.0 <= self.momentum_decay, || {
            format!("Invalid momentum_decay value: {:?}", self.momentum_decay)
        })
    }
}

slot_state!(NAdamConfig {
    step: f32,
    /// A float32 0-d tensor in Python, multiplied in place by a Python float each step.
    mu_product: f32,
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
});

slot_optimizer!(
    /// NAdam (Adam with Nesterov momentum), with L2 or decoupled weight decay.
    NAdam(NAdamConfig)
);

impl NAdam {
    fn update(&mut self) -> Result<()> {
        let c = &self.config;
        let (beta1, beta2) = c.betas;
        let fresh = |p: &Tensor, _: &Tensor| {
            Ok(State {
                step: 0.0,
                mu_product: 1.0,
                exp_avg: p.f_zeros_like()?,
                exp_avg_sq: p.f_zeros_like()?,
            })
        };
        self.slots.step(c.maximize, fresh, |param, grad, s| {
            let step = count_step(&mut s.step);
            let bias_correction2 = 1.0 - beta2.powf(step);
            let grad = weight_decay(param, grad, c.lr, c.weight_decay, c.decoupled_weight_decay)?;
            let mu = beta1 * (1.0 - 0.5 * 0.96f64.powf(step * c.momentum_decay));
            let mu_next = beta1 * (1.0 - 0.5 * 0.96f64.powf((step + 1.0) * c.momentum_decay));
            // mu_product *= mu, on the float32 tensor
            s.mu_product = scalar_f32(s.mu_product)
                .f_mul_scalar(mu)?
                .f_double_value(&[])? as f32;
            let _ = s.exp_avg.f_lerp_(&grad, 1.0 - beta1)?;
            let _ = s.exp_avg_sq.f_mul_scalar_(beta2)?;
            addcmul_value_(&mut s.exp_avg_sq, &grad, &grad, 1.0 - beta2)?;
            let mut denom = s.exp_avg_sq.f_div_scalar(bias_correction2)?.f_sqrt()?;
            let mu_product = f64::from(s.mu_product);
            let mu_product_next = mu_product * mu_next;
            let _ = denom.f_add_scalar_(c.eps)?;
            let value = -c.lr * (1.0 - mu) / (1.0 - mu_product);
            addcdiv_value_(param, &grad, &denom, value)?;
            let value = (-c.lr * mu_next) / (1.0 - mu_product_next);
            addcdiv_value_(param, &s.exp_avg, &denom, value)
        })
    }
}
