//! `torch.optim.SGD`, `_single_tensor_sgd` of PyTorch 2.11, line for line.
use serde::{Deserialize, Serialize};
use tch::Tensor;

use super::checks;
use super::scaled::{add_scaled, add_scaled_, scalar_like};
use super::slot_macros::slot_optimizer;
use super::slots::{Saved, SlotState};
use crate::error::{Error, Result};

/// `torch.optim.SGD`'s keywords.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SgdConfig {
    pub lr: f64,
    pub momentum: f64,
    pub dampening: f64,
    pub weight_decay: f64,
    /// Needs a momentum and zero dampening.
    pub nesterov: bool,
    pub maximize: bool,
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig {
            lr: 1e-3,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
            maximize: false,
        }
    }
}

impl SgdConfig {
    /// The checks of `SGD.__init__` (the learning rate's aside).
    pub fn validate(&self) -> Result<()> {
        if !self.momentum.is_finite() || self.momentum < 0.0 {
            return Err(checks::invalid(
                "momentum (must be finite and >= 0)",
                self.momentum,
            ));
        }
        if !self.dampening.is_finite() {
            return Err(checks::invalid("dampening", self.dampening));
        }
        checks::finite_weight_decay(self.weight_decay)?;
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            return Err(Error::Config(
                "Nesterov momentum requires a momentum and zero dampening".into(),
            ));
        }
        Ok(())
    }
}

/// One parameter's state: `momentum_buffer` once a step with momentum made it (the only entry
/// Python keeps), and PyTorch's `alpha=` scalars, made once rather than at every step (see
/// `scaled`).
struct State {
    momentum_buffer: Option<Tensor>,
    alphas: Alphas,
}

struct Alphas {
    /// The options they were made from, `(lr, weight_decay, dampening, momentum)`: a scheduler
    /// (or a momentum schedule) changes them between steps.
    made_for: (f64, f64, f64, f64),
    minus_lr: Tensor,
    weight_decay: Tensor,
    one_minus_dampening: Tensor,
    momentum: Tensor,
}

impl Alphas {
    fn new(p: &Tensor, c: &SgdConfig) -> Result<Alphas> {
        Ok(Alphas {
            made_for: Alphas::options(c),
            minus_lr: scalar_like(p, -c.lr)?,
            weight_decay: scalar_like(p, c.weight_decay)?,
            one_minus_dampening: scalar_like(p, 1.0 - c.dampening)?,
            momentum: scalar_like(p, c.momentum)?,
        })
    }

    fn options(c: &SgdConfig) -> (f64, f64, f64, f64) {
        (c.lr, c.weight_decay, c.dampening, c.momentum)
    }
}

impl SlotState for State {
    type Config = SgdConfig;

    fn named(&self) -> Vec<(&'static str, Tensor)> {
        let buf = self.momentum_buffer.as_ref();
        buf.map(|b| ("momentum_buffer", b.shallow_clone()))
            .into_iter()
            .collect()
    }

    fn load(saved: &Saved<'_>, config: &SgdConfig) -> Result<Option<Self>> {
        if !saved.has("momentum_buffer") {
            return Ok(None);
        }
        Ok(Some(State {
            momentum_buffer: Some(saved.tensor("momentum_buffer")?),
            alphas: Alphas::new(saved.param(), config)?,
        }))
    }
}

slot_optimizer!(
    /// Stochastic gradient descent with optional momentum, dampening, Nesterov and weight decay.
    Sgd(SgdConfig)
);

impl Sgd {
    fn update(&mut self) -> Result<()> {
        let c = &self.config;
        let fresh = |p: &Tensor, _: &Tensor| {
            Ok(State {
                momentum_buffer: None,
                alphas: Alphas::new(p, c)?,
            })
        };
        self.slots.step(c.maximize, fresh, |param, mut grad, s| {
            if s.alphas.made_for != Alphas::options(c) {
                s.alphas = Alphas::new(param, c)?;
            }
            let alpha = &s.alphas;
            if c.weight_decay != 0.0 {
                grad = add_scaled(&grad, param, &alpha.weight_decay)?;
            }
            if c.momentum != 0.0 {
                let buf = match &mut s.momentum_buffer {
                    Some(buf) => {
                        let _ = buf.f_mul_scalar_(c.momentum)?;
                        add_scaled_(buf, &grad, &alpha.one_minus_dampening)?;
                        buf.shallow_clone()
                    }
                    slot @ None => slot.insert(grad.f_detach_copy()?).shallow_clone(),
                };
                grad = if c.nesterov {
                    add_scaled(&grad, &buf, &alpha.momentum)?
                } else {
                    buf
                };
            }
            add_scaled_(param, &grad, &alpha.minus_lr)
        })
    }
}
