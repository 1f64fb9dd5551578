//! The cases of the ten further optimizers (each option on and off, non-default numbers), the
//! optimizer a case names, and the loop that feeds it gradients. Shared by `optim_parity_more`
//! (against `torch.optim`) and `optim_state_more` (resuming from saved state).
use serde::Serialize;
use serde_json::{json, Value};
use tch::Tensor;
use tch_harness::data::NamedTensors;
use tch_harness::optim::{
    Adadelta, AdadeltaConfig, Adafactor, AdafactorConfig, Adagrad, AdagradConfig, Adamax,
    AdamaxConfig, Asgd, AsgdConfig, Muon, MuonConfig, NAdam, NAdamConfig, RAdam, RAdamConfig,
    RMSprop, RMSpropConfig, Rprop, RpropConfig,
};
use tch_harness::Optimizer;

/// Parameters by name: float32, except `q…` (float64). 1, 7, 1031 and 1221 elements run the
/// vector kernels and their scalar tails; `b4x3x5` is a 3-D parameter (Adafactor factors its
/// last two dimensions).
pub const GENERAL: &[&str] = &["a1", "a7", "b4x3x5", "c1031", "d33x37", "q1029", "q7x4"];
/// 2-D only, for Muon: wide and tall (transposed in Newton–Schulz), large and below the
/// 400-multiply-add threshold of libtorch's naive batched matmul.
pub const MATRIX: &[&str] = &["d33x37", "e24x16", "f3x5", "q5x12", "q7x4"];
/// Float64 only: Adafactor's `eps1 = finfo(dtype).eps` comes from the first parameter.
pub const DOUBLE: &[&str] = &["q1029", "q7x4"];

/// The shape a parameter's name spells (`b4x3x5` → `[4, 3, 5]`).
pub fn shape(name: &str) -> Vec<i64> {
    name[1..].split('x').map(|d| d.parse().unwrap()).collect()
}

/// One run: an optimizer by its lowercase PyTorch name, its options as JSON (the field names are
/// PyTorch's keywords, so Python passes them on as `**config`), the parameters, and an optional
/// learning-rate change `(k, lr)` before step `k + 1`.
#[derive(Debug, Clone, Serialize)]
pub struct Case {
    pub optimizer: &'static str,
    pub config: Value,
    pub params: &'static [&'static str],
    pub lr_at: Option<usize>,
    pub lr_to: Option<f64>,
}

pub fn case(optimizer: &'static str, config: impl Serialize) -> Case {
    let params = if optimizer == "muon" { MATRIX } else { GENERAL };
    Case {
        optimizer,
        config: serde_json::to_value(config).unwrap(),
        params,
        lr_at: None,
        lr_to: None,
    }
}

impl Case {
    pub fn on(mut self, params: &'static [&'static str]) -> Case {
        self.params = params;
        self
    }

    pub fn lr_change(mut self, at: usize, lr: f64) -> Case {
        (self.lr_at, self.lr_to) = (Some(at), Some(lr));
        self
    }
}

