//! Every file the harness reads goes through here: a regular file only (`/dev/zero`, a FIFO or
//! a directory would otherwise be read forever or hang), and never more than a limit per kind,
//! nor more than the file's own length said when it was opened.
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

const MIB: u64 = 1 << 20;
/// Configuration files (TOML, JSON, a run's config.json, compare reports).
pub const CONFIG_LIMIT: u64 = 16 * MIB;
/// Line logs a run appends to (metrics.jsonl, traces).
pub const LOG_LIMIT: u64 = 1024 * MIB;
/// Data, weights, checkpoints, TorchScript: bounded by the file's length only.
pub const DATA_LIMIT: u64 = u64::MAX;

/// The bytes of the regular file at `path`, refused when longer than `limit`.
pub fn read(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    // metadata first: opening a FIFO for reading would block until a writer comes.
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file"
        };
        return Err(io::Error::other(format!("is {what}")));
    }
    if meta.len() > limit {
        return Err(too_large(limit));
    }
    let file = File::open(path)?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // One byte past the limit tells a file that grew beyond it since.
    file.take(meta.len().min(limit).saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(bytes)
}

/// The text of the regular file at `path`, refused when longer than `limit`.
pub fn read_to_string(path: &Path, limit: u64) -> io::Result<String> {
    String::from_utf8(read(path, limit)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "is not UTF-8 text"))
}

/// Every non-blank line of the JSON-lines log at `path` (metrics.jsonl, a trace), parsed; a line
/// that does not parse is an error naming its number and what it should have been (`what`).
pub fn read_json_lines<T: DeserializeOwned>(path: &Path, what: &str) -> Result<Vec<T>> {
    let text = read_to_string(path, LOG_LIMIT).map_err(|e| Error::file(path, e))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| Error::file(path, format!("line {} is not {what}: {e}", i + 1)))
        })
        .collect()
}

fn too_large(limit: u64) -> io::Error {
    io::Error::other(format!("is larger than {} MiB", limit / MIB))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_devices_directories_and_files_over_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let err = |p: &Path, l| read(p, l).unwrap_err().to_string();
        assert_eq!(
            err(Path::new("/dev/zero"), CONFIG_LIMIT),
            "is not a regular file"
        );
        assert_eq!(err(dir.path(), CONFIG_LIMIT), "is a directory");
        let file = dir.path().join("f");
        std::fs::write(&file, vec![b'a'; 3 * MIB as usize]).unwrap();
        assert_eq!(err(&file, 2 * MIB), "is larger than 2 MiB");
        assert_eq!(read(&file, 3 * MIB).unwrap().len(), 3 * MIB as usize);
    }
}
