//! Models the harness can train: built-in layers initialised as PyTorch initialises them, and (in
//! `torchscript`) a user's TorchScript module.
mod linear;
mod mlp;

pub use linear::{linear, Linear, LinearConfig};
pub use mlp::{mlp, Mlp};

use tch::Tensor;

use crate::error::Result;

/// What the training loop needs of a model. Parameters live in the experiment's `VarStore`.
pub trait Model {
    /// Forward pass; `train` selects training behaviour (dropout, batch-norm statistics).
    fn forward_t(&self, xs: &Tensor, train: bool) -> Result<Tensor>;

    /// Switches between training and evaluation mode where the model keeps such a mode itself
    /// (TorchScript modules ignore the flag of `forward_t`).
    fn set_train(&mut self, _train: bool) {}
}
