//! A multi-layer perceptron: `fc1`, ReLU, `fc2`, ReLU, …, `fcN` (no activation after the last).
use tch::nn::Path;
use tch::Tensor;

use crate::error::{Error, Result};
use crate::model::{linear, Linear, LinearConfig, Model};

/// Layers named `fc1` … `fcN`, as in the reference script's `Net`.
#[derive(Debug)]
pub struct Mlp {
    layers: Vec<Linear>,
}

/// An MLP through `sizes` (`[64, 128, 10]`: 64 inputs, one hidden layer of 128, 10 outputs).
pub fn mlp(vs: &Path, sizes: &[i64]) -> Result<Mlp> {
    if sizes.len() < 2 {
        return Err(Error::Config(format!(
            "an MLP needs at least two sizes, got {sizes:?}"
        )));
    }
    let layers = sizes
        .windows(2)
        .enumerate()
        .map(|(i, pair)| {
            linear(
                &(vs / format!("fc{}", i + 1)),
                pair[0],
                pair[1],
                LinearConfig::default(),
            )
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Mlp { layers })
}

impl Model for Mlp {
    fn forward_t(&self, xs: &Tensor, _train: bool) -> Result<Tensor> {
        let last = self.layers.len() - 1;
        let mut out = xs.shallow_clone();
        for (i, layer) in self.layers.iter().enumerate() {
            out = layer.forward(&out)?;
            if i < last {
                out = out.f_relu()?;
            }
        }
        Ok(out)
    }
}
