//! Checkpoint files written off the training thread. An fsync costs milliseconds — more than a
//! small model's whole epoch — so the training thread only snapshots the bytes and hands them
//! over; a writer thread makes them durable (temporary file, fsync, rename). It starts a write at
//! most every [`MIN_WRITE_INTERVAL`] (measured: continuous background fsyncs still cost a 2-ms
//! epoch 10–20 % of its speed on a 2-core machine), and a newer snapshot of a file replaces one
//! still waiting: the file on disk is always a whole, recent checkpoint, and `flush` (Ctrl-C, the
//! end of the run) writes the newest at once.
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::atomic::write_atomic;
use crate::error::{Error, Result};

/// The shortest time between the starts of two background writes, unless flushing. Epochs longer
/// than this have each of their checkpoints written.
pub const MIN_WRITE_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Queue {
    /// Snapshots waiting, the newest per file.
    pending: BTreeMap<PathBuf, Vec<u8>>,
    /// A snapshot is being written now.
    busy: bool,
    /// The first write error, reported by the next `submit` or `flush`.
    error: Option<String>,
    /// A `flush` is waiting: write without pausing.
    flushing: usize,
    /// When the last write started.
    last_write: Option<Instant>,
    closed: bool,
}

impl Queue {
    /// How long the writer must still pause before its next write (zero when it may go).
    fn pause(&self) -> Duration {
        match self.last_write {
            Some(at) if self.flushing == 0 && !self.closed => {
                MIN_WRITE_INTERVAL.saturating_sub(at.elapsed())
            }
            _ => Duration::ZERO,
        }
    }
}

type Shared = Arc<(Mutex<Queue>, Condvar)>;

/// A background writer of checkpoint files.
pub struct CheckpointWriter {
    shared: Shared,
    thread: Option<JoinHandle<()>>,
}

impl CheckpointWriter {
    /// Starts the writer thread.
    pub fn new() -> Self {
        let shared: Shared = Arc::default();
        let worker = shared.clone();
        let thread = std::thread::spawn(move || write_loop(&worker));
        CheckpointWriter {
            shared,
            thread: Some(thread),
        }
    }

    /// Queues `bytes` for `path`, replacing a snapshot of the same file that is still waiting.
    pub fn submit(&self, path: PathBuf, bytes: Vec<u8>) -> Result<()> {
        let mut queue = self.lock();
        take_error(&mut queue)?;
        queue.pending.insert(path, bytes);
        self.shared.1.notify_all();
        Ok(())
    }

    /// Waits until every queued snapshot is on disk.
    pub fn flush(&self) -> Result<()> {
        let mut queue = self.lock();
        queue.flushing += 1;
        self.shared.1.notify_all();
        while !queue.pending.is_empty() || queue.busy {
            queue = self.shared.1.wait(queue).unwrap_or_else(|p| p.into_inner());
        }
        queue.flushing -= 1;
        take_error(&mut queue)
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.shared.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Default for CheckpointWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for CheckpointWriter {
    fn drop(&mut self) {
        self.lock().closed = true;
        self.shared.1.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn take_error(queue: &mut Queue) -> Result<()> {
    match queue.error.take() {
        Some(message) => Err(Error::Config(format!(
            "writing a checkpoint failed: {message}"
        ))),
        None => Ok(()),
    }
}

fn write_loop(shared: &Shared) {
    let (lock, signal) = (&shared.0, &shared.1);
    loop {
        let (path, bytes) = {
            let mut queue = lock.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                let pause = queue.pause();
                if !queue.pending.is_empty() && pause.is_zero() {
                    let first = queue.pending.pop_first().expect("not empty");
                    queue.busy = true;
                    queue.last_write = Some(Instant::now());
                    break first;
                }
                if queue.pending.is_empty() && queue.closed {
                    return;
                }
                queue = if queue.pending.is_empty() {
                    signal.wait(queue).unwrap_or_else(|p| p.into_inner())
                } else {
                    signal
                        .wait_timeout(queue, pause)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                };
            }
        };
        let written = write_atomic(&path, &bytes);
        let mut queue = lock.lock().unwrap_or_else(|p| p.into_inner());
        queue.busy = false;
        if let Err(e) = written {
            queue.error.get_or_insert(e.to_string());
        }
        signal.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_snapshot_is_on_disk_after_flush() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("last.safetensors");
        let writer = CheckpointWriter::new();
        for i in 0..50u8 {
            writer.submit(path.clone(), vec![i; 1000]).unwrap();
        }
        writer.flush().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), vec![49u8; 1000]);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "temporary files left behind");
    }

    #[test]
    fn a_failed_write_is_reported_by_flush() {
        let dir = tempfile::tempdir().unwrap();
        let writer = CheckpointWriter::new();
        writer
            .submit(dir.path().join("no-such-folder/last.safetensors"), vec![1])
            .unwrap();
        let err = writer.flush().unwrap_err().to_string();
        assert!(
            err.contains("writing a checkpoint failed") && err.contains("no-such-folder"),
            "{err}"
        );
        writer.flush().unwrap();
    }

    #[test]
    fn drop_drains_the_queue() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("best.safetensors");
        CheckpointWriter::new()
            .submit(path.clone(), vec![7; 10])
            .unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), vec![7; 10]);
    }
}
