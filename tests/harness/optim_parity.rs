//! The optimizers against `torch.optim` (`foreach=False`): the same initial parameters and the same
//! gradients, step after step, must give the same parameters and the same state, bit for bit.
//!
//! Float32 parameters of 1, 7, 60, 1031 and 1221 elements (and a float64 one of 1029) run both the
//! vectorised kernels and their scalar tails; gradients change scale by six orders of magnitude
//! between steps and hold exact zeros.
use tch::Tensor;
use tch_harness::data::{read_tensors, NamedTensors};
use tch_harness::optim::{AdamConfig, OptimizerConfig, SgdConfig};

use crate::bits::{assert_bits_eq, assert_named_bits_eq};
use crate::common::{run_python, tempdir};

/// Optimizer steps per case.
const STEPS: usize = 6;

/// Makes the inputs (`init.<p>`, `grad<k>.<p>`) and, for each case of `argv[1]` (a JSON list of
/// `OptimizerConfig`s: `{"kind": …, torch.optim keywords…}`), the parameters after every step
/// (`step<k>.<p>`) and the final state (`state.<p>.<key>`), in `argv[2]`.
const TORCH_OPTIM: &str = r#"
import json, sys
import torch
from safetensors.torch import save_file

cases, out = json.loads(sys.argv[1]), sys.argv[2]
STEPS = 6
shapes = {"p1": [1], "p7": [7], "p4x3x5": [4, 3, 5], "p1031": [1031], "p33x37": [33, 37], "q1029": [1029]}
gen = torch.Generator().manual_seed(20240607)
dtype = lambda n: torch.float64 if n.startswith("q") else torch.float32  # q…: float64
params = {n: torch.randn(s, generator=gen, dtype=dtype(n)) for n, s in shapes.items()}
scales = [1.0, 1e-3, 10.0, 0.25, 3e-5, 1.0]
grads = []
for k in range(STEPS):
    step = {}
    for n, s in shapes.items():
        g = torch.randn(s, generator=gen, dtype=dtype(n)) * scales[k]
        g[torch.rand(s, generator=gen) < 0.1] = 0.0
        step[n] = g
    grads.append(step)
inputs = {f"init.{n}": p for n, p in params.items()}
inputs.update({f"grad{k + 1}.{n}": g for k, step in enumerate(grads) for n, g in step.items()})
save_file(inputs, f"{out}/inputs.safetensors")

def make(c, ps):
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[c["kind"]]
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in c.items() if k != "kind"}
    return cls(ps, foreach=False, **kwargs)

for i, c in enumerate(cases):
    ps = {n: p.clone().requires_grad_() for n, p in params.items()}
    opt = make(c, list(ps.values()))
    saved = {}
    for k in range(STEPS):
        opt.zero_grad()
        for n, p in ps.items():
            p.grad = grads[k][n].clone()
        opt.step()
        saved.update({f"step{k + 1}.{n}": p.detach().clone() for n, p in ps.items()})
    for n, p in ps.items():
        saved.update({f"state.{n}.{key}": v.clone() for key, v in opt.state[p].items()})
    save_file(saved, f"{out}/case{i}.safetensors")
"#;

/// SGD from PyTorch's defaults at `lr`, edited.
fn sgd(lr: f64, edit: impl Fn(&mut SgdConfig)) -> OptimizerConfig {
    let mut c = SgdConfig {
        lr,
        ..SgdConfig::default()
    };
    edit(&mut c);
    OptimizerConfig::Sgd(c)
}

/// Adam (or, `decoupled`, AdamW with its default weight decay 0.01) at `lr`, edited.
fn adam(decoupled: bool, lr: f64, edit: impl Fn(&mut AdamConfig)) -> OptimizerConfig {
    let mut c = AdamConfig {
        lr,
        weight_decay: if decoupled { 0.01 } else { 0.0 },
        ..AdamConfig::default()
    };
    edit(&mut c);
    if decoupled {
        OptimizerConfig::AdamW(c)
    } else {
        OptimizerConfig::Adam(c)
    }
}

fn sgd_cases() -> Vec<OptimizerConfig> {
    vec![
        sgd(0.1, |_| {}),
        sgd(0.1, |c| c.momentum = 0.9),
        sgd(0.1, |c| (c.momentum, c.dampening) = (0.9, 0.1)),
        sgd(0.1, |c| (c.momentum, c.nesterov) = (0.9, true)),
        sgd(0.1, |c| c.weight_decay = 1e-2),
        sgd(0.05, |c| {
            (c.momentum, c.dampening, c.weight_decay) = (0.9, 0.5, 5e-4);
        }),
        sgd(0.03, |c| {
            (c.momentum, c.nesterov, c.weight_decay) = (0.8, true, 1e-3);
        }),
        sgd(0.7, |c| {
            (c.momentum, c.dampening, c.weight_decay) = (0.5, 0.9, 0.1);
        }),
        sgd(0.1, |c| {
            (c.momentum, c.weight_decay, c.maximize) = (0.9, 1e-2, true)
        }),
    ]
}

