//! A run ready for its (remaining) epochs: its progress and sink wired for this rank, the fit,
//! then the final weights.
use std::path::PathBuf;
use std::rc::Rc;

use super::recorder::Recorder;
use super::TORCHSCRIPT_FILE;
use super::{job::JobSink, FitEnd, Progress, RunDir, RunState, Silent, StopFlag, TrainOutcome};
use crate::config::TrainConfig;
use crate::distributed::{ProcessGroup, SyncBatchNorm};
use crate::error::{Error, Result};
use crate::experiment::Experiment;
use crate::tally::{Reduce, SingleProcess};
use crate::train::{fit, RunContext, RunSink, Step};

/// A run ready for its (remaining) epochs.
pub(super) struct Run<'a> {
    pub(super) config: &'a TrainConfig,
    pub(super) experiment: Experiment,
    pub(super) step: Step,
    pub(super) state: RunState,
    /// `None` on the ranks after 0 of a data-parallel run, which write nothing.
    pub(super) dir: Option<RunDir>,
    pub(super) group: Option<Rc<ProcessGroup>>,
}

impl Run<'_> {
    /// Trains to the last epoch (or a stop), then saves the final weights.
    pub(super) fn go(
        mut self,
        stop: &StopFlag,
        progress: &mut dyn Progress,
    ) -> Result<TrainOutcome> {
        let mut recorder = self
            .dir
            .take()
            .map(|dir| Recorder::new(dir, self.config))
            .transpose()?;
        if let Some(hook) = recorder.as_ref().and_then(|r| r.step_log_hook()) {
            self.step.add_hook(hook); // rank 0's losses, for the logs
        }
        let mut silent = Silent;
        let progress: &mut dyn Progress = match recorder {
            Some(_) => progress,
            None => &mut silent, // only rank 0 shows the run
        };
        let group = self.group.clone();
        let processes: &dyn Reduce = match &group {
            Some(group) => group.as_ref(),
            None => &SingleProcess,
        };
        let mut job_sink;
        let sink: &mut dyn RunSink = match (&group, recorder.as_mut()) {
            (Some(group), recorder) => {
                job_sink = JobSink { group, recorder };
                &mut job_sink
            }
            (None, Some(recorder)) => recorder,
            (None, None) => return Err(Error::Config("a run without a directory".into())),
        };
        let mut ctx = RunContext {
            device: self.experiment.device(),
            stop,
            progress,
            sink,
            processes,
        };
        // SyncBatchNorm for the whole fit (evaluation uses the running statistics); a TorchScript
        // module's batch norm is out of reach.
        let synced = self.config.training().sync_batchnorm()
            && self.experiment.model.torchscript().is_none();
        let sync_batch_norm = group.clone().filter(|_| synced).map(SyncBatchNorm::enter);
        let end = fit(
            &mut self.experiment,
            &mut self.step,
            self.config,
            &mut self.state,
            &mut ctx,
        )?;
        drop(sync_batch_norm);
        let Some(mut recorder) = recorder else {
            return Ok(TrainOutcome {
                run_dir: PathBuf::new(),
                records: self.state.records,
                end,
            });
        };
        recorder.finish()?;
        let dir = &recorder.dir;
        if end == FitEnd::Finished {
            dir.write_weights(
                &self.experiment.state_dict(),
                self.config.training().save_format(),
            )?;
            dir.write_averaged(&self.step)?;
            // Saved in evaluation mode, ready for inference after `torch.jit.load`.
            self.experiment.model.set_train(false);
            if let Some(module) = self.experiment.model.torchscript() {
                module.save(&dir.file(TORCHSCRIPT_FILE))?;
            }
        }
        Ok(TrainOutcome {
            run_dir: dir.path().to_path_buf(),
            records: self.state.records,
            end,
        })
    }
}
