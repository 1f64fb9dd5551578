//! A model that draws from libtorch's global CPU generator while training (dropout, tch's own
//! `Tensor::dropout`, i.e. at::dropout) resumes bit for bit: the checkpoint holds the generator's
//! state (`rng.cpu`) and resume puts it back where the stopped run was, mid-epoch or at an epoch
//! boundary, with and without shuffling. Without that, the resumed run draws other dropout masks.
use std::cell::Cell;
use std::path::Path;
use std::rc::Rc;

use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};
use tch_harness::data::{Dataset, Split};
use tch_harness::model::{linear, Linear, LinearConfig, Model};
use tch_harness::optim::{OptimizerConfig, SgdConfig};
use tch_harness::run::{
    checkpoint_path, resume_with, train_experiment, Checkpoint, FitEnd, Progress, RunningLoss,
    Silent, StopFlag, LAST,
};
use tch_harness::{DeviceSpec, Experiment, ExperimentSource, Loss, Result, TrainConfig};

use crate::common::{global_rng, tempdir};
use crate::kill_resume::losses;

const EPOCHS: usize = 4;
/// 120 samples in batches of 16: 8 batches an epoch, the last one short.
const SAMPLES: i64 = 120;
const BATCH_SIZE: i64 = 16;
const SEED: u64 = 5;

/// fc1 (1 → 32), relu, dropout(0.5), fc2 (32 → 1). `eval_stop` requests a stop from the first
/// evaluation pass after it is armed: a stop at an epoch boundary.
struct DropoutNet {
    fc1: Linear,
    fc2: Linear,
    eval_stop: Option<(StopFlag, Rc<Cell<bool>>)>,
}

impl Model for DropoutNet {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Result<Tensor> {
        if let Some((stop, armed)) = &self.eval_stop {
            if !train && armed.get() {
                stop.request();
            }
        }
        let hidden = self.fc1.forward(xs)?.f_relu()?;
        self.fc2.forward(&hidden.dropout(0.5, train))
    }
}

pub(crate) fn experiment(eval_stop: Option<(StopFlag, Rc<Cell<bool>>)>) -> Result<Experiment> {
    tch::manual_seed(SEED as i64);
    let cpu = (Kind::Float, Device::Cpu);
    let x = Tensor::f_linspace(-3.0, 3.0, SAMPLES, cpu)?.f_unsqueeze(1)?;
    let eval_x = Tensor::f_linspace(-2.9, 2.9, 20, cpu)?.f_unsqueeze(1)?;
    let data = Dataset {
        train: Split::new(x.shallow_clone(), x.f_sin()?, "sine")?,
        eval: Some(Split::new(eval_x.shallow_clone(), eval_x.f_sin()?, "sine")?),
    };
    let vs = VarStore::new(Device::Cpu);
    let root = vs.root();
    let model = DropoutNet {
        fc1: linear(&(&root / "fc1"), 1, 32, LinearConfig::default())?,
        fc2: linear(&(&root / "fc2"), 32, 1, LinearConfig::default())?,
        eval_stop,
    };
    Ok(Experiment {
        name: "dropout-sine".into(),
        vs,
        model: Box::new(model),
        data,
        loss: Loss::Mse.into(),
        classes: None,
        hooks: Vec::new(),
    })
}

pub(crate) fn config(shuffle: bool) -> TrainConfig {
    let optimizer = OptimizerConfig::Sgd(SgdConfig {
        lr: 0.01,
        momentum: 0.5,
        ..SgdConfig::default()
    });
    TrainConfig::builder(ExperimentSource::Port("dropout-sine".into()), optimizer)
        .epochs(EPOCHS)
        .batch_size(BATCH_SIZE)
        .seed(SEED)
        .shuffle(shuffle)
        .device(DeviceSpec::Cpu)
        .threads(1)
        .build()
        .unwrap()
}

/// Where the first run is stopped.
#[derive(Clone, Copy)]
enum StopAt {
    /// After this many batches in all (a mid-epoch checkpoint).
    Batches(usize),
    /// In the evaluation after this epoch (an end-of-epoch checkpoint).
    EvalOf(usize),
}

/// Requests the stop: after `batches` batches, or arms the model's evaluation stop at the end of
/// the training part of epoch `eval_of`.
struct Stopper {
    stop: StopFlag,
    at: StopAt,
    armed: Rc<Cell<bool>>,
    seen: usize,
    epoch: usize,
    per_epoch: usize,
}

