//! A stop inside an accumulation window where some parameters have no gradient yet (PyTorch's
//! `zero_grad` sets them to None, and an unused branch gets none): the checkpoint keeps only the
//! gradients that exist, and the resumed window must leave the others None. Were they restored
//! as zeros, SGD's weight decay and momentum would move the unused branch in a window where
//! `torch.optim` skips it, and the resumed run would differ from the uninterrupted one.
use std::path::Path;

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

/// 120 samples of x in [-3, 3] in stored order, batches of 16 (8 an epoch), windows of 4.
const SAMPLES: i64 = 120;
const SEED: u64 = 11;

/// `trunk(x)`, plus `branch(x)` for batches whose first x is above 1: the last three batches of
/// an epoch, so the first window of each epoch never reaches the branch.
struct BranchNet {
    trunk: Linear,
    branch: Linear,
}

impl Model for BranchNet {
    fn forward_t(&self, xs: &Tensor, _train: bool) -> Result<Tensor> {
        let out = self.trunk.forward(xs)?;
        if xs.f_double_value(&[0, 0])? > 1.0 {
            return out.f_add(&self.branch.forward(xs)?).map_err(Into::into);
        }
        Ok(out)
    }
}

fn experiment() -> Result<Experiment> {
    tch::manual_seed(SEED as i64);
    let x = Tensor::f_linspace(-3.0, 3.0, SAMPLES, (Kind::Float, Device::Cpu))?.f_unsqueeze(1)?;
    let vs = VarStore::new(Device::Cpu);
    let root = vs.root();
    let model = BranchNet {
        trunk: linear(&(&root / "trunk"), 1, 1, LinearConfig::default())?,
        branch: linear(&(&root / "branch"), 1, 1, LinearConfig::default())?,
    };
    Ok(Experiment {
        name: "branch-sine".into(),
        vs,
        model: Box::new(model),
        data: Dataset {
            train: Split::new(x.shallow_clone(), x.f_sin()?, "sine")?,
            eval: None,
        },
        loss: Loss::Mse.into(),
        classes: None,
        hooks: Vec::new(),
    })
}

fn config() -> TrainConfig {
    // torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=0.1)
    let optimizer = OptimizerConfig::Sgd(SgdConfig {
        lr: 0.05,
        momentum: 0.9,
        weight_decay: 0.1,
        ..SgdConfig::default()
    });
    TrainConfig::builder(ExperimentSource::Port("branch-sine".into()), optimizer)
        .epochs(3)
        .batch_size(16)
        .accumulate(4)
        .shuffle(false)
        .seed(SEED)
        .device(DeviceSpec::Cpu)
        .threads(1)
        .build()
        .unwrap()
}

/// Requests a stop after `at` batches in all.
struct StopAfter {
    stop: StopFlag,
    at: usize,
    seen: usize,
}

impl Progress for StopAfter {
    fn start_epoch(&mut self, _: usize, _: usize, _: usize) {}
    fn batch(&mut self, _: usize, _: &dyn RunningLoss) {
        self.seen += 1;
        if self.seen == self.at {
            self.stop.request();
        }
    }
    fn end_epoch(&mut self, _: &str) {}
    fn message(&mut self, _: &str) {}
}

/// Stops after `at` batches, resumes, and compares with the uninterrupted run; returns the names
/// of the gradients the checkpoint held.
fn stopped_and_resumed(at: usize) -> Vec<String> {
    let _rng = global_rng();
    let dir = tempdir();
    let (whole, stopped) = (dir.path().join("whole"), dir.path().join("stopped"));
    let run = |out: &Path, stop: &StopFlag, progress: &mut dyn Progress| {
        train_experiment(experiment().unwrap(), &config(), Some(out), stop, progress).unwrap()
    };
    assert_eq!(
        run(&whole, &StopFlag::new(), &mut Silent).end,
        FitEnd::Finished
    );
    let stop = StopFlag::new();
    let mut stopper = StopAfter {
        stop: stop.clone(),
        at,
        seen: 0,
    };
    assert_eq!(run(&stopped, &stop, &mut stopper).end, FitEnd::Stopped);
    let saved = Checkpoint::load(&checkpoint_path(&stopped, LAST)).unwrap();
    let mut held: Vec<String> = saved.grads.iter().map(|(name, _)| name.clone()).collect();
    held.sort();

    let rebuild = |_: &TrainConfig, _: Device| experiment();
    let resumed = resume_with(&stopped, rebuild, &StopFlag::new(), &mut Silent).unwrap();
    assert_eq!(resumed.end, FitEnd::Finished);
    assert_eq!(
        losses(&stopped),
        losses(&whole),
        "the resumed run's losses differ"
    );
    let weights = |p: &Path| std::fs::read(p.join("model.safetensors")).unwrap();
    assert!(
        weights(&stopped) == weights(&whole),
        "the final weights differ"
    );
    held
}

#[test]
fn a_window_stopped_before_the_branch_had_a_gradient_resumes_bit_identical() {
    // Epoch 2, after its second batch: the window so far never reached the branch.
    let held = stopped_and_resumed(10);
    assert_eq!(
        held,
        ["trunk.bias", "trunk.weight"],
        "the branch had a gradient"
    );
}

#[test]
fn a_window_stopped_after_the_branch_had_a_gradient_resumes_bit_identical() {
    // Epoch 1, after its sixth batch: the branch has had one batch of its window.
    let held = stopped_and_resumed(6);
    assert_eq!(held.len(), 4, "{held:?}");
}
