//! The schedulers against `torch.optim.lr_scheduler` (PyTorch 2.11): the same spelling builds
//! both, on an SGD of one or two parameter groups with different rates; every group's rate after
//! construction and after each of 120 steps must have the same bits, and a case PyTorch fails
//! must fail here at the same step. Also: state round trips (stop after k steps, save, build
//! anew, load, continue: the same bits as without stopping) and error messages.
//!
//! Python: the project's venv (`common::python`).
use std::io::Write;
use std::process::Stdio;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use tch_harness::schedule::{parse_scheduler, LrScheduler};

use crate::common::python;

/// The PyTorch side. Reads cases (JSON on stdin: spec, lrs, steps, metrics) and prints, per case,
/// the rates after construction and after every step, and the step where it raised, if any
/// (0: the constructor). The spelling is evaluated as Python evaluates it, with the optimizer
/// inserted into every scheduler call (nested ones too, inner calls first).
const TORCH_SCHEDULES: &str = r#"
import json, math, sys, warnings
import torch
from torch.optim import lr_scheduler as L

warnings.simplefilter("ignore")  # "lr_scheduler.step() before optimizer.step()"
out = []
for case in json.load(sys.stdin):
    params = [torch.zeros(1, requires_grad=True) for _ in case["lrs"]]
    opt = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, case["lrs"])])
    ns = {name: (lambda cls: lambda **kw: cls(opt, **kw))(getattr(L, name)) for name in L.__all__}
    ns["ChainedScheduler"] = lambda **kw: L.ChainedScheduler(optimizer=opt, **kw)
    ns.update(inf=math.inf, nan=math.nan)
    rates, error = [], None
    try:
        sched = eval(case["spec"], {"__builtins__": {"float": float}}, ns)
        rates.append([g["lr"] for g in opt.param_groups])
        for k in range(case["steps"]):
            try:
                sched.step() if case["metrics"] is None else sched.step(case["metrics"][k])
            except Exception as e:
                error = [k + 1, f"{type(e).__name__}: {e}"]
                break
            rates.append([g["lr"] for g in opt.param_groups])
    except Exception as e:
        error = [0, f"{type(e).__name__}: {e}"]
    out.append({"rates": rates, "error": error})
print(json.dumps(out))
"#;

/// Steps per case (at least 100).
const STEPS: usize = 120;

/// Which optimizers a spec runs on.
#[derive(Clone, Copy)]
enum Groups {
    /// One group at 0.1, and two at 0.1 and 0.025.
    Both,
    /// Two only (per-group lists in the spec).
    Two,
}

