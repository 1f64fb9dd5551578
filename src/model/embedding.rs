//! A lookup table as PyTorch's `nn.Embedding`: `weight ~ N(0, 1)` then the `padding_idx` row
//! zeroed (under `no_grad`), forward through `torch.embedding` with `padding_idx`, so that row
//! gets no gradient.
use tch::nn::Path;
use tch::{Kind, Tensor};

use super::init::{normal, parameter};
use super::module_output;
use crate::error::{Error, Result};

/// Options of an [`Embedding`].
#[derive(Debug, Clone, Copy, Default)]
pub struct EmbeddingConfig {
    /// A row that stays zero and gets no gradient; negative counts from the end, as in PyTorch.
    pub padding_idx: Option<i64>,
}

/// `weight` `[num_embeddings, embedding_dim]`.
#[derive(Debug)]
pub struct Embedding {
    pub weight: Tensor,
    /// Normalised to `0..num_embeddings`, as `nn.Embedding` stores it.
    pub padding_idx: Option<i64>,
}

/// `nn.Embedding(num_embeddings, embedding_dim, padding_idx)` under `vs`.
pub fn embedding(
    vs: &Path,
    num_embeddings: i64,
    embedding_dim: i64,
    config: EmbeddingConfig,
) -> Result<Embedding> {
    if num_embeddings <= 0 || embedding_dim <= 0 {
        return Err(Error::Config(format!(
            "Embedding: sizes must be positive, got {num_embeddings} x {embedding_dim}"
        )));
    }
    let padding_idx = match config.padding_idx {
        Some(p) if p >= num_embeddings || p < -num_embeddings => {
            return Err(Error::Config(format!(
                "Embedding: padding_idx {p} must be within num_embeddings {num_embeddings}"
            )))
        }
        Some(p) if p < 0 => Some(num_embeddings + p),
        other => other,
    };
    let weight = normal(&[num_embeddings, embedding_dim], 0.0, 1.0)?;
    if let Some(p) = padding_idx {
        let _ = tch::no_grad(|| weight.f_get(p)?.f_fill_(0.0))?;
    }
    let weight = parameter(vs, "weight", &weight)?;
    Ok(Embedding {
        weight,
        padding_idx,
    })
}

impl Embedding {
    /// `F.embedding(indices, weight, padding_idx)`: `indices` int64 (or int32), any shape, each
    /// in `0..num_embeddings` (checked first: an index out of range is an error, not a crash).
    pub fn forward(&self, indices: &Tensor) -> Result<Tensor> {
        let kind = indices.kind();
        if kind != Kind::Int64 && kind != Kind::Int {
            return Err(Error::Data(format!(
                "Embedding: indices must be int64 or int32, got {kind:?}"
            )));
        }
        let rows = self.weight.size()[0];
        // One reduction (and, on CUDA, one sync): a device-side assert would kill the process.
        if indices.numel() > 0 {
            let outside = indices.f_lt(0)?.f_logical_or(&indices.f_ge(rows)?)?;
            if outside.f_any()?.f_int64_value(&[])? != 0 {
                return Err(Error::Data(format!(
                    "Embedding: an index is outside 0..{rows} (min {}, max {})",
                    indices.f_min()?.f_int64_value(&[])?,
                    indices.f_max()?.f_int64_value(&[])?
                )));
            }
        }
        let padding_idx = self.padding_idx.unwrap_or(-1);
        Ok(Tensor::f_embedding(
            &self.weight,
            indices,
            padding_idx,
            false,
            false,
        )?)
    }
}

/// For `nn::seq()`: [`Embedding::forward`], panicking on an error as tch's own layers do.
impl tch::nn::Module for Embedding {
    fn forward(&self, xs: &Tensor) -> Tensor {
        module_output(self.forward(xs))
    }
}
