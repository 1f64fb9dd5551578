//! The built-in networks of the experiments (`--experiment digits-mlp`, `digits-cnn`,
//! `cmudict-gru`), made of the layers in `crate::model` and kept apart from them, as tch keeps
//! `vision/` apart from `nn/`.
mod digits_cnn;
mod mlp;
mod word_gru;

pub use digits_cnn::{digits_cnn, DigitsCnn};
pub use mlp::{mlp, Mlp};
pub use word_gru::{word_gru, WordGru, WORD_TOKENS};
