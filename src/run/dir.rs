//! The run directory and its files: `config.json`, `metrics.jsonl` (one JSON object per epoch),
//! `checkpoints/`, and the final weights as a safetensors state_dict (and, for a TorchScript
//! model, the trained module itself).
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::lock::RunLock;
use crate::atomic::write_atomic;
use crate::error::{Error, Result};
use crate::pt::{write_state_dict, SaveFormat, PT_WEIGHTS_FILE};
use crate::tensor_io::write_tensors;

/// Name of the per-epoch metrics file.
pub const METRICS_FILE: &str = "metrics.jsonl";
/// Name of the resolved configuration file.
pub const CONFIG_FILE: &str = "config.json";
/// Name of the final weights.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// Name of the trained TorchScript module (runs on `--model`).
pub const TORCHSCRIPT_FILE: &str = "model.pt";

/// A folder that holds one run; locked (see [`RunLock`]) while this process writes it.
#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
    // Never read: held for as long as the run is written.
    _lock: Option<Arc<RunLock>>,
}

impl RunDir {
    /// Creates the run folder: `out` if given (new, or an existing empty folder), otherwise a fresh
    /// `runs/<experiment>-<UTC time>` folder.
    pub fn create(out: Option<&Path>, experiment: &str) -> Result<RunDir> {
        let path = match out {
            Some(p) => p.to_path_buf(),
            None => fresh_path(Path::new("runs"), experiment),
        };
        // Only a new or empty folder: the run writes files it must not overwrite (init weights,
        // someone's checkpoints, `/`).
        if path.exists() {
            let empty = std::fs::read_dir(&path).map(|mut d| d.next().is_none());
            if !matches!(empty, Ok(true)) {
                return Err(Error::file(
                    &path,
                    "exists and is not an empty folder; choose a new --out",
                ));
            }
        }
        std::fs::create_dir_all(&path)
            .map_err(|e| Error::file(&path, format!("cannot create the run directory ({e})")))?;
        RunDir { path, _lock: None }.locked()
    }

    /// An existing run folder (for resume and reports).
    pub fn open(path: &Path) -> Result<RunDir> {
        if !path.join(CONFIG_FILE).is_file() {
            return Err(Error::file(path, "not a run directory (no config.json)"));
        }
        Ok(RunDir {
            path: path.to_path_buf(),
            _lock: None,
        })
    }

    /// The same folder, locked against any other process until every copy is dropped: an error
    /// naming the run when another process trains in it.
    pub fn locked(self) -> Result<RunDir> {
        let lock = RunLock::take(&self.path)?;
        Ok(RunDir {
            _lock: Some(Arc::new(lock)),
            ..self
        })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A file inside the folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes a pretty-printed JSON file atomically.
    pub fn write_json(&self, name: &str, value: &Value) -> Result<()> {
        let mut text =
            serde_json::to_string_pretty(value).map_err(|e| Error::file(self.file(name), e))?;
        text.push('\n');
        write_atomic(&self.file(name), text.as_bytes())
    }

    /// Writes the final weights: `model.safetensors`, and `model.pth` too for `--save-format pt`.
    pub fn write_weights(&self, state: &[(String, tch::Tensor)], format: SaveFormat) -> Result<()> {
        write_tensors(&self.file(WEIGHTS_FILE), state, None)?;
        match format {
            SaveFormat::Safetensors => Ok(()),
            SaveFormat::Pt => write_state_dict(&self.file(PT_WEIGHTS_FILE), state),
        }
    }

    /// The averaged weights of `--ema`/`--swa` beside the model, atomically:
    /// `model_ema.safetensors`, `model_swa.safetensors` (the model's state_dict names;
    /// `n_averaged` in the metadata).
    pub fn write_averaged(&self, step: &crate::train::Step) -> Result<()> {
        for (kind, tensors, n) in step.averaged_state_dicts() {
            let metadata = [("n_averaged".to_string(), n.to_string())].into();
            let path = self.file(&format!("model_{kind}.safetensors"));
            write_tensors(&path, &tensors, Some(metadata))?;
        }
        Ok(())
    }

    /// Opens `metrics.jsonl` for appending.
    pub fn metrics_log(&self) -> Result<MetricsLog> {
        MetricsLog::append(&self.file(METRICS_FILE))
    }
}

/// How often `metrics.jsonl` is synced to disk at most. An fsync costs milliseconds here (≈5 ms,
/// more than a digits-mlp epoch), so syncing every epoch would dominate small runs; a crash of the
/// machine loses at most this much of the log. A killed process loses nothing: each line is one
/// `write`, in the page cache as soon as it returns.
pub const METRICS_SYNC_EVERY: Duration = Duration::from_secs(1);

/// `metrics.jsonl`, one complete line per epoch.
pub struct MetricsLog {
    path: PathBuf,
    file: File,
    last_sync: Option<Instant>,
    unsynced: bool,
}

impl MetricsLog {
    /// Opens (creating if needed) a metrics file for appending.
    pub fn append(path: &Path) -> Result<MetricsLog> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::file(path, format!("cannot open ({e})")))?;
        Ok(MetricsLog {
            path: path.to_path_buf(),
            file,
            last_sync: None,
            unsynced: false,
        })
    }

    /// Appends one record as a single write of a whole line, so a kill never leaves half a line,
    /// and syncs it to disk unless the last sync is less than [`METRICS_SYNC_EVERY`] old (the
    /// first line, and the last through [`MetricsLog::sync`] or drop, are always synced).
    pub fn write(&mut self, record: &Value) -> Result<()> {
        let mut line = record.to_string();
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .map_err(|e| Error::file(&self.path, format!("cannot append ({e})")))?;
        self.unsynced = true;
        let due = match self.last_sync {
            None => true,
            Some(at) => at.elapsed() >= METRICS_SYNC_EVERY,
        };
        if due {
            self.sync()?;
        }
        Ok(())
    }

    /// Syncs the lines written so far to disk (nothing to do when they already are).
    pub fn sync(&mut self) -> Result<()> {
        if self.unsynced {
            self.file
                .sync_data()
                .map_err(|e| Error::file(&self.path, format!("cannot sync ({e})")))?;
            self.unsynced = false;
            self.last_sync = Some(Instant::now());
        }
        Ok(())
    }
}

impl Drop for MetricsLog {
    fn drop(&mut self) {
        let _ = self.sync();
    }
}

/// Reads every record of a metrics file (blank lines are skipped). A line that is not one whole
/// JSON value (a torn write) is an error naming its line number.
pub fn read_metrics(path: &Path) -> Result<Vec<Value>> {
    crate::bounded::read_json_lines(path, "a whole JSON record (torn?)")
}

/// `<root>/<name>-<UTC time>`, with `-2`, `-3`, … appended when that folder already exists.
pub fn fresh_path(root: &Path, name: &str) -> PathBuf {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let stamp = utc_stamp(secs);
    let base = root.join(format!("{name}-{stamp}"));
    (1..)
        .map(|i| {
            if i == 1 {
                base.clone()
            } else {
                PathBuf::from(format!("{}-{i}", base.display()))
            }
        })
        .find(|p| !p.exists())
        .expect("an unused name exists")
}

/// `YYYYmmdd-HHMMSS` in UTC (days-to-civil, Howard Hinnant's algorithm).
fn utc_stamp(secs: u64) -> String {
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_stamp_formats_known_instants() {
        assert_eq!(super::utc_stamp(0), "19700101-000000");
        assert_eq!(super::utc_stamp(1_795_682_096), "20261126-083456");
    }
}
