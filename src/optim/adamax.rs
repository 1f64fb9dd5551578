//! `torch.optim.Adamax`: `_single_tensor_adamax` of PyTorch 2.11 (not capturable, not
//! differentiable), line for line.
use serde::{Deserialize, Serialize};
use tch::Tensor;

use super::checks;
use super::scaled::addcdiv_value_;
use super::slots::{count_step, l2_penalty, scalar_f32, slot_optimizer, Saved, SlotState, Slots};
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
        checks::lr(self.lr)?;
        checks::eps(self.eps)?;
        checks::betas(self.betas)?;
        checks::weight_decay(self.weight_decay)
    }
}

struct State {
    step: f32,
    exp_avg: Tensor,
    exp_inf: Tensor,
}

impl SlotState for State {
    type Config = AdamaxConfig;

    fn named(&self) -> Vec<(&'static str, Tensor)> {
        vec![
            ("step", scalar_f32(self.step)),
            ("exp_avg", self.exp_avg.shallow_clone()),
            ("exp_inf", self.exp_inf.shallow_clone()),
        ]
    }

    fn load(saved: &Saved<'_>, _: &AdamaxConfig) -> Result<Option<Self>> {
        if !saved.has("step") {
            return Ok(None);
        }
        Ok(Some(State {
            step: saved.scalar("step")?,
            exp_avg: saved.tensor("exp_avg")?,
            exp_inf: saved.tensor("exp_inf")?,
        }))
    }
}

/// Adamax (Adam with the infinity norm), with optional L2 weight decay.
pub struct Adamax {
    config: AdamaxConfig,
    slots: Slots<State>,
}

impl Adamax {
    /// Adamax over `params` (sorted by name).
    pub fn new(config: &AdamaxConfig, params: Vec<(String, Tensor)>) -> Result<Self> {
        config.validate()?;
        Ok(Adamax {
            config: config.clone(),
            slots: Slots::new(params),
        })
    }

    fn update(&mut self) -> Result<()> {
        let c = &self.config;
        let (beta1, beta2) = c.betas;
        let fresh = |p: &Tensor, _: &Tensor| {
            Ok(State {
                step: 0.0,
                exp_avg: p.f_zeros_like()?,
                exp_inf: p.f_zeros_like()?,
            })
        };
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

slot_optimizer!(Adamax);
