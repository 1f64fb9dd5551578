//! `torch.optim.RMSprop`: `_single_tensor_rmsprop` of PyTorch 2.11 (not capturable, not
//! differentiable), line for line.
use serde::{Deserialize, Serialize};
use tch::Tensor;

use super::checks;
use super::scaled::{add_alpha_, addcdiv_value_, addcmul_value, addcmul_value_};
use super::slot_macros::slot_optimizer;
use super::slots::{count_step, l2_penalty, scalar_f32, Saved, SlotState, Slots};
use crate::error::Result;

/// `torch.optim.RMSprop`'s options (`foreach`, `capturable` and `differentiable` aside).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RMSpropConfig {
    pub lr: f64,
    pub alpha: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub momentum: f64,
    pub centered: bool,
    pub maximize: bool,
}

impl Default for RMSpropConfig {
    fn default() -> Self {
        RMSpropConfig {
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
            maximize: false,
        }
    }
}

impl RMSpropConfig {
    /// The checks of `RMSprop.__init__`.
    pub fn validate(&self) -> Result<()> {
        checks::lr(self.lr)?;
        checks::eps(self.eps)?;
        checks::ensure(0.0 <= self.momentum, || {
            format!("Invalid momentum value: {:?}", self.momentum)
        })?;
        checks::weight_decay(self.weight_decay)?;
        checks::ensure(0.0 <= self.alpha, || {
            format!("Invalid alpha value: {:?}", self.alpha)
        })
    }
}

struct State {
    step: f32,
    square_avg: Tensor,
    /// With `momentum > 0`.
    momentum_buffer: Option<Tensor>,
    /// With `centered`.
    grad_avg: Option<Tensor>,
}

impl SlotState for State {
    type Config = RMSpropConfig;

    fn named(&self) -> Vec<(&'static str, Tensor)> {
        let mut named = vec![
            ("step", scalar_f32(self.step)),
            ("square_avg", self.square_avg.shallow_clone()),
        ];
        if let Some(buf) = &self.momentum_buffer {
            named.push(("momentum_buffer", buf.shallow_clone()));
        }
        if let Some(avg) = &self.grad_avg {
            named.push(("grad_avg", avg.shallow_clone()));
        }
        named
    }

    /// `momentum_buffer` must be there with `momentum > 0`, `grad_avg` with `centered`.
    fn load(saved: &Saved<'_>, config: &RMSpropConfig) -> Result<Option<Self>> {
        if !saved.has("step") {
            return Ok(None);
        }
        let entry = |on: bool, key| on.then(|| saved.tensor(key)).transpose();
        Ok(Some(State {
            step: saved.scalar("step")?,
            square_avg: saved.tensor("square_avg")?,
            momentum_buffer: entry(config.momentum > 0.0, "momentum_buffer")?,
            grad_avg: entry(config.centered, "grad_avg")?,
        }))
    }
}

/// RMSprop, optionally centered and with momentum, with optional L2 weight decay.
pub struct RMSprop {
    config: RMSpropConfig,
    slots: Slots<State>,
}

impl RMSprop {
    /// RMSprop over `params` (sorted by name).
    pub fn new(config: &RMSpropConfig, params: Vec<(String, Tensor)>) -> Result<Self> {
        config.validate()?;
        Ok(RMSprop {
            config: config.clone(),
            slots: Slots::new(params),
        })
    }

    fn update(&mut self) -> Result<()> {
        let c = &self.config;
        let fresh = |p: &Tensor, _: &Tensor| {
            let zeros = |on: bool| on.then(|| p.f_zeros_like()).transpose();
            Ok(State {
                step: 0.0,
                square_avg: p.f_zeros_like()?,
                momentum_buffer: zeros(c.momentum > 0.0)?,
                grad_avg: zeros(c.centered)?,
            })
        };
        self.slots.step(c.maximize, fresh, |param, grad, s| {
            count_step(&mut s.step);
            let grad = l2_penalty(grad, param, c.weight_decay)?;
            let _ = s.square_avg.f_mul_scalar_(c.alpha)?;
            addcmul_value_(&mut s.square_avg, &grad, &grad, 1.0 - c.alpha)?;
            let mut avg = match (c.centered, &mut s.grad_avg) {
                (true, Some(grad_avg)) => {
                    let _ = grad_avg.f_lerp_(&grad, 1.0 - c.alpha)?;
                    addcmul_value(&s.square_avg, grad_avg, grad_avg, -1.0)?.f_sqrt_()?
                }
                (true, None) => return Err(missing("grad_avg")),
                (false, _) => s.square_avg.f_sqrt()?,
            };
            let _ = avg.f_add_scalar_(c.eps)?;
            if c.momentum > 0.0 {
                let Some(buf) = &mut s.momentum_buffer else {
                    return Err(missing("momentum_buffer"));
                };
                let _ = buf.f_mul_scalar_(c.momentum)?.f_addcdiv_(&grad, &avg)?;
                add_alpha_(param, buf, -c.lr)
            } else {
                addcdiv_value_(param, &grad, &avg, -c.lr)
            }
        })
    }
}

/// State without an entry the options need (not made by `fresh` or `load`, which follow them).
fn missing(key: &str) -> crate::error::Error {
    crate::error::Error::Data(format!("RMSprop state without '{key}'"))
}

slot_optimizer!(RMSprop);
