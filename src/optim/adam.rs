//! `torch.optim.Adam` and `AdamW`: `_single_tensor_adam` of PyTorch 2.11, line for line (AdamW is
//! the same function with `decoupled_weight_decay=True`).
use tch::{Device, Kind, Tensor};

use super::scaled::{add_scaled, scalar_like};
use super::{saved_state, zero_grads, AdamConfig, Optimizer};
use crate::error::Result;
use crate::tensor_io::NamedTensors;

/// Adam (L2 weight decay) or AdamW (decoupled weight decay), optionally AMSGrad.
pub struct Adam {
    config: AdamConfig,
    decoupled_weight_decay: bool,
    params: Vec<(String, Tensor)>,
    states: Vec<Option<AdamState>>,
    weight_decay: Vec<Tensor>,
}

/// Per-parameter state, as `optimizer.state[p]` holds it in Python.
struct AdamState {
    /// Steps taken; Python keeps a float32 tensor and reads it with `.item()`.
    step: f64,
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
    max_exp_avg_sq: Option<Tensor>,
}

impl Adam {
    /// Adam, or AdamW when `decoupled_weight_decay`, over `params` (sorted by name).
    pub fn new(
        config: &AdamConfig,
        decoupled_weight_decay: bool,
        params: Vec<(String, Tensor)>,
    ) -> Result<Adam> {
        let weight_decay = params
            .iter()
            .map(|(_, p)| scalar_like(p, config.weight_decay))
            .collect::<Result<Vec<_>>>()?;
        Ok(Adam {
            config: config.clone(),
            decoupled_weight_decay,
            states: params.iter().map(|_| None).collect(),
            params,
            weight_decay,
        })
    }

    fn fresh_state(&self, param: &Tensor) -> Result<AdamState> {
        Ok(AdamState {
            step: 0.0,
            exp_avg: param.f_zeros_like()?,
            exp_avg_sq: param.f_zeros_like()?,
            max_exp_avg_sq: if self.config.amsgrad {
                Some(param.f_zeros_like()?)
            } else {
                None
            },
        })
    }
}

impl Optimizer for Adam {
    fn zero_grad(&mut self) -> Result<()> {
        zero_grads(&self.params)
    }

    fn step(&mut self) -> Result<()> {
        let c = self.config.clone();
        tch::no_grad(|| {
            for i in 0..self.params.len() {
                let mut grad = self.params[i].1.grad();
                if !grad.defined() {
                    continue;
                }
                if c.maximize {
                    grad = grad.f_neg()?;
                }
                if self.states[i].is_none() {
                    self.states[i] = Some(self.fresh_state(&self.params[i].1)?);
                }
                let param = &mut self.params[i].1;
                let state = self.states[i].as_mut().expect("state was just created");
                state.step += 1.0;
                if c.weight_decay != 0.0 {
                    if self.decoupled_weight_decay {
                        let _ = param.f_mul_scalar_(1.0 - c.lr * c.weight_decay)?;
                    } else {
                        grad = add_scaled(&grad, param, &self.weight_decay[i])?;
                    }
                }
                let _ = state.exp_avg.f_lerp_(&grad, 1.0 - c.betas.0)?;
                // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                let _ = state.exp_avg_sq.f_mul_scalar_(c.betas.1)?;
                let _ = state
                    .exp_avg_sq
                    .f_addcmul_(&grad.f_mul_scalar(1.0 - c.betas.1)?, &grad)?;

                let step = state.step;
                let bias_correction1 = 1.0 - c.betas.0.powf(step);
                let bias_correction2 = 1.0 - c.betas.1.powf(step);
                let step_size = c.lr / bias_correction1;
                let bias_correction2_sqrt = bias_correction2.powf(0.5);
                let second_moment = match &mut state.max_exp_avg_sq {
                    Some(max) => {
                        let _ = max.f_maximum_out(max, &state.exp_avg_sq)?;
                        max.shallow_clone()
                    }
                    None => state.exp_avg_sq.shallow_clone(),
                };
                let mut denom = second_moment
                    .f_sqrt()?
                    .f_div_scalar(bias_correction2_sqrt)?;
                let _ = denom.f_add_scalar_(c.eps)?;
                // param.addcdiv_(exp_avg, denom, value=-step_size)
                let _ = param.f_addcdiv_(&state.exp_avg.f_mul_scalar(-step_size)?, &denom)?;
            }
            Ok(())
        })
    }

    fn lr(&self) -> f64 {
        self.config.lr
    }

    fn set_lr(&mut self, lr: f64) -> Result<()> {
        self.config.lr = lr;
        Ok(())
    }

    fn momentum(&self) -> Option<super::Momentum> {
        let (kind, value) = (super::MomentumKind::Beta1, self.config.betas.0);
        Some(super::Momentum { kind, value })
    }

    fn set_momentum(&mut self, beta1: f64) -> Result<()> {
        self.config.betas.0 = beta1;
        Ok(())
    }

    fn state(&self) -> NamedTensors {
        let mut named = Vec::new();
        for ((name, _), state) in self.params.iter().zip(&self.states) {
            let Some(s) = state else { continue };
            let step = Tensor::from(s.step as f32)
                .to_device(Device::Cpu)
                .to_kind(Kind::Float);
            named.push((format!("{name}.step"), step));
            named.push((format!("{name}.exp_avg"), s.exp_avg.shallow_clone()));
            named.push((format!("{name}.exp_avg_sq"), s.exp_avg_sq.shallow_clone()));
            if let Some(max) = &s.max_exp_avg_sq {
                named.push((format!("{name}.max_exp_avg_sq"), max.shallow_clone()));
            }
        }
        named
    }

    fn load_state(&mut self, state: &NamedTensors) -> Result<()> {
        for i in 0..self.params.len() {
            let (name, param) = &self.params[i];
            let step_like = Tensor::from(0f32);
            let Some(step) = saved_state(state, name, "step", &step_like)? else {
                self.states[i] = None;
                continue;
            };
            let missing = |key: &str| {
                crate::error::Error::Data(format!("optimizer state '{name}.{key}' is missing"))
            };
            self.states[i] = Some(AdamState {
                step: step.f_double_value(&[])?,
                exp_avg: saved_state(state, name, "exp_avg", param)?
                    .ok_or_else(|| missing("exp_avg"))?,
                exp_avg_sq: saved_state(state, name, "exp_avg_sq", param)?
                    .ok_or_else(|| missing("exp_avg_sq"))?,
                max_exp_avg_sq: if self.config.amsgrad {
                    Some(
                        saved_state(state, name, "max_exp_avg_sq", param)?
                            .ok_or_else(|| missing("max_exp_avg_sq"))?,
                    )
                } else {
                    None
                },
            });
        }
        Ok(())
    }
}
