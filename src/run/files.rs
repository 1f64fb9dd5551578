//! The run directory as `fit` writes it: a checkpoint, then the epoch's metrics line.
use crate::checkpoint::{checkpoint_path, Checkpoint, RunProgress, BEST, LAST};
use crate::error::Result;
use crate::experiment::Experiment;
use crate::optim::Optimizer;
use crate::run_dir::{MetricsLog, RunDir};
use crate::train::RunSink;

/// Checkpoints and `metrics.jsonl` of one run.
pub struct RunFiles {
    pub dir: RunDir,
    log: MetricsLog,
}

impl RunFiles {
    /// Appends to the run's metrics file.
    pub fn new(dir: RunDir) -> Result<RunFiles> {
        let log = dir.metrics_log()?;
        Ok(RunFiles { dir, log })
    }

    /// Syncs `metrics.jsonl` to disk (it is synced at most once a second while training).
    pub fn sync_metrics(&mut self) -> Result<()> {
        self.log.sync()
    }

    fn save(
        &self,
        name: &str,
        experiment: &Experiment,
        optimizer: &dyn Optimizer,
        progress: &RunProgress,
    ) -> Result<()> {
        let checkpoint = Checkpoint {
            experiment: experiment.name.clone(),
            progress: progress.clone(),
            model: experiment.state_dict(),
            optimizer: optimizer.state(),
        };
        checkpoint.save(&checkpoint_path(self.dir.path(), name))
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
        self.save(LAST, experiment, optimizer, progress)
    }

    fn last_checkpoint(&self) -> String {
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
