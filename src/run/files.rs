//! The run directory as `fit` writes it: a checkpoint, then the epoch's metrics line.
use crate::checkpoint::{
    checkpoint_path, Checkpoint, CheckpointWriter, RunProgress, BEST, CHECKPOINT_DIR, LAST,
};
use crate::error::{Error, Result};
use crate::experiment::Experiment;
use crate::optim::Optimizer;
use crate::run_dir::{MetricsLog, RunDir};
use crate::train::RunSink;

/// Checkpoints and `metrics.jsonl` of one run.
pub struct RunFiles {
    pub dir: RunDir,
    log: MetricsLog,
    writer: CheckpointWriter<Checkpoint>,
}

impl RunFiles {
    /// Appends to the run's metrics file; checkpoints go to `checkpoints/`.
    pub fn new(dir: RunDir) -> Result<RunFiles> {
        let folder = dir.file(CHECKPOINT_DIR);
        std::fs::create_dir_all(&folder).map_err(|e| Error::file(&folder, e))?;
        let log = dir.metrics_log()?;
        Ok(RunFiles {
            dir,
            log,
            writer: CheckpointWriter::new(),
        })
    }

    /// Waits for the checkpoints in flight and syncs `metrics.jsonl` (synced at most once a
    /// second while training).
    pub fn finish(&mut self) -> Result<()> {
        self.writer.flush()?;
        self.log.sync()
    }

    fn save(
        &self,
        name: &str,
        experiment: &Experiment,
        optimizer: &dyn Optimizer,
        progress: &RunProgress,
    ) -> Result<()> {
        let checkpoint = Checkpoint::snapshot(
            experiment.name.clone(),
            progress.clone(),
            &experiment.state_dict(),
            &optimizer.state(),
        )?;
        self.writer
            .submit(checkpoint_path(self.dir.path(), name), checkpoint)
    }
}

impl RunSink for RunFiles {
    fn epoch_done(
        &mut self,
        experiment: &Experiment,
        optimizer: &dyn Optimizer,
        progress: &RunProgress,
        save_last: bool,
        save_best: bool,
    ) -> Result<()> {
        // Checkpoint first: a kill between the two leaves a checkpoint whose records are the
        // truth, and resume rewrites metrics.jsonl from them.
        if save_last {
            self.save(LAST, experiment, optimizer, progress)?;
        }
        if save_best {
            self.save(BEST, experiment, optimizer, progress)?;
        }
        match progress.records.last() {
            Some(record) => self
                .log
                .write(&serde_json::to_value(record).expect("records serialise")),
            None => Ok(()),
        }
    }

    fn stopped(
        &mut self,
        experiment: &Experiment,
        optimizer: &dyn Optimizer,
        progress: &RunProgress,
    ) -> Result<()> {
        self.save(LAST, experiment, optimizer, progress)?;
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
