//! `Optimizer::state` / `load_state`: state saved after k steps (through a safetensors file) and
//! loaded into a fresh optimizer continues exactly as the uninterrupted run.
use tch::{Device, Kind, Tensor};
use tch_harness::data::{read_tensors, write_tensors, NamedTensors};
use tch_harness::optim::{AdamConfig, OptimizerConfig, OptimizerKind, SgdConfig};

use crate::bits::{assert_named_bits_eq, same_bits};
use crate::common::tempdir;
use crate::optim_parity::run_harness;

const STEPS: usize = 6;
const SAVED_AFTER: usize = 3;

/// Deterministic parameters (7, 1031 and 12x5 elements) and per-step gradients of changing scale,
/// without touching libtorch's global generator.
fn inputs() -> (NamedTensors, Vec<NamedTensors>) {
    let wave = |shape: &[i64], phase: f64, scale: f64| {
        let n: i64 = shape.iter().product();
        (Tensor::arange(n, (Kind::Float, Device::Cpu)) * 0.731 + phase)
            .sin()
            .reshape(shape)
            * scale
    };
    let shapes: [(&str, &[i64]); 3] = [("a", &[7]), ("b", &[1031]), ("c.weight", &[12, 5])];
    let init = shapes
        .iter()
        .map(|(n, s)| (n.to_string(), wave(s, 0.5, 0.8)))
        .collect();
    let grads = (1..=STEPS)
        .map(|k| {
            let scale = [1.0, 0.01, 5.0, 0.3, 1e-4, 2.0][k - 1];
            shapes
                .iter()
                .map(|(n, s)| (n.to_string(), wave(s, k as f64 * 1.3, scale)))
                .collect()
        })
        .collect();
    (init, grads)
}

fn check_resume(config: &OptimizerConfig) {
    let (init, grads) = inputs();
    let mut uninterrupted = Vec::new();
    let (_, final_state) = run_harness(config, &init, &grads, |_, params| {
        uninterrupted.push(
            params
                .iter()
                .map(|(n, p)| (n.clone(), p.detach().copy()))
                .collect::<Vec<_>>(),
        );
    });

    // k steps, then parameters and optimizer state to files, as a checkpoint would hold them.
    let dir = tempdir();
    let (params_k, state_k) = run_harness(config, &init, &grads[..SAVED_AFTER], |_, _| {});
    let (params_file, state_file) = (dir.path().join("params.st"), dir.path().join("state.st"));
    write_tensors(&params_file, &params_k, None).unwrap();
    write_tensors(&state_file, &state_k, None).unwrap();

    // A fresh optimizer over the reloaded parameters, with the reloaded state.
    let params: Vec<_> = read_tensors(&params_file)
        .unwrap()
        .into_iter()
        .map(|(n, t)| (n, t.set_requires_grad(true)))
        .collect();
    let shared = params.iter().map(|(n, p)| (n.clone(), p.shallow_clone()));
    let mut optimizer = tch_harness::optimizer(config, shared.collect()).unwrap();
    optimizer
        .load_state(&read_tensors(&state_file).unwrap())
        .unwrap();
    for (k, step_grads) in grads.iter().enumerate().skip(SAVED_AFTER) {
        optimizer.zero_grad().unwrap();
        for (name, p) in &params {
            let g = &step_grads.iter().find(|(n, _)| n == name).unwrap().1;
            (p * g).sum(Kind::Float).backward();
        }
        optimizer.step().unwrap();
        assert_named_bits_eq(
            &format!("{config:?}: resumed, step {}", k + 1),
            &params,
            &uninterrupted[k],
        );
    }
    assert_named_bits_eq(
        &format!("{config:?}: final state"),
        &optimizer.state(),
        &final_state,
    );

    // The state matters: without it the continuation differs (so this test can fail).
    let (fresh, _) = run_harness(config, &params_k, &grads[SAVED_AFTER..], |_, _| {});
    let differs = fresh
        .iter()
        .zip(&uninterrupted[STEPS - 1])
        .any(|((_, a), (_, b))| !same_bits(a, b));
    assert!(
        differs,
        "{config:?}: a fresh optimizer gave the same result"
    );
}

#[test]
fn load_state_continues_bit_for_bit() {
    let sgd = OptimizerConfig::Sgd(SgdConfig {
        lr: 0.05,
        momentum: 0.9,
        nesterov: true,
        weight_decay: 1e-3,
        ..SgdConfig::default()
    });
    let sgd_dampened = OptimizerConfig::Sgd(SgdConfig {
        lr: 0.1,
        momentum: 0.8,
        dampening: 0.3,
        ..SgdConfig::default()
    });
    let adam = OptimizerConfig::Adam(AdamConfig {
        lr: 1e-3,
        amsgrad: true,
        weight_decay: 1e-2,
        ..AdamConfig::default()
    });
    let adamw = OptimizerConfig::new(OptimizerKind::AdamW, 3e-3);
    for config in [sgd, sgd_dampened, adam, adamw] {
        check_resume(&config);
    }
}

/// State of the wrong shape is refused with a message naming it.
#[test]
fn load_state_rejects_a_wrong_shape() {
    let (init, grads) = inputs();
    let config = OptimizerConfig::new(OptimizerKind::Adam, 1e-3);
    let (_, mut state) = run_harness(&config, &init, &grads[..1], |_, _| {});
    let slot = state.iter().position(|(n, _)| n == "b.exp_avg").unwrap();
    state[slot].1 = Tensor::zeros([1030], (Kind::Float, Device::Cpu));
    let params = init.iter().map(|(n, p)| (n.clone(), p.copy())).collect();
    let mut optimizer = tch_harness::optimizer(&config, params).unwrap();
    let err = optimizer.load_state(&state).unwrap_err().to_string();
    assert!(err.contains("b.exp_avg") && err.contains("1030"), "{err}");
}
