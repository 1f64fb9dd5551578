//! `state` / `load_state` of the ten further optimizers: state saved after k steps (through a
//! safetensors file) and loaded into a fresh optimizer continues exactly as the uninterrupted
//! run; missing or mis-shaped state is refused naming the entry.
use serde_json::{json, Value};
use tch::{Device, Kind, Tensor};
use tch_harness::data::{read_tensors, write_tensors, NamedTensors};

use crate::bits::{assert_named_bits_eq, same_bits};
use crate::common::tempdir;
use crate::optim_more_cases::{build, run_steps, shape, GENERAL, MATRIX};

const STEPS: usize = 20;
const SAVED_AFTER: usize = 9;

/// Deterministic parameters and per-step gradients of changing scale (float64 for `q…`), without
/// libtorch's global generator.
fn inputs(names: &[&str]) -> (NamedTensors, Vec<NamedTensors>) {
    let wave = |name: &str, phase: f64, scale: f64| {
        let shape = shape(name);
        let kind = if name.starts_with('q') {
            Kind::Double
        } else {
            Kind::Float
        };
        let n: i64 = shape.iter().product();
        (Tensor::arange(n, (kind, Device::Cpu)) * 0.731 + phase)
            .sin()
            .reshape(shape)
            * scale
    };
    let init = names
        .iter()
        .map(|n| (n.to_string(), wave(n, 0.5, 0.8)))
        .collect();
    let grads = (1..=STEPS)
        .map(|k| {
            let scale = [1.0, 0.01, 5.0, 0.3, 1e-4, 2.0][k % 6];
            names
                .iter()
                .map(|n| (n.to_string(), wave(n, k as f64 * 1.3, scale)))
                .collect()
        })
        .collect();
    (init, grads)
}

/// A config for each optimizer with most of its options on.
fn resumable() -> Vec<(&'static str, Value)> {
    vec![
        ("adadelta", json!({"weight_decay": 0.01, "maximize": true})),
        ("adafactor", json!({"weight_decay": 0.01, "lr": 0.5})),
        (
            "adagrad",
            json!({"lr_decay": 0.01, "initial_accumulator_value": 0.1}),
        ),
        ("adamax", json!({"weight_decay": 0.01})),
        ("asgd", json!({"t0": 4.0, "lambd": 0.01})),
        (
            "muon",
            json!({"nesterov": true, "adjust_lr_fn": "match_rms_adamw"}),
        ),
        (
            "nadam",
            json!({"weight_decay": 0.01, "decoupled_weight_decay": true}),
        ),
        ("radam", json!({"weight_decay": 0.01})),
        ("rmsprop", json!({"centered": true, "momentum": 0.9})),
        ("rprop", json!({"etas": [0.4, 1.3]})),
    ]
}

fn params_for(optimizer: &str) -> &'static [&'static str] {
    if optimizer == "muon" {
        MATRIX
    } else {
        GENERAL
    }
}

fn check_resume(optimizer: &str, config: &Value) {
    let (init, grads) = inputs(params_for(optimizer));
    let make = |params| build(optimizer, config, params).unwrap();
    let mut uninterrupted = Vec::new();
    let (_, final_state) = run_steps(make, &init, &grads, None, |_, params| {
        uninterrupted.push(
            params
                .iter()
                .map(|(n, p)| (n.clone(), p.copy()))
                .collect::<Vec<_>>(),
        );
    });

    // k steps, then parameters and optimizer state to files, as a checkpoint would hold them.
    let dir = tempdir();
    let (params_k, state_k) = run_steps(make, &init, &grads[..SAVED_AFTER], None, |_, _| {});
    let (params_file, state_file) = (dir.path().join("params.st"), dir.path().join("state.st"));
    write_tensors(&params_file, &params_k, None).unwrap();
    write_tensors(&state_file, &state_k, None).unwrap();

    // A fresh optimizer over the reloaded parameters, with the reloaded state.
    let reloaded: NamedTensors = read_tensors(&params_file).unwrap();
    let saved = read_tensors(&state_file).unwrap();
    let resumed = |params| {
        let mut optimizer = build(optimizer, config, params).unwrap();
        optimizer.load_state(&saved).unwrap();
        optimizer
    };
    let (_, state) = run_steps(
        resumed,
        &reloaded,
        &grads[SAVED_AFTER..],
        None,
        |k, params| {
            let k = SAVED_AFTER + k;
            let what = format!("{optimizer} {config}: resumed, step {k}");
            assert_named_bits_eq(&what, params, &uninterrupted[k - 1]);
        },
    );
    assert_named_bits_eq(&format!("{optimizer}: final state"), &state, &final_state);

    // The state matters: without it the continuation differs (so this test can fail).
    let (fresh, _) = run_steps(make, &params_k, &grads[SAVED_AFTER..], None, |_, _| {});
    let differs = fresh
        .iter()
        .zip(&uninterrupted[STEPS - 1])
        .any(|((_, a), (_, b))| !same_bits(a, b));
    assert!(
        differs,
        "{optimizer}: a fresh optimizer gave the same result"
    );
}

