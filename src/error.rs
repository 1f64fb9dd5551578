//! The library's one error type. Every message is a single line that names the problem, so the
//! binary can print it as `error: …` and exit non-zero.
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A flag or configuration value that cannot be used.
    #[error("{0}")]
    Config(String),

    /// Data whose keys, shapes, dtypes or values do not fit the task.
    #[error("{0}")]
    Data(String),

    /// A device that was asked for and is not there.
    #[error("{0}")]
    Device(String),

    /// A file that could not be read, written or parsed.
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },

    /// The samples seen in an epoch differ from the dataset length, so dividing by the dataset
    /// length would give a wrong average.
    #[error("{phase}: saw {seen} samples but the dataset has {expected}; the epoch average would be wrong")]
    SampleCount {
        phase: &'static str,
        seen: u64,
        expected: u64,
    },

    /// A loss that is NaN or infinite.
    #[error("{0}")]
    NonFinite(String),

    /// The run was stopped by a signal after saving its state.
    #[error("{0}")]
    Interrupted(String),

    /// The Python side (reference script, .venv) failed or is missing.
    #[error("{0}")]
    Python(String),

    /// An error raised by libtorch.
    #[error("libtorch: {}", first_line(&.0.to_string()))]
    Torch(#[from] tch::TchError),
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A file error carrying its path.
    pub fn file(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        Error::File {
            path: path.into(),
            message: message.to_string(),
        }
    }
}

/// libtorch errors carry a C++ backtrace after the first line; users need only the first line.
fn first_line(message: &str) -> &str {
    message.lines().next().unwrap_or(message).trim()
}
