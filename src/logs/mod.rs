//! Logs PyTorch users open, beside `metrics.jsonl` (always written): `--logger tensorboard`
//! (event files in the run directory, every number of each epoch's record, and with
//! `--log-every-n-steps N` the loss of every Nth batch as `train_loss_step`) and `--logger csv`
//! (`metrics.csv`, Lightning's CSVLogger layout). Rank 0's recorder writes them.
mod csv;
mod event_file;
mod step_log;

pub use csv::{python_repr, CSV_FILE};
pub use event_file::{crc32c, EventFile};

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{quote, Error, Result};
use crate::run_state::RunState;
use crate::train::StepHook;
use step_log::{StepLoss, StepLosses};

/// The loggers `--logger` names (comma-separated).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Loggers {
    pub tensorboard: bool,
    pub csv: bool,
}

impl Loggers {
    pub const NAMES: &'static [&'static str] = &["tensorboard", "csv"];

    /// From config.json's list; an unknown name is an error listing the known ones.
    pub fn parse(names: &[String]) -> Result<Loggers> {
        let mut loggers = Loggers::default();
        for name in names {
            match name.trim() {
                "tensorboard" => loggers.tensorboard = true,
                "csv" => loggers.csv = true,
                other => {
                    return Err(Error::Config(format!(
                        "--logger: unknown logger '{}' (choose from: {})",
                        quote(other),
                        Self::NAMES.join(", ")
                    )))
                }
            }
        }
        Ok(loggers)
    }

    /// The names, as config.json keeps them.
    pub fn names(&self) -> Vec<String> {
        let on = [self.tensorboard, self.csv];
        Self::NAMES
            .iter()
            .zip(on)
            .filter(|(_, on)| *on)
            .map(|(n, _)| n.to_string())
            .collect()
    }
}

/// The logs of one run, as rank 0 writes them.
pub(crate) struct RunLogs {
    loggers: Loggers,
    every_n_steps: Option<usize>,
    /// Opened at the first epoch this process records (a resumed run opens a new file).
    events: Option<EventFile>,
    steps: StepLosses,
}

impl RunLogs {
    pub fn new(loggers: Loggers, every_n_steps: Option<usize>) -> RunLogs {
        RunLogs {
            loggers,
            every_n_steps,
            events: None,
            steps: StepLosses::default(),
        }
    }

    /// The hook that collects per-step losses, when TensorBoard logs them.
    pub fn step_hook(&self) -> Option<Box<dyn StepHook>> {
        let every = self.every_n_steps.filter(|_| self.loggers.tensorboard)?;
        Some(Box::new(StepLoss::new(every, self.steps.clone())))
    }

    /// After an epoch (its record last in `state.records`).
    pub fn epoch_done(&mut self, run_dir: &Path, state: &RunState) -> Result<()> {
        if self.loggers.csv {
            csv::write_csv(run_dir, &state.records)?;
        }
        if !self.loggers.tensorboard {
            return Ok(());
        }
        let Some(record) = state.records.last() else {
            return Ok(());
        };
        let step: u64 = state.records.iter().map(|r| r.batches as u64).sum();
        let per_step = std::mem::take(&mut *self.steps.borrow_mut());
        let events = match &mut self.events {
            Some(events) => events,
            None => {
                let mut events = EventFile::create(run_dir)?;
                if state.records.len() > 1 {
                    // Resumed: earlier files' events from this epoch on are redone by this run.
                    events.session_start(step - record.batches as u64 + 1)?;
                }
                self.events.insert(events)
            }
        };
        for (at, loss) in per_step {
            events.scalars(at, &[("train_loss_step".into(), loss as f32)])?;
        }
        let scalars: Vec<(String, f32)> = csv::scalars(record)
            .into_iter()
            .filter_map(|(name, v)| Some((name, v.as_f64()? as f32)))
            .collect();
        events.scalars(step, &scalars)?;
        events.flush()
    }
}

impl Loggers {
    /// `--log-every-n-steps`, checked: at least 1, and only with TensorBoard (where it goes).
    pub fn with_every_n_steps(self, every: Option<usize>) -> Result<Loggers> {
        match every {
            Some(0) => Err(Error::Config(
                "--log-every-n-steps must be at least 1".into(),
            )),
            Some(_) if !self.tensorboard => Err(Error::Config(
                "--log-every-n-steps writes TensorBoard scalars: add --logger tensorboard".into(),
            )),
            _ => Ok(self),
        }
    }
}
