//! `cycle_momentum=True` (the default of OneCycleLR and CyclicLR) against PyTorch 2.11: the same
//! spelling builds the scheduler on the same optimizer (SGD and RMSprop cycle `momentum`, the
//! Adam family `betas[0]`), with one or two parameter groups; every group's rate and momentum
//! after construction and after each step must have the same bits, also across a saved and
//! reloaded scheduler state. Then end to end: `compare` trains both sides with a cycling
//! schedule, and a run killed and resumed matches an uninterrupted one.
use std::io::Write;
use std::process::Stdio;

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};
use tch_harness::optim::{grouped, ParamGroup};
use tch_harness::schedule::{parse_scheduler, LrScheduler};
use tch_harness::{Optimizer, OptimizerConfig};

use crate::common::{assert_clean_error, python, run_bin};
use crate::compare::assert_identical_run;

/// The PyTorch side: per case (JSON on stdin), the optimizer `optimizer` over one parameter per
/// rate in `lrs` (the first rate is the optimizer's, the others their group's), the scheduler
/// `spec` on it, and each group's `lr` and momentum (`betas[0]` when the optimizer has `betas`)
/// after construction and after each step.
const TORCH_MOMENTA: &str = r#"
import json, math, sys, warnings
import torch
from torch.optim import lr_scheduler as L

warnings.simplefilter("ignore")  # "lr_scheduler.step() before optimizer.step()"
out = []
for case in json.load(sys.stdin):
    params = [torch.zeros(1, requires_grad=True) for _ in case["lrs"]]
    groups = [{"params": [params[0]]}] + [{"params": [p], "lr": lr}
                                          for p, lr in zip(params[1:], case["lrs"][1:])]
    opts = {name: (lambda cls: lambda **kw: cls(groups, **kw))(getattr(torch.optim, name))
            for name in ["SGD", "RMSprop", "Adam", "AdamW", "NAdam"]}
    opt = eval(case["optimizer"], {"__builtins__": {}}, opts)
    ns = {name: (lambda cls: lambda **kw: cls(opt, **kw))(getattr(L, name)) for name in L.__all__}
    beta1 = "betas" in opt.defaults
    def row():
        m = [g["betas"][0] if beta1 else g["momentum"] for g in opt.param_groups]
        return [[g["lr"] for g in opt.param_groups], m]
    sched = eval(case["spec"], {"__builtins__": {}}, ns)
    rows = [row()]
    for _ in range(case["steps"]):
        sched.step()
        rows.append(row())
    out.append(rows)
print(json.dumps(out))
"#;

#[derive(Serialize)]
struct Case {
    optimizer: &'static str,
    spec: &'static str,
    lrs: Vec<f64>,
    steps: usize,
}

/// Each group's rates and momenta after construction and after each step.
#[derive(Debug, Deserialize)]
struct Row(Vec<f64>, Vec<f64>);

/// (optimizer, scheduler, the groups' rates it runs on).
const CASES: &[(&str, &str, Groups)] = &[
    (
        "SGD(lr=0.1, momentum=0.9)",
        "OneCycleLR(max_lr=0.1, total_steps=100)",
        Both,
    ),
    (
        "SGD(lr=0.1, momentum=0.9, nesterov=True)",
        "OneCycleLR(max_lr=[0.1, 0.2], total_steps=100, pct_start=0.25, three_phase=True, \
         anneal_strategy='linear', base_momentum=[0.8, 0.7], max_momentum=[0.95, 0.9])",
        Two,
    ),
    (
        "Adam(lr=0.001)",
        "OneCycleLR(max_lr=0.01, total_steps=100)",
        Both,
    ),
    (
        "AdamW(lr=0.001, betas=(0.8, 0.99))",
        "OneCycleLR(max_lr=0.01, epochs=10, steps_per_epoch=10, base_momentum=0.5)",
        One,
    ),
    (
        "RMSprop(lr=0.01, momentum=0.5)",
        "OneCycleLR(max_lr=0.02, total_steps=100)",
        One,
    ),
    (
        "SGD(lr=0.1, momentum=0.9)",
        "CyclicLR(base_lr=0.001, max_lr=0.1, step_size_up=10)",
        Both,
    ),
    (
        "SGD(lr=0.1, momentum=0.5)",
        "CyclicLR(base_lr=0.001, max_lr=0.1, step_size_up=7, step_size_down=13, \
         mode='triangular2', base_momentum=0.6, max_momentum=0.95)",
        Both,
    ),
    (
        "NAdam(lr=0.002)",
        "CyclicLR(base_lr=[0.001, 0.0005], max_lr=[0.01, 0.005], step_size_up=5, \
         mode='exp_range', gamma=0.99)",
        Two,
    ),
    // The cycling child stops at the milestone: its last momentum stays.
    (
        "SGD(lr=0.1, momentum=0.9)",
        "SequentialLR(schedulers=[OneCycleLR(max_lr=0.2, total_steps=40), \
         ExponentialLR(gamma=0.9)], milestones=[30])",
        Both,
    ),
];

