//! Layer normalisation as PyTorch's `nn.LayerNorm`: `weight` ones and `bias` zeros over
//! `normalized_shape`, forward through `torch.layer_norm`.
use tch::nn::Path;
use tch::{Kind, Tensor};

use super::init::parameter;
use super::module_output;
use crate::error::{Error, Result};

/// Options of a [`LayerNorm`], with PyTorch's defaults.
#[derive(Debug, Clone, Copy)]
pub struct LayerNormConfig {
    pub eps: f64,
    /// Learnable `weight` (and `bias`, if `bias`).
    pub elementwise_affine: bool,
    pub bias: bool,
}

impl Default for LayerNormConfig {
    fn default() -> Self {
        LayerNormConfig {
            eps: 1e-5,
            elementwise_affine: true,
            bias: true,
        }
    }
}

/// Normalises over the last `normalized_shape.len()` dimensions.
#[derive(Debug)]
pub struct LayerNorm {
    pub weight: Option<Tensor>,
    pub bias: Option<Tensor>,
    pub normalized_shape: Vec<i64>,
    pub config: LayerNormConfig,
}

/// `nn.LayerNorm(normalized_shape, eps, elementwise_affine, bias)` under `vs`.
pub fn layer_norm(
    vs: &Path,
    normalized_shape: &[i64],
    config: LayerNormConfig,
) -> Result<LayerNorm> {
    if normalized_shape.is_empty() || normalized_shape.iter().any(|&d| d <= 0) {
        return Err(Error::Config(format!(
            "LayerNorm: normalized_shape must be positive sizes, got {normalized_shape:?}"
        )));
    }
    let cpu = (Kind::Float, tch::Device::Cpu);
    let (weight, bias) = if config.elementwise_affine {
        let w = parameter(vs, "weight", &Tensor::f_ones(normalized_shape, cpu)?)?;
        let b = if config.bias {
            Some(parameter(
                vs,
                "bias",
                &Tensor::f_zeros(normalized_shape, cpu)?,
            )?)
        } else {
            None
        };
        (Some(w), b)
    } else {
        (None, None)
    };
    Ok(LayerNorm {
        weight,
        bias,
        normalized_shape: normalized_shape.to_vec(),
        config,
    })
}

impl LayerNorm {
    /// `F.layer_norm(xs, normalized_shape, weight, bias, eps)`.
    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let size = xs.size();
        let n = self.normalized_shape.len();
        if size.len() < n || size[size.len() - n..] != self.normalized_shape[..] {
            return Err(Error::Data(format!(
                "LayerNorm: input {size:?} does not end in normalized_shape {:?}",
                self.normalized_shape
            )));
        }
        Ok(xs.f_layer_norm(
            self.normalized_shape.as_slice(),
            self.weight.as_ref(),
            self.bias.as_ref(),
            self.config.eps,
            true, // torch.backends.cudnn.enabled
        )?)
    }
}

/// For `nn::seq()`: [`LayerNorm::forward`], panicking on an error as tch's own layers do.
impl tch::nn::Module for LayerNorm {
    fn forward(&self, xs: &Tensor) -> Tensor {
        module_output(self.forward(xs))
    }
}
