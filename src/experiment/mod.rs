//! An experiment: a model with its parameters, a dataset and a criterion.
mod builtin;
mod check;
mod files;
mod spec;
mod weights;

pub use builtin::Builtin;
pub use files::{from_files, TORCHSCRIPT};
pub use spec::ExperimentSpec;

use tch::nn::VarStore;
use tch::Tensor;

use crate::criterion::Loss;
use crate::data::Dataset;
use crate::model::Model;
use crate::tensor_file::NamedTensors;

/// What a training run trains.
pub struct Experiment {
    /// The experiment's name (`digits-mlp`, …, or `torchscript`).
    pub name: String,
    /// Owns the parameters, under PyTorch's state_dict names (`fc1.weight`, …).
    pub vs: VarStore,
    pub model: Box<dyn Model>,
    pub data: Dataset,
    pub loss: Loss,
    /// Number of classes for class-index targets (to check label ranges).
    pub classes: Option<i64>,
}

impl Experiment {
    /// Trainable parameters with their state_dict names, sorted by name.
    pub fn parameters(&self) -> Vec<(String, Tensor)> {
        let mut named: Vec<_> = self
            .vs
            .variables()
            .into_iter()
            .map(|(name, t)| (self.model.parameter_name(&name), t))
            .collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        named
    }

    /// The parameters as a PyTorch `state_dict` (CPU copies are made when saving).
    pub fn state_dict(&self) -> NamedTensors {
        self.parameters()
    }
}
