//! `torch.optim.Adafactor`: `_single_tensor_adafactor` of PyTorch 2.11, line for line.
//!
//! Gradients of two or more dimensions keep a factored second moment (`row_var`, `col_var`, over
//! the last two dimensions); others keep a full `variance`. One quirk is kept on purpose: with
//! `eps=(None, …)` Python sets `eps1 = torch.finfo(param.dtype).eps` from the *first* parameter with
//! a gradient and keeps it for the rest of that step.
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use super::checks;
use super::scaled::add_alpha_;
use super::slot_macros::slot_optimizer;
use super::slots::{count_step, decay_, py_max, py_min, scalar_f32, Saved, SlotState, Slots};
use crate::error::Result;

/// `torch.optim.Adafactor`'s options (`foreach` aside).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdafactorConfig {
    pub lr: f64,
    pub beta2_decay: f64,
    /// `(eps1, eps2)`; `eps1 = None` means the machine epsilon of the parameters' dtype.
    pub eps: (Option<f64>, f64),
    /// The clipping threshold of the update's RMS.
    pub d: f64,
    pub weight_decay: f64,
    pub maximize: bool,
}

impl Default for AdafactorConfig {
    fn default() -> Self {
        AdafactorConfig {
            lr: 1e-2,
            beta2_decay: -0.8,
            eps: (None, 1e-3),
            d: 1.0,
            weight_decay: 0.0,
            maximize: false,
        }
    }
}

impl AdafactorConfig {
    /// The checks of `Adafactor.__init__`.
    pub fn validate(&self) -> Result<()> {
        let lr = self.lr;
        checks::ensure(0.0 <= lr, || {
            format!("Learning rate should be >= 0 but is: {lr:?}")
        })?;
        let decay = self.beta2_decay;
        checks::ensure(0.0 >= decay, || {
            format!("beta2_decay should be <= 0 but is: {decay:?}")
        })?;
        if let Some(eps1) = self.eps.0 {
            checks::ensure(0.0 <= eps1, || {
                format!("epsilon1 should be >= 0 but is: {eps1:?}")
            })?;
        }
        let eps2 = self.eps.1;
        checks::ensure(0.0 <= eps2, || {
            format!("epsilon2 should be >= 0 but is: {eps2:?}")
        })?;
        let d = self.d;
        checks::ensure(1.0 <= d, || {
            format!("Clipping threshold d should be >= 1 but is: {d:?}")
        })?;
        let wd = self.weight_decay;
        checks::ensure(0.0 <= wd, || {
            format!("weight_decay should be >= 0 but is: {wd:?}")
        })
    }
}

/// The second-moment estimate: factored for gradients of two or more dimensions.
enum Variance {
    Factored { row_var: Tensor, col_var: Tensor },
    Full(Tensor),
}

struct State {
    step: f32,
    variance: Variance,
}

impl State {
    /// `p.grad.new_zeros(row_shape)` / `(col_shape)`, or `torch.zeros_like(p.grad)`.
    fn fresh(grad: &Tensor) -> Result<State> {
        let (row, col) = factor_shapes(grad);
        let variance = match (row, col) {
            (Some(row), Some(col)) => Variance::Factored {
                row_var: grad.f_new_zeros(row.as_slice(), (grad.kind(), grad.device()))?,
                col_var: grad.f_new_zeros(col.as_slice(), (grad.kind(), grad.device()))?,
            },
            _ => Variance::Full(grad.f_zeros_like()?),
        };
        Ok(State {
            step: 0.0,
            variance,
        })
    }
}

/// The shapes of `row_var` (last dimension 1) and `col_var` (second-last 1) for a gradient of
/// two or more dimensions.
fn factor_shapes(grad: &Tensor) -> (Option<Vec<i64>>, Option<Vec<i64>>) {
    let shape = grad.size();
    let n = shape.len();
    if n < 2 {
        return (None, None);
    }
    let (mut row, mut col) = (shape.clone(), shape);
    row[n - 1] = 1;
    col[n - 2] = 1;
    (Some(row), Some(col))
}

impl SlotState for State {
    type Config = AdafactorConfig;

    fn named(&self) -> Vec<(&'static str, Tensor)> {
        let mut named = vec![("step", scalar_f32(self.step))];
        match &self.variance {
            Variance::Factored { row_var, col_var } => {
                named.push(("row_var", row_var.shallow_clone()));
                named.push(("col_var", col_var.shallow_clone()));
            }
            Variance::Full(v) => named.push(("variance", v.shallow_clone())),
        }
        named
    }