/// Every option of each optimizer, on and off.
pub fn cases(optimizer: &'static str) -> Vec<Case> {
    let c = |config: Value| case(optimizer, config);
    match optimizer {
        "adadelta" => vec![
            case("adadelta", AdadeltaConfig::default()),
            c(json!({"weight_decay": 0.01})),
            c(json!({"maximize": true})),
            c(json!({"lr": 0.5, "rho": 0.5, "eps": 1e-4, "weight_decay": 0.1, "maximize": true})),
        ],
        "adafactor" => vec![
            case("adafactor", AdafactorConfig::default()),
            case("adafactor", AdafactorConfig::default()).on(DOUBLE),
            c(json!({"weight_decay": 0.05})),
            c(json!({"maximize": true})),
            c(json!({"lr": 0.5, "eps": [null, 1e-4], "beta2_decay": -0.5})),
            c(json!({"eps": [1e-20, 1e-2], "d": 2.0, "weight_decay": 0.01, "maximize": true})),
        ],
        "adagrad" => vec![
            case("adagrad", AdagradConfig::default()),
            c(json!({"lr_decay": 0.01})),
            c(json!({"weight_decay": 0.1})),
            c(json!({"initial_accumulator_value": 0.1, "eps": 1e-6})),
            c(json!({"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.01,
                     "initial_accumulator_value": 0.5, "maximize": true})),
        ],
        "adamax" => vec![
            case("adamax", AdamaxConfig::default()),
            c(json!({"weight_decay": 0.01})),
            c(json!({"maximize": true})),
            c(
                json!({"lr": 0.01, "betas": [0.8, 0.99], "eps": 1e-6, "weight_decay": 0.1,
                     "maximize": true}),
            ),
        ],
        "asgd" => vec![
            case("asgd", AsgdConfig::default()),
            c(json!({"t0": 5.0, "lambd": 1e-2, "alpha": 0.5})),
            c(json!({"weight_decay": 0.01, "t0": 10.0})),
            c(
                json!({"lr": 0.05, "t0": 3.0, "lambd": 0.1, "alpha": 1.0, "weight_decay": 0.1,
                     "maximize": true}),
            ),
        ],
        "muon" => vec![
            case("muon", MuonConfig::default()),
            c(json!({"nesterov": false})),
            c(json!({"weight_decay": 0.0, "momentum": 0.9})),
            c(json!({"adjust_lr_fn": "match_rms_adamw", "lr": 0.01})),
            c(
                json!({"adjust_lr_fn": "original", "ns_steps": 3, "eps": 1e-5, "lr": 0.02,
                     "ns_coefficients": [2.0, -1.5, 0.5]}),
            ),
        ],
        "nadam" => vec![
            case("nadam", NAdamConfig::default()),
            c(json!({"weight_decay": 0.01})),
            c(json!({"weight_decay": 0.01, "decoupled_weight_decay": true})),
            c(json!({"decoupled_weight_decay": true, "maximize": true})),
            c(
                json!({"lr": 0.01, "betas": [0.8, 0.99], "eps": 1e-6, "momentum_decay": 0.01,
                     "weight_decay": 0.1, "maximize": true}),
            ),
        ],
        "radam" => vec![
            case("radam", RAdamConfig::default()),
            c(json!({"weight_decay": 0.01})),
            c(json!({"weight_decay": 0.01, "decoupled_weight_decay": true})),
            c(json!({"lr": 0.01, "betas": [0.8, 0.99], "eps": 1e-6, "maximize": true})),
        ],
        "rmsprop" => vec![
            case("rmsprop", RMSpropConfig::default()),
            c(json!({"centered": true})),
            c(json!({"momentum": 0.9})),
            c(json!({"centered": true, "momentum": 0.5})),
            c(json!({"weight_decay": 0.01, "alpha": 0.9, "eps": 1e-6})),
            c(json!({"centered": true, "momentum": 0.9, "weight_decay": 0.1, "maximize": true})),
        ],
        "rprop" => vec![
            case("rprop", RpropConfig::default()),
            c(json!({"etas": [0.3, 1.5], "step_sizes": [1e-4, 0.1]})),
            c(json!({"maximize": true})),
            c(
                json!({"lr": 0.1, "etas": [0.7, 1.1], "step_sizes": [1e-8, 1.0],
                     "maximize": true}),
            ),
        ],
        other => panic!("no cases for {other}"),
    }
}

/// The cases `set_lr` is checked with: one per optimizer, the learning rate changed after step
/// 10 (for Rprop it only seeds new state, so nothing changes; that is what Python does too).
pub fn lr_change_cases() -> Vec<Case> {
    let at = |optimizer, lr: f64, to: f64| {
        case(optimizer, serde_json::json!({"lr": lr})).lr_change(10, to)
    };
    vec![
        at("adadelta", 1.0, 0.3),
        at("adafactor", 0.05, 0.2),
        at("adagrad", 0.01, 0.05),
        at("adamax", 2e-3, 1e-2),
        at("asgd", 0.01, 0.002),
        at("muon", 1e-3, 5e-3),
        at("nadam", 2e-3, 5e-4),
        at("radam", 1e-3, 1e-2),
        at("rmsprop", 0.01, 0.001),
        at("rprop", 0.01, 0.1),
    ]
}

