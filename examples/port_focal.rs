//! A port whose PyTorch script has a loss of its own (docs/porting.md, "Your own loss"):
//! `examples/port_focal.py` trains an MLP on the 8x8 digits with a focal loss; this file is its
//! Rust side on tch-harness — the same model, data, loss, optimizer and seed — and trains through
//! the harness's own loop by implementing [`LossFn`] for the focal loss.
//!
//! ```sh
//! cargo run --release --example port_focal -- runs/focal-rust
//! .venv/bin/python examples/port_focal.py runs/focal-python
//! cargo run --release -- diff runs/focal-rust runs/focal-python
//! ```
//!
//! Expected: every epoch's train and eval loss, and the eval accuracy, bit-identical on CPU.
use std::path::Path;

use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};
use tch_harness::criterion::{
    ClassIndices, LossChoice, LossFn, LossOption, PerSample, SampleCounts, Targets,
};
use tch_harness::data::digits;
use tch_harness::model::{linear, Linear, LinearConfig, Model};
use tch_harness::optim::{OptimizerConfig, SgdConfig};
use tch_harness::run::{train_experiment, PlainProgress, StopFlag, TrainOutcome};
use tch_harness::{DeviceSpec, Experiment, ExperimentSource, Result, TrainConfig};

// The Python script's constants.
const EPOCHS: usize = 5;
const BATCH_SIZE: i64 = 64;
const LR: f64 = 0.1;
const MOMENTUM: f64 = 0.9;
const SEED: u64 = 0;
const GAMMA: f64 = 2.0;

/// `focal_loss` of port_focal.py: `-(1 - p_t)^gamma * log(p_t)` over class indices, mean over
/// the samples. Each op is the one PyTorch's line calls, in the same order.
#[derive(Debug)]
pub struct FocalLoss {
    pub gamma: f64,
}

impl LossFn for FocalLoss {
    fn name(&self) -> &str {
        "focal"
    }

    /// Class indices `[N]` for logits `[N, C]`; no target is ignored.
    fn targets(&self) -> Targets {
        Targets::ClassIndices { ignore_index: None }
    }

    /// None of `--ignore-index`, `--class-weights`, …: the port's constants say it all.
    fn accepts(&self) -> &'static [LossOption] {
        &[]
    }

    fn forward(&self, logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
        // F.log_softmax(logits, dim=1).gather(1, targets.unsqueeze(1)).squeeze(1)
        let log_pt = logits
            .f_log_softmax(1, None::<Kind>)?
            .f_gather(1, &targets.f_unsqueeze(1)?, false)?
            .f_squeeze_dim(1)?;
        let pt = log_pt.f_exp()?;
        // (-(1 - pt) ** gamma * log_pt).mean()
        let weight = pt.f_rsub_scalar(1.0)?.f_pow_tensor_scalar(self.gamma)?;
        Ok(weight.f_neg()?.f_mul(&log_pt)?.f_mean(None::<Kind>)?)
    }

    /// A mean over the samples: each counts 1, for the loss and for the accuracy.
    fn sample_counts(&self, _targets: &Tensor) -> Result<SampleCounts> {
        Ok(SampleCounts {
            loss: PerSample::Constant(1.0),
            accuracy: Some(PerSample::Constant(1.0)),
        })
    }

    /// `(outputs.argmax(1) == targets).sum()`, as cross-entropy counts it.
    fn correct(&self, outputs: &Tensor, targets: &Tensor) -> Result<Option<Tensor>> {
        ClassIndices::plain().correct(outputs, targets)
    }
}

/// `FocalNet` of port_focal.py: fc1 (64 → 32), relu, fc2 (32 → 10).
struct FocalNet {
    fc1: Linear,
    fc2: Linear,
}

impl Model for FocalNet {
    fn forward_t(&self, xs: &Tensor, _train: bool) -> Result<Tensor> {
        self.fc2.forward(&self.fc1.forward(xs)?.f_relu()?)
    }
}

/// Trains the port into `out`.
pub fn run(out: &Path) -> Result<TrainOutcome> {
    let data = digits()?; // read from a file: nothing drawn
    tch::manual_seed(SEED as i64); // torch.manual_seed(SEED), right before the model is built
    let vs = VarStore::new(Device::Cpu);
    let root = vs.root();
    let model = FocalNet {
        fc1: linear(&(&root / "fc1"), 64, 32, LinearConfig::default())?,
        fc2: linear(&(&root / "fc2"), 32, 10, LinearConfig::default())?,
    };
    let experiment = Experiment {
        name: "port-focal".into(),
        vs,
        model: Box::new(model),
        data,
        loss: LossChoice::own(FocalLoss { gamma: GAMMA }),
        classes: Some(10),
        hooks: Vec::new(),
    };
    // torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, foreach=False)
    let optimizer = OptimizerConfig::Sgd(SgdConfig {
        lr: LR,
        momentum: MOMENTUM,
        ..SgdConfig::default()
    });
    let config = TrainConfig::builder(ExperimentSource::Port("port-focal".into()), optimizer)
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
        .unwrap_or_else(|| "runs/port-focal-rust".into());
    run(Path::new(&out))?;
    Ok(())
}
