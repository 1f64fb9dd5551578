//! Initial weights: every built-in experiment starts from the weights the reference script's `Net`
//! gets after `torch.manual_seed(seed)` (and, for linear-regression, the synthetic data's draws),
//! bit for bit; and `train --init FILE` starts from a state_dict PyTorch saved.
use tch::Device;
use tch_harness::data::read_tensors;
use tch_harness::Builtin;

use crate::bits::{assert_bits_eq, assert_named_bits_eq, same_bits};
use crate::common::{assert_clean_error, global_rng, run_bin, run_python, tempdir, text};

const SEEDS: [u64; 5] = [0, 1, 12345, (1 << 63) + 12345, u64::MAX];

/// For each experiment of reference.py and each seed of `argv[2]`, the state_dict of `Net` made as
/// reference.py's `main()` makes it, into `argv[1]/<experiment>-<seed>.safetensors` (with the
/// synthetic data, for linear-regression); prints the experiment names.
const REFERENCE_INIT: &str = r#"
import json, sys
sys.path.insert(0, "scripts")
import torch
from safetensors.torch import save_file
from experiments import EXPERIMENTS, load_data, make_net

out, seeds = sys.argv[1], json.loads(sys.argv[2])
for name, spec in EXPERIMENTS.items():
    for seed in seeds:
        torch.manual_seed(seed)
        x_train, y_train, x_eval, y_eval = load_data(name)
        net = make_net(name)
        tensors = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
        if spec["file"] is None:  # synthetic: the data is drawn from the same generator
            tensors.update({"data.x_train": x_train, "data.y_train": y_train,
                            "data.x_eval": x_eval, "data.y_eval": y_eval})
        save_file({k: v.contiguous() for k, v in tensors.items()}, f"{out}/{name}-{seed}.safetensors")
print(json.dumps(list(EXPERIMENTS)))
"#;

#[test]
fn builtin_weights_match_reference_net() {
    let dir = tempdir();
    let seeds = serde_json::to_string(&SEEDS).unwrap();
    let names = run_python(REFERENCE_INIT, &[dir.path().to_str().unwrap(), &seeds]);
    let names: Vec<String> = serde_json::from_str(names.trim()).unwrap();
    let ours: Vec<&str> = Builtin::ALL.iter().map(|b| b.name()).collect();
    assert_eq!(
        names, ours,
        "reference.py and Builtin::ALL list the same experiments"
    );

    for &builtin in Builtin::ALL {
        let mut first: Option<Vec<(String, tch::Tensor)>> = None;
        for seed in SEEDS {
            let file = dir
                .path()
                .join(format!("{}-{seed}.safetensors", builtin.name()));
            let python = read_tensors(&file).unwrap();
            let (weights, data): (Vec<_>, Vec<_>) = python
                .into_iter()
                .partition(|(n, _)| !n.starts_with("data."));
            let experiment = {
                let _rng = global_rng();
                builtin.build(seed, Device::Cpu).unwrap()
            };
            let what = format!("{builtin} seed {seed}");
            assert_named_bits_eq(&what, &experiment.state_dict(), &weights);
            if builtin == Builtin::LinearRegression {
                let eval = experiment.data.eval.as_ref().unwrap();
                let ours = [
                    ("data.x_train", &experiment.data.train.inputs),
                    ("data.y_train", &experiment.data.train.targets),
                    ("data.x_eval", &eval.inputs),
                    ("data.y_eval", &eval.targets),
                ];
                assert_eq!(data.len(), ours.len());
                for (name, tensor) in ours {
                    let (_, want) = data.iter().find(|(n, _)| n == name).unwrap();
                    assert_bits_eq(&format!("{what}: {name}"), tensor, want);
                }
            }
            // Different seeds, different weights (so the comparison above can fail).
            // (Batch norm's entries are constants; the largest tensor is drawn.)
            let largest = |w: &[(String, tch::Tensor)]| {
                w.iter()
                    .max_by_key(|(_, t)| t.numel())
                    .unwrap()
                    .1
                    .shallow_clone()
            };
            match &first {
                None => first = Some(weights),
                Some(w0) => assert!(!same_bits(&largest(w0), &largest(&weights)), "{what}"),
            }
        }
    }
}

/// A state_dict PyTorch saved for digits-mlp (seed 777, unlike any run below), plus broken copies:
/// a renamed key and a wrong shape.
const PYTORCH_STATE_DICTS: &str = r#"
import sys
sys.path.insert(0, "scripts")
import torch
from safetensors.torch import save_file
from experiments import make_net

out = sys.argv[1]
torch.manual_seed(777)
sd = {k: v.detach().contiguous() for k, v in make_net("digits-mlp").state_dict().items()}
save_file(sd, f"{out}/init.safetensors")
save_file({("fc1.weights" if k == "fc1.weight" else k): v for k, v in sd.items()},
          f"{out}/wrong_key.safetensors")
save_file({**sd, "fc2.bias": torch.zeros(11)}, f"{out}/wrong_shape.safetensors")
"#;

#[test]
fn train_init_starts_from_a_pytorch_state_dict() {
    let dir = tempdir();
    let d = dir.path();
    run_python(PYTORCH_STATE_DICTS, &[d.to_str().unwrap()]);
    let init = d.join("init.safetensors");
    let bytes = std::fs::read(&init).unwrap();
    std::fs::write(d.join("truncated.safetensors"), &bytes[..bytes.len() / 2]).unwrap();

    let train = |init: &str, out: &str| {
        let (init, out) = (d.join(init), d.join(out));
        let args = [
            "train",
            "--experiment",
            "digits-mlp",
            "--epochs",
            "1",
            "--lr",
            "0",
        ];
        let mut args: Vec<&str> = args.to_vec();
        args.extend(["--device", "cpu", "--threads", "1", "--seed", "0"]);
        args.extend([
            "--init",
            init.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        run_bin(&args)
    };

    // lr 0: the saved weights are the initial ones, which must be the file's, not seed 0's.
    let out = train("init.safetensors", "run");
    assert!(out.status.success(), "{}", text(&out));
    let saved = read_tensors(&d.join("run/model.safetensors")).unwrap();
    let wanted = read_tensors(&init).unwrap();
    assert_named_bits_eq("model.safetensors vs --init", &saved, &wanted);
    let seed0 = {
        let _rng = global_rng();
        Builtin::DigitsMlp
            .build(0, Device::Cpu)
            .unwrap()
            .state_dict()
    };
    assert!(
        !same_bits(&seed0[0].1, &wanted[0].1),
        "init equals seed 0's weights"
    );

    let cases = [
        (
            "wrong_key.safetensors",
            &["fc1.weights", "missing keys: fc1.weight"][..],
        ),
        ("wrong_shape.safetensors", &["fc2.bias", "[11]"][..]),
        (
            "truncated.safetensors",
            &["truncated.safetensors", "not a valid safetensors"][..],
        ),
    ];
    for (file, needles) in cases {
        let run = format!("run-{file}");
        let out = train(file, &run);
        for needle in needles {
            assert_clean_error(&out, needle);
        }
        assert!(
            !d.join(&run).exists(),
            "{file}: a run directory was created"
        );
    }
}