/// One group at 0.1, two at 0.1 and 0.025, or both cases.
#[derive(Clone, Copy, PartialEq)]
enum Groups {
    One,
    Two,
    Both,
}
use Groups::{Both, One, Two};

const STEPS: usize = 100;

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for &(optimizer, spec, groups) in CASES {
        let lrs = |lrs: &[f64]| Case {
            optimizer,
            spec,
            lrs: lrs.to_vec(),
            steps: STEPS,
        };
        if groups != Two {
            cases.push(lrs(&[0.1]));
        }
        if groups != One {
            cases.push(lrs(&[0.1, 0.025]));
        }
    }
    cases
}

fn torch_rows(cases: &[Case]) -> Vec<Vec<Row>> {
    let mut child = python()
        .arg("-c")
        .arg(TORCH_MOMENTA)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python starts");
    let input = serde_json::to_vec(cases).unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("PyTorch's rows")
}

/// The optimizer of `case`, the second rate as a parameter group.
fn build_optimizer(case: &Case) -> Box<dyn Optimizer> {
    let main = OptimizerConfig::parse_call(case.optimizer).unwrap();
    let params: Vec<(String, Tensor)> = ["a", "b"][..case.lrs.len()]
        .iter()
        .map(|n| {
            (
                n.to_string(),
                Tensor::zeros([1], (Kind::Float, Device::Cpu)),
            )
        })
        .collect();
    let groups: Vec<ParamGroup> = case.lrs[1..]
        .iter()
        .map(|lr| ParamGroup::parse(&format!("b: lr={lr}"), &main).unwrap())
        .collect();
    grouped(&main, &groups, params).unwrap()
}

/// What `Scheduled` does (train/schedule.rs): the scheduler's rates and momenta into the
/// optimizer, read back from it.
fn apply(sched: &LrScheduler, lrs: &[f64], opt: &mut dyn Optimizer) -> Row {
    opt.set_lrs(lrs).unwrap();
    opt.set_momentums(&sched.momentums().expect("cycles momentum"))
        .unwrap();
    let momenta = opt.momentums().iter().map(|m| m.unwrap().value).collect();
    Row(opt.lrs(), momenta)
}

/// Our rows, through a saved and reloaded scheduler state before step `restart_at`.
fn rust_rows(case: &Case, restart_at: Option<usize>) -> Vec<Row> {
    let mut opt = build_optimizer(case);
    let mut lrs = opt.lrs();
    let mut sched = parse_scheduler(case.spec, &mut lrs).expect(case.spec);
    let mut rows = vec![apply(&sched, &lrs, opt.as_mut())];
    for k in 0..case.steps {
        if restart_at == Some(k) {
            let saved = serde_json::to_string(&sched.state()).unwrap();
            sched = parse_scheduler(case.spec, &mut opt.lrs()).unwrap();
            sched
                .load_state(&serde_json::from_str(&saved).unwrap())
                .unwrap();
        }
        sched.step(&mut lrs, None).unwrap();
        rows.push(apply(&sched, &lrs, opt.as_mut()));
    }
    rows
}