/// Specs whose every rate must match, and which fail (if at all) at the same step.
const PARITY: &[(&str, Groups)] = &[
    ("StepLR(step_size=1, gamma=0.7)", Groups::Both),
    ("StepLR(step_size=7)", Groups::Both),
    ("StepLR(step_size=10, gamma=0.93)", Groups::Both),
    ("MultiStepLR(milestones=[30, 80], gamma=0.1)", Groups::Both),
    ("MultiStepLR(milestones=[0, 5, 5, 40])", Groups::Both),
    (
        "MultiStepLR(milestones=(90, 10, 20, 30, 60), gamma=0.77)",
        Groups::Both,
    ),
    ("ConstantLR()", Groups::Both),
    ("ConstantLR(factor=0.7, total_iters=37)", Groups::Both),
    ("ConstantLR(factor=0.3, total_iters=0)", Groups::Both),
    ("ConstantLR(factor=0.0, total_iters=3)", Groups::Both),
    ("LinearLR()", Groups::Both),
    ("LinearLR(start_factor=0.1, total_iters=50)", Groups::Both),
    (
        "LinearLR(start_factor=1.0, end_factor=0.05, total_iters=90)",
        Groups::Both,
    ),
    ("ExponentialLR(gamma=0.95)", Groups::Both),
    ("ExponentialLR(gamma=0.9999)", Groups::Both),
    ("ExponentialLR(gamma=1.01)", Groups::Both),
    ("PolynomialLR()", Groups::Both),
    ("PolynomialLR(total_iters=100, power=2.0)", Groups::Both),
    ("PolynomialLR(total_iters=60, power=0.5)", Groups::Both),
    ("PolynomialLR(total_iters=150, power=1)", Groups::Both),
    ("CosineAnnealingLR(T_max=100)", Groups::Both),
    ("CosineAnnealingLR(T_max=10, eta_min=1e-4)", Groups::Both),
    ("CosineAnnealingLR(T_max=37, eta_min=0.001)", Groups::Both),
    ("CosineAnnealingWarmRestarts(T_0=10)", Groups::Both),
    (
        "CosineAnnealingWarmRestarts(T_0=5, T_mult=2, eta_min=1e-5)",
        Groups::Both,
    ),
    (
        "CosineAnnealingWarmRestarts(T_0=3, T_mult=3, eta_min=0.001)",
        Groups::Both,
    ),
    (
        "CyclicLR(base_lr=0.001, max_lr=0.1, step_size_up=10, cycle_momentum=False)",
        Groups::Both,
    ),
    (
        "CyclicLR(base_lr=0.001, max_lr=0.1, step_size_up=7, step_size_down=13, \
         mode='triangular2', cycle_momentum=False)",
        Groups::Both,
    ),
    (
        "CyclicLR(base_lr=[0.001, 0.0005], max_lr=[0.1, 0.05], step_size_up=5, \
         mode='exp_range', gamma=0.99, cycle_momentum=False)",
        Groups::Two,
    ),
    (
        "CyclicLR(base_lr=0.01, max_lr=0.02, step_size_up=4.5, step_size_down=None, \
         mode='exp_range', gamma=0.97, scale_mode='cycle', cycle_momentum=False)",
        Groups::Both,
    ),
    (
        "OneCycleLR(max_lr=0.1, total_steps=120, cycle_momentum=False)",
        Groups::Both,
    ),
    (
        "OneCycleLR(max_lr=0.1, epochs=12, steps_per_epoch=10, anneal_strategy='linear', \
         cycle_momentum=False)",
        Groups::Both,
    ),
    (
        "OneCycleLR(max_lr=[0.1, 0.2], total_steps=130, pct_start=0.25, three_phase=True, \
         cycle_momentum=False)",
        Groups::Two,
    ),
    (
        "OneCycleLR(max_lr=0.05, total_steps=120, anneal_strategy='linear', three_phase=True, \
         div_factor=10.0, final_div_factor=100.0, cycle_momentum=False)",
        Groups::Both,
    ),
    // Steps past total_steps: PyTorch raises at step 101.
    (
        "OneCycleLR(max_lr=0.1, total_steps=100, cycle_momentum=False)",
        Groups::Both,
    ),
    ("ReduceLROnPlateau(patience=3)", Groups::Both),
    (
        "ReduceLROnPlateau(mode='max', factor=0.5, patience=2, cooldown=3)",
        Groups::Both,
    ),
    (
        "ReduceLROnPlateau(mode='min', threshold_mode='abs', threshold=0.01, patience=1, \
         cooldown=2, min_lr=0.002)",
        Groups::Both,
    ),
    (
        "ReduceLROnPlateau(mode='max', threshold_mode='abs', threshold=0.001, factor=0.3, \
         patience=0, min_lr=[0.001, 0.0001], eps=1e-3)",
        Groups::Two,
    ),
    (
        "SequentialLR(schedulers=[LinearLR(start_factor=0.1, total_iters=5), \
         CosineAnnealingLR(T_max=95)], milestones=[5])",
        Groups::Both,
    ),
    (
        "SequentialLR(schedulers=[ConstantLR(factor=0.5, total_iters=4), \
         ExponentialLR(gamma=0.9), CosineAnnealingLR(T_max=50, eta_min=1e-5)], \
         milestones=[10, 40])",
        Groups::Both,
    ),
    (
        "SequentialLR(schedulers=[LinearLR(start_factor=0.01, total_iters=10), \
         StepLR(step_size=3, gamma=0.8), PolynomialLR(total_iters=80, power=2.0)], \
         milestones=[10, 30])",
        Groups::Both,
    ),
    (
        "SequentialLR(schedulers=[ExponentialLR(gamma=0.9), \
         CosineAnnealingWarmRestarts(T_0=7, eta_min=0.001), \
         CyclicLR(base_lr=0.01, max_lr=0.05, step_size_up=5, cycle_momentum=False)], \
         milestones=[20, 60])",
        Groups::Both,
    ),
    (
        "SequentialLR(schedulers=[CyclicLR(base_lr=0.02, max_lr=0.2, step_size_up=6, \
         cycle_momentum=False), LinearLR(start_factor=0.5, total_iters=20), \
         MultiStepLR(milestones=[0, 10])], milestones=[30, 70])",
        Groups::Both,
    ),
    (
        "SequentialLR(schedulers=[MultiStepLR(milestones=[3]), \
         OneCycleLR(max_lr=0.2, total_steps=100, cycle_momentum=False)], milestones=[20])",
        Groups::Both,
    ),
    (
        "SequentialLR(schedulers=[ChainedScheduler(schedulers=[ExponentialLR(gamma=0.97), \
         ConstantLR(factor=0.5, total_iters=6)]), CosineAnnealingLR(T_max=80)], \
         milestones=[20])",
        Groups::Both,
    ),
    (
        "SequentialLR(schedulers=[SequentialLR(schedulers=[LinearLR(total_iters=4), \
         ExponentialLR(gamma=0.9)], milestones=[4]), StepLR(step_size=5)], milestones=[30])",
        Groups::Both,
    ),
    (
        "SequentialLR(schedulers=[StepLR(step_size=4, gamma=0.5), \
         ConstantLR(factor=0.25, total_iters=10), CosineAnnealingWarmRestarts(T_0=4, T_mult=2)], \
         milestones=[15, 50])",
        Groups::Both,
    ),
    // The closed form at the milestone divides by total_iters: PyTorch raises at step 10.
    (
        "SequentialLR(schedulers=[ExponentialLR(gamma=0.9), PolynomialLR(total_iters=0)], \
         milestones=[10])",
        Groups::Both,
    ),
    (
        "ChainedScheduler(schedulers=[SequentialLR(schedulers=[LinearLR(start_factor=0.2, \
         total_iters=10), ExponentialLR(gamma=0.95)], milestones=[10]), \
         MultiStepLR(milestones=[60, 90], gamma=0.3)])",
        Groups::Both,
    ),
    (
        "CyclicLR(base_lr=0, max_lr=1, step_size_up=3, step_size_down=9, cycle_momentum=False)",
        Groups::Both,
    ),
    (
        "ChainedScheduler(schedulers=[ConstantLR(factor=0.1, total_iters=2), \
         ExponentialLR(gamma=0.9)])",
        Groups::Both,
    ),
    (
        "ChainedScheduler(schedulers=[LinearLR(start_factor=0.5, total_iters=10), \
         CosineAnnealingLR(T_max=30, eta_min=1e-4), StepLR(step_size=25, gamma=0.5)])",
        Groups::Both,
    ),
    (
        "ChainedScheduler(schedulers=[ExponentialLR(gamma=0.99), \
         CyclicLR(base_lr=0.001, max_lr=0.01, step_size_up=8, cycle_momentum=False)])",
        Groups::Both,
    ),
    (
        "ChainedScheduler(schedulers=[OneCycleLR(max_lr=0.3, total_steps=120, \
         cycle_momentum=False), MultiStepLR(milestones=[50, 100], gamma=0.5)])",
        Groups::Both,
    ),
];

