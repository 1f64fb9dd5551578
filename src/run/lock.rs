//! One writer per run directory: the process that trains in a run (`train`, `train --resume`;
//! rank 0 of a data-parallel job) holds an exclusive `flock` on the directory itself until it
//! ends. The folder, not a lock file inside it: a refused `--resume` must leave the directory
//! byte for byte as it was, and a run made before locks existed has no such file. The kernel
//! drops the lock when the process dies, SIGKILL included, so a killed run never stays locked.
use std::fs::File;
use std::os::unix::io::AsRawFd;
use std::path::Path;

use crate::error::{Error, Result};

/// Held while it lives; released when dropped (or when the process ends, however it ends).
#[derive(Debug)]
pub(crate) struct RunLock {
    _folder: File,
}

impl RunLock {
    /// Takes the lock of the run folder `path` at once, or an error naming the run when another
    /// process holds it.
    pub(crate) fn take(path: &Path) -> Result<RunLock> {
        // Rust opens with O_CLOEXEC: a program this process starts does not inherit the lock.
        let folder = File::open(path)
            .map_err(|e| Error::file(path, format!("cannot open the run directory ({e})")))?;
        // SAFETY: flock on a descriptor this function owns; no memory is shared with libc.
        let taken = unsafe { libc::flock(folder.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if taken == 0 {
            return Ok(RunLock { _folder: folder });
        }
        let e = std::io::Error::last_os_error();
        let message = match e.raw_os_error() {
            Some(libc::EWOULDBLOCK) => {
                "another process is training in this run (its directory is locked); wait for it to end".to_string()
            }
            _ => format!("cannot lock the run directory ({e})"),
        };
        Err(Error::file(path, message))
    }
}

#[cfg(test)]
mod tests {
    use super::RunLock;

    #[test]
    fn a_second_lock_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = RunLock::take(dir.path()).unwrap();
        let err = RunLock::take(dir.path()).expect_err("locked").to_string();
        assert!(err.contains("another process is training"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        drop(first);
        RunLock::take(dir.path()).expect("free again");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
