//! The model of the `digits-cnn` experiment: `DigitsCnn` of scripts/experiments.py, layer for
//! layer and built in the same order, so the same seed gives the same weights.
//!
//! ```python
//! self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
//! self.bn1 = nn.BatchNorm2d(16)
//! self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
//! self.bn2 = nn.BatchNorm2d(32)
//! self.dropout = nn.Dropout(0.25)
//! self.fc1 = nn.Linear(32 * 2 * 2, 64)
//! self.fc2 = nn.Linear(64, 10)
//! ```
use tch::nn::Path;
use tch::Tensor;

use crate::error::Result;
use crate::model::functional::{flatten, max_pool2d};
use crate::model::{
    batch_norm2d, conv2d, dropout, linear, BatchNorm, BatchNormConfig, Conv2d, Conv2dConfig,
    Dropout, Linear, LinearConfig, Model,
};

/// Two conv → batch norm → ReLU → 2×2 max-pool blocks over the 8×8 image, dropout, two linear
/// layers; 10 logits.
#[derive(Debug)]
pub struct DigitsCnn {
    conv1: Conv2d,
    bn1: BatchNorm,
    conv2: Conv2d,
    bn2: BatchNorm,
    dropout: Dropout,
    fc1: Linear,
    fc2: Linear,
}

/// Builds [`DigitsCnn`] under `vs`.
pub fn digits_cnn(vs: &Path) -> Result<DigitsCnn> {
    let same = Conv2dConfig {
        padding: 1,
        ..Default::default()
    };
    Ok(DigitsCnn {
        conv1: conv2d(&(vs / "conv1"), 1, 16, 3, same)?,
        bn1: batch_norm2d(&(vs / "bn1"), 16, BatchNormConfig::default())?,
        conv2: conv2d(&(vs / "conv2"), 16, 32, 3, same)?,
        bn2: batch_norm2d(&(vs / "bn2"), 32, BatchNormConfig::default())?,
        dropout: dropout(0.25)?,
        fc1: linear(&(vs / "fc1"), 32 * 2 * 2, 64, LinearConfig::default())?,
        fc2: linear(&(vs / "fc2"), 64, 10, LinearConfig::default())?,
    })
}

impl Model for DigitsCnn {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Result<Tensor> {
        let x = xs.f_view([-1, 1, 8, 8])?;
        let x = self.bn1.forward_t(&self.conv1.forward(&x)?, train)?;
        let x = max_pool2d(&x.f_relu()?, 2)?; // [N, 16, 4, 4]
        let x = self.bn2.forward_t(&self.conv2.forward(&x)?, train)?;
        let x = max_pool2d(&x.f_relu()?, 2)?; // [N, 32, 2, 2]
        let x = self.dropout.forward_t(&flatten(&x, 1, -1)?, train)?;
        self.fc2.forward(&self.fc1.forward(&x)?.f_relu()?)
    }
}