/// Specs we refuse when built although PyTorch builds them, with our message (a needle) and
/// what PyTorch then does: the step it raises at, or `None` (it runs; we cannot mirror it).
const STRICTER: &[(&str, &str, Option<usize>)] = &[
    (
        "StepLR(step_size=0)",
        "StepLR: step_size must be a positive integer, got 0",
        Some(1),
    ),
    (
        "StepLR(step_size=2, gamma='x')",
        "StepLR: gamma must be a float, got 'x' (str)",
        Some(2),
    ),
    (
        "CosineAnnealingLR(T_max=0)",
        "T_max must be a positive integer, got 0",
        Some(1),
    ),
    (
        "SequentialLR(schedulers=[StepLR(step_size=2), \
         SequentialLR(schedulers=[StepLR(step_size=3)], milestones=[])], milestones=[5])",
        "schedulers[1] is a SequentialLR, which PyTorch cannot restart at a milestone",
        Some(5),
    ),
    // PyTorch's OneCycleLRs share the groups' initial_lr, max_lr and min_lr: the last one wins.
    (
        "SequentialLR(schedulers=[OneCycleLR(max_lr=0.1, total_steps=50, cycle_momentum=False), \
         OneCycleLR(max_lr=0.05, total_steps=50, cycle_momentum=False)], milestones=[50])",
        "OneCycleLR: only one OneCycleLR per optimizer",
        None,
    ),
    // PyTorch takes a float step_size and ignores scale_mode without scale_fn.
    (
        "StepLR(step_size=2.5)",
        "StepLR: step_size must be a non-negative integer, got 2.5 (float)",
        None,
    ),
    (
        "CyclicLR(base_lr=0.001, max_lr=0.1, scale_mode='cycles', cycle_momentum=False)",
        "scale_mode 'cycles' is unknown (valid: cycle, iterations)",
        None,
    ),
];

