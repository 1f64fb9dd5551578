//! tch-harness: a training harness on tch-rs (libtorch) whose epoch losses are sample-weighted
//! averages, computed the way PyTorch computes them, to the last bit.
//!
//! The public surface is what a Rust port of a PyTorch experiment uses: layers and models
//! (`model`), data (`data`), losses (`criterion`), optimizers (`optim`), the experiment they make
//! up (`experiment`), a run's configuration (`config`), training and checking a run (`run`,
//! `compare`), the step's hooks a port may add its own to (`StepHook`) and the tally the seed's
//! formula lives in. The rest is the harness's own.
pub mod allocator;
pub mod autocast;
pub mod backends;
pub(crate) mod bounded;
pub mod callbacks;
pub mod compare;
pub mod config;
pub mod criterion;
pub mod data;
pub mod distributed;
pub mod error;
pub mod experiment;
pub mod logs;
pub mod metrics;
pub mod model;
pub mod nets;
pub mod optim;
pub mod pt;
pub mod run;
pub mod schedule;
pub mod trace;

mod atomic;
mod call_spec;
mod checkpoint;
mod interrupt;
mod names;
mod progress;
mod rng_state;
mod run_state;
mod runtime;
mod tally;
mod tensor_io;
mod train;

pub use config::{
    BatchSize, ExperimentSource, LossSync, NonFinitePolicy, ScheduleInterval, TrainConfig,
    TrainConfigBuilder,
};
pub use criterion::{Criterion, Loss, LossOptions};
pub use error::{Error, Result};
pub use experiment::{Builtin, Experiment};
pub use optim::{optimizer, Optimizer, OptimizerConfig, OptimizerKind};
pub use runtime::{check_workload, DeviceSpec};
pub use tally::{BatchCount, BatchMean, Tally};
pub use train::{
    AveragedModel, Decision, EpochDone, EpochStart, Grads, PlannedBatch, Slot, StepHook,
    StepMetrics, Update,
};
