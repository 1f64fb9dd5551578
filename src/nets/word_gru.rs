//! The model of the `cmudict-gru` experiment: `WordGru` of scripts/experiments.py, a
//! character-level language model over words, built in the same order as Python builds it.
//!
//! ```python
//! self.embed = nn.Embedding(WORD_TOKENS, 32, padding_idx=0)
//! self.rnn = nn.GRU(32, 64, batch_first=True)
//! self.head = nn.Linear(64, WORD_TOKENS)
//! ```
use tch::nn::Path;
use tch::Tensor;

use crate::error::Result;
use crate::model::{
    embedding, gru, linear, Embedding, EmbeddingConfig, Gru, Linear, LinearConfig, Model, RnnConfig,
};

/// Tokens of the word data: padding (0), the word boundary (1) and a..z (scripts/convert_cmudict.py).
pub const WORD_TOKENS: i64 = 28;

/// Embedding (padding row 0) → one GRU layer → linear head over the tokens.
#[derive(Debug)]
pub struct WordGru {
    embed: Embedding,
    rnn: Gru,
    head: Linear,
}

/// Builds [`WordGru`] under `vs`.
pub fn word_gru(vs: &Path) -> Result<WordGru> {
    let rnn = RnnConfig {
        batch_first: true,
        ..Default::default()
    };
    Ok(WordGru {
        embed: embedding(
            &(vs / "embed"),
            WORD_TOKENS,
            32,
            EmbeddingConfig {
                padding_idx: Some(0),
            },
        )?,
        rnn: gru(&(vs / "rnn"), 32, 64, rnn)?,
        head: linear(&(vs / "head"), 64, WORD_TOKENS, LinearConfig::default())?,
    })
}

impl Model for WordGru {
    /// Token ids `[N, T]` → logits `[N, tokens, T]`: cross-entropy takes its classes on dim 1.
    fn forward_t(&self, xs: &Tensor, train: bool) -> Result<Tensor> {
        let (out, _) = self.rnn.forward_t(&self.embed.forward(xs)?, train)?;
        Ok(self.head.forward(&out)?.f_transpose(1, 2)?)
    }
}
