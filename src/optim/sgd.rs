//! `torch.optim.SGD`, `_single_tensor_sgd` of PyTorch 2.11, line for line.
use tch::Tensor;

use super::scaled::{add_scaled, add_scaled_, scalar_like};
use super::{saved_state, zero_grads, Optimizer, SgdConfig};
use crate::error::Result;
use crate::tensor_io::NamedTensors;

/// Stochastic gradient descent with optional momentum, dampening, Nesterov and weight decay.
pub struct Sgd {
    config: SgdConfig,
    params: Vec<(String, Tensor)>,
    momentum_buffers: Vec<Option<Tensor>>,
    // PyTorch's `alpha=` scalars, made once per parameter (see `scaled`).
    alphas: Vec<Alphas>,
}

struct Alphas {
    weight_decay: Tensor,
    one_minus_dampening: Tensor,
    momentum: Tensor,
    minus_lr: Tensor,
}

impl Sgd {
    /// SGD over `params` (sorted by name).
    pub fn new(config: &SgdConfig, params: Vec<(String, Tensor)>) -> Result<Sgd> {
        let alphas = params
            .iter()
            .map(|(_, p)| {
                Ok(Alphas {
                    weight_decay: scalar_like(p, config.weight_decay)?,
                    one_minus_dampening: scalar_like(p, 1.0 - config.dampening)?,
                    momentum: scalar_like(p, config.momentum)?,
                    minus_lr: scalar_like(p, -config.lr)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Sgd {
            config: config.clone(),
            momentum_buffers: params.iter().map(|_| None).collect(),
            params,
            alphas,
        })
    }
}

impl Optimizer for Sgd {
    fn zero_grad(&mut self) -> Result<()> {
        zero_grads(&self.params)
    }

    fn step(&mut self) -> Result<()> {
        let c = &self.config;
        tch::no_grad(|| {
            for (i, (_, param)) in self.params.iter_mut().enumerate() {
                let mut grad = param.grad();
                if !grad.defined() {
                    continue;
                }
                if c.maximize {
                    grad = grad.f_neg()?;
                }
                let alpha = &self.alphas[i];
                if c.weight_decay != 0.0 {
                    grad = add_scaled(&grad, param, &alpha.weight_decay)?;
                }
                if c.momentum != 0.0 {
                    let buf = match &mut self.momentum_buffers[i] {
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
                add_scaled_(param, &grad, &alpha.minus_lr)?;
            }
            Ok(())
        })
    }

    fn lr(&self) -> f64 {
        self.config.lr
    }

    fn set_lr(&mut self, lr: f64) -> Result<()> {
        for (alpha, (_, p)) in self.alphas.iter_mut().zip(&self.params) {
            alpha.minus_lr = scalar_like(p, -lr)?;
        }
        self.config.lr = lr;
        Ok(())
    }

    fn momentum(&self) -> Option<super::Momentum> {
        let (kind, value) = (super::MomentumKind::Momentum, self.config.momentum);
        Some(super::Momentum { kind, value })
    }

    fn set_momentum(&mut self, momentum: f64) -> Result<()> {
        for (alpha, (_, p)) in self.alphas.iter_mut().zip(&self.params) {
            alpha.momentum = scalar_like(p, momentum)?;
        }
        self.config.momentum = momentum;
        Ok(())
    }

    fn state(&self) -> NamedTensors {
        self.params
            .iter()
            .zip(&self.momentum_buffers)
            .filter_map(|((name, _), buf)| {
                buf.as_ref()
                    .map(|b| (format!("{name}.momentum_buffer"), b.shallow_clone()))
            })
            .collect()
    }

    fn load_state(&mut self, state: &NamedTensors) -> Result<()> {
        for (i, (name, param)) in self.params.iter().enumerate() {
            self.momentum_buffers[i] = saved_state(state, name, "momentum_buffer", param)?;
        }
        Ok(())
    }
}
