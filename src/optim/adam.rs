//! `torch.optim.Adam` and `AdamW`: `_single_tensor_adam` of PyTorch 2.11, line for line (AdamW is
//! the same function with `decoupled_weight_decay=True`).
use serde::{Deserialize, Serialize};
use tch::Tensor;

use super::checks;
use super::scaled::{addcdiv_value_, addcmul_value_};
use super::slot_macros::slot_optimizer;
use super::slots::{count_step, scalar_f32, weight_decay, Saved, SlotState, Slots};
use crate::error::Result;

/// `torch.optim.Adam`'s and `AdamW`'s keywords (AdamW's weight decay is decoupled, default 0.01).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdamConfig {
    pub lr: f64,
    pub betas: (f64, f64),
    pub eps: f64,
    pub weight_decay: f64,
    pub amsgrad: bool,
    pub maximize: bool,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            amsgrad: false,
            maximize: false,
        }
    }
}

impl AdamConfig {
    /// The checks of `Adam.__init__` (the learning rate's aside).
    pub fn validate(&self) -> Result<()> {
        if !(0.0..1.0).contains(&self.betas.0) {
            return Err(checks::invalid("beta1 (must be in [0, 1))", self.betas.0));
        }
        if !(0.0..1.0).contains(&self.betas.1) {
            return Err(checks::invalid("beta2 (must be in [0, 1))", self.betas.1));
        }
        if !self.eps.is_finite() || self.eps < 0.0 {
            return Err(checks::invalid("eps (must be finite and >= 0)", self.eps));
        }
        checks::finite_weight_decay(self.weight_decay)
    }
}

/// One parameter's state, as `optimizer.state[p]` holds it in Python.
struct State {
    step: f32,
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
    /// With `amsgrad`.
    max_exp_avg_sq: Option<Tensor>,
}

impl SlotState for State {
    type Config = AdamConfig;

    fn named(&self) -> Vec<(&'static str, Tensor)> {
        let mut named = vec![
            ("step", scalar_f32(self.step)),
            ("exp_avg", self.exp_avg.shallow_clone()),
            ("exp_avg_sq", self.exp_avg_sq.shallow_clone()),
        ];
        if let Some(max) = &self.max_exp_avg_sq {
            named.push(("max_exp_avg_sq", max.shallow_clone()));
        }
        named
    }

    /// `max_exp_avg_sq` must be there with `amsgrad`.
    fn load(saved: &Saved<'_>, config: &AdamConfig) -> Result<Option<Self>> {
        if !saved.has("step") {
            return Ok(None);
        }
        Ok(Some(State {
            step: saved.scalar("step")?,
            exp_avg: saved.tensor("exp_avg")?,
            exp_avg_sq: saved.tensor("exp_avg_sq")?,
            max_exp_avg_sq: config
                .amsgrad
                .then(|| saved.tensor("max_exp_avg_sq"))
                .transpose()?,
        }))
    }
}

/// Adam (L2 weight decay) or AdamW (decoupled weight decay), optionally AMSGrad.
pub struct Adam {
    config: AdamConfig,
    decoupled_weight_decay: bool,
    slots: Slots<State>,
}

impl Adam {
    /// Adam, or AdamW when `decoupled_weight_decay`, over `params` (sorted by name).
    pub fn new(
        config: &AdamConfig,
        decoupled_weight_decay: bool,
        params: Vec<(String, Tensor)>,
    ) -> Result<Adam> {
        config.validate()?;
        Ok(Adam {
            config: config.clone(),
            decoupled_weight_decay,
            slots: Slots::new(params),
        })
    }

    fn update(&mut self) -> Result<()> {
        let c = &self.config;
        let (beta1, beta2) = c.betas;
        let fresh = |p: &Tensor, _: &Tensor| {
            let zeros = |on: bool| on.then(|| p.f_zeros_like()).transpose();
            Ok(State {
                step: 0.0,
                exp_avg: p.f_zeros_like()?,
                exp_avg_sq: p.f_zeros_like()?,
                max_exp_avg_sq: zeros(c.amsgrad)?,
            })
        };
        let decoupled = self.decoupled_weight_decay;
        self.slots.step(c.maximize, fresh, |param, grad, s| {
            let step = count_step(&mut s.step);
            let grad = weight_decay(param, grad, c.lr, c.weight_decay, decoupled)?;
            let _ = s.exp_avg.f_lerp_(&grad, 1.0 - beta1)?;
            let _ = s.exp_avg_sq.f_mul_scalar_(beta2)?;
            addcmul_value_(&mut s.exp_avg_sq, &grad, &grad, 1.0 - beta2)?;

            let bias_correction1 = 1.0 - beta1.powf(step);
            let bias_correction2 = 1.0 - beta2.powf(step);
            let step_size = c.lr / bias_correction1;
            let bias_correction2_sqrt = bias_correction2.powf(0.5);
            let second_moment = match &mut s.max_exp_avg_sq {
                // torch.maximum(max_exp_avg_sqs[i], exp_avg_sq, out=max_exp_avg_sqs[i])
                Some(max) => {
                    let _ = max.f_maximum_out(max, &s.exp_avg_sq)?;
                    max.shallow_clone()
                }
                None => s.exp_avg_sq.shallow_clone(),
            };
            let mut denom = second_moment
                .f_sqrt()?
                .f_div_scalar(bias_correction2_sqrt)?;
            let _ = denom.f_add_scalar_(c.eps)?;
            addcdiv_value_(param, &s.exp_avg, &denom, -step_size)
        })
    }
}

slot_optimizer!(Adam);
