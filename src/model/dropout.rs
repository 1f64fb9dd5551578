//! Dropout as PyTorch's `nn.Dropout`: `torch.dropout(xs, p, train)`, the op `F.dropout` calls, so
//! after the same `manual_seed` it draws the same mask from libtorch's global generator.
use tch::Tensor;

use super::module_output;
use crate::error::{Error, Result};

/// Zeroes each element with probability `p` in training mode and scales the rest by `1/(1-p)`.
#[derive(Debug, Clone, Copy)]
pub struct Dropout {
    pub p: f64,
}

/// `nn.Dropout(p)`; `p` must be in `[0, 1]`.
pub fn dropout(p: f64) -> Result<Dropout> {
    if !(0.0..=1.0).contains(&p) {
        return Err(Error::Config(format!(
            "dropout probability has to be between 0 and 1, but got {p}"
        )));
    }
    Ok(Dropout { p })
}

impl Dropout {
    /// `F.dropout(xs, p, training=train)`: the identity when `train` is false.
    pub fn forward_t(&self, xs: &Tensor, train: bool) -> Result<Tensor> {
        Ok(xs.f_dropout(self.p, train)?)
    }
}

/// For `nn::seq_t()`: [`Dropout::forward_t`], panicking on an error as tch's own layers do.
impl tch::nn::ModuleT for Dropout {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        module_output(self.forward_t(xs, train))
    }
}
