//! A fully connected layer initialised exactly as PyTorch's `nn.Linear`.
//!
//! PyTorch (`nn.Linear.reset_parameters`): `kaiming_uniform_(weight, a=math.sqrt(5))`, i.e.
//! U(±bound) with `bound = sqrt(3) * gain / sqrt(fan_in)` and `gain = sqrt(2 / (1 + a²))`, then
//! `bias ~ U(±1/sqrt(fan_in))` — weight drawn first, on the CPU generator. tch's own `nn::linear`
//! uses a different bound and draws the bias first, so seeded runs would not match.
use tch::nn::Path;
use tch::Tensor;

use super::init::{bias_bound, kaiming_uniform_bound, parameter, uniform};
use super::module_output;
use crate::error::Result;

/// Options of a [`Linear`] layer.
#[derive(Debug, Clone, Copy)]
pub struct LinearConfig {
    pub bias: bool,
}

impl Default for LinearConfig {
    fn default() -> Self {
        LinearConfig { bias: true }
    }
}

/// `y = x Wᵀ + b`, registered as `weight` (`[out, in]`) and `bias` (`[out]`) under its path.
#[derive(Debug)]
pub struct Linear {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
}

/// Creates a linear layer under `vs`, drawing its parameters as PyTorch does (on the CPU, then
/// copied to the store's device so that a CUDA run starts from the same numbers).
pub fn linear(vs: &Path, in_dim: i64, out_dim: i64, config: LinearConfig) -> Result<Linear> {
    let weight = uniform(&[out_dim, in_dim], kaiming_uniform_bound(in_dim))?;
    let weight = parameter(vs, "weight", &weight)?;
    let bias = if config.bias {
        let bound = bias_bound(in_dim);
        Some(parameter(vs, "bias", &uniform(&[out_dim], bound)?)?)
    } else {
        None
    };
    Ok(Linear { weight, bias })
}

impl Linear {
    /// `torch.nn.functional.linear(xs, weight, bias)`.
    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        Ok(xs.f_linear(&self.weight, self.bias.as_ref())?)
    }
}

/// For `nn::seq()`: [`Linear::forward`], panicking on an error as tch's own layers do.
impl tch::nn::Module for Linear {
    fn forward(&self, xs: &Tensor) -> Tensor {
        module_output(self.forward(xs))
    }
}
