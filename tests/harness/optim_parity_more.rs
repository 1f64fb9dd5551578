//! Adadelta, Adafactor, Adagrad, Adamax, ASGD, Muon, NAdam, RAdam, RMSprop and Rprop against
//! `torch.optim` (`foreach=False`): the same initial parameters and the same gradients, 24 steps,
//! must give the same parameters after every step and the same final state, bit for bit, in
//! float32 and float64. Gradients change scale by six orders of magnitude between steps and hold
//! exact zeros.
//!
//! One Python process (`TORCH_OPTIM`) runs every case of every test, the first time a test needs
//! it; the tests then replay the cases in Rust.
use std::path::Path;
use std::sync::OnceLock;

use tch::Tensor;
use tch_harness::data::{read_tensors, NamedTensors};

use crate::bits::{assert_bits_eq, assert_named_bits_eq};
use crate::common::{run_python, tempdir};
use crate::optim_more_cases::{
    build, cases, invalid_configs, lr_change_cases, run_steps, shape, Case, GENERAL, MATRIX,
};

/// Optimizer steps per case.
const STEPS: usize = 24;

/// `argv[1]`: a JSON file `{"steps", "params": {name: [dtype, shape]}, "cases": [Case],
/// "invalid": [{"optimizer", "config"}]}`; `argv[2]`: the output folder. Writes the inputs
/// (`init.<p>`, `grad<k>.<p>`), for each case the parameters after every step (`steps.<p>`, stacked) and
/// the final `optimizer.state` (`state.<p>.<key>`), and for each invalid config the `ValueError`
/// its constructor or first step raises (`invalid.json`).
const TORCH_OPTIM: &str = r#"
import json, sys
import torch
from safetensors.torch import save_file

spec, out = json.load(open(sys.argv[1])), sys.argv[2]
STEPS = spec["steps"]
gen = torch.Generator().manual_seed(20250611)
dtypes = {"float32": torch.float32, "float64": torch.float64}
shapes = {n: (dtypes[d], s) for n, (d, s) in spec["params"].items()}
params = {n: torch.randn(s, generator=gen, dtype=d) for n, (d, s) in shapes.items()}
scales = [1.0, 1e-3, 10.0, 0.25, 3e-5, 1.0, 2.0, 0.5]
grads = []
for k in range(STEPS):
    step = {}
    for n, (d, s) in shapes.items():
        g = torch.randn(s, generator=gen, dtype=d) * scales[k % len(scales)]
        g[torch.rand(s, generator=gen) < 0.1] = 0.0
        step[n] = g
    grads.append(step)
inputs = {f"init.{n}": p for n, p in params.items()}
inputs.update({f"grad{k + 1}.{n}": g for k, step in enumerate(grads) for n, g in step.items()})
save_file(inputs, f"{out}/inputs.safetensors")

classes = {"adadelta": torch.optim.Adadelta, "adafactor": torch.optim.Adafactor,
           "adagrad": torch.optim.Adagrad, "adamax": torch.optim.Adamax, "asgd": torch.optim.ASGD,
           "muon": torch.optim.Muon, "nadam": torch.optim.NAdam, "radam": torch.optim.RAdam,
           "rmsprop": torch.optim.RMSprop, "rprop": torch.optim.Rprop}

def make(name, config, ps):
    extra = {} if name == "muon" else {"foreach": False}  # Muon has only the single-tensor code
    return classes[name](ps, **config, **extra)

for i, case in enumerate(spec["cases"]):
    ps = {n: params[n].clone().requires_grad_() for n in case["params"]}
    opt = make(case["optimizer"], case["config"], list(ps.values()))
    history = {n: [] for n in ps}
    for k in range(STEPS):
        if case["lr_at"] == k:
            opt.param_groups[0]["lr"] = case["lr_to"]
        opt.zero_grad()
        for n, p in ps.items():
            p.grad = grads[k][n].clone()
        opt.step()
        for n, p in ps.items():
            history[n].append(p.detach().clone())
    saved = {f"steps.{n}": torch.stack(h) for n, h in history.items()}
    for n, p in ps.items():
        saved.update({f"state.{n}.{key}": v.clone() for key, v in opt.state[p].items()})
    save_file(saved, f"{out}/case{i}.safetensors")

errors = []
for case in spec["invalid"]:
    p = torch.zeros(3, 4, requires_grad=True)
    try:
        opt = make(case["optimizer"], case["config"], [p])
        p.grad = torch.ones(3, 4)
        opt.step()
        errors.append(None)
    except ValueError as e:
        errors.append(str(e))