/// Configs `torch.optim` refuses (at construction, or at the first step for Muon's `ns_steps`).
pub fn invalid_configs() -> Vec<(&'static str, serde_json::Value)> {
    use serde_json::json;
    vec![
        ("adadelta", json!({"lr": -0.1})),
        ("adadelta", json!({"rho": 1.5})),
        ("adadelta", json!({"eps": -1.0})),
        ("adadelta", json!({"weight_decay": -0.1})),
        ("adafactor", json!({"lr": -0.1})),
        ("adafactor", json!({"beta2_decay": 0.5})),
        ("adafactor", json!({"eps": [-1.0, 1e-3]})),
        ("adafactor", json!({"eps": [null, -1.0]})),
        ("adafactor", json!({"d": 0.5})),
        ("adafactor", json!({"weight_decay": -0.1})),
        ("adagrad", json!({"lr_decay": -0.1})),
        ("adagrad", json!({"initial_accumulator_value": -0.1})),
        ("adagrad", json!({"eps": -1.0})),
        ("adamax", json!({"betas": [1.0, 0.999]})),
        ("adamax", json!({"betas": [0.9, -0.1]})),
        ("asgd", json!({"lr": -0.1})),
        ("asgd", json!({"weight_decay": -0.1})),
        ("muon", json!({"lr": -0.1})),
        ("muon", json!({"momentum": -0.1})),
        ("muon", json!({"weight_decay": -0.1})),
        ("muon", json!({"adjust_lr_fn": "cosine"})),
        ("muon", json!({"ns_steps": 100})),
        ("nadam", json!({"momentum_decay": -0.1})),
        ("nadam", json!({"betas": [0.9, 1.5]})),
        ("radam", json!({"eps": -1.0})),
        ("rmsprop", json!({"momentum": -0.1})),
        ("rmsprop", json!({"alpha": -0.1})),
        ("rprop", json!({"etas": [1.5, 1.2]})),
        ("rprop", json!({"etas": [0.5, 0.9]})),
    ]
}

/// The optimizers, by their lowercase PyTorch names.
pub const OPTIMIZERS: [&str; 10] = [
    "adadelta",
    "adafactor",
    "adagrad",
    "adamax",
    "asgd",
    "muon",
    "nadam",
    "radam",
    "rmsprop",
    "rprop",
];

/// The harness's optimizer a case names, or its error.
pub fn build(
    optimizer: &str,
    config: &Value,
    params: Vec<(String, Tensor)>,
) -> tch_harness::Result<Box<dyn Optimizer>> {
    fn make<C: serde::de::DeserializeOwned, O: Optimizer + 'static>(
        config: &Value,
        params: Vec<(String, Tensor)>,
        new: impl FnOnce(&C, Vec<(String, Tensor)>) -> tch_harness::Result<O>,
    ) -> tch_harness::Result<Box<dyn Optimizer>> {
        let config: C = serde_json::from_value(config.clone()).expect("a config");
        Ok(Box::new(new(&config, params)?))
    }
    match optimizer {
        "adadelta" => make(config, params, Adadelta::new),
        "adafactor" => make(config, params, Adafactor::new),
        "adagrad" => make(config, params, Adagrad::new),
        "adamax" => make(config, params, Adamax::new),
        "asgd" => make(config, params, Asgd::new),
        "muon" => make(config, params, Muon::new),
        "nadam" => make(config, params, NAdam::new),
        "radam" => make(config, params, RAdam::new),
        "rmsprop" => make(config, params, RMSprop::new),
        "rprop" => make(config, params, Rprop::new),
        other => panic!("unknown optimizer {other}"),
    }
}

/// Steps the optimizer `make` builds through `grads` from `init`, feeding each gradient as
/// `(p * g).sum().backward()` after `zero_grad()`, calling `set_lr(lr)` before step `k + 1`
/// where `lr_change` is `Some((k, lr))`; `after_step(k, params)` sees every step. Returns the
/// final parameters and state.
pub fn run_steps(
    make: impl FnOnce(Vec<(String, Tensor)>) -> Box<dyn Optimizer>,
    init: &[(String, Tensor)],
    grads: &[NamedTensors],
    lr_change: Option<(usize, f64)>,
    mut after_step: impl FnMut(usize, &[(String, Tensor)]),
) -> (NamedTensors, NamedTensors) {
    let params: NamedTensors = init
        .iter()
        .map(|(n, t)| (n.clone(), t.detach().copy().set_requires_grad(true)))
        .collect();
    let mut optimizer = make(
        params
            .iter()
            .map(|(n, p)| (n.clone(), p.shallow_clone()))
            .collect(),
    );
    for (k, step_grads) in grads.iter().enumerate() {
        if let Some((_, lr)) = lr_change.filter(|(at, _)| *at == k) {
            optimizer.set_lr(lr).unwrap();
            assert_eq!(optimizer.lr(), lr);
        }
        optimizer.zero_grad().unwrap();
        for (name, p) in &params {
            let g = &step_grads.iter().find(|(n, _)| n == name).unwrap().1;
            (p * g).sum(p.kind()).backward();
        }
        optimizer.step().unwrap();
        after_step(k + 1, &params);
    }
    (params, optimizer.state())
}
