//! A user's TorchScript module (`torch.jit.script(model).save(…)` or `torch.jit.trace`), trained
//! with the harness's own loop and optimizers.
//!
//! `TrainableCModule::load` registers the module's parameters in the VarStore, sharing their
//! storage, so the optimizers update the module in place. The VarStore cannot hold dots in names,
//! so tch turns `fc1.weight` into `fc1_weight`; the PyTorch names are kept here, from the module's
//! own `named_parameters()`, for the state_dict. The module's `forward` ignores tch's train flag:
//! the mode is switched with `set_train` (dropout, batch norm).
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use tch::nn::VarStore;
use tch::{CModule, Tensor, TrainableCModule};

use super::Model;
use crate::error::{torch_message, Error, Result};

/// A TorchScript module whose parameters live in an experiment's VarStore.
#[derive(Debug)]
pub struct TorchScriptModel {
    module: TrainableCModule,
    /// VarStore name → PyTorch state_dict name.
    names: BTreeMap<String, String>,
}

impl TorchScriptModel {
    /// Loads `path` onto the VarStore's device and registers its parameters in `vs`, which must be
    /// empty (the store's names are derived from the module's in registration order).
    pub fn load(path: &Path, vs: &VarStore) -> Result<TorchScriptModel> {
        if !vs.variables().is_empty() {
            return Err(Error::Config(
                "a TorchScript model needs an empty VarStore".into(),
            ));
        }
        let bytes = crate::bounded::read(path, crate::bounded::DATA_LIMIT)
            .map_err(|e| Error::file(path, e))?;
        if bytes.is_empty() {
            return Err(Error::file(
                path,
                "not a TorchScript module saved by torch.jit.save (the file is empty)",
            ));
        }
        let not_a_module = |e: tch::TchError| {
            Error::file(
                path,
                format!(
                    "not a TorchScript module saved by torch.jit.save ({})",
                    torch_message(&e)
                ),
            )
        };
        // The names (and only the names) come from a CPU copy of the module.
        let dotted: Vec<(String, Vec<i64>)> = CModule::load_data(&mut bytes.as_slice())
            .and_then(|m| m.named_parameters())
            .map_err(not_a_module)?
            .into_iter()
            .map(|(name, t)| (name, t.size()))
            .collect();
        let module =
            TrainableCModule::load_data(&mut bytes.as_slice(), vs.root()).map_err(not_a_module)?;
        let names = store_names(&dotted, vs)?;
        Ok(TorchScriptModel { module, names })
    }

    /// The PyTorch name of a VarStore variable.
    pub fn pytorch_name(&self, store_name: &str) -> Option<&str> {
        self.names.get(store_name).map(String::as_str)
    }

    /// Saves the module (with its current parameters) as TorchScript, through a temporary file so
    /// that a kill never leaves half a module.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::atomic::replace_atomically(path, |tmp| {
            self.module
                .save(tmp)
                .map_err(|e| std::io::Error::other(torch_message(&e)))
        })
    }
}

impl Model for TorchScriptModel {
    fn forward_t(&self, xs: &Tensor, _train: bool) -> Result<Tensor> {
        self.module
            .forward_ts(&[xs])
            .map_err(|e| Error::Data(format!("TorchScript forward: {}", torch_message(&e))))
    }

    fn set_train(&mut self, train: bool) {
        // Setting a flag on each submodule cannot fail for a loaded module.
        let _ = if train {
            self.module.f_set_train()
        } else {
            self.module.f_set_eval()
        };
    }

    fn parameter_name(&self, store_name: &str) -> String {
        self.pytorch_name(store_name)
            .unwrap_or(store_name)
            .to_string()
    }

    fn torchscript(&self) -> Option<&TorchScriptModel> {
        Some(self)
    }
}

/// The VarStore name tch gave each parameter, as `Path::add` makes it: dots become `_`, and a
/// name already taken gets `__<number of variables so far>`. Checked against the store.
fn store_names(dotted: &[(String, Vec<i64>)], vs: &VarStore) -> Result<BTreeMap<String, String>> {
    let variables = vs.variables();
    let mut taken = HashSet::new();
    let mut names = BTreeMap::new();
    for (i, (name, shape)) in dotted.iter().enumerate() {
        let plain = name.replace('.', "_");
        let store = if taken.contains(&plain) {
            format!("{plain}__{i}")
        } else {
            plain
        };
        match variables.get(&store) {
            Some(t) if t.size() == *shape => {}
            _ => {
                return Err(Error::Config(format!(
                    "cannot match the TorchScript parameter '{name}' {shape:?} to the VarStore"
                )))
            }
        }
        taken.insert(store.clone());
        names.insert(store, name.clone());
    }
    if names.len() != variables.len() {
        return Err(Error::Config(format!(
            "the TorchScript module has {} parameters but the VarStore holds {}",
            names.len(),
            variables.len()
        )));
    }
    Ok(names)
}
