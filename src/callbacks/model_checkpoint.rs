//! `--checkpoint "ModelCheckpoint(monitor='eval_accuracy', mode='max', save_top_k=3)"`:
//! Lightning's top-k policy (lightning/pytorch/callbacks/model_checkpoint.py,
//! `check_monitor_top_k` and `_update_best_and_save`) as a pure update of the kept files; the
//! recorder writes and deletes them (`best_files.rs`).
use std::fmt;

use serde::{Deserialize, Serialize};

use super::filename::{default_pattern, FilenamePattern};
use super::monitor::{metric, missing, monitor_of, Mode};
use crate::call_spec::CallSpec;
use crate::error::{Error, Result};
use crate::run_state::EpochRecord;

const KEYWORDS: &[&str] = &[
    "monitor",
    "mode",
    "save_top_k",
    "save_last",
    "filename",
    "every_n_epochs",
    "auto_insert_metric_name",
    "verbose",
];

/// The callback as the user spelt it, parsed and checked.
#[derive(Debug, Clone)]
pub struct ModelCheckpointSpec {
    text: String,
    pub monitor: Option<String>,
    pub mode: Mode,
    /// -1: every file; 0: none.
    pub save_top_k: i64,
    pub every_n_epochs: usize,
    pub filename: FilenamePattern,
}

/// One kept file: its name under `checkpoints/best/` (no extension), its epoch and score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeptFile {
    pub file: String,
    pub epoch: usize,
    #[serde(with = "crate::trace::number_or_text")]
    pub score: f64,
}

/// `best_k_models` in insertion order, kept in every checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelCheckpointState {
    pub kept: Vec<KeptFile>,
}

impl ModelCheckpointSpec {
    /// Parses `text`; an error names `--checkpoint`.
    pub fn parse(text: &str) -> Result<ModelCheckpointSpec> {
        let named = |e: Error| Error::Config(format!("--checkpoint: {e}"));
        let call = CallSpec::parse(text).map_err(named)?;
        let mut spec = Self::from_call(&call).map_err(named)?;
        spec.text = text.to_string();
        Ok(spec)
    }

    fn from_call(call: &CallSpec) -> Result<ModelCheckpointSpec> {
        if call.name != "ModelCheckpoint" {
            return Err(Error::Config(format!(
                "expected ModelCheckpoint(monitor=..., ...), got {}",
                call.name
            )));
        }
        call.check_keywords(KEYWORDS)?;
        let monitor = monitor_of(call)?;
        let save_top_k = call.i64("save_top_k")?.unwrap_or(1);
        if save_top_k < -1 {
            return Err(call.error(&format!("save_top_k must be >= -1, got {save_top_k}")));
        }
        if monitor.is_none() && !matches!(save_top_k, -1..=1) {
            return Err(call.error(&format!(
                "save_top_k={save_top_k} needs a monitor (no quantity to rank the files by)"
            )));
        }
        if call.bool("save_last")? == Some(false) {
            return Err(call.error(
                "save_last=False: the harness always keeps checkpoints/last.safetensors (resume needs it)",
            ));
        }
        call.bool("verbose")?;
        let auto_insert = call.bool("auto_insert_metric_name")?.unwrap_or(true);
        let pattern = match call.str("filename")? {
            Some(p) => p.to_string(),
            None => default_pattern(monitor.as_deref()),
        };
        Ok(ModelCheckpointSpec {
            text: String::new(),
            mode: Mode::of(call)?,
            save_top_k,
            every_n_epochs: call.usize("every_n_epochs")?.unwrap_or(1),
            filename: FilenamePattern::parse(&pattern, auto_insert).map_err(|e| call.error(&e))?,
            monitor,
        })
    }

    /// The spelling as given (what config.json records).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Updates the kept files with `record` (`steps`: batches trained so far).
    pub fn update(
        &self,
        state: &mut ModelCheckpointState,
        record: &EpochRecord,
        steps: u64,
    ) -> Result<()> {
        if self.save_top_k == 0
            || self.every_n_epochs == 0
            || record.epoch % self.every_n_epochs != 0
        {
            return Ok(());
        }
        let score = match &self.monitor {
            None => f64::NAN, // the latest file is the one kept
            Some(monitor) => match metric(record, monitor) {
                Some(score) => score,
                None => return Err(missing("--checkpoint", monitor, record)),
            },
        };
        if self.monitor.is_none() {
            if self.save_top_k == 1 {
                state.kept.clear();
            }
            self.insert(state, record, steps, score);
            return Ok(());
        }
        let k = self.save_top_k as usize;
        let enters = self.save_top_k == -1
            || state.kept.len() < k
            || self
                .mode
                .better(score, state.kept[self.kth_worst(state)].score);
        if !enters {
            return Ok(());
        }
        if self.save_top_k != -1 && state.kept.len() == k {
            state.kept.remove(self.kth_worst(state));
        }
        // Lightning does not rank a NaN: it stands in as the worst value.
        let score = if score.is_nan() {
            self.mode.worst()
        } else {
            score
        };
        self.insert(state, record, steps, score);
        Ok(())
    }

    /// Lightning's `kth_best_model_path`: the worst kept score, the first one kept among ties
    /// (`max(dict, key=dict.get)` over insertion order).
    fn kth_worst(&self, state: &ModelCheckpointState) -> usize {
        let mut worst = 0;
        for (i, kept) in state.kept.iter().enumerate() {
            if self.mode.better(state.kept[worst].score, kept.score) {
                worst = i;
            }
        }
        worst
    }

    fn insert(
        &self,
        state: &mut ModelCheckpointState,
        record: &EpochRecord,
        steps: u64,
        score: f64,
    ) {
        let mut file = self.filename.format(record, steps);
        // Lightning's version counter: a name already kept gets -v1, -v2, …
        let base = file.clone();
        let mut version = 1;
        while state.kept.iter().any(|k| k.file == file) {
            file = format!("{base}-v{version}");
            version += 1;
        }
        state.kept.push(KeptFile {
            file,
            epoch: record.epoch,
            score,
        });
    }

    /// The best kept file (Lightning's `best_model_path`).
    pub fn best<'s>(&self, state: &'s ModelCheckpointState) -> Option<&'s KeptFile> {
        let mut best: Option<&KeptFile> = None;
        for kept in &state.kept {
            if best.map_or(true, |b| self.mode.better(kept.score, b.score)) {
                best = Some(kept);
            }
        }
        best
    }
}

impl PartialEq for ModelCheckpointSpec {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl fmt::Display for ModelCheckpointSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
