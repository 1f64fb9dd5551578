//! tch-harness: a training harness on tch-rs (libtorch) whose epoch losses are sample-weighted
//! averages, computed the way PyTorch computes them, to the last bit.
pub mod atomic;
pub mod checkpoint;
pub mod compare;
pub mod config;
pub mod criterion;
pub mod data;
pub mod device;
pub mod error;
pub mod experiment;
pub mod interrupt;
pub mod metrics;
pub mod model;
pub mod optim;
pub mod progress;
pub mod run;
pub mod run_dir;
pub mod tensor_file;
pub mod train;

pub use config::TrainConfig;
pub use criterion::Loss;
pub use device::DeviceSpec;
pub use error::{Error, Result};
pub use experiment::{Builtin, Experiment, ExperimentSpec};
pub use metrics::{Accuracy, LossAccumulator, LossSync};
pub use optim::{optimizer, Optimizer, OptimizerConfig, OptimizerKind};
pub use train::{evaluate, fit, train_epoch};
