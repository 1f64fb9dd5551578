//! Dropout as PyTorch's `nn.Dropout`: `torch.dropout(xs, p, train)`, the op `F.dropout` calls, so
//! after the same `manual_seed` it draws the same mask from libtorch's global generator. On a
//! rank's rows of a data-parallel batch it draws the whole batch's mask and keeps its rows
//! (`batch_rows`).
use tch::Tensor;

use super::batch_rows::current_rows;
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
        let size = xs.size();
        match current_rows() {
            // Part of a global batch: one process's mask (torch.dropout on ones is the mask
            // itself, exactly: 1 × noise), our rows of it. p = 0 or 1 draws nothing.
            Some(rows)
                if train
                    && self.p > 0.0
                    && self.p < 1.0
                    && size.first() == Some(&(rows.end - rows.start)) =>
            {
                let mut global = size.clone();
                global[0] = rows.global;
                let mask = Tensor::f_ones(&global, (xs.kind(), xs.device()))?
                    .f_dropout(self.p, true)?
                    .f_narrow(0, rows.start, rows.end - rows.start)?;
                Ok(xs.f_mul(&mask)?)
            }
            _ => Ok(xs.f_dropout(self.p, train)?),
        }
    }
}

/// For `nn::seq_t()`: [`Dropout::forward_t`], panicking on an error as tch's own layers do.
impl tch::nn::ModuleT for Dropout {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        module_output(self.forward_t(xs, train))
    }
}
