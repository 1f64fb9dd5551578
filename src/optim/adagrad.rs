//! `torch.optim.Adagrad`: `_single_tensor_adagrad` of PyTorch 2.11 (dense gradients), line for
//! line. Its state (`step` 0, `sum` = `initial_accumulator_value`) exists from the constructor on,
//! for every parameter, as in Python.
use serde::{Deserialize, Serialize};
use tch::Tensor;

use super::checks;
use super::scaled::addcdiv_value_;
use super::slot_macros::slot_optimizer;
use super::slots::{count_step, l2_penalty, scalar_f32, Saved, SlotState, Slots};
use crate::error::Result;

/// `torch.optim.Adagrad`'s options (`foreach`, `differentiable` and `fused` aside).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdagradConfig {
    pub lr: f64,
    pub lr_decay: f64,
    pub weight_decay: f64,
    pub initial_accumulator_value: f64,
    pub eps: f64,
    pub maximize: bool,
}

impl Default for AdagradConfig {
    fn default() -> Self {
        AdagradConfig {
            lr: 1e-2,
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
            maximize: false,
        }
    }
}

impl AdagradConfig {
    /// The checks of `Adagrad.__init__`.
    pub fn validate(&self) -> Result<()> {
        checks::lr(self.lr)?;
        checks::ensure(0.0 <= self.lr_decay, || {
            format!("Invalid lr_decay value: {:?}", self.lr_decay)
        })?;
        checks::weight_decay(self.weight_decay)?;
        checks::ensure(0.0 <= self.initial_accumulator_value, || {
            format!(
                "Invalid initial_accumulator_value value: {:?}",
                self.initial_accumulator_value
            )
        })?;
        checks::eps(self.eps)
    }
}

struct State {
    step: f32,
    sum: Tensor,
}

impl State {
    /// `step` 0 and `sum = torch.full_like(p, initial_accumulator_value)`.
    fn initial(p: &Tensor, initial_accumulator_value: f64) -> Result<State> {
        Ok(State {
            step: 0.0,
            sum: p.f_full_like(initial_accumulator_value)?,
        })
    }
}

impl SlotState for State {
    type Config = AdagradConfig;

    fn named(&self) -> Vec<(&'static str, Tensor)> {
        vec![
            ("step", scalar_f32(self.step)),
            ("sum", self.sum.shallow_clone()),
        ]
    }

    /// Adagrad's state is never absent, so both keys must be there.
    fn load(saved: &Saved<'_>, _: &AdagradConfig) -> Result<Option<Self>> {
        Ok(Some(State {
            step: saved.scalar("step")?,
            sum: saved.tensor("sum")?,
        }))
    }
}

/// Adagrad, with optional learning-rate decay and L2 weight decay.
pub struct Adagrad {
    config: AdagradConfig,
    slots: Slots<State>,
}

impl Adagrad {
    /// Adagrad over `params` (sorted by name).
    pub fn new(config: &AdagradConfig, params: Vec<(String, Tensor)>) -> Result<Self> {
        config.validate()?;
        let init = config.initial_accumulator_value;
        Ok(Adagrad {
            config: config.clone(),
            slots: Slots::with_state(params, |p| State::initial(p, init))?,
        })
    }

    fn update(&mut self) -> Result<()> {
        let c = &self.config;
        // Not called: every state exists from the constructor on (and `load_state` keeps it so).
        let fresh = |p: &Tensor, _: &Tensor| State::initial(p, c.initial_accumulator_value);
        self.slots.step(c.maximize, fresh, |param, grad, s| {
            let step = count_step(&mut s.step);
            let grad = l2_penalty(grad, param, c.weight_decay)?;
            let clr = c.lr / (1.0 + (step - 1.0) * c.lr_decay);
            let _ = s.sum.f_addcmul_(&grad, &grad)?;
            let std = s.sum.f_sqrt()?.f_add_scalar_(c.eps)?;
            addcdiv_value_(param, &grad, &std, -clr)
        })
    }
}

slot_optimizer!(Adagrad);
