//! Porting a PyTorch experiment to Rust, a worked example (README, "Porting a PyTorch
//! experiment"). `examples/port_sine.py` is the original PyTorch experiment; this file is its Rust
//! side on tch-harness: the same model, data, criterion, optimizer and seed.
//!
//! ```sh
//! cargo run --release --example port_sine -- runs/sine-rust
//! .venv/bin/python examples/port_sine.py runs/sine-python
//! cargo run --release -- diff runs/sine-rust runs/sine-python
//! ```
//!
//! Expected: every epoch's train and eval loss bit-identical (max relative difference 0) on CPU.
use std::path::Path;

use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};
use tch_harness::data::{Dataset, Split};
use tch_harness::model::{linear, Linear, LinearConfig, Model};
use tch_harness::optim::{OptimizerConfig, SgdConfig};
use tch_harness::run::{train_experiment, PlainProgress, StopFlag, TrainOutcome};
use tch_harness::{DeviceSpec, Experiment, ExperimentSource, Loss, Result, TrainConfig};

// The Python script's constants.
const EPOCHS: usize = 30;
const BATCH_SIZE: i64 = 32;
const LR: f64 = 0.05;
const MOMENTUM: f64 = 0.9;
const SEED: u64 = 0;

/// `SineNet` of port_sine.py: fc1 (1 → 32), tanh, fc2 (32 → 1). `linear` initialises as
/// `nn.Linear` does, so the same seed gives the same weights.
struct SineNet {
    fc1: Linear,
    fc2: Linear,
}

impl Model for SineNet {
    fn forward_t(&self, xs: &Tensor, _train: bool) -> Result<Tensor> {
        self.fc2.forward(&self.fc1.forward(xs)?.f_tanh()?)
    }
}

/// 301 points of sin on [-3, 3] to train on, 60 points in between to evaluate.
fn sine_data() -> Result<Dataset> {
    let cpu = (Kind::Float, Device::Cpu);
    let x = Tensor::f_linspace(-3.0, 3.0, 301, cpu)?.f_unsqueeze(1)?;
    let eval_x = Tensor::f_linspace(-2.95, 2.95, 60, cpu)?.f_unsqueeze(1)?;
    Ok(Dataset {
        train: Split::new(x.shallow_clone(), x.f_sin()?, "sine")?,
        eval: Some(Split::new(eval_x.shallow_clone(), eval_x.f_sin()?, "sine")?),
    })
}

/// Trains the port into `out`.
pub fn run(out: &Path) -> Result<TrainOutcome> {
    tch::manual_seed(SEED as i64); // torch.manual_seed(SEED), right before the model is built
    let data = sine_data()?;
    let vs = VarStore::new(Device::Cpu);
    let root = vs.root();
    let model = SineNet {
        fc1: linear(&(&root / "fc1"), 1, 32, LinearConfig::default())?,
        fc2: linear(&(&root / "fc2"), 32, 1, LinearConfig::default())?,
    };
    let experiment = Experiment {
        name: "port-sine".into(),
        vs,
        model: Box::new(model),
        data,
        loss: Loss::Mse.into(),
        classes: None,
        hooks: Vec::new(),
    };
    // torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, foreach=False)
    let optimizer = OptimizerConfig::Sgd(SgdConfig {
        lr: LR,
        momentum: MOMENTUM,
        ..SgdConfig::default()
    });
    let config = TrainConfig::builder(ExperimentSource::Port("port-sine".into()), optimizer)
        .epochs(EPOCHS)
        .batch_size(BATCH_SIZE)
        .seed(SEED)
        .device(DeviceSpec::Cpu)
        .threads(1)
        .build()?;
    train_experiment(
        experiment,
        &config,
        Some(out),
        &StopFlag::new(),
        &mut PlainProgress,
    )
}

#[allow(dead_code)] // the test suite includes this file and calls `run`
fn main() -> anyhow::Result<()> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "runs/port-sine-rust".into());
    run(Path::new(&out))?;
    Ok(())
}
