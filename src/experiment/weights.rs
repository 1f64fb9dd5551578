//! Loading a PyTorch state_dict (safetensors) into an experiment's parameters.
use std::collections::BTreeMap;
use std::path::Path;

use super::Experiment;
use crate::error::{Error, Result};
use crate::tensor_io::{read_state_dict, NamedTensors};

impl Experiment {
    /// Copies a state_dict file (safetensors, or torch.save's with `key` choosing the entry of a
    /// checkpoint dict) into the parameters and buffers. Names and shapes must match exactly;
    /// every offending key is listed in the error.
    pub fn load_state_dict_file(&mut self, path: &Path, key: Option<&str>) -> Result<()> {
        let tensors = read_state_dict(path, key)?;
        self.load_state_dict(&tensors)
            .map_err(|e| Error::file(path, e))
    }

    /// Copies named tensors into the parameters and buffers, after checking every name, shape
    /// and dtype.
    pub fn load_state_dict(&mut self, tensors: &NamedTensors) -> Result<()> {
        let params: BTreeMap<String, tch::Tensor> = self.state_dict().into_iter().collect();
        let given: BTreeMap<&str, &tch::Tensor> =
            tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
        let missing: Vec<&str> = params
            .keys()
            .map(String::as_str)
            .filter(|k| !given.contains_key(k))
            .collect();
        let unexpected: Vec<&str> = given
            .keys()
            .copied()
            .filter(|k| !params.contains_key(*k))
            .collect();
        let mismatched: Vec<String> = params
            .iter()
            .filter_map(|(name, p)| {
                let t = given.get(name.as_str())?;
                (t.size() != p.size() || t.kind() != p.kind()).then(|| {
                    format!(
                        "{name} (file {:?} {:?}, model {:?} {:?})",
                        t.kind(),
                        t.size(),
                        p.kind(),
                        p.size()
                    )
                })
            })
            .collect();
        let mut problems = Vec::new();
        if !missing.is_empty() {
            problems.push(format!("missing keys: {}", missing.join(", ")));
        }
        if !unexpected.is_empty() {
            problems.push(format!("unexpected keys: {}", unexpected.join(", ")));
        }
        if !mismatched.is_empty() {
            problems.push(format!("shape/dtype mismatch: {}", mismatched.join(", ")));
        }
        if !problems.is_empty() {
            return Err(Error::Data(format!(
                "state_dict does not fit the model: {}",
                problems.join("; ")
            )));
        }
        tch::no_grad(|| {
            for (name, param) in &params {
                let mut param = param.shallow_clone();
                param.f_copy_(given[name.as_str()])?;
            }
            Ok(())
        })
    }
}
