//! `optimizer.zero_grad()` sets gradients to None, as PyTorch's default does: a parameter that
//! gets no gradient in a step (a branch used on odd steps only) is skipped by the optimizer, not
//! stepped by its weight decay and momentum from a zeroed gradient. A small model of the library's
//! layers, trained through the library's optimizers, against `torch.optim`, bit for bit.
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};
use tch_harness::data::{read_tensors, NamedTensors};
use tch_harness::model::{linear, LinearConfig};
use tch_harness::OptimizerConfig;

use crate::bits::{assert_bits_eq, assert_named_bits_eq};
use crate::common::{global_rng, run_python, tempdir};

/// Optimizer steps per case: the branch has a gradient in steps 2, 4 and 6 only.
const STEPS: usize = 6;

/// Writes the initial weights (`init.<p>`) and inputs (`x<k>`), then, for each case of `argv[1]`
/// (a JSON list of `OptimizerConfig`s), the parameters after every step (`step<k>.<p>`) and the
/// final state (`state.<p>.<key>`), in `argv[2]`.
const TORCH_ZERO_GRAD: &str = r#"
import json, sys
import torch
from safetensors.torch import save_file

cases, out = json.loads(sys.argv[1]), sys.argv[2]
STEPS = 6
torch.manual_seed(20251205)
init = torch.nn.ModuleDict({"trunk": torch.nn.Linear(4, 3), "branch": torch.nn.Linear(3, 3)})
xs = [torch.randn(5, 4) for _ in range(STEPS)]
saved = {f"init.{n}": p.detach().clone() for n, p in init.named_parameters()}
saved.update({f"x{k + 1}": x for k, x in enumerate(xs)})
save_file(saved, f"{out}/inputs.safetensors")

def forward(model, k, x):
    h = torch.tanh(model["trunk"](x))
    if k % 2 == 1:  # the branch only on steps 2, 4, 6
        h = model["branch"](h)
    return h.pow(2).mean()

for i, c in enumerate(cases):
    model = torch.nn.ModuleDict({"trunk": torch.nn.Linear(4, 3), "branch": torch.nn.Linear(3, 3)})
    model.load_state_dict(init.state_dict())
    kind = c.pop("kind")
    cls = {"sgd": torch.optim.SGD, "adamw": torch.optim.AdamW, "rmsprop": torch.optim.RMSprop}[kind]
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in c.items()}
    opt = cls(model.parameters(), foreach=False, **kwargs)
    saved = {}
    for k in range(STEPS):
        opt.zero_grad()  # set_to_none=True
        forward(model, k, xs[k]).backward()
        opt.step()
        saved.update({f"step{k + 1}.{n}": p.detach().clone() for n, p in model.named_parameters()})
    for n, p in model.named_parameters():
        saved.update({f"state.{n}.{key}": v.clone() for key, v in opt.state[p].items()})
    save_file(saved, f"{out}/case{i}.safetensors")
"#;

fn config(json: &str) -> OptimizerConfig {
    serde_json::from_str(json).expect("an optimizer config")
}

/// SGD with momentum and weight decay, AdamW, and RMSprop (one of the optimizers on `Slots`).
fn cases() -> Vec<OptimizerConfig> {
    vec![
        config(r#"{"kind": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}"#),
        config(r#"{"kind": "adamw", "lr": 0.01}"#),
        config(r#"{"kind": "rmsprop", "lr": 0.01, "momentum": 0.9, "weight_decay": 0.01}"#),
    ]
}

/// The tensors of `named` whose names start with `prefix`, without it.
fn take(named: &NamedTensors, prefix: &str) -> NamedTensors {
    named
        .iter()
        .filter_map(|(n, t)| Some((n.strip_prefix(prefix)?.to_string(), t.copy())))
        .collect()
}

fn find<'a>(named: &'a NamedTensors, name: &str) -> &'a Tensor {
    &named
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{name}"))
        .1
}

/// Mirrors TORCH_ZERO_GRAD's loop: `zero_grad`, the forward with the branch on odd `k`,
/// backward, `step`; `after_step(k, params)` sees the parameters after step `k`.
fn run_harness(
    config: &OptimizerConfig,
    init: &NamedTensors,
    xs: &[Tensor],
    mut after_step: impl FnMut(usize, &NamedTensors),
) -> NamedTensors {
    let vs = VarStore::new(Device::Cpu);
    let (trunk, branch) = {
        let _rng = global_rng(); // the layers draw their (then overwritten) initial values
        let trunk = linear(&(vs.root() / "trunk"), 4, 3, LinearConfig::default()).unwrap();
        let branch = linear(&(vs.root() / "branch"), 3, 3, LinearConfig::default()).unwrap();
        (trunk, branch)
    };
    let params: NamedTensors = vs.variables().into_iter().collect();
    tch::no_grad(|| {
        for (name, p) in &params {
            p.shallow_clone().copy_(find(init, name));
        }
    });
    let shared = params.iter().map(|(n, p)| (n.clone(), p.shallow_clone()));
    let mut optimizer = tch_harness::optimizer(config, shared.collect()).unwrap();
    for (k, x) in xs.iter().enumerate() {
        optimizer.zero_grad().unwrap();
        let mut h = trunk.forward(x).unwrap().tanh();
        let branch_used = k % 2 == 1;
        if branch_used {
            h = branch.forward(&h).unwrap();
        }
        h.pow_tensor_scalar(2).mean(Kind::Float).backward();
        // The premise: the branch has a gradient exactly in the steps that used it.
        assert_eq!(
            branch.weight.grad().defined(),
            branch_used,
            "step {}",
            k + 1
        );
        optimizer.step().unwrap();
        after_step(k + 1, &params);
    }
    optimizer.state()
}

/// The PyTorch it mirrors is TORCH_ZERO_GRAD above (`opt.zero_grad()` with its default
/// `set_to_none=True`, SGD(momentum=0.9, weight_decay=0.01), AdamW, RMSprop).
#[test]
fn a_parameter_without_gradient_is_skipped_as_torch_optim_skips_it() {
    let cases = cases();
    let dir = tempdir();
    let json = serde_json::to_string(&cases).unwrap();
    run_python(TORCH_ZERO_GRAD, &[&json, dir.path().to_str().unwrap()]);
    let inputs = read_tensors(&dir.path().join("inputs.safetensors")).unwrap();
    let init = take(&inputs, "init.");
    assert_eq!(init.len(), 4);
    let xs: Vec<Tensor> = (1..=STEPS)
        .map(|k| find(&inputs, &format!("x{k}")).copy())
        .collect();
    for (i, config) in cases.iter().enumerate() {
        let expected = read_tensors(&dir.path().join(format!("case{i}.safetensors"))).unwrap();
        let state = run_harness(config, &init, &xs, |k, params| {
            for (name, p) in params {
                let want = find(&expected, &format!("step{k}.{name}"));
                assert_bits_eq(&format!("{config:?}, step {k}, {name}"), p, want);
            }
        });
        let want_state = take(&expected, "state.");
        assert_named_bits_eq(&format!("{config:?}, state"), &state, &want_state);
    }
}
