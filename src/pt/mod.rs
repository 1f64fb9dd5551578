//! PyTorch's own checkpoint files, read and written in Rust without Python: what
//! `torch.save(model.state_dict(), path)` writes (a zip of a pickle and raw storages) and what
//! `torch.load(path, weights_only=True)` reads. The pickle is run by a restricted unpickler that
//! knows only the opcodes and globals a state_dict uses: a file naming anything else is refused,
//! and nothing in it is ever executed.
mod pickle;
mod read;
mod rebuild;
mod value;
mod write;

pub use read::parse_state_dict;
pub use write::{serialize_state_dict, write_state_dict};

use crate::names::named_enum;

/// Name of the final weights in PyTorch's format (`model.pt` is the TorchScript module's).
pub const PT_WEIGHTS_FILE: &str = "model.pth";

named_enum! {
    /// `--save-format`: the formats of the run's final weights.
    #[derive(Default)]
    pub enum SaveFormat: "invalid --save-format" {
        /// `model.safetensors` only.
        #[default]
        Safetensors = "safetensors",
        /// `model.safetensors` and `model.pth` (torch.save's zip format).
        Pt = "pt",
    }
}

/// Whether `bytes` start as a zip archive does (torch.save's format since PyTorch 1.6).
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

/// Whether `bytes` start as torch.save's legacy format (before PyTorch 1.6) does: a bare pickle
/// whose first value is its magic number 0x1950a86a20f9469cfc6c. (A first byte of 0x80 alone
/// proves nothing: a safetensors header length can start with it.)
pub fn is_legacy_pickle(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19")
}
