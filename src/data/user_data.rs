//! A user's data file (`--data FILE.safetensors`): checked tensor by tensor before any training,
//! so that every problem is one error naming the key and the shapes.
use std::path::Path;

use tch::Tensor;

use super::Dataset;
use crate::criterion::is_float;
use crate::error::{Error, Result};
use crate::tensor_io::{read_tensors, NamedTensors};

/// The keys a data file may hold: the training pair, then the optional held-out pair.
pub const DATA_KEYS: [&str; 4] = ["inputs", "targets", "eval_inputs", "eval_targets"];

/// Reads and checks a data file: known keys only, `inputs`/`targets` present, float (or int64:
/// token ids) inputs with a sample dimension, no NaN or infinity in inputs or float targets, matching sample counts and at
/// least one sample per split, held-out tensors of the training tensors' dtypes. Target dtypes are
/// checked against the loss later (see `Experiment::check_task`).
pub fn read_data_file(path: &Path) -> Result<Dataset> {
    let tensors = read_tensors(path)?;
    check_named(&tensors, path)?;
    Dataset::from_named(tensors, path)
}

/// The checks of [`read_data_file`] on tensors already read.
pub fn check_named(tensors: &NamedTensors, origin: &Path) -> Result<()> {
    let err = |message: String| Error::Data(format!("{}: {message}", origin.display()));
    let held = || {
        let list: Vec<String> = tensors
            .iter()
            .map(|(name, t)| format!("{name} {:?} {:?}", t.kind(), t.size()))
            .collect();
        if list.is_empty() {
            "no tensors".to_string()
        } else {
            list.join(", ")
        }
    };
    for (name, _) in tensors {
        if !DATA_KEYS.contains(&name.as_str()) {
            return Err(err(format!(
                "unexpected tensor '{name}' (expected {}; the file holds {})",
                DATA_KEYS.join(", "),
                held()
            )));
        }
    }
    let get = |key: &str| tensors.iter().find(|(n, _)| n == key).map(|(_, t)| t);
    for key in ["inputs", "targets"] {
        if get(key).is_none() {
            return Err(err(format!(
                "missing tensor '{key}' (the file holds {})",
                held()
            )));
        }
    }
    for (name, t) in tensors {
        let is_input = name.ends_with("inputs");
        if t.dim() == 0 {
            return Err(err(format!(
                "'{name}' is a scalar {:?}; it needs a sample dimension [N, …]",
                t.size()
            )));
        }
        if is_input && !is_float(t.kind()) && t.kind() != tch::Kind::Int64 {
            return Err(err(format!(
                "'{name}' has dtype {:?} {:?}; inputs must be float (f32, f64, f16 or bf16) or \
                 int64 (token ids)",
                t.kind(),
                t.size()
            )));
        }
        if is_float(t.kind()) {
            check_finite(t, name).map_err(|e| err(e.to_string()))?;
        }
    }
    match (get("eval_inputs"), get("eval_targets")) {
        (Some(_), None) => {
            return Err(err(format!(
                "missing tensor 'eval_targets' to go with 'eval_inputs' (the file holds {})",
                held()
            )))
        }
        (None, Some(_)) => {
            return Err(err(format!(
                "missing tensor 'eval_inputs' to go with 'eval_targets' (the file holds {})",
                held()
            )))
        }
        (Some(eval), Some(eval_targets)) => {
            let train = get("inputs").map(|t| t.size()).unwrap_or_default();
            if eval.size()[1..] != train[1..] {
                return Err(err(format!(
                    "'eval_inputs' {:?} and 'inputs' {train:?} differ in the shape of one sample",
                    eval.size()
                )));
            }
            // The model is probed with training inputs only: held-out inputs of another dtype
            // would fail at the first evaluation, after an epoch of training.
            for (key, t) in [("inputs", eval), ("targets", eval_targets)] {
                let train = get(key).map(Tensor::kind);
                if train != Some(t.kind()) {
                    return Err(err(format!(
                        "'eval_{key}' has dtype {:?} {:?} but '{key}' {:?}; both splits need \
                         the same dtype",
                        t.kind(),
                        t.size(),
                        train.unwrap_or(t.kind())
                    )));
                }
            }
        }
        (None, None) => {}
    }
    Ok(())
}

/// An error naming the first NaN or infinite value of a float tensor, if it has one.
fn check_finite(t: &Tensor, name: &str) -> Result<()> {
    let bad = t.f_isfinite()?.f_logical_not()?;
    let count = bad.f_sum(tch::Kind::Int64)?.f_int64_value(&[])?;
    if count == 0 {
        return Ok(());
    }
    let first = bad.f_flatten(0, -1)?.f_nonzero()?.f_int64_value(&[0, 0])?;
    let value = t.f_flatten(0, -1)?.f_double_value(&[first])?;
    let per_sample = (t.numel() as i64 / t.size()[0].max(1)).max(1);
    Err(Error::Data(format!(
        "'{name}' {:?} holds {count} NaN/infinite value(s), the first ({value}) in sample {}",
        t.size(),
        first / per_sample
    )))
}