/// Specs both refuse at construction; ours must name the problem (the needle).
const REFUSED: &[(&str, &str)] = &[
    (
        "StepLr(step_size=1)",
        "unknown scheduler 'StepLr' (valid: StepLR, MultiStepLR, ",
    ),
    (
        "LambdaLR(lr_lambda=None)",
        "LambdaLR takes a Python function and is not supported",
    ),
    (
        "StepLR(step_size=1, gama=0.7)",
        "unknown keyword 'gama' for StepLR (valid: step_size, gamma, last_epoch)",
    ),
    (
        "StepLR(step_size=1, verbose=True)",
        "unknown keyword 'verbose' for StepLR",
    ),
    (
        "ReduceLROnPlateau(last_epoch=-1)",
        "unknown keyword 'last_epoch' for ReduceLROnPlateau",
    ),
    ("StepLR(gamma=0.5)", "StepLR: missing keyword step_size"),
    (
        "StepLR(step_size=2, last_epoch=5)",
        "StepLR: last_epoch must be -1, got 5",
    ),
    (
        "ReduceLROnPlateau(factor=1.0)",
        "ReduceLROnPlateau: factor must be < 1.0, got 1",
    ),
    (
        "ReduceLROnPlateau(mode='maximum')",
        "mode 'maximum' is unknown (valid: min, max)",
    ),
    (
        "ReduceLROnPlateau(threshold_mode='relative')",
        "threshold_mode 'relative' is unknown",
    ),
    (
        "ReduceLROnPlateau(min_lr=[0.1, 0.2, 0.3])",
        "min_lr has 3 values but the optimizer has",
    ),
    (
        "LinearLR(start_factor=0.0)",
        "start_factor must be greater than 0 and at most 1, got 0",
    ),
    (
        "LinearLR(end_factor=1.5)",
        "end_factor must be between 0 and 1, got 1.5",
    ),
    (
        "ConstantLR(factor=2.0)",
        "ConstantLR: factor must be between 0 and 1, got 2",
    ),
    ("ExponentialLR()", "ExponentialLR: missing keyword gamma"),
    (
        "CosineAnnealingWarmRestarts(T_0=0)",
        "T_0 must be a positive integer, got 0 (int)",
    ),
    (
        "CosineAnnealingWarmRestarts(T_0=2.5)",
        "T_0 must be a positive integer, got 2.5 (float)",
    ),
    (
        "CosineAnnealingWarmRestarts(T_0=10, T_mult=0)",
        "T_mult must be an integer >= 1, got 0",
    ),
    (
        "OneCycleLR(max_lr=0.1, cycle_momentum=False)",
        "define either total_steps or both epochs and steps_per_epoch",
    ),
    (
        "OneCycleLR(max_lr=0.1, total_steps=0, cycle_momentum=False)",
        "total_steps must be a positive integer, got 0",
    ),
    (
        "OneCycleLR(max_lr=0.1, total_steps=10, pct_start=1, cycle_momentum=False)",
        "pct_start must be a float between 0 and 1, got 1 (int)",
    ),
    (
        "OneCycleLR(max_lr=0.1, total_steps=10, anneal_strategy='cosine', cycle_momentum=False)",
        "anneal_strategy 'cosine' is unknown (valid: cos, linear)",
    ),
    (
        "OneCycleLR(max_lr=0.1, total_steps=10, div_factor=0, cycle_momentum=False)",
        "float division by zero (div_factor is 0)",
    ),
    (
        "CyclicLR(base_lr=0.001, max_lr=0.1, mode='triangle', cycle_momentum=False)",
        "mode 'triangle' is unknown (valid: triangular, triangular2, exp_range)",
    ),
    (
        "CyclicLR(base_lr=[0.1, 0.2, 0.3], max_lr=1.0, cycle_momentum=False)",
        "CyclicLR: base_lr has 3 values but the optimizer has",
    ),
    (
        "SequentialLR(schedulers=[StepLR(step_size=2), ExponentialLR(gamma=0.9)], milestones=[])",
        "expects one milestone fewer than schedulers, got 2 schedulers and 0 milestones",
    ),
    (
        "SequentialLR(schedulers=[], milestones=[])",
        "expects at least one scheduler",
    ),
    (
        "SequentialLR(schedulers=[StepLR(step_size=2), ReduceLROnPlateau()], milestones=[3])",
        "SequentialLR: does not support ReduceLROnPlateau (schedulers[1])",
    ),
    (
        "ChainedScheduler(schedulers=[ReduceLROnPlateau()])",
        "ChainedScheduler: does not support ReduceLROnPlateau (schedulers[0])",
    ),
];

