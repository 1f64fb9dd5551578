//! The layers of `tch_harness::model` against PyTorch's own modules, bit for bit: for several
//! seeds and shapes, each layer built after `manual_seed(seed)` holds PyTorch's initial
//! `state_dict` (names, shapes, dtypes, bits); on PyTorch's input its training-mode outputs, the
//! gradients of every parameter and of the input, the buffers after the step (batch norm's
//! running statistics) and the evaluation-mode outputs are PyTorch's — dropout's masks included,
//! drawn from libtorch's global generator after the same seed.
use std::collections::BTreeMap;

use tch::nn::{Path, VarStore};
use tch::{Device, Kind, Tensor};
use tch_harness::data::read_tensors;
use tch_harness::model::functional::{
    adaptive_avg_pool2d, avg_pool2d_with, flatten, gelu, max_pool2d, PoolConfig,
};
use tch_harness::model::{
    batch_norm1d, batch_norm2d, conv1d, conv2d, dropout, embedding, gru, layer_norm, lstm,
    BatchNormConfig, ConvConfig, EmbeddingConfig, LayerNormConfig, RnnConfig, StringPadding,
};

use crate::bits::assert_bits_eq;
use crate::common::{global_rng, run_python, tempdir};

const SEEDS: [u64; 3] = [0, 1, 12345];

/// Per case and seed, into `argv[1]/<case>-<seed>.safetensors`: `init.*` (the state_dict after
/// `manual_seed(seed)` and the constructor), `x`, `w.i`, `out.i` (training mode), `grad.*` and
/// `grad.input` (of Σ out.i · w.i), `after.*` (the state_dict after that forward), `eval.i`.
const PYTORCH_LAYERS: &str = r#"
import json, sys
import torch, torch.nn as nn
from safetensors.torch import save_file

CASES = {
    "conv2d": (lambda: nn.Conv2d(3, 4, 3), (2, 3, 7, 7)),
    "conv2d_strided_grouped": (lambda: nn.Conv2d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2,
                                                 bias=False), (2, 4, 9, 9)),
    "conv2d_same": (lambda: nn.Conv2d(2, 3, 4, padding="same"), (2, 2, 6, 6)),
    "conv1d": (lambda: nn.Conv1d(3, 5, 4, padding=2), (3, 3, 10)),
    "batchnorm2d": (lambda: nn.BatchNorm2d(4), (3, 4, 5, 5)),
    "batchnorm1d_cumulative": (lambda: nn.BatchNorm1d(5, momentum=None), (6, 5)),
    "batchnorm1d_sequence": (lambda: nn.BatchNorm1d(3, eps=1e-3, momentum=0.3), (4, 3, 6)),
    "layernorm": (lambda: nn.LayerNorm([4, 5]), (2, 3, 4, 5)),
    "embedding": (lambda: nn.Embedding(10, 6, padding_idx=1), (3, 7)),
    "lstm": (lambda: nn.LSTM(5, 7, num_layers=2, bidirectional=True, batch_first=True), (3, 4, 5)),
    "lstm_dropout": (lambda: nn.LSTM(3, 4, num_layers=2, dropout=0.5), (5, 2, 3)),
    "gru": (lambda: nn.GRU(5, 6, num_layers=2), (4, 3, 5)),
    "gru_bidirectional": (lambda: nn.GRU(4, 3, bidirectional=True, batch_first=True, bias=False),
                          (2, 5, 4)),
    "dropout": (lambda: nn.Dropout(0.3), (6, 50)),
    "pooling": (lambda: nn.Sequential(nn.MaxPool2d(2), nn.AvgPool2d(3, stride=1, padding=1),
                                      nn.AdaptiveAvgPool2d((2, 2)), nn.Flatten(), nn.GELU()),
                (2, 3, 8, 8)),
}

def flat(out):
    if isinstance(out, torch.Tensor):
        return [out]
    return [t for part in out for t in flat(part)]

