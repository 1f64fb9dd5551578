//! `F.huber_loss` with PyTorch's default `delta=1.0`: squared below delta, linear above.
use tch::{Reduction, Tensor};

use super::elementwise::Elementwise;
use crate::error::Result;

#[derive(Debug)]
pub(super) struct Huber;

impl Elementwise for Huber {
    fn mean(&self, outputs: &Tensor, targets: &Tensor) -> Result<Tensor> {
        Ok(outputs.f_huber_loss(targets, Reduction::Mean, 1.0)?)
    }
}