#[derive(Serialize)]
struct Case {
    spec: String,
    lrs: Vec<f64>,
    steps: usize,
    metrics: Option<Vec<f64>>,
}

/// What one side did: the rates after construction and each step, and where it stopped with an
/// error (step 0: construction) and why.
#[derive(Deserialize, Debug)]
struct Outcome {
    rates: Vec<Vec<f64>>,
    error: Option<(usize, String)>,
}

/// The metric ReduceLROnPlateau watches at step `k` (0-based): falling in stages of 15 steps,
/// with repeats, improvements smaller than the thresholds, spikes and real improvements.
fn metric(spec: &str, k: usize) -> f64 {
    let level = 1.0 / (1.0 + (k / 15) as f64);
    let m = match k % 5 {
        0 | 3 => level,
        1 => level * (1.0 - 5e-5),
        2 => level + 0.01,
        _ => level * 0.999,
    };
    if spec.contains("mode='max'") {
        2.0 - m
    } else {
        m
    }
}

fn case(spec: &str, lrs: &[f64], steps: usize) -> Case {
    let spec: String = spec.split_whitespace().collect::<Vec<_>>().join(" ");
    let metrics = spec
        .starts_with("ReduceLROnPlateau")
        .then(|| (0..steps).map(|k| metric(&spec, k)).collect());
    Case {
        spec,
        lrs: lrs.to_vec(),
        steps,
        metrics,
    }
}

fn parity_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for (spec, groups) in PARITY {
        if matches!(groups, Groups::Both) {
            cases.push(case(spec, &[0.1], STEPS));
        }
        cases.push(case(spec, &[0.1, 0.025], STEPS));
    }
    cases
}

