//! The built-in experiments, each mirrored by `scripts/experiments.py` (models, data) and
//! trained there by `scripts/reference.py`.
use tch::nn::{Path, VarStore};
use tch::Device;

use super::Experiment;
use crate::criterion::Loss;
use crate::data::{breast_cancer, cmudict_words, digits, synthetic_regression};
use crate::error::Result;
use crate::model::Model;
use crate::names::named_enum;
use crate::nets::{digits_cnn, mlp, word_gru, WORD_TOKENS};

named_enum! {
    /// A built-in experiment. None has a dataset size that is a multiple of the default batch size.
    pub enum Builtin: "unknown experiment" {
        /// 8x8 digits (1,347 train / 450 eval), MLP 64-128-10, cross-entropy.
        DigitsMlp = "digits-mlp",
        /// Synthetic `y = x·w + b + noise` (1,000 / 250), linear 8-1, MSE.
        LinearRegression = "linear-regression",
        /// Breast cancer (426 / 143), MLP 30-16-1, BCE with logits.
        BreastCancer = "breast-cancer",
        /// 8x8 digits (1,347 / 450), CNN: conv, batch norm, max-pool, dropout; cross-entropy.
        DigitsCnn = "digits-cnn",
        /// Words of the CMU Pronouncing Dictionary (2,131 / 533), a character-level language
        /// model (embedding, GRU); cross-entropy over the letters, padding ignored.
        CmudictGru = "cmudict-gru",
    }
}

impl Builtin {
    /// The criterion.
    pub fn loss(self) -> Loss {
        match self {
            Builtin::DigitsMlp | Builtin::DigitsCnn | Builtin::CmudictGru => Loss::CrossEntropy,
            Builtin::LinearRegression => Loss::Mse,
            Builtin::BreastCancer => Loss::BceWithLogits,
        }
    }

    /// Number of classes of a class-index criterion.
    fn classes(self) -> Option<i64> {
        match self {
            Builtin::DigitsMlp | Builtin::DigitsCnn => Some(10),
            Builtin::CmudictGru => Some(WORD_TOKENS),
            Builtin::LinearRegression | Builtin::BreastCancer => None,
        }
    }

    /// The model, its layers built (and their weights drawn) in `experiments.py`'s order.
    fn model(self, vs: &Path) -> Result<Box<dyn Model>> {
        Ok(match self {
            Builtin::DigitsMlp => Box::new(mlp(vs, &[64, 128, 10])?),
            Builtin::LinearRegression => Box::new(mlp(vs, &[8, 1])?),
            Builtin::BreastCancer => Box::new(mlp(vs, &[30, 16, 1])?),
            Builtin::DigitsCnn => Box::new(digits_cnn(vs)?),
            Builtin::CmudictGru => Box::new(word_gru(vs)?),
        })
    }

    /// Seeds libtorch with `seed`, then makes the data (synthetic data draws first) and the model,
    /// in the reference script's order, and moves both to `device`.
    pub fn build(self, seed: u64, device: Device) -> Result<Experiment> {
        tch::manual_seed(seed as i64);
        let data = match self {
            Builtin::DigitsMlp | Builtin::DigitsCnn => digits()?,
            Builtin::LinearRegression => synthetic_regression()?,
            Builtin::BreastCancer => breast_cancer()?,
            Builtin::CmudictGru => cmudict_words()?,
        };
        let vs = VarStore::new(device);
        let model = self.model(&vs.root())?;
        Ok(Experiment {
            name: self.name().to_string(),
            vs,
            model,
            data: data.to_device(device)?,
            loss: self.loss().into(),
            classes: self.classes(),
            hooks: Vec::new(),
        })
    }
}
