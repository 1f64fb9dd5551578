//! Models the harness can train: built-in layers initialised as PyTorch initialises them, and (in
//! `torchscript`) a user's TorchScript module.
mod linear;
mod mlp;
mod torchscript;

pub use linear::{linear, Linear, LinearConfig};
pub use mlp::{mlp, Mlp};
pub use torchscript::TorchScriptModel;

use tch::Tensor;

use crate::error::Result;

/// What the training loop needs of a model. Parameters live in the experiment's `VarStore`.
pub trait Model {
    /// Forward pass; `train` selects training behaviour (dropout, batch-norm statistics).
    fn forward_t(&self, xs: &Tensor, train: bool) -> Result<Tensor>;

    /// Switches between training and evaluation mode where the model keeps such a mode itself
    /// (TorchScript modules ignore the flag of `forward_t`).
    fn set_train(&mut self, _train: bool) {}

    /// PyTorch's state_dict name of the VarStore variable `store_name`. Built-in models register
    /// their parameters under those names already; a TorchScript module's dots became `_`.
    fn parameter_name(&self, store_name: &str) -> String {
        store_name.to_string()
    }

    /// The TorchScript module behind this model, if it is one (saved as `model.pt` after a run).
    fn torchscript(&self) -> Option<&TorchScriptModel> {
        None
    }
}
