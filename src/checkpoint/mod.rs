//! Checkpoints: everything needed to continue a run bit for bit, in one safetensors file written
//! atomically. Tensors are `model.<param>`, `optimizer.<param>.<state>`, for a run stopped inside
//! a gradient-accumulation window `grad.<param>` (the window's gradients so far), and `rng.cpu`:
//! libtorch's global CPU generator (5056 uint8 bytes) when the snapshot was taken, at the end of
//! an epoch or at the batch boundary of a stop. The string metadata holds the format, the
//! experiment, and the run's progress as JSON (epoch records, a stopped epoch's partial loss sum,
//! the best eval loss), and the run's configuration as config.json writes it, so that `--resume`
//! can refuse a config.json edited since.
//!
//! The shuffled sample order is a function of (seed, epoch) (see `data::epoch_order`, which
//! reseeds the generator); the generator state is for what draws from it while training (dropout:
//! `at::dropout`), and for runs without shuffling, whose generator carries on across epochs.
//! Resume puts it back where the run was: at once for an epoch boundary, after `fit` has redrawn
//! the order for a stopped epoch. Checkpoints written before `rng.cpu` existed still load and
//! resume, without restoring it: exact only for models that draw nothing while training.
mod policy;
mod writer;

pub use policy::{checkpoint_actions, CheckpointActions};
pub use writer::{CheckpointWriter, Payload};

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::rng_state::CpuRngState;
use crate::run_state::RunState;
use crate::tensor_io::{parse_tensors, serialize_tensors, NamedTensors};

/// Folder of a run's checkpoints.
pub const CHECKPOINT_DIR: &str = "checkpoints";
/// The latest checkpoint.
pub const LAST: &str = "last.safetensors";
/// The checkpoint with the lowest eval loss.
pub const BEST: &str = "best.safetensors";
const FORMAT: &str = "tch-harness-checkpoint-1";
/// The tensor entry of the CPU generator's state.
const RNG_CPU: &str = "rng.cpu";

/// A saved run state.
pub struct Checkpoint {
    pub experiment: String,
    pub progress: RunState,
    pub model: NamedTensors,
    pub optimizer: NamedTensors,
    /// The gradients of an unfinished accumulation window (empty between windows).
    pub grads: NamedTensors,
    /// The averaged models of `--ema`/`--swa` and their counts (`averaged.ema.<param>`, …).
    pub averaged: NamedTensors,
    /// The training step's seams (scheduler, gradient transforms, the last rate), as JSON.
    pub step: Option<serde_json::Value>,
    /// libtorch's global CPU generator when the checkpoint was taken (`None` in old checkpoints).
    pub rng: Option<CpuRngState>,
    /// The configuration the run trained with, as config.json's `config` (`None` in old
    /// checkpoints).
    pub config: Option<serde_json::Value>,
}

/// `<run>/checkpoints/<name>`.
pub fn checkpoint_path(run_dir: &Path, name: &str) -> PathBuf {
    run_dir.join(CHECKPOINT_DIR).join(name)
}

impl Checkpoint {
    /// The same checkpoint owning copies of its tensors: the training thread goes on updating
    /// the originals while the writer thread serialises it. The copies are on the host (from a
    /// GPU, one synchronising copy per checkpoint), so that snapshots waiting for the writer take
    /// no device memory.
    pub fn snapshot(self) -> Result<Checkpoint> {
        // `copy: true` makes a new tensor even on the CPU; under no_grad it does not require grad.
        let copies = |tensors: NamedTensors| -> Result<NamedTensors> {
            tch::no_grad(|| {
                tensors
                    .into_iter()
                    .map(|(name, t)| {
                        let copy = t.f_to_device_(tch::Device::Cpu, t.kind(), false, true)?;
                        Ok((name, copy))
                    })
                    .collect()
            })
        };
        Ok(Checkpoint {
            model: copies(self.model)?,
            optimizer: copies(self.optimizer)?,
            grads: copies(self.grads)?,
            averaged: copies(self.averaged)?,
            ..self
        })
    }

    /// The checkpoint file's bytes: the tensors' values as they are now.
    pub fn to_bytes(&self, path: &Path) -> Result<Vec<u8>> {
        let mut tensors = Vec::with_capacity(self.model.len() + self.optimizer.len());
        for (name, t) in &self.model {
            tensors.push((format!("model.{name}"), t.shallow_clone()));
        }
        for (name, t) in &self.optimizer {
            tensors.push((format!("optimizer.{name}"), t.shallow_clone()));
        }
        for (name, t) in &self.grads {
            tensors.push((format!("grad.{name}"), t.shallow_clone()));
        }
        for (name, t) in &self.averaged {
            tensors.push((format!("averaged.{name}"), t.shallow_clone()));
        }
        if let Some(rng) = &self.rng {
            tensors.push((RNG_CPU.to_string(), rng.tensor().shallow_clone()));
        }
        let progress = serde_json::to_string(&self.progress).map_err(|e| Error::file(path, e))?;
        let mut metadata = HashMap::from([
            ("format".to_string(), FORMAT.to_string()),
            ("experiment".to_string(), self.experiment.clone()),
            ("progress".to_string(), progress),
        ]);
        if let Some(step) = &self.step {
            metadata.insert("step".to_string(), step.to_string());
        }
        if let Some(config) = &self.config {
            metadata.insert("config".to_string(), config.to_string());
        }
        serialize_tensors(&tensors, Some(metadata), path)
    }

