//! `F.l1_loss`: the mean of the absolute differences.
use tch::{Reduction, Tensor};

use super::elementwise::Elementwise;
use crate::error::Result;

#[derive(Debug)]
pub(super) struct L1;

impl Elementwise for L1 {
    fn mean(&self, outputs: &Tensor, targets: &Tensor) -> Result<Tensor> {
        Ok(outputs.f_l1_loss(targets, Reduction::Mean)?)
    }
}
