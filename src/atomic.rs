//! Crash-safe file writes: a kill at any instant leaves either the old file or the new one.
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Writes `bytes` to `path` atomically (see [`replace_atomically`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    replace_atomically(path, |tmp| {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(tmp)?;
        file.write_all(bytes)
    })
}

/// Replaces `path` with what `write` puts into a temporary file in the same folder: write, fsync,
/// rename, then fsync the folder so the rename itself survives a power cut. The temporary file is
/// removed when anything fails.
pub fn replace_atomically(
    path: &Path,
    write: impl FnOnce(&Path) -> std::io::Result<()>,
) -> Result<()> {
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| Error::file(path, "not a file path"))?;
    let tmp = folder.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = (|| -> std::io::Result<()> {
        write(&tmp)?;
        File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, path)?;
        File::open(folder)?.sync_all()
    })();
    written.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::file(path, format!("cannot write ({e})"))
    })
}

/// Removes the temporary files [`replace_atomically`] leaves in `folder` when its process is
/// killed mid-write (`.<name>.tmp-<pid>`), those of processes no longer alive: a live writer's
/// file is its own. Errors are ignored: a leftover is harmless, only untidy.
pub(crate) fn remove_stale_temporaries(folder: &Path) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some((_, pid)) = name
            .to_str()
            .and_then(|n| n.strip_prefix('.')?.rsplit_once(".tmp-"))
        else {
            continue;
        };
        let dead = pid.parse::<u32>().is_ok_and(|pid| {
            pid != std::process::id() && !Path::new("/proc").join(pid.to_string()).exists()
        });
        if dead && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
