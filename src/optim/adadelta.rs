//! `torch.optim.Adadelta`: `_single_tensor_adadelta` of PyTorch 2.11, line for line.
use serde::{Deserialize, Serialize};
use tch::Tensor;

use super::checks;
use super::scaled::{add_alpha_, addcmul_value_};
use super::slot_macros::{slot_optimizer, slot_state};
use super::slots::{count_step, l2_penalty};
use crate::error::Result;

/// `torch.optim.Adadelta`'s options (`foreach`, `capturable` and `differentiable` aside).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdadeltaConfig {
    pub lr: f64,
    pub rho: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub maximize: bool,
}

impl Default for AdadeltaConfig {
    fn default() -> Self {
        AdadeltaConfig {
            lr: 1.0,
            rho: 0.9,
            eps: 1e-6,
            weight_decay: 0.0,
            maximize: false,
        }
    }
}

impl AdadeltaConfig {
    /// The checks of `Adadelta.__init__`.
    pub fn validate(&self) -> Result<()> {
        checks::lr(self.lr)?;
        checks::ensure((0.0..=1.0).contains(&self.rho), || {
            format!("Invalid rho value: {:?}", self.rho)
        })?;
        checks::eps(self.eps)?;
        checks::weight_decay(self.weight_decay)
    }
}

slot_state!(AdadeltaConfig {
    step: f32,
    square_avg: Tensor,
    acc_delta: Tensor,
});

slot_optimizer!(
    /// Adadelta, with optional L2 weight decay.
    Adadelta(AdadeltaConfig)
);

impl Adadelta {
    fn update(&mut self) -> Result<()> {
        let c = &self.config;
        let fresh = |p: &Tensor, _: &Tensor| State::zeros(p);
        self.slots.step(c.maximize, fresh, |param, grad, s| {
            count_step(&mut s.step);
            let grad = l2_penalty(grad, param, c.weight_decay)?;
            let _ = s.square_avg.f_mul_scalar_(c.rho)?;
            addcmul_value_(&mut s.square_avg, &grad, &grad, 1.0 - c.rho)?;
            let std = s.square_avg.f_add_scalar(c.eps)?.f_sqrt_()?;
            let mut delta = s.acc_delta.f_add_scalar(c.eps)?.f_sqrt_()?;
            let _ = delta.f_div_(&std)?.f_mul_(&grad)?;
            let _ = s.acc_delta.f_mul_scalar_(c.rho)?;
            addcmul_value_(&mut s.acc_delta, &delta, &delta, 1.0 - c.rho)?;
            add_alpha_(param, &delta, -c.lr)
        })
    }
}