fn assert_same_bits(ours: &[Row], torch: &[Row], what: &str) {
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(ours.len(), torch.len(), "{what}");
    for (k, (a, b)) in ours.iter().zip(torch).enumerate() {
        assert_eq!(
            bits(&a.0),
            bits(&b.0),
            "{what}: step {k}: rates {a:?} vs {b:?}"
        );
        assert_eq!(
            bits(&a.1),
            bits(&b.1),
            "{what}: step {k}: momenta {a:?} vs {b:?}"
        );
    }
}

#[test]
fn cycled_momentum_and_rates_match_pytorch_bit_for_bit() {
    let cases = cases();
    let torch = torch_rows(&cases);
    for (case, torch) in cases.iter().zip(&torch) {
        let what = format!("{} on {} {:?}", case.spec, case.optimizer, case.lrs);
        let momenta: Vec<f64> = torch.iter().map(|r| r.1[0]).collect();
        assert!(
            momenta.windows(2).any(|w| w[0] != w[1]),
            "{what}: never cycled"
        );
        assert_same_bits(&rust_rows(case, None), torch, &what);
        for k in [1, 17, 35, 60] {
            let again = format!("{what}, reloaded at {k}");
            assert_same_bits(&rust_rows(case, Some(k)), torch, &again);
        }
    }
}

/// PyTorch: `OneCycleLR(Adagrad(...), max_lr=0.1, total_steps=10)` raises "optimizer must
/// support momentum or beta1 with `cycle_momentum` option enabled".
#[test]
fn an_optimizer_without_momentum_is_refused_in_one_line() {
    let out = run_bin(&[
        "train",
        "--optimizer",
        "Adagrad(lr=0.01)",
        "--scheduler",
        "OneCycleLR(max_lr=0.1, total_steps=10)",
        "--epochs",
        "1",
        "--device",
        "cpu",
    ]);
    assert_clean_error(
        &out,
        "cycle_momentum=True (the default) needs an optimizer with",
    );
}

/// Both sides train with a cycling schedule per batch: the losses and rates are the same bits,
/// so the momentum each step used is too.
#[test]
fn compare_with_cycled_momentum_is_bit_identical() {
    let cases: [&[&str]; 3] = [
        &["--optimizer", "sgd", "--momentum", "0.9", "--nesterov"],
        &["--optimizer", "adam"],
        &[
            "--optimizer",
            "sgd",
            "--momentum",
            "0.9",
            "--param-group",
            "fc2.*: lr=0.01",
        ],
    ];
    let specs = [
        "OneCycleLR(max_lr=0.05, total_steps=18)",
        "OneCycleLR(max_lr=0.01, total_steps=18, base_momentum=0.8)",
        "CyclicLR(base_lr=0.001, max_lr=[0.1, 0.02], step_size_up=4)",
    ];
    for (optimizer, spec) in cases.into_iter().zip(specs) {
        let common = ["--experiment", "breast-cancer", "--batch-size", "50"];
        let schedule = ["--scheduler", spec, "--scheduler-interval", "batch"];
        assert_identical_run(&[&common[..], optimizer, &schedule].concat());
    }
}

/// Killed and resumed at random points with a cycling schedule: the cycled momentum is in the
/// checkpoint, so losses and weights are the uninterrupted run's.
#[test]
fn sigkill_then_resume_is_bit_identical_with_cycled_momentum() {
    const CYCLIC: &[&str] = &[
        "--optimizer",
        "sgd",
        "--momentum",
        "0.9",
        "--lr",
        "0.002",
        "--scheduler",
        "CyclicLR(base_lr=0.0005, max_lr=0.004, step_size_up=700, base_momentum=0.5)",
        "--scheduler-interval",
        "batch",
    ];
    assert_eq!(crate::kill_resume::kill_and_resume_trials(CYCLIC, 23), 4);
}