    fn load(saved: &Saved<'_>, _: &AdafactorConfig) -> Result<Option<Self>> {
        if !saved.has("step") {
            return Ok(None);
        }
        let param = saved.param();
        let variance = match factor_shapes(param) {
            (Some(row), Some(col)) => {
                let like = |shape: Vec<i64>| Tensor::f_zeros(shape, (param.kind(), param.device()));
                Variance::Factored {
                    row_var: saved.tensor_like("row_var", &like(row)?)?,
                    col_var: saved.tensor_like("col_var", &like(col)?)?,
                }
            }
            _ => Variance::Full(saved.tensor("variance")?),
        };
        let step = saved.scalar("step")?;
        Ok(Some(State { step, variance }))
    }
}

/// Adafactor: a factored second moment, relative step sizes and update clipping.
pub struct Adafactor {
    config: AdafactorConfig,
    slots: Slots<State>,
}

impl Adafactor {
    /// Adafactor over `params` (sorted by name).
    pub fn new(config: &AdafactorConfig, params: Vec<(String, Tensor)>) -> Result<Self> {
        config.validate()?;
        Ok(Adafactor {
            config: config.clone(),
            slots: Slots::new(params),
        })
    }

    fn update(&mut self) -> Result<()> {
        let c = &self.config;
        let (mut eps1, eps2) = c.eps;
        let fresh = |_: &Tensor, grad: &Tensor| State::fresh(grad);
        self.slots.step(c.maximize, fresh, |param, grad, s| {
            let eps1 = *eps1.get_or_insert_with(|| machine_eps(param.kind()));
            let step = count_step(&mut s.step);
            let one_minus_beta2_t = step.powf(c.beta2_decay);
            let rho_t = py_min(c.lr, 1.0 / step.powf(0.5));
            let rms = param.f_norm()?.f_double_value(&[])? / (param.numel() as f64).powf(0.5);
            let alpha = py_max(eps2, rms) * rho_t;
            if c.weight_decay != 0.0 {
                decay_(param, c.lr, c.weight_decay)?;
            }
            let var_estimate = match &mut s.variance {
                Variance::Factored { row_var, col_var } => {
                    let row_mean = mean_square(&grad, -1)?;
                    let _ = row_var.f_lerp_(&row_mean, one_minus_beta2_t)?;
                    let col_mean = mean_square(&grad, -2)?;
                    let _ = col_var.f_lerp_(&col_mean, one_minus_beta2_t)?;
                    let mut var_estimate = row_var.f_matmul(col_var)?;
                    let mut row_var_mean = row_var.f_mean_dim(&[-2i64][..], true, None)?;
                    let _ = var_estimate.f_div_(&row_var_mean.f_clamp_min_(eps1)?)?;
                    var_estimate
                }
                Variance::Full(variance) => {
                    let grad_squared = grad.f_mul(&grad)?;
                    let _ = variance.f_lerp_(&grad_squared, one_minus_beta2_t)?;
                    variance.f_detach_copy()?
                }
            };
            let mut update = var_estimate;
            let _ = update.f_clamp_min_(eps1 * eps1)?.f_rsqrt_()?;
            let _ = update.f_mul_(&grad)?;
            let update_rms = update.f_norm()?.f_double_value(&[])?;
            let denom = py_max(1.0, update_rms / ((update.numel() as f64).powf(0.5) * c.d));
            add_alpha_(param, &update, -alpha / denom)
        })
    }
}

/// `torch.norm(grad, dim=dim, keepdim=True).square_().div_(grad.size(dim))`: the mean of the
/// squares along `dim`, as Python computes it.
fn mean_square(grad: &Tensor, dim: i64) -> Result<Tensor> {
    let mut norm = grad.f_norm_scalaropt_dim(2, [dim].as_slice(), true)?;
    let _ = norm
        .f_square_()?
        .f_div_scalar_(grad.size()[(grad.dim() as i64 + dim) as usize])?;
    Ok(norm)
}

/// `torch.finfo(dtype).eps`.
fn machine_eps(kind: Kind) -> f64 {
    match kind {
        Kind::Double => f64::EPSILON,
        Kind::Half => 0.0009765625,
        Kind::BFloat16 => 0.0078125,
        _ => f64::from(f32::EPSILON),
    }
}

slot_optimizer!(Adafactor);
