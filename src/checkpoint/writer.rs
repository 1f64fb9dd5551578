//! Checkpoint files written off the training thread. Serialising and fsyncing a checkpoint costs
//! more than a small model's whole epoch, so the training thread only hands over a snapshot (for a
//! checkpoint: copies of its tensors, see [`Checkpoint::snapshot`](super::Checkpoint::snapshot));
//! a writer thread turns it into bytes and makes them durable (temporary file, fsync, rename). It
//! starts a write at most every [`MIN_WRITE_INTERVAL`] (measured: continuous background fsyncs
//! still cost a 2-ms epoch 10–20 % of its speed on a 2-core machine), and a newer snapshot of a
//! file replaces one still waiting, unserialised: the file on disk is always a whole, recent
//! checkpoint, and `flush` (Ctrl-C, the end of the run) writes the newest at once. Each write
//! round writes every file waiting, longest-waiting first, so no file (a newer `last`) starves
//! behind another that is resubmitted every epoch (`best`, while the eval loss improves).
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::atomic::write_atomic;
use crate::error::{Error, Result};

/// The shortest time between the starts of two background writes, unless flushing. Epochs longer
/// than this have each of their checkpoints written.
pub const MIN_WRITE_INTERVAL: Duration = Duration::from_secs(1);

/// What the writer writes: a file's contents, made on the writer thread.
pub trait Payload: Send + 'static {
    /// The file's bytes (`path` is for error messages).
    fn into_bytes(self, path: &Path) -> Result<Vec<u8>>;
}

impl Payload for Vec<u8> {
    fn into_bytes(self, _: &Path) -> Result<Vec<u8>> {
        Ok(self)
    }
}

struct Queue<P> {
    /// Snapshots waiting, the newest per file, with the number of the file's oldest request
    /// still waiting.
    pending: BTreeMap<PathBuf, (u64, P)>,
    /// Numbers requests.
    requests: u64,
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

impl<P> Default for Queue<P> {
    fn default() -> Self {
        Queue {
            pending: BTreeMap::new(),
            requests: 0,
            busy: false,
            error: None,
            flushing: 0,
            last_write: None,
            closed: false,
        }
    }
}

impl<P> Queue<P> {
    /// Replaces a waiting snapshot of `path` (which keeps its place in line), or joins the line.
    fn enqueue(&mut self, path: PathBuf, snapshot: P) {
        self.requests += 1;
        match self.pending.get_mut(&path) {
            Some(waiting) => waiting.1 = snapshot,
            None => {
                self.pending.insert(path, (self.requests, snapshot));
            }
        }
    }

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

type Shared<P> = Arc<(Mutex<Queue<P>>, Condvar)>;

/// A background writer of checkpoint files.
pub struct CheckpointWriter<P: Payload> {
    shared: Shared<P>,
    thread: Option<JoinHandle<()>>,
}

impl<P: Payload> CheckpointWriter<P> {
    /// Starts the writer thread.
    pub fn new() -> Self {
        let shared: Shared<P> = Arc::default();
        let worker = shared.clone();
        let thread = std::thread::spawn(move || write_loop(&worker));
        CheckpointWriter {
            shared,
            thread: Some(thread),
        }
    }

    /// Queues `snapshot` for `path`, replacing a snapshot of the same file that is still waiting.
    pub fn submit(&self, path: PathBuf, snapshot: P) -> Result<()> {
        let mut queue = self.lock();
        take_error(&mut queue)?;
        // With snapshots already waiting, the writer is pausing and takes the newest when the
        // pause ends: waking it for each epoch would cost the training thread for nothing.
        let idle = queue.pending.is_empty() && !queue.busy;
        queue.enqueue(path, snapshot);
        if idle {
            self.shared.1.notify_all();
        }
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

    fn lock(&self) -> MutexGuard<'_, Queue<P>> {
        self.shared.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<P: Payload> Default for CheckpointWriter<P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P: Payload> Drop for CheckpointWriter<P> {
    fn drop(&mut self) {
        self.lock().closed = true;
        self.shared.1.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn take_error<P>(queue: &mut Queue<P>) -> Result<()> {
    match queue.error.take() {
        Some(message) => Err(Error::Config(format!(
            "writing a checkpoint failed: {message}"
        ))),
        None => Ok(()),
    }
}

fn write_loop<P: Payload>(shared: &Shared<P>) {
    let (lock, signal) = (&shared.0, &shared.1);
    loop {
        let round = {
            let mut queue = lock.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                let pause = queue.pause();
                if !queue.pending.is_empty() && pause.is_zero() {
                    let round = take_round(&mut queue.pending);
                    queue.busy = true;
                    queue.last_write = Some(Instant::now());
                    break round;
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
        let mut failed = None;
        for (path, snapshot) in round {
            let written = snapshot
                .into_bytes(&path)
                .and_then(|bytes| write_atomic(&path, &bytes));
            if let Err(e) = written {
                failed.get_or_insert(e.to_string());
            }
        }
        let mut queue = lock.lock().unwrap_or_else(|p| p.into_inner());
        queue.busy = false;
        if let Some(e) = failed {
            queue.error.get_or_insert(e);
        }
        signal.notify_all();
    }
}

/// Every snapshot waiting, the longest-waiting request first.
fn take_round<P>(pending: &mut BTreeMap<PathBuf, (u64, P)>) -> Vec<(PathBuf, P)> {
    let mut round: Vec<_> = std::mem::take(pending).into_iter().collect();
    round.sort_by_key(|(_, (request, _))| *request);
    round.into_iter().map(|(path, (_, p))| (path, p)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_snapshot_is_on_disk_after_flush() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("last.safetensors");
        let writer = CheckpointWriter::<Vec<u8>>::new();
        for i in 0..50u8 {
            writer.submit(path.clone(), vec![i; 1000]).unwrap();
        }
        writer.flush().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), vec![49u8; 1000]);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "temporary files left behind");
    }

    #[test]
    fn a_round_writes_every_file_waiting_longest_first() {
        let mut queue = Queue::<Vec<u8>>::default();
        // `best` sorts first and is resubmitted every epoch: it must not push `last` back.
        for epoch in 1..=3 {
            queue.enqueue("last".into(), vec![epoch]);
            queue.enqueue("best".into(), vec![epoch]);
        }
        let round = take_round(&mut queue.pending);
        assert!(queue.pending.is_empty());
        let order: Vec<_> = round
            .iter()
            .map(|(p, b)| (p.to_str().unwrap(), b[0]))
            .collect();
        assert_eq!(order, [("last", 3), ("best", 3)]);
    }

    #[test]
    fn a_failed_write_is_reported_by_flush() {
        let dir = tempfile::tempdir().unwrap();
        let writer = CheckpointWriter::<Vec<u8>>::new();
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
        CheckpointWriter::<Vec<u8>>::new()
            .submit(path.clone(), vec![7; 10])
            .unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), vec![7; 10]);
    }
}