json.dump(errors, open(f"{out}/invalid.json", "w"))
"#;

/// Every case, run once through `torch.optim` for the whole suite.
struct Torch {
    dir: tempfile::TempDir,
    cases: Vec<Case>,
}

fn torch() -> &'static Torch {
    static TORCH: OnceLock<Torch> = OnceLock::new();
    TORCH.get_or_init(|| {
        let mut all: Vec<Case> = crate::optim_more_cases::OPTIMIZERS
            .into_iter()
            .flat_map(cases)
            .collect();
        all.extend(lr_change_cases());
        let mut names: Vec<&str> = GENERAL.iter().chain(MATRIX).copied().collect();
        names.sort();
        names.dedup();
        let params: serde_json::Map<_, _> = names
            .iter()
            .map(|n| {
                let dtype = if n.starts_with('q') {
                    "float64"
                } else {
                    "float32"
                };
                (n.to_string(), serde_json::json!([dtype, shape(n)]))
            })
            .collect();
        let invalid: Vec<_> = invalid_configs()
            .into_iter()
            .map(
                |(optimizer, config)| serde_json::json!({"optimizer": optimizer, "config": config}),
            )
            .collect();
        let spec = serde_json::json!({"steps": STEPS, "params": params, "cases": all,
                                      "invalid": invalid});
        let dir = tempdir();
        let spec_file = dir.path().join("spec.json");
        std::fs::write(&spec_file, spec.to_string()).unwrap();
        let out = dir.path().to_str().unwrap();
        run_python(TORCH_OPTIM, &[spec_file.to_str().unwrap(), out]);
        Torch { dir, cases: all }
    })
}

/// Replays, in the harness, every case Python ran that `select` picks, comparing the parameters
/// after each step and the state at the end. Returns how many cases it checked.
fn check_against_torch(select: impl Fn(&Case) -> bool) -> usize {
    let torch = torch();
    let dir: &Path = torch.dir.path();
    let inputs = read_tensors(&dir.join("inputs.safetensors")).unwrap();
    let take = |prefix: &str, names: &[&str]| -> NamedTensors {
        names
            .iter()
            .map(|n| {
                let key = format!("{prefix}{n}");
                let (_, t) = inputs.iter().find(|(k, _)| *k == key).expect("an input");
                (n.to_string(), t.copy())
            })
            .collect()
    };
    let mut checked = 0;
    for (i, case) in torch.cases.iter().enumerate().filter(|(_, c)| select(c)) {
        let init = take("init.", case.params);
        let grads: Vec<_> = (1..=STEPS)
            .map(|k| take(&format!("grad{k}."), case.params))
            .collect();
        let expected = read_tensors(&dir.join(format!("case{i}.safetensors"))).unwrap();
        let what = format!("case {i} {} {}", case.optimizer, case.config);
        let make = |params| build(case.optimizer, &case.config, params).unwrap();
        let lr_change = case.lr_at.zip(case.lr_to);
        let (_, state) = run_steps(make, &init, &grads, lr_change, |k, params| {
            for (name, p) in params {
                let key = format!("steps.{name}");
                let (_, steps) = expected.iter().find(|(n, _)| *n == key).expect("the steps");
                let want = steps.select(0, k as i64 - 1);
                assert_bits_eq(&format!("{what}, step {k}, {name}"), p, &want);
            }
        });
        let want_state: Vec<(String, Tensor)> = expected
            .iter()
            .filter_map(|(n, t)| Some((n.strip_prefix("state.")?.to_string(), t.shallow_clone())))
            .collect();
        assert_named_bits_eq(&format!("{what}, state"), &state, &want_state);
        checked += 1;
    }
    checked
}

/// Checks every case of `optimizer` without a learning-rate change.
fn check_optimizer(optimizer: &str) {
    let n = check_against_torch(|c| c.optimizer == optimizer && c.lr_at.is_none());
    assert!(n >= 4, "{optimizer}: only {n} cases");
}

// Each test below replays cases of `optim_more_cases::cases`, which `TORCH_OPTIM` ran as
//     for k in range(24):
//         opt.zero_grad()
//         for n, p in params: p.grad = grads[k][n]
//         opt.step()                          # parameters saved after each step
//     opt.state[p]                            # saved at the end

