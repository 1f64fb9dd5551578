//! The schedulers against `torch.optim.lr_scheduler` (PyTorch 2.11): the same spelling builds
//! both, on an SGD of one or two parameter groups with different rates; every group's rate after
//! construction and after each of 120 steps must have the same bits, and a case PyTorch fails
//! must fail here at the same step. Also: state round trips (stop after k steps, save, build
//! anew, load, continue: the same bits as without stopping) and refusals' messages. The cases are
//! data, in `schedule_cases/` (misuse at run time: `schedule_misuse.rs`).
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

/// A spec of `schedule_cases/parity.txt`, and whether it runs on two groups only (its rates are
/// per-group lists) or also on one.
struct ParitySpec {
    spec: &'static str,
    two_groups_only: bool,
}

/// Specs whose every rate must match, and which fail (if at all) at the same step.
fn parity_specs() -> Vec<ParitySpec> {
    include_str!("schedule_cases/parity.txt")
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| match line.strip_prefix("two groups: ") {
            Some(spec) => ParitySpec {
                spec,
                two_groups_only: true,
            },
            None => ParitySpec {
                spec: line,
                two_groups_only: false,
            },
        })
        .collect()
}

/// A spec both sides refuse (`schedule_cases/refused.jsonl`), or one we refuse when built though
/// PyTorch builds it (`stricter.jsonl`): our message (a needle) and the step PyTorch raises at
/// (0: construction; `None`: it runs, and we cannot mirror it).
#[derive(Deserialize)]
struct Refusal {
    spec: String,
    ours: String,
    #[serde(default)]
    torch_fails_at: Option<usize>,
}

fn refusals(jsonl: &str) -> Vec<Refusal> {
    let parse = |line: &str| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
    jsonl.lines().map(parse).collect()
}

fn stricter() -> Vec<Refusal> {
    refusals(include_str!("schedule_cases/stricter.jsonl"))
}

fn refused() -> Vec<Refusal> {
    refusals(include_str!("schedule_cases/refused.jsonl"))
}

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
    for ParitySpec {
        spec,
        two_groups_only,
    } in parity_specs()
    {
        if !two_groups_only {
            cases.push(case(spec, &[0.1], STEPS));
        }
        cases.push(case(spec, &[0.1, 0.025], STEPS));
    }
    cases
}

fn other_cases() -> Vec<Case> {
    let stricter = stricter()
        .into_iter()
        .map(|r| case(&r.spec, &[0.1, 0.025], 10));
    let refused = refused()
        .into_iter()
        .map(|r| case(&r.spec, &[0.1, 0.025], 1));
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
    let torch = &torch[stricter().len()..];
    let refused = refused();
    assert_eq!(refused.len(), torch.len());
    for (
        Refusal {
            spec, ours: needle, ..
        },
        torch,
    ) in refused.iter().zip(torch)
    {
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
    let stricter = stricter();
    assert_eq!(stricter.len() + refused().len(), torch.len());
    for (r, torch) in stricter.iter().zip(torch) {
        let (spec, needle) = (&r.spec, &r.ours);
        let mut lrs = vec![0.1, 0.025];
        let e = parse_scheduler(spec, &mut lrs).expect_err(spec).to_string();
        assert!(e.contains(needle), "{spec}: {e}");
        assert_eq!(
            torch.error.as_ref().map(|e| e.0),
            r.torch_fails_at,
            "{spec}: PyTorch: {torch:?}"
        );
    }
}
