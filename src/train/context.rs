//! What a run's loop is handed besides the model and the step: where it runs, who may stop it,
//! who shows it, where its records and checkpoints go, and the processes its tallies are summed
//! over. One bundle, made once by `run`, instead of five arguments threaded through every layer.
use tch::Device;

use super::Step;
use crate::checkpoint::CheckpointActions;
use crate::error::Result;
use crate::experiment::Experiment;
use crate::interrupt::StopFlag;
use crate::progress::Progress;
use crate::run_state::RunState;
use crate::tally::Reduce;

/// The surroundings of a run's loop.
pub struct RunContext<'a> {
    /// Where the experiment's tensors live (resolved once, by `runtime::init`).
    pub device: Device,
    /// Set by Ctrl-C/SIGTERM: stop at the next batch boundary.
    pub stop: &'a StopFlag,
    pub progress: &'a mut dyn Progress,
    pub sink: &'a mut dyn RunSink,
    /// The processes each epoch's tallies are summed over (one: `SingleProcess`).
    pub processes: &'a dyn Reduce,
}

/// Where a run's epochs and checkpoints go. `fit` calls it after each epoch and when stopping.
pub trait RunSink {
    /// A finished epoch (its record is already in `state.records`); `actions` say which
    /// checkpoints to write.
    fn epoch_done(
        &mut self,
        experiment: &Experiment,
        step: &Step,
        state: &RunState,
        actions: CheckpointActions,
    ) -> Result<()>;
    /// The run is stopping mid-epoch: save everything needed to continue.
    fn stopped(&mut self, experiment: &Experiment, step: &Step, state: &RunState) -> Result<()>;
    /// Where the last good checkpoint is, for error messages.
    fn last_checkpoint(&self) -> String;
}