/// For each `config` of `cases("adadelta")`, `TORCH_OPTIM` ran
///     opt = torch.optim.Adadelta(params, **config, foreach=False)
/// through the 24 steps.
#[test]
fn adadelta_matches_torch_optim_bit_for_bit() {
    check_optimizer("adadelta");
}

/// For each `config` of `cases("adafactor")`, `TORCH_OPTIM` ran
///     opt = torch.optim.Adafactor(params, **config, foreach=False)
/// through the 24 steps.
#[test]
fn adafactor_matches_torch_optim_bit_for_bit() {
    check_optimizer("adafactor");
}

/// For each `config` of `cases("adagrad")`, `TORCH_OPTIM` ran
///     opt = torch.optim.Adagrad(params, **config, foreach=False)
/// through the 24 steps.
#[test]
fn adagrad_matches_torch_optim_bit_for_bit() {
    check_optimizer("adagrad");
}

/// For each `config` of `cases("adamax")`, `TORCH_OPTIM` ran
///     opt = torch.optim.Adamax(params, **config, foreach=False)
/// through the 24 steps.
#[test]
fn adamax_matches_torch_optim_bit_for_bit() {
    check_optimizer("adamax");
}

/// For each `config` of `cases("asgd")`, `TORCH_OPTIM` ran
///     opt = torch.optim.ASGD(params, **config, foreach=False)
/// through the 24 steps.
#[test]
fn asgd_matches_torch_optim_bit_for_bit() {
    check_optimizer("asgd");
}

/// For each `config` of `cases("muon")`, `TORCH_OPTIM` ran
///     opt = torch.optim.Muon(params, **config)
/// through the 24 steps.
#[test]
fn muon_matches_torch_optim_bit_for_bit() {
    check_optimizer("muon");
}

/// For each `config` of `cases("nadam")`, `TORCH_OPTIM` ran
///     opt = torch.optim.NAdam(params, **config, foreach=False)
/// through the 24 steps.
#[test]
fn nadam_matches_torch_optim_bit_for_bit() {
    check_optimizer("nadam");
}

/// For each `config` of `cases("radam")`, `TORCH_OPTIM` ran
///     opt = torch.optim.RAdam(params, **config, foreach=False)
/// through the 24 steps.
#[test]
fn radam_matches_torch_optim_bit_for_bit() {
    check_optimizer("radam");
}

/// For each `config` of `cases("rmsprop")`, `TORCH_OPTIM` ran
///     opt = torch.optim.RMSprop(params, **config, foreach=False)
/// through the 24 steps.
#[test]
fn rmsprop_matches_torch_optim_bit_for_bit() {
    check_optimizer("rmsprop");
}

/// For each `config` of `cases("rprop")`, `TORCH_OPTIM` ran
///     opt = torch.optim.Rprop(params, **config, foreach=False)
/// through the 24 steps.
#[test]
fn rprop_matches_torch_optim_bit_for_bit() {
    check_optimizer("rprop");
}

/// `set_lr(x)` before step 11 equals, in `TORCH_OPTIM`,
///     for k in range(24):
///         if k == 10: opt.param_groups[0]["lr"] = x
///         ...; opt.step()
#[test]
fn set_lr_mid_run_matches_torch_changing_param_groups_lr() {
    let n = check_against_torch(|c| c.lr_at.is_some());
    assert_eq!(n, 10);
}

/// Each config of `invalid_configs` fails `new` with the message of the `ValueError`
///     torch.optim.<Name>([p], **config)   # or its first step(), for Muon's ns_steps
/// raises in `TORCH_OPTIM`.
#[test]
fn invalid_options_are_refused_as_torch_refuses_them() {
    let text = std::fs::read_to_string(torch().dir.path().join("invalid.json")).unwrap();
    let python: Vec<Option<String>> = serde_json::from_str(&text).unwrap();
    let configs = invalid_configs();
    assert_eq!(python.len(), configs.len());
    for ((optimizer, config), want) in configs.iter().zip(python) {
        let want = want.unwrap_or_else(|| panic!("torch accepted {optimizer} {config}"));
        let param = Tensor::zeros([3, 4], (tch::Kind::Float, tch::Device::Cpu));
        let err = build(optimizer, config, vec![("p".into(), param)])
            .err()
            .unwrap_or_else(|| panic!("{optimizer} {config} was accepted"));
        assert_eq!(err.to_string(), want, "{optimizer} {config}");
    }
}
