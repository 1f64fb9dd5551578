//! The training loop: one epoch of the seed (`epoch`), the step (`step`) and the pipeline of
//! hooks around it (`hook`: accumulation, clipping, the scheduler; gradient sync and the trace
//! live with their own concepts), evaluation (`evaluate`), the run of all epochs (`fit`) and what
//! they are handed (`context`).
mod accumulate;
mod autocast;
mod averaged;
mod clip;
mod context;
mod ema;
mod epoch;
mod evaluate;
mod fit;
mod grad_scaler;
mod hook;
mod plan;
mod record;
mod schedule;
mod step;
mod step_state;
mod swa;

pub use accumulate::Window;
pub use autocast::Autocast;
pub use averaged::AveragedModel;
pub use clip::{ClipGradNorm, ClipGradValue};
pub use context::{RunContext, RunSink};
pub use ema::Ema;
pub use epoch::train_epoch;
pub use evaluate::{evaluate, EvalPlan, EvalStats};
pub use fit::{fit, FitEnd};
pub use grad_scaler::GradScaler;
pub use hook::{Decision, EpochDone, EpochStart, Grads, Slot, StepHook, StepMetrics, Update};
pub use plan::PlannedBatch;
pub use schedule::Scheduled;
pub use step::Step;
pub use swa::Swa;