impl Progress for Stopper {
    fn start_epoch(&mut self, epoch: usize, _: usize, batches: usize) {
        (self.epoch, self.per_epoch) = (epoch, batches);
    }
    fn batch(&mut self, batch: usize, _: &dyn RunningLoss) {
        self.seen += 1;
        match self.at {
            StopAt::Batches(n) if self.seen == n => self.stop.request(),
            StopAt::EvalOf(e) if e == self.epoch && batch == self.per_epoch => self.armed.set(true),
            _ => {}
        }
    }
    fn end_epoch(&mut self, _: &str) {}
    fn message(&mut self, _: &str) {}
}

/// Trains uninterrupted, then stopped at `at` and resumed; the metrics (less wall clock) and the
/// final weights must be the same bits.
fn assert_resume_is_bit_identical(shuffle: bool, at: StopAt) {
    let _rng = global_rng(); // the runs seed and draw from libtorch's global generator
    let dir = tempdir();
    let (reference, run) = (dir.path().join("uninterrupted"), dir.path().join("stopped"));
    let config = config(shuffle);
    let done = train_experiment(
        experiment(None).unwrap(),
        &config,
        Some(&reference),
        &StopFlag::new(),
        &mut Silent,
    )
    .unwrap();
    assert_eq!(done.end, FitEnd::Finished);

    let (stop, armed) = (StopFlag::new(), Rc::new(Cell::new(false)));
    let mut stopper = Stopper {
        stop: stop.clone(),
        at,
        armed: armed.clone(),
        seen: 0,
        epoch: 0,
        per_epoch: 0,
    };
    let eval_stop = Some((stop.clone(), armed));
    let first = train_experiment(
        experiment(eval_stop).unwrap(),
        &config,
        Some(&run),
        &stop,
        &mut stopper,
    )
    .unwrap();
    assert_eq!(first.end, FitEnd::Stopped);
    let saved = Checkpoint::load(&checkpoint_path(&run, LAST)).unwrap();
    assert!(
        saved.rng.is_some(),
        "the checkpoint holds no generator state"
    );
    match at {
        StopAt::Batches(n) => {
            let partial = saved
                .progress
                .partial
                .as_ref()
                .expect("a mid-epoch checkpoint");
            assert_eq!(saved.progress.records.len() * 8 + partial.batches, n);
        }
        StopAt::EvalOf(e) => {
            assert!(saved.progress.partial.is_none(), "not an epoch boundary");
            assert_eq!(saved.progress.records.len(), e);
        }
    }

    let rebuild = |_: &TrainConfig, _: Device| experiment(None);
    let resumed = resume_with(&run, rebuild, &StopFlag::new(), &mut Silent).unwrap();
    assert_eq!(resumed.end, FitEnd::Finished);
    assert_eq!(
        losses(&run),
        losses(&reference),
        "the resumed run's metrics differ"
    );
    let weights = |p: &Path| std::fs::read(p.join("model.safetensors")).unwrap();
    assert!(
        weights(&run) == weights(&reference),
        "the final weights differ"
    );
}

#[test]
fn dropout_resumes_bit_identical_mid_epoch_with_shuffle() {
    assert_resume_is_bit_identical(true, StopAt::Batches(11));
}

#[test]
fn dropout_resumes_bit_identical_mid_epoch_without_shuffle() {
    assert_resume_is_bit_identical(false, StopAt::Batches(11));
}

#[test]
fn dropout_resumes_bit_identical_at_an_epoch_boundary_without_shuffle() {
    assert_resume_is_bit_identical(false, StopAt::EvalOf(2));
}

#[test]
fn dropout_resumes_bit_identical_at_an_epoch_boundary_with_shuffle() {
    assert_resume_is_bit_identical(true, StopAt::EvalOf(2));
}

/// The public entry point honours `config.device`: a port built on the CPU with a configuration
/// that names CUDA is refused (on a machine without CUDA, for that; with one, for the mismatch),
/// never trained silently on the CPU.
#[test]
fn train_experiment_refuses_a_device_other_than_the_experiments() {
    let _rng = global_rng();
    let dir = tempdir();
    let config = config(false)
        .to_builder()
        .device(DeviceSpec::Cuda(0))
        .build()
        .unwrap();
    let out = dir.path().join("run");
    let result = train_experiment(
        experiment(None).unwrap(),
        &config,
        Some(&out),
        &StopFlag::new(),
        &mut Silent,
    );
    let Err(error) = result else {
        panic!("trained on the CPU although config.device is cuda:0")
    };
    assert!(error.to_string().contains("cuda"), "{error}");
    assert!(!out.exists(), "a run directory was written");
}