fn adam_cases() -> Vec<OptimizerConfig> {
    vec![
        adam(false, 1e-3, |_| {}),
        adam(false, 1e-3, |c| c.weight_decay = 1e-2),
        adam(false, 1e-3, |c| c.amsgrad = true),
        adam(false, 0.01, |c| {
            (c.amsgrad, c.weight_decay) = (true, 0.05);
            (c.betas, c.eps) = ((0.8, 0.99), 1e-6);
        }),
        adam(false, 1e-3, |c| (c.maximize, c.weight_decay) = (true, 1e-2)),
        adam(true, 1e-3, |_| {}),
        adam(true, 1e-3, |c| c.weight_decay = 0.0),
        adam(true, 0.003, |c| (c.amsgrad, c.weight_decay) = (true, 0.1)),
        adam(true, 0.003, |c| (c.amsgrad, c.maximize) = (true, true)),
    ]
}

/// Runs every case through `torch.optim` (one Python process) and through the harness, comparing
/// the parameters after each step and the state at the end.
fn check_against_torch(cases: &[OptimizerConfig]) {
    let dir = tempdir();
    let json = serde_json::to_string(cases).unwrap();
    run_python(TORCH_OPTIM, &[&json, dir.path().to_str().unwrap()]);
    let inputs = read_tensors(&dir.path().join("inputs.safetensors")).unwrap();
    let take = |prefix: &str| -> Vec<(String, Tensor)> {
        inputs
            .iter()
            .filter_map(|(n, t)| Some((n.strip_prefix(prefix)?.to_string(), t.copy())))
            .collect()
    };
    let init = take("init.");
    assert_eq!(init.len(), 6);
    let grads: Vec<_> = (1..=STEPS).map(|k| take(&format!("grad{k}."))).collect();
    for (i, config) in cases.iter().enumerate() {
        let expected = read_tensors(&dir.path().join(format!("case{i}.safetensors"))).unwrap();
        let (params, state) = run_harness(config, &init, &grads, |k, params| {
            for (name, p) in params {
                let key = format!("step{k}.{name}");
                let (_, want) = expected
                    .iter()
                    .find(|(n, _)| *n == key)
                    .expect("every step");
                assert_bits_eq(&format!("case {i} {config:?}, step {k}, {name}"), p, want);
            }
        });
        assert_eq!(params.len(), init.len());
        let want_state: Vec<_> = expected
            .iter()
            .filter_map(|(n, t)| Some((n.strip_prefix("state.")?.to_string(), t.shallow_clone())))
            .collect();
        assert_named_bits_eq(&format!("case {i} {config:?}, state"), &state, &want_state);
    }
}

/// Steps the harness's optimizer through `grads` from `init`, feeding each gradient as
/// `(p * g).sum().backward()` after `zero_grad()`; `after_step(k, params)` sees every step.
/// Returns the final parameters and state.
pub fn run_harness(
    config: &OptimizerConfig,
    init: &[(String, Tensor)],
    grads: &[NamedTensors],
    mut after_step: impl FnMut(usize, &[(String, Tensor)]),
) -> (NamedTensors, NamedTensors) {
    let params: NamedTensors = init
        .iter()
        .map(|(n, t)| (n.clone(), t.detach().copy().set_requires_grad(true)))
        .collect();
    let shared = params.iter().map(|(n, p)| (n.clone(), p.shallow_clone()));
    let mut optimizer = tch_harness::optimizer(config, shared.collect()).unwrap();
    for (k, step_grads) in grads.iter().enumerate() {
        optimizer.zero_grad().unwrap();
        for (name, p) in &params {
            let g = &step_grads.iter().find(|(n, _)| n == name).unwrap().1;
            (p * g).sum(p.kind()).backward();
        }
        for (name, p) in &params {
            assert!(p.grad().defined(), "{name} has no gradient");
        }
        optimizer.step().unwrap();
        after_step(k + 1, &params);
    }
    (params, optimizer.state())
}

#[test]
fn sgd_matches_torch_optim_bit_for_bit() {
    check_against_torch(&sgd_cases());
}

#[test]
fn adam_and_adamw_match_torch_optim_bit_for_bit() {
    check_against_torch(&adam_cases());
}
