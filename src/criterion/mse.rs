//! `F.mse_loss`: the mean of the squared differences.
use tch::{Reduction, Tensor};

use super::elementwise::Elementwise;
use crate::error::Result;

#[derive(Debug)]
pub(super) struct Mse;

impl Elementwise for Mse {
    fn mean(&self, outputs: &Tensor, targets: &Tensor) -> Result<Tensor> {
        Ok(outputs.f_mse_loss(targets, Reduction::Mean)?)
    }
}