/// Ten optimizers: k steps, `state()` to a file, a fresh optimizer with `load_state`, the rest
/// of the steps — the same bits as one uninterrupted run, parameters and state.
#[test]
fn load_state_continues_bit_for_bit() {
    for (optimizer, config) in resumable() {
        check_resume(optimizer, &config);
    }
}

/// One step's state, with `edit` applied, loaded into a fresh optimizer: the error.
fn load_error(optimizer: &str, config: Value, edit: impl Fn(&mut NamedTensors)) -> String {
    let (init, grads) = inputs(params_for(optimizer));
    let make = |params| build(optimizer, &config, params).unwrap();
    let (_, mut state) = run_steps(make, &init, &grads[..1], None, |_, _| {});
    edit(&mut state);
    let mut fresh = make(init.iter().map(|(n, p)| (n.clone(), p.copy())).collect());
    fresh.load_state(&state).unwrap_err().to_string()
}

fn replace(state: &mut NamedTensors, key: &str, with: Tensor) {
    let slot = state.iter().position(|(n, _)| n == key).expect(key);
    state[slot].1 = with;
}

/// State of the wrong shape, or without an entry the options need, is refused naming it.
#[test]
fn load_state_rejects_missing_and_misshaped_entries() {
    let zeros = |shape: &[i64]| Tensor::zeros(shape, (Kind::Float, Device::Cpu));
    let err = load_error("adadelta", json!({}), |s| {
        replace(s, "c1031.acc_delta", zeros(&[1030]))
    });
    assert!(
        err.contains("c1031.acc_delta") && err.contains("1030"),
        "{err}"
    );

    let err = load_error("adafactor", json!({}), |s| {
        replace(s, "b4x3x5.row_var", zeros(&[4, 3]))
    });
    assert!(
        err.contains("b4x3x5.row_var") && err.contains("[4, 3, 1]"),
        "{err}"
    );

    let err = load_error("asgd", json!({}), |s| replace(s, "a7.eta", zeros(&[1])));
    assert!(err.contains("a7.eta"), "{err}");

    let err = load_error("rmsprop", json!({"momentum": 0.9}), |s| {
        s.retain(|(n, _)| n != "q1029.momentum_buffer");
    });
    assert!(
        err.contains("q1029.momentum_buffer") && err.contains("missing"),
        "{err}"
    );

    let err = load_error("adagrad", json!({}), |s| s.retain(|(n, _)| n != "a1.sum"));
    assert!(err.contains("a1.sum") && err.contains("missing"), "{err}");

    let err = load_error("muon", json!({}), |s| {
        replace(s, "f3x5.momentum_buffer", zeros(&[5, 3]))
    });
    assert!(err.contains("f3x5.momentum_buffer"), "{err}");
}

/// Muon takes only 2-D parameters; the others take any shape.
#[test]
fn muon_refuses_parameters_that_are_not_matrices() {
    let params = |shape: &[i64]| {
        vec![(
            "fc.bias".to_string(),
            Tensor::zeros(shape, (Kind::Float, Device::Cpu)),
        )]
    };
    let err = build("muon", &json!({}), params(&[3]))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("2D") && err.contains("fc.bias") && err.contains("[3]"),
        "{err}"
    );
    assert!(build("muon", &json!({}), params(&[2, 3, 4])).is_err());
    assert!(build("muon", &json!({}), params(&[2, 3])).is_ok());
}
