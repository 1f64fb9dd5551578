//! The built-in experiments, each mirrored by `scripts/reference.py`.
use tch::nn::VarStore;
use tch::Device;

use super::Experiment;
use crate::criterion::Loss;
use crate::data::{breast_cancer, digits, synthetic_regression};
use crate::error::Result;
use crate::model::mlp;
use crate::names::named_enum;

named_enum! {
    /// A built-in experiment. None has a dataset size that is a multiple of the default batch size.
    pub enum Builtin: "unknown experiment" {
        /// 8x8 digits (1,347 train / 450 eval), MLP 64-128-10, cross-entropy.
        DigitsMlp = "digits-mlp",
        /// Synthetic `y = x·w + b + noise` (1,000 / 250), linear 8-1, MSE.
        LinearRegression = "linear-regression",
        /// Breast cancer (426 / 143), MLP 30-16-1, BCE with logits.
        BreastCancer = "breast-cancer",
    }
}

impl Builtin {
    /// Layer sizes of the model (`fc1` … `fcN`).
    pub fn layer_sizes(self) -> &'static [i64] {
        match self {
            Builtin::DigitsMlp => &[64, 128, 10],
            Builtin::LinearRegression => &[8, 1],
            Builtin::BreastCancer => &[30, 16, 1],
        }
    }

    /// The criterion.
    pub fn loss(self) -> Loss {
        match self {
            Builtin::DigitsMlp => Loss::CrossEntropy,
            Builtin::LinearRegression => Loss::Mse,
            Builtin::BreastCancer => Loss::BceWithLogits,
        }
    }

    /// Seeds libtorch with `seed`, then makes the data (synthetic data draws first) and the model,
    /// in the reference script's order, and moves both to `device`.
    pub fn build(self, seed: u64, device: Device) -> Result<Experiment> {
        tch::manual_seed(seed as i64);
        let data = match self {
            Builtin::DigitsMlp => digits()?,
            Builtin::LinearRegression => synthetic_regression()?,
            Builtin::BreastCancer => breast_cancer()?,
        };
        let vs = VarStore::new(device);
        let model = mlp(&vs.root(), self.layer_sizes())?;
        let sizes = self.layer_sizes();
        Ok(Experiment {
            name: self.name().to_string(),
            vs,
            model: Box::new(model),
            data: data.to_device(device)?,
            loss: self.loss(),
            classes: self
                .loss()
                .takes_class_indices()
                .then(|| sizes[sizes.len() - 1]),
        })
    }
}