out_dir, seeds = sys.argv[1], json.loads(sys.argv[2])
for case, (build, shape) in CASES.items():
    for seed in seeds:
        torch.manual_seed(seed)
        m = build()
        saved = {f"init.{k}": v.detach().clone() for k, v in m.state_dict().items()}
        g = torch.Generator().manual_seed(seed + 1)
        if case == "embedding":
            x = torch.randint(0, 10, shape, generator=g)
            x[0, 0] = 1  # the padding row is looked up
        else:
            x = torch.randn(shape, generator=g).requires_grad_()
        m.train()
        outs = flat(m(x))
        ws = [torch.randn(o.shape, generator=g) for o in outs]
        sum((o * w).sum() for o, w in zip(outs, ws)).backward()
        saved["x"] = x.detach().clone()
        if x.grad is not None:
            saved["grad.input"] = x.grad
        for i, (o, w) in enumerate(zip(outs, ws)):
            saved[f"out.{i}"], saved[f"w.{i}"] = o.detach(), w
        for k, p in m.named_parameters():
            saved[f"grad.{k}"] = p.grad
        saved.update({f"after.{k}": v.detach().clone() for k, v in m.state_dict().items()})
        m.eval()
        with torch.no_grad():
            for i, o in enumerate(flat(m(x.detach()))):
                saved[f"eval.{i}"] = o
        save_file({k: v.contiguous() for k, v in saved.items()}, f"{out_dir}/{case}-{seed}.safetensors")
print(json.dumps(list(CASES)))
"#;

/// A layer under test: its forward in training or evaluation mode, outputs flattened as the
/// snippet's `flat` flattens PyTorch's.
type Forward = Box<dyn Fn(&Tensor, bool) -> Vec<Tensor>>;

/// The Rust twin of each of the snippet's `CASES`, built under `vs` (names at the root).
fn build(case: &str, vs: &Path) -> Forward {
    let conv = |c: ConvConfig| c;
    match case {
        "conv2d" => {
            let l = conv2d(vs, 3, 4, 3, ConvConfig::default()).unwrap();
            Box::new(move |x, _| vec![l.forward(x).unwrap()])
        }
        "conv2d_strided_grouped" => {
            let c = conv(ConvConfig {
                stride: 2,
                padding: 1,
                dilation: 2,
                groups: 2,
                bias: false,
                ..Default::default()
            });
            let l = conv2d(vs, 4, 6, 3, c).unwrap();
            Box::new(move |x, _| vec![l.forward(x).unwrap()])
        }
        "conv2d_same" => {
            let c = ConvConfig {
                string_padding: Some(StringPadding::Same),
                ..Default::default()
            };
            let l = conv2d(vs, 2, 3, 4, c).unwrap();
            Box::new(move |x, _| vec![l.forward(x).unwrap()])
        }
        "conv1d" => {
            let c = ConvConfig {
                padding: 2,
                ..Default::default()
            };
            let l = conv1d(vs, 3, 5, 4, c).unwrap();
            Box::new(move |x, _| vec![l.forward(x).unwrap()])
        }
        "batchnorm2d" => {
            let l = batch_norm2d(vs, 4, BatchNormConfig::default()).unwrap();
            Box::new(move |x, train| vec![l.forward_t(x, train).unwrap()])
        }
        "batchnorm1d_cumulative" | "batchnorm1d_sequence" => {
            let (n, c) = if case == "batchnorm1d_cumulative" {
                let c = BatchNormConfig {
                    momentum: None,
                    ..Default::default()
                };
                (5, c)
            } else {
                let c = BatchNormConfig {
                    eps: 1e-3,
                    momentum: Some(0.3),
                    ..Default::default()
                };
                (3, c)
            };
            let l = batch_norm1d(vs, n, c).unwrap();
            Box::new(move |x, train| vec![l.forward_t(x, train).unwrap()])
        }
        "layernorm" => {
            let l = layer_norm(vs, &[4, 5], LayerNormConfig::default()).unwrap();
            Box::new(move |x, _| vec![l.forward(x).unwrap()])
        }
        "embedding" => {
            let c = EmbeddingConfig {
                padding_idx: Some(1),
            };
            let l = embedding(vs, 10, 6, c).unwrap();
            Box::new(move |x, _| vec![l.forward(x).unwrap()])
        }
        "lstm" | "lstm_dropout" => {
            let (input, hidden, c) = if case == "lstm" {
                let c = RnnConfig {
                    num_layers: 2,
                    bidirectional: true,
                    batch_first: true,
                    ..Default::default()
                };
                (5, 7, c)
            } else {
                let c = RnnConfig {
                    num_layers: 2,
                    dropout: 0.5,
                    ..Default::default()
                };
                (3, 4, c)
            };
            let l = lstm(vs, input, hidden, c).unwrap();
            Box::new(move |x, train| {
                let (out, (h, c)) = l.forward_t(x, train).unwrap();
                vec![out, h, c]
            })
        }
        "gru" | "gru_bidirectional" => {
            let (input, hidden, c) = if case == "gru" {
                let c = RnnConfig {
                    num_layers: 2,
                    ..Default::default()
                };
                (5, 6, c)
            } else {
                let c = RnnConfig {
                    bidirectional: true,
                    batch_first: true,
                    bias: false,
                    ..Default::default()
                };
                (4, 3, c)
            };
            let l = gru(vs, input, hidden, c).unwrap();
            Box::new(move |x, train| {
                let (out, h) = l.forward_t(x, train).unwrap();
                vec![out, h]
            })
        }
        "dropout" => {
            let l = dropout(0.3).unwrap();
            Box::new(move |x, train| vec![l.forward_t(x, train).unwrap()])
        }
        "pooling" => Box::new(|x, _| {
            let pool = PoolConfig {
                stride: Some(1),
                padding: 1,
                ..Default::default()
            };
            let x = max_pool2d(x, 2).unwrap();
            let x = avg_pool2d_with(&x, 3, pool).unwrap();
            let x = adaptive_avg_pool2d(&x, [2, 2]).unwrap();
            vec![gelu(&flatten(&x, 1, -1).unwrap()).unwrap()]
        }),
        other => panic!("no Rust twin for case {other}"),
    }
}

