//! The run directory as `fit` fills it: a checkpoint, then the epoch's metrics line.
use super::dir::{MetricsLog, RunDir};
use crate::callbacks::sync_best_files;
use crate::checkpoint::{
    checkpoint_path, Checkpoint, CheckpointActions, CheckpointWriter, BEST, CHECKPOINT_DIR, LAST,
};
use crate::config::TrainConfig;
use crate::error::{Error, Result};
use crate::experiment::Experiment;
use crate::logs::RunLogs;
use crate::rng_state::CpuRngState;
use crate::run_state::RunState;
use crate::train::{RunSink, Step};

/// Writes the checkpoints and `metrics.jsonl` of one run.
pub(crate) struct Recorder {
    pub dir: RunDir,
    log: MetricsLog,
    writer: CheckpointWriter<Checkpoint>,
    /// The run's configuration, in every checkpoint: resume refuses a config.json edited since.
    config: serde_json::Value,
    /// No `last` on disk yet: the first is written before the first metrics line, so that a
    /// run whose metrics.jsonl records an epoch always has a checkpoint to resume from.
    first_last: bool,
    /// TensorBoard and CSV (`--logger`).
    logs: RunLogs,
}

impl Recorder {
    /// Appends to the run's metrics file; checkpoints go to `checkpoints/`.
    pub fn new(dir: RunDir, config: &TrainConfig) -> Result<Recorder> {
        let folder = dir.file(CHECKPOINT_DIR);
        std::fs::create_dir_all(&folder).map_err(|e| Error::file(&folder, e))?;
        let log = dir.metrics_log()?;
        let first_last = !checkpoint_path(dir.path(), LAST).exists();
        Ok(Recorder {
            dir,
            log,
            writer: CheckpointWriter::new(),
            config: serde_json::to_value(config).map_err(|e| Error::Config(e.to_string()))?,
            first_last,
            logs: RunLogs::new(
                config.training().logger(),
                config.training().log_every_n_steps(),
            ),
        })
    }

    /// Waits for the checkpoints in flight and syncs `metrics.jsonl` (synced at most once a
    /// second while training).
    pub fn finish(&mut self) -> Result<()> {
        self.writer.flush()?;
        self.log.sync()
    }

    /// The hook collecting per-step losses for the logs, if they want them.
    pub fn step_log_hook(&self) -> Option<Box<dyn crate::train::StepHook>> {
        self.logs.step_hook()
    }

    fn save(
        &self,
        name: &str,
        experiment: &Experiment,
        step: &Step,
        state: &RunState,
    ) -> Result<()> {
        self.save_at(
            checkpoint_path(self.dir.path(), name),
            experiment,
            step,
            state,
        )
    }

    fn save_at(
        &self,
        path: std::path::PathBuf,
        experiment: &Experiment,
        step: &Step,
        state: &RunState,
    ) -> Result<()> {
        let checkpoint = Checkpoint {
            experiment: experiment.name.clone(),
            progress: state.clone(),
            model: experiment.state_dict(),
            optimizer: step.optimizer.state(),
            grads: step.window_grads(),
            averaged: step.averaged_tensors(),
            step: Some(step.state()?),
            rng: Some(CpuRngState::capture()?),
            config: Some(self.config.clone()),
        }
        .snapshot()?;
        self.writer.submit(path, checkpoint)
    }
}

impl RunSink for Recorder {
    fn epoch_done(
        &mut self,
        experiment: &Experiment,
        step: &Step,
        state: &RunState,
        actions: CheckpointActions,
    ) -> Result<()> {
        // Checkpoint first: a kill between the two leaves a checkpoint whose records are the
        // truth, and resume rewrites metrics.jsonl from them.
        if actions.save_last {
            self.save(LAST, experiment, step, state)?;
            if std::mem::take(&mut self.first_last) {
                self.writer.flush()?;
            }
        }
        if actions.save_best {
            self.save(BEST, experiment, step, state)?;
        }
        let Some(record) = state.records.last() else {
            return Ok(());
        };
        self.log
            .write(&serde_json::to_value(record).expect("records serialise"))?;
        self.logs.epoch_done(self.dir.path(), state)?;
        let save = |path: std::path::PathBuf| self.save_at(path, experiment, step, state);
        sync_best_files(
            self.dir.path(),
            record.epoch,
            &state.callbacks,
            save,
            || self.writer.flush(),
        )
    }

    fn stopped(&mut self, experiment: &Experiment, step: &Step, state: &RunState) -> Result<()> {
        self.save(LAST, experiment, step, state)?;
        self.writer.flush()
    }

    fn last_checkpoint(&self) -> String {
        if let Err(e) = self.writer.flush() {
            return e.to_string();
        }
        let path = checkpoint_path(self.dir.path(), LAST);
        match Checkpoint::load(&path) {
            Ok(c) => format!(
                "{} (after epoch {})",
                path.display(),
                c.progress.records.len()
            ),
            Err(_) => "none yet".to_string(),
        }
    }
}