fn other_cases() -> Vec<Case> {
    let stricter = STRICTER.iter().map(|(s, _, _)| case(s, &[0.1, 0.025], 10));
    let refused = REFUSED.iter().map(|(s, _)| case(s, &[0.1, 0.025], 1));
    stricter.chain(refused).collect()
}

/// PyTorch's outcomes for parity cases then other cases, from one Python process (importing
/// torch takes seconds), shared by the tests.
fn torch_outcomes() -> &'static (Vec<Outcome>, Vec<Outcome>) {
    static OUTCOMES: OnceLock<(Vec<Outcome>, Vec<Outcome>)> = OnceLock::new();
    OUTCOMES.get_or_init(|| {
        let (parity, other) = (parity_cases(), other_cases());
        let all: Vec<&Case> = parity.iter().chain(&other).collect();
        let mut child = python()
            .arg("-c")
            .arg(TORCH_SCHEDULES)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python starts (set TCH_HARNESS_PYTHON)");
        let input = serde_json::to_vec(&all).expect("cases as JSON");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(&input)
            .expect("cases written");
        let out = child.wait_with_output().expect("python runs");
        assert!(
            out.status.success(),
            "python failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut outcomes: Vec<Outcome> =
            serde_json::from_slice(&out.stdout).expect("PyTorch's outcomes as JSON");
        assert_eq!(outcomes.len(), all.len());
        let other = outcomes.split_off(parity.len());
        (outcomes, other)
    })
}

/// Our outcome for `case`, stepping on after `restart_at` steps through a saved state (and a
/// scheduler built anew) when given.
fn run_rust(case: &Case, restart_at: Option<usize>) -> Outcome {
    let mut lrs = case.lrs.clone();
    let mut sched: LrScheduler = match parse_scheduler(&case.spec, &mut lrs) {
        Ok(s) => s,
        Err(e) => {
            return Outcome {
                rates: vec![],
                error: Some((0, e.to_string())),
            }
        }
    };
    let mut rates = vec![lrs.clone()];
    for k in 0..case.steps {
        if restart_at == Some(k) {
            let saved = serde_json::to_string(&sched.state()).expect("state as JSON");
            // Built on the current rates, not the first ones: the state must not depend on them.
            let mut scratch = lrs.clone();
            sched = parse_scheduler(&case.spec, &mut scratch).expect("built again");
            sched
                .load_state(&serde_json::from_str(&saved).expect("state parses"))
                .expect("state loads");
            // `lrs` stay: they are the optimizer's state, restored on its side.
        }
        let metric = case.metrics.as_ref().map(|m| m[k]);
        if let Err(e) = sched.step(&mut lrs, metric) {
            return Outcome {
                rates,
                error: Some((k + 1, e.to_string())),
            };
        }
        rates.push(lrs.clone());
    }
    Outcome { rates, error: None }
}

/// Asserts the same rates, bit for bit, and the same failing step.
fn assert_same(case: &Case, ours: &Outcome, torch: &Outcome, what: &str) {
    let at = |o: &Outcome| o.error.as_ref().map(|e| e.0);
    assert_eq!(
        at(ours),
        at(torch),
        "{what} {} on {:?}: errors differ: ours {:?}, PyTorch's {:?}",
        case.spec,
        case.lrs,
        ours.error,
        torch.error
    );
    assert_eq!(ours.rates.len(), torch.rates.len(), "{}", case.spec);
    for (step, (a, b)) in ours.rates.iter().zip(&torch.rates).enumerate() {
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(a),
            bits(b),
            "{what} {} on {:?}: step {step}: ours {a:?}, PyTorch's {b:?}",
            case.spec,
            case.lrs
        );
    }
}

