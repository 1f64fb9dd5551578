//! The training loop: one epoch of the seed (`epoch`), evaluation (`evaluate`), and the run of all
//! epochs with its metrics and files (`fit`).
mod epoch;
mod evaluate;
mod fit;

pub use epoch::{train_epoch, EpochEnd, EpochPlan, EpochStats};
pub use evaluate::{evaluate, EvalStats};
pub use fit::{fit, EpochRecord, FitEnd, RunSink};