    /// Reads and checks a checkpoint file.
    pub fn load(path: &Path) -> Result<Checkpoint> {
        let bytes = crate::bounded::read(path, crate::bounded::DATA_LIMIT)
            .map_err(|e| Error::file(path, e))?;
        let (_, header) = safetensors::SafeTensors::read_metadata(&bytes)
            .map_err(|e| Error::file(path, format!("not a valid checkpoint ({e})")))?;
        let meta = header.metadata().clone().unwrap_or_default();
        let field = |key: &str| {
            meta.get(key).cloned().ok_or_else(|| {
                Error::file(path, format!("not a tch-harness checkpoint (no '{key}')"))
            })
        };
        if field("format")? != FORMAT {
            return Err(Error::file(
                path,
                format!("unsupported checkpoint format (expected {FORMAT})"),
            ));
        }
        let experiment = field("experiment")?;
        let progress: RunState = serde_json::from_str(&field("progress")?)
            .map_err(|e| Error::file(path, format!("corrupt checkpoint progress ({e})")))?;
        let step =
            match meta.get("step") {
                Some(text) => Some(serde_json::from_str(text).map_err(|e| {
                    Error::file(path, format!("corrupt checkpoint step state ({e})"))
                })?),
                None => None,
            };
        let config = match meta.get("config") {
            Some(text) => Some(serde_json::from_str(text).map_err(|e| {
                Error::file(path, format!("corrupt checkpoint configuration ({e})"))
            })?),
            None => None,
        };
        let (mut model, mut optimizer, mut grads) = (Vec::new(), Vec::new(), Vec::new());
        let mut averaged = Vec::new();
        let mut rng = None;
        for (name, t) in parse_tensors(&bytes, path)? {
            if name == RNG_CPU {
                rng = Some(CpuRngState::from_tensor(t).map_err(|e| Error::file(path, e))?);
            } else if let Some(n) = name.strip_prefix("model.") {
                model.push((n.to_string(), t));
            } else if let Some(n) = name.strip_prefix("optimizer.") {
                optimizer.push((n.to_string(), t));
            } else if let Some(n) = name.strip_prefix("grad.") {
                grads.push((n.to_string(), t));
            } else if let Some(n) = name.strip_prefix("averaged.") {
                averaged.push((n.to_string(), t));
            } else {
                return Err(Error::file(
                    path,
                    format!("unexpected tensor '{name}' in checkpoint"),
                ));
            }
        }
        Ok(Checkpoint {
            experiment,
            progress,
            model,
            optimizer,
            grads,
            averaged,
            step,
            rng,
            config,
        })
    }
}

impl Payload for Checkpoint {
    fn into_bytes(self, path: &Path) -> Result<Vec<u8>> {
        self.to_bytes(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Kind, Tensor};

    #[test]
    fn a_snapshot_keeps_the_values_it_was_taken_with() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("last.safetensors");
        let weight = Tensor::arange(6, (Kind::Float, tch::Device::Cpu))
            .view([2, 3])
            .set_requires_grad(true);
        let momentum = Tensor::ones([2, 3], (Kind::Float, tch::Device::Cpu));
        let model = vec![("fc.weight".to_string(), weight.shallow_clone())];
        let optimizer = vec![(
            "fc.weight.momentum_buffer".to_string(),
            momentum.shallow_clone(),
        )];
        let checkpoint = Checkpoint {
            experiment: "e".into(),
            progress: RunState::default(),
            model,
            optimizer,
            grads: Vec::new(),
            averaged: Vec::new(),
            step: None,
            rng: Some(CpuRngState::capture().unwrap()),
            config: Some(serde_json::json!({"batch_size": 64})),
        };
        let snapshot = checkpoint.snapshot().unwrap();
        // The training thread goes on: an optimizer step updates both in place.
        tch::no_grad(|| {
            let _ = weight.shallow_clone().g_add_scalar_(100.0);
        });
        let _ = momentum.shallow_clone().g_mul_scalar_(3.0);

        std::fs::write(&path, snapshot.to_bytes(&path).unwrap()).unwrap();
        let saved = Checkpoint::load(&path).unwrap();
        let expected = Tensor::arange(6, (Kind::Float, tch::Device::Cpu)).view([2, 3]);
        assert!(saved.model[0].1.equal(&expected), "{}", saved.model[0].1);
        assert!(saved.optimizer[0].1.equal(&momentum.ones_like()));
        assert!(!snapshot.model[0].1.requires_grad());
        assert!(saved.rng.is_some() && saved.rng == snapshot.rng);
        assert_eq!(saved.config, snapshot.config);
    }

    #[test]
    fn a_corrupt_generator_state_is_a_one_line_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("last.safetensors");
        let metadata = HashMap::from([
            ("format".to_string(), FORMAT.to_string()),
            ("experiment".to_string(), "e".to_string()),
            ("progress".to_string(), "{\"records\": []}".to_string()),
        ]);
        let bad = Tensor::zeros([100], (Kind::Uint8, tch::Device::Cpu));
        let tensors = [(RNG_CPU.to_string(), bad)];
        std::fs::write(
            &path,
            serialize_tensors(&tensors, Some(metadata), &path).unwrap(),
        )
        .unwrap();
        let err = Checkpoint::load(&path).err().expect("refused").to_string();
        assert!(
            err.contains("last.safetensors") && err.contains("100 bytes"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}
