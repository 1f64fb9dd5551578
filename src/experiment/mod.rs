//! An experiment: a model with its parameters, a dataset and a criterion.
mod builtin;
mod check;
mod source;
mod torchscript;
mod weights;

pub use builtin::Builtin;
pub use source::{ExperimentSource, TORCHSCRIPT};

use tch::nn::VarStore;
use tch::{Device, Tensor};

use crate::criterion::{Loss, LossChoice, LossOptions};
use crate::data::{Dataset, Split};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::tensor_io::NamedTensors;
use crate::train::StepHook;

/// What a training run trains.
pub struct Experiment {
    /// The experiment's name (`digits-mlp`, …, `torchscript`, or a port's own).
    pub name: String,
    /// Owns the parameters, under PyTorch's state_dict names (`fc1.weight`, …).
    pub vs: VarStore,
    pub model: Box<dyn Model>,
    pub data: Dataset,
    /// The criterion: a built-in loss (`Loss::Mse.into()`), whose options come from the run's
    /// configuration, or the port's own (`LossChoice::own(…)`).
    pub loss: LossChoice,
    /// Number of classes for class-index targets (to check label ranges).
    pub classes: Option<i64>,
    /// A port's own seams of the step (`Vec::new()` for none): each at its [`Slot`], its
    /// checkpoint state under its [`StepHook::key`]. `resume_with` gets them again from the
    /// port's `build`.
    ///
    /// [`Slot`]: crate::Slot
    pub hooks: Vec<Box<dyn StepHook>>,
}

impl Experiment {
    /// Builds what `source` names on `device` — seeding libtorch with `seed` first, in the
    /// reference script's order — with `loss` replacing a built-in's criterion, and checks
    /// model, data and criterion (with its `options`) against each other before anything trains.
    pub fn build(
        source: &ExperimentSource,
        loss: Option<Loss>,
        options: &LossOptions,
        seed: u64,
        device: Device,
    ) -> Result<Experiment> {
        source.validate(loss)?;
        let builtin = match source {
            ExperimentSource::TorchScript { model, data } => {
                let loss = loss.expect("validated: a TorchScript source has a loss");
                return torchscript::from_files(model, data, (loss, options), seed, device);
            }
            ExperimentSource::Builtin(builtin) => *builtin,
            // Only the port's own code can build it (see `run::resume_with`).
            ExperimentSource::Port(name) => name.parse::<Builtin>()?,
        };
        let mut experiment = builtin.build(seed, device)?;
        if let Some(loss) = loss {
            experiment.loss = loss.into();
        }
        experiment.check_task(options).map_err(|e| match e {
            Error::Data(message) => Error::Data(format!(
                "experiment {} with --loss {}: {message}",
                experiment.name, experiment.loss
            )),
            other => other,
        })?;
        Ok(experiment)
    }

    /// The trainable parameters with their state_dict names, sorted by name (what optimizers
    /// take; buffers such as batch norm's running statistics are not among them).
    pub fn parameters(&self) -> Vec<(String, Tensor)> {
        let mut named = self.parameters_in_model_order();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        named
    }

    /// The trainable parameters in the order they were created — `model.parameters()`'s order
    /// for the built-in models, TorchScript modules and ports that build their layers as Python's
    /// `__init__` does. Gradient clipping's total norm depends on it.
    pub fn parameters_in_model_order(&self) -> Vec<(String, Tensor)> {
        let named = self.state_dict();
        let variables = self.vs.variables_.lock().unwrap_or_else(|e| e.into_inner());
        variables
            .trainable_variables
            .iter()
            .filter_map(|var| {
                let ptr = var.tensor.data_ptr();
                named
                    .iter()
                    .find(|(_, t)| t.data_ptr() == ptr)
                    .map(|(name, t)| (name.clone(), t.shallow_clone()))
            })
            .collect()
    }

    /// The PyTorch `state_dict`: every variable of the store — parameters, and buffers such as
    /// batch norm's running statistics — under its state_dict name, sorted by name (CPU copies
    /// are made when saving). `--init`, `model.safetensors` and checkpoints hold all of it.
    pub fn state_dict(&self) -> NamedTensors {
        let mut named: Vec<_> = self
            .vs
            .variables()
            .into_iter()
            .map(|(name, t)| (self.model.parameter_name(&name), t))
            .collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        named
    }

    /// The device the experiment's tensors live on.
    pub fn device(&self) -> Device {
        self.data.train.inputs.device()
    }

    /// The model and the training split, borrowed apart for the loop.
    pub(crate) fn parts(&mut self) -> (&mut dyn Model, &Split) {
        (self.model.as_mut(), &self.data.train)
    }
}
