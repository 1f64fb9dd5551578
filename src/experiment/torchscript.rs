//! An experiment from the user's own files: `--model FILE.pt` (TorchScript), `--data
//! FILE.safetensors` and `--loss`. Everything is checked before training starts.
use std::path::Path;

use tch::nn::VarStore;
use tch::Device;

use super::source::TORCHSCRIPT;
use super::Experiment;
use crate::criterion::{Loss, LossOptions};
use crate::data::read_data_file;
use crate::error::{Error, Result};
use crate::model::TorchScriptModel;

/// Reads and checks `data`, loads `model` onto `device` with its parameters in a fresh VarStore,
/// and checks that model, data and `loss` (with its options) fit together (see [`Experiment::check_task`]). `seed`
/// seeds libtorch first (dropout draws from it).
pub fn from_files(
    model: &Path,
    data: &Path,
    (loss, options): (Loss, &LossOptions),
    seed: u64,
    device: Device,
) -> Result<Experiment> {
    tch::manual_seed(seed as i64);
    let dataset = read_data_file(data)?;
    let vs = VarStore::new(device);
    let module = TorchScriptModel::load(model, &vs)?;
    let mut experiment = Experiment {
        name: TORCHSCRIPT.to_string(),
        vs,
        model: Box::new(module),
        data: dataset.to_device(device)?,
        loss: loss.into(),
        classes: None,
        hooks: Vec::new(),
    };
    experiment.check_task(options).map_err(|e| match e {
        Error::Data(message) => Error::Data(format!(
            "{} with {}: {message}",
            data.display(),
            model.display()
        )),
        other => other,
    })?;
    Ok(experiment)
}
