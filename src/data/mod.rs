//! Datasets as tensors, and the batches drawn from them.
mod batch_size;
mod batches;
mod builtin;
mod order;
mod shard;
mod user_data;

pub use crate::tensor_io::{read_tensors, write_tensors, NamedTensors};
pub use batch_size::BatchSize;
pub use batches::{batch_count, eval_batches, train_batches};
pub use builtin::{breast_cancer, cmudict_words, digits, synthetic_regression};
pub use order::{epoch_order, shuffle_seed};
pub use shard::Shard;
pub use user_data::{check_named, read_data_file, DATA_KEYS};

use std::path::Path;

use tch::{Device, Tensor};

use crate::error::{Error, Result};

/// Inputs and targets with the same number of samples along dimension 0.
#[derive(Debug)]
pub struct Split {
    pub inputs: Tensor,
    pub targets: Tensor,
}

impl Split {
    /// Checks that inputs and targets hold the same, non-zero number of samples.
    pub fn new(inputs: Tensor, targets: Tensor, what: &str) -> Result<Split> {
        let (ni, nt) = (leading_dim(&inputs), leading_dim(&targets));
        if ni != nt {
            return Err(Error::Data(format!(
                "{what}: inputs have {ni} samples {:?} but targets have {nt} {:?}",
                inputs.size(),
                targets.size()
            )));
        }
        if ni == 0 {
            return Err(Error::Data(format!("{what}: the dataset is empty")));
        }
        Ok(Split { inputs, targets })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        leading_dim(&self.inputs) as usize
    }

    /// Always false: a split is never empty (checked in `new`).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The same split on `device` (one copy of the whole split, so batches need none).
    pub fn to_device(&self, device: Device) -> Result<Split> {
        Ok(Split {
            inputs: self.inputs.f_to_device(device)?,
            targets: self.targets.f_to_device(device)?,
        })
    }
}

/// A training split and an optional held-out split.
#[derive(Debug)]
pub struct Dataset {
    pub train: Split,
    pub eval: Option<Split>,
}

impl Dataset {
    /// Builds a dataset from named tensors `inputs`, `targets` and, optionally, `eval_inputs`,
    /// `eval_targets` (the layout of every data file this project reads or writes).
    pub fn from_named(tensors: NamedTensors, origin: &Path) -> Result<Dataset> {
        let take = |key: &str| {
            tensors
                .iter()
                .position(|(name, _)| name == key)
                .map(|i| tensors[i].1.shallow_clone())
        };
        let missing =
            |key: &str| Error::Data(format!("{}: missing tensor '{key}'", origin.display()));
        let inputs = take("inputs").ok_or_else(|| missing("inputs"))?;
        let targets = take("targets").ok_or_else(|| missing("targets"))?;
        let origin_name = origin.display().to_string();
        let train = Split::new(inputs, targets, &format!("{origin_name}: inputs/targets"))?;
        let eval = match (take("eval_inputs"), take("eval_targets")) {
            (Some(x), Some(y)) => Some(Split::new(
                x,
                y,
                &format!("{origin_name}: eval_inputs/eval_targets"),
            )?),
            (None, None) => None,
            (Some(_), None) => return Err(missing("eval_targets")),
            (None, Some(_)) => return Err(missing("eval_inputs")),
        };
        Ok(Dataset { train, eval })
    }

    /// The dataset on `device`.
    pub fn to_device(&self, device: Device) -> Result<Dataset> {
        Ok(Dataset {
            train: self.train.to_device(device)?,
            eval: self
                .eval
                .as_ref()
                .map(|s| s.to_device(device))
                .transpose()?,
        })
    }
}

fn leading_dim(t: &Tensor) -> i64 {
    t.size().first().copied().unwrap_or(0)
}
