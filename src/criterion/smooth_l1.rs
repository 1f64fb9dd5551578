//! `F.smooth_l1_loss` with PyTorch's default `beta=1.0`: squared below beta, absolute above.
use tch::{Reduction, Tensor};

use super::elementwise::Elementwise;
use crate::error::Result;

#[derive(Debug)]
pub(super) struct SmoothL1;

impl Elementwise for SmoothL1 {
    fn mean(&self, outputs: &Tensor, targets: &Tensor) -> Result<Tensor> {
        Ok(outputs.f_smooth_l1_loss(targets, Reduction::Mean, 1.0)?)
    }
}