#[test]
fn rates_match_pytorch_bit_for_bit() {
    let (torch, _) = torch_outcomes();
    for (case, torch) in parity_cases().iter().zip(torch) {
        assert!(
            !matches!(torch.error, Some((0, _))),
            "PyTorch refused {}: {:?}",
            case.spec,
            torch.error
        );
        assert_same(case, &run_rust(case, None), torch, "parity");
    }
}

#[test]
fn state_round_trip_continues_bit_for_bit() {
    for case in parity_cases() {
        let straight = run_rust(&case, None);
        for k in [0, 1, 7, 33, 100] {
            assert_same(
                &case,
                &run_rust(&case, Some(k)),
                &straight,
                &format!("restart at {k}:"),
            );
        }
    }
}

#[test]
fn refusals_name_the_problem_where_pytorch_refuses_too() {
    let (_, torch) = torch_outcomes();
    let torch = &torch[STRICTER.len()..];
    for ((spec, needle), torch) in REFUSED.iter().zip(torch) {
        let mut lrs = vec![0.1, 0.025];
        let e = parse_scheduler(spec, &mut lrs).expect_err(spec).to_string();
        assert!(e.contains(needle), "{spec}: {e}");
        assert!(!e.contains('\n'), "{e}");
        assert_eq!(
            lrs,
            [0.1, 0.025],
            "{spec}: a failed build changed the rates"
        );
        assert_eq!(
            torch.error.as_ref().map(|e| e.0),
            Some(0),
            "{spec}: PyTorch built it: {torch:?}"
        );
    }
}

#[test]
fn stricter_than_pytorch_where_documented() {
    let (_, torch) = torch_outcomes();
    for ((spec, needle, torch_fails_at), torch) in STRICTER.iter().zip(torch) {
        let mut lrs = vec![0.1, 0.025];
        let e = parse_scheduler(spec, &mut lrs).expect_err(spec).to_string();
        assert!(e.contains(needle), "{spec}: {e}");
        assert_eq!(
            torch.error.as_ref().map(|e| e.0),
            *torch_fails_at,
            "{spec}: PyTorch: {torch:?}"
        );
    }
}

#[test]
fn runtime_errors_and_misuse() {
    let mut lrs = vec![0.1];
    let mut s = parse_scheduler("ReduceLROnPlateau()", &mut lrs).unwrap();
    assert!(s.needs_metric());
    let e = s.step(&mut lrs, None).unwrap_err().to_string();
    assert_eq!(e, "ReduceLROnPlateau: step needs the metric it watches");
    let e = s.step(&mut [0.1, 0.2], Some(1.0)).unwrap_err().to_string();
    assert_eq!(
        e,
        "ReduceLROnPlateau: built for 1 parameter groups, stepped with 2"
    );

    let mut s = parse_scheduler("StepLR(step_size=2)", &mut lrs).unwrap();
    assert!(!s.needs_metric());
    let wrong = parse_scheduler("ExponentialLR(gamma=0.5)", &mut lrs)
        .unwrap()
        .state();
    let e = s.load_state(&wrong).unwrap_err().to_string();
    assert_eq!(e, "StepLR state: saved by a ExponentialLR, not a StepLR");
    let mut two = vec![0.1, 0.2];
    let other_groups = parse_scheduler("StepLR(step_size=2)", &mut two)
        .unwrap()
        .state();
    let e = s.load_state(&other_groups).unwrap_err().to_string();
    assert!(
        e.contains("\"base_lrs\" is missing or not a list of 1 floats"),
        "{e}"
    );

    let mut s = parse_scheduler(
        "OneCycleLR(max_lr=0.1, total_steps=2, cycle_momentum=False)",
        &mut lrs,
    )
    .unwrap();
    s.step(&mut lrs, None).unwrap();
    s.step(&mut lrs, None).unwrap();
    let e = s.step(&mut lrs, None).unwrap_err().to_string();
    assert!(
        e.contains("Tried to step 3 times. The specified number of total steps is 2"),
        "{e}"
    );
    assert!(parse_scheduler("StepLR(step_size=1)", &mut []).is_err());
}
