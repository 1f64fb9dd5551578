//! The files `ModelCheckpoint` keeps, on disk: `checkpoints/best/<name>.safetensors` (whole
//! checkpoints, resumable), and `callbacks.json` beside config.json with the kept files, their
//! scores and why the run stopped. Rank 0's recorder calls this after each epoch.
use std::path::{Path, PathBuf};

use super::CallbackState;
use crate::checkpoint::CHECKPOINT_DIR;
use crate::error::{Error, Result};

/// Under `checkpoints/`.
pub const BEST_DIR: &str = "best";
/// In the run directory.
pub const CALLBACKS_FILE: &str = "callbacks.json";

/// The kept file `name`'s path under the run directory.
pub fn best_path(run_dir: &Path, name: &str) -> PathBuf {
    run_dir
        .join(CHECKPOINT_DIR)
        .join(BEST_DIR)
        .join(format!("{name}.safetensors"))
}

/// After epoch `epoch`'s callbacks: `save` writes this epoch's kept files (by their paths),
/// `flush` waits for them, then every other file of `checkpoints/best/` goes (those that left the
/// top k, and any an interrupted run left behind), and `callbacks.json` records the state.
pub fn sync_best_files(
    run_dir: &Path,
    epoch: usize,
    callbacks: &CallbackState,
    mut save: impl FnMut(PathBuf) -> Result<()>,
    flush: impl FnOnce() -> Result<()>,
) -> Result<()> {
    if callbacks.is_empty() {
        return Ok(());
    }
    if let Some(state) = &callbacks.model_checkpoint {
        let folder = run_dir.join(CHECKPOINT_DIR).join(BEST_DIR);
        std::fs::create_dir_all(&folder).map_err(|e| Error::file(&folder, e))?;
        for kept in state.kept.iter().filter(|k| k.epoch == epoch) {
            save(best_path(run_dir, &kept.file))?;
        }
        flush()?; // nothing is deleted while a file is in flight
        let keep: Vec<PathBuf> = state
            .kept
            .iter()
            .map(|k| best_path(run_dir, &k.file))
            .collect();
        let entries = std::fs::read_dir(&folder).map_err(|e| Error::file(&folder, e))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let ours = path.extension().is_some_and(|e| e == "safetensors");
            if ours && !keep.contains(&path) {
                std::fs::remove_file(&path).map_err(|e| Error::file(&path, e))?;
            }
        }
        crate::atomic::remove_stale_temporaries(&folder);
    }
    let text = serde_json::to_string_pretty(callbacks).expect("callback state serialises") + "\n";
    crate::atomic::write_atomic(&run_dir.join(CALLBACKS_FILE), text.as_bytes())
}
