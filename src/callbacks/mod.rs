//! What happens after each epoch's record, in Lightning's spelling: `EarlyStopping` (may end the
//! run) and `ModelCheckpoint` (keeps the best files). Their decisions are pure updates of
//! [`CallbackState`], which every checkpoint keeps, so a resumed run decides as the
//! uninterrupted one; the recorder (rank 0) writes the files they name (`best_files`).
mod best_files;
mod early_stopping;
mod filename;
mod model_checkpoint;
mod monitor;

pub(crate) use best_files::sync_best_files;
pub use best_files::{BEST_DIR, CALLBACKS_FILE};
pub use early_stopping::{EarlyStoppingSpec, EarlyStoppingState, Stopped};
pub use model_checkpoint::{KeptFile, ModelCheckpointSpec, ModelCheckpointState};
pub use monitor::{metric, Mode, MONITORABLE};

use serde::{Deserialize, Serialize};

use crate::config::TrainConfig;
use crate::error::Result;
use crate::run_state::{EpochRecord, RunState};
use crate::tally::Reduce;

/// The callbacks' state, in `RunState` (and so in every checkpoint and `callbacks.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CallbackState {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub early_stopping: Option<EarlyStoppingState>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub model_checkpoint: Option<ModelCheckpointState>,
}

impl CallbackState {
    /// No callback configured (nothing to save).
    pub fn is_empty(&self) -> bool {
        self.early_stopping.is_none() && self.model_checkpoint.is_none()
    }

    /// The epoch early stopping ended the run after, and why.
    pub fn stopped(&self) -> Option<&Stopped> {
        self.early_stopping.as_ref()?.stopped.as_ref()
    }
}

/// An error, before training, when a callback watches an eval metric and there is no eval split,
/// or a `--metrics` name the run does not compute.
pub fn check_monitors(config: &TrainConfig, has_eval: bool) -> Result<()> {
    let training = config.training();
    let metrics = training.metrics();
    if let Some(spec) = training.early_stopping() {
        monitor::check_available("--early-stopping", &spec.monitor, has_eval, metrics)?;
    }
    if let Some(monitor) = training.model_checkpoint().and_then(|s| s.monitor.as_ref()) {
        monitor::check_available("--checkpoint", monitor, has_eval, metrics)?;
    }
    Ok(())
}

/// After `record` (not yet in `state.records`): the callbacks' updates; `true` when early
/// stopping ends the run now — agreed by every process, so that none waits for the others.
pub fn epoch_end(
    config: &TrainConfig,
    record: &EpochRecord,
    state: &mut RunState,
    processes: &dyn Reduce,
) -> Result<bool> {
    let training = config.training();
    let steps = state.records.iter().map(|r| r.batches as u64).sum::<u64>() + record.batches as u64;
    if let Some(spec) = training.model_checkpoint() {
        let kept = state
            .callbacks
            .model_checkpoint
            .get_or_insert_with(Default::default);
        spec.update(kept, record, steps)?;
    }
    let Some(spec) = training.early_stopping() else {
        return Ok(false);
    };
    let watch = state
        .callbacks
        .early_stopping
        .get_or_insert_with(|| spec.start());
    spec.update(watch, record)?;
    // Every rank saw the same reduced metrics; the sum guards against any disagreement.
    let stop = processes.sum_u64(watch.stopped.is_some() as u64)? > 0;
    if stop && watch.stopped.is_none() {
        watch.stopped = Some(Stopped {
            epoch: record.epoch,
            reason: "early stopping, on another rank".into(),
        });
    }
    Ok(stop)
}

#[cfg(test)]
mod tests;
