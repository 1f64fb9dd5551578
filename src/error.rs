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
    #[error("{}: {message}", quote(&path.display().to_string()))]
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
    /// Data-parallel training: the process group, a collective, or another rank failed.
    #[error("{0}")]
    Distributed(String),

    /// The Python side (reference script, .venv) failed or is missing.
    #[error("{0}")]
    Python(String),

    /// An error raised by libtorch. Not a `source`: its text carries a C++ backtrace, which
    /// `{:#}` (anyhow's chain) would print after the one-line message.
    #[error("libtorch: {}", torch_message(.0))]
    Torch(tch::TchError),
}

impl From<tch::TchError> for Error {
    fn from(e: tch::TchError) -> Self {
        Error::Torch(e)
    }
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

/// How many characters of a user's text an error message quotes: enough to recognise it, short
/// enough that the problem named after it stays on a readable line (a 100 KB `--scheduler` must
/// not come back as a 100 KB error).
pub const QUOTE_LIMIT: usize = 100;

/// `text` as an error message quotes it: cut to [`QUOTE_LIMIT`] characters, with "…" when cut.
pub fn quote(text: &str) -> String {
    match text.char_indices().nth(QUOTE_LIMIT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// The line of a libtorch error that says what went wrong, without the C++ backtrace that follows
/// it: the TorchScript interpreter puts it last (`RuntimeError: mat1 and mat2 shapes cannot be
/// multiplied …`) after two tracebacks; other errors put it first. Its first sentence when that
/// alone is long, and without libtorch's "Could this error message be improved?" plea.
pub(crate) fn torch_message(e: &tch::TchError) -> String {
    let full = e.to_string();
    let text = match full.find("\nException raised from ") {
        Some(at) => &full[..at],
        None => &full,
    };
    let line = text
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| {
            l.split_once(": ")
                .is_some_and(|(kind, _)| kind.ends_with("Error") && !kind.contains(' '))
        })
        .or_else(|| text.lines().next())
        .unwrap_or_default()
        .trim();
    let line = line.strip_prefix("Internal torch error: ").unwrap_or(line);
    let line = match line.find("(Could this error message be improved?") {
        Some(at) => line[..at].trim_end(),
        None => line,
    };
    let line = match line.find(". ") {
        Some(end) if line.len() > 160 => &line[..=end],
        _ => line,
    };
    // Deterministic mode's refusal names the op; say which flag turned the mode on.
    if line.contains("does not have a deterministic implementation") {
        return format!("{line} (--deterministic sets it; --deterministic false lets the op run)");
    }
    line.to_string()
}

#[cfg(test)]
mod tests {
    use super::{quote, Error, QUOTE_LIMIT};

    #[test]
    fn quote_cuts_long_text_on_a_char_boundary() {
        assert_eq!(quote("StepLR(step_size=1)"), "StepLR(step_size=1)");
        let long = "é".repeat(5 * QUOTE_LIMIT);
        let quoted = quote(&long);
        assert_eq!(quoted.chars().count(), QUOTE_LIMIT + 1);
        assert!(quoted.ends_with('…'), "{quoted}");
        assert_eq!(quote(&"x".repeat(QUOTE_LIMIT)), "x".repeat(QUOTE_LIMIT));
    }

    /// A libtorch error, printed as the binary prints errors (`{:#}`, anyhow's chain), is one
    /// line without the C++ backtrace that libtorch puts in its text.
    #[test]
    fn libtorch_errors_print_as_one_line() {
        let t = tch::Tensor::zeros([2], tch::kind::FLOAT_CPU);
        let torch = t.f_view([3]).expect_err("a view of the wrong size fails");
        assert!(
            torch.to_string().contains("Exception raised from"),
            "{torch}"
        );
        let printed = format!("{:#}", anyhow::Error::from(Error::from(torch)));
        assert_eq!(printed.lines().count(), 1, "{printed}");
        assert!(
            printed.starts_with("libtorch: shape '[3]' is invalid for input of size 2"),
            "{printed}"
        );
    }
}