/// The entries of `file` under `prefix.`, keyed by the rest of their name.
fn under(file: &BTreeMap<String, Tensor>, prefix: &str) -> BTreeMap<String, Tensor> {
    let prefix = format!("{prefix}.");
    file.iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?.to_string(), v.shallow_clone())))
        .collect()
}

fn state(vs: &VarStore) -> BTreeMap<String, Tensor> {
    vs.variables()
        .into_iter()
        .map(|(k, v)| (k, v.detach().copy()))
        .collect()
}

fn assert_state_eq(what: &str, ours: &BTreeMap<String, Tensor>, theirs: &BTreeMap<String, Tensor>) {
    let names = |m: &BTreeMap<String, Tensor>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(ours), names(theirs), "{what}: state_dict names");
    for (name, t) in theirs {
        assert_bits_eq(&format!("{what} {name}"), &ours[name], t);
    }
}

/// One case and seed: build, compare init; forward, backward, compare; evaluate, compare.
fn check_case(case: &str, seed: u64, file: &BTreeMap<String, Tensor>) {
    let _rng = global_rng();
    let what = format!("{case} seed {seed}");
    tch::manual_seed(seed as i64);
    let vs = VarStore::new(Device::Cpu);
    let forward = build(case, &vs.root());
    assert_state_eq(
        &format!("{what}: initial"),
        &state(&vs),
        &under(file, "init"),
    );

    let x = file["x"].shallow_clone();
    let x = if x.kind() == Kind::Float {
        x.set_requires_grad(true)
    } else {
        x
    };
    let outs = forward(&x, true);
    let ws = under(file, "w");
    let mut loss = Tensor::zeros([], (Kind::Float, Device::Cpu));
    for (i, out) in outs.iter().enumerate() {
        assert_bits_eq(
            &format!("{what}: output {i}"),
            out,
            &file[&format!("out.{i}")],
        );
        loss += (out * &ws[&i.to_string()]).sum(Kind::Float);
    }
    assert_eq!(outs.len(), ws.len(), "{what}: number of outputs");
    loss.backward();
    if let Some(expected) = file.get("grad.input") {
        assert_bits_eq(
            &format!("{what}: gradient of the input"),
            &x.grad(),
            expected,
        );
    }
    let grads = under(file, "grad");
    let trainable = vs.trainable_variables().len();
    assert_eq!(
        grads.len() - file.contains_key("grad.input") as usize,
        trainable,
        "{what}: parameters"
    );
    for (name, var) in vs.variables() {
        if let Some(expected) = grads.get(&name) {
            assert_bits_eq(
                &format!("{what}: gradient of {name}"),
                &var.grad(),
                expected,
            );
        }
    }
    assert_state_eq(
        &format!("{what}: after the forward"),
        &state(&vs),
        &under(file, "after"),
    );
    let evals = tch::no_grad(|| forward(&x.detach(), false));
    for (i, out) in evals.iter().enumerate() {
        assert_bits_eq(
            &format!("{what}: eval output {i}"),
            out,
            &file[&format!("eval.{i}")],
        );
    }
}

#[test]
fn layers_match_pytorch_bit_for_bit() {
    let dir = tempdir();
    let seeds = serde_json::to_string(&SEEDS).unwrap();
    let cases = run_python(PYTORCH_LAYERS, &[dir.path().to_str().unwrap(), &seeds]);
    let cases: Vec<String> = serde_json::from_str(cases.trim()).unwrap();
    assert_eq!(cases.len(), 15);
    for case in &cases {
        for seed in SEEDS {
            let path = dir.path().join(format!("{case}-{seed}.safetensors"));
            let file: BTreeMap<String, Tensor> = read_tensors(&path).unwrap().into_iter().collect();
            check_case(case, seed, &file);
        }
    }
}
