//! Every optimizer's defaults are torch.optim's, read from PyTorch itself, whichever way the
//! optimizer is named: `--optimizer adadelta` (the name, with the harness's `--lr` default 0.05)
//! and `--optimizer "Adadelta()"` (PyTorch's spelling). The keyword flags' own defaults (`--eps`
//! 1e-8, `--momentum` 0, …) once leaked into every name: Adadelta trained with eps 1e-8 (PyTorch:
//! 1e-6), Adagrad with 1e-8 (1e-10), Muon with momentum 0 (0.95), Adafactor failed to start.
use serde_json::{Map, Value};
use tch_harness::optim::OptimizerKind;

use crate::common::{assert_clean_error, run_bin, run_python, tempdir, text};

/// Each torch.optim class's keyword defaults, as `inspect.signature` gives them (tuples as lists;
/// the implementation switches foreach/fused/capturable/differentiable left out).
const TORCH_DEFAULTS: &str = r#"
import inspect, json, sys, torch.optim
SWITCHES = {"foreach", "fused", "capturable", "differentiable"}
out = {}
for name in sys.argv[1:]:
    params = inspect.signature(getattr(torch.optim, name).__init__).parameters.values()
    out[name] = {p.name: list(p.default) if isinstance(p.default, tuple) else p.default
                 for p in params
                 if p.default is not inspect.Parameter.empty and p.name not in SWITCHES}
print(json.dumps(out))
"#;

/// Keywords of torch.optim the harness does not take (and refuses when given, below).
const NOT_TAKEN: &[(&str, &str)] = &[("Adam", "decoupled_weight_decay")];

/// The optimizer settings `train` wrote to config.json for `--optimizer spec`.
fn written(spec: &str) -> Map<String, Value> {
    let dir = tempdir();
    let out = dir.path().join("run");
    let mut args = vec![
        "train",
        "--experiment",
        "linear-regression",
        "--epochs",
        "1",
        "--threads",
        "1",
        "--optimizer",
        spec,
        "--out",
        out.to_str().unwrap(),
    ];
    if spec.eq_ignore_ascii_case("muon") || spec.starts_with("Muon(") {
        // Muon takes matrices only: the bias goes to a group of its own.
        args.extend(["--param-group", "ndim=1: SGD()"]);
    }
    let run = run_bin(&args);
    assert!(run.status.success(), "{spec}: {}", text(&run));
    let config: Value =
        serde_json::from_slice(&std::fs::read(out.join("config.json")).unwrap()).unwrap();
    let mut optimizer = config["config"]["optimizer"].as_object().unwrap().clone();
    optimizer.remove("kind");
    optimizer
}

/// Whether two JSON values are the same number(s), `true`/`false` or null.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        _ => a == b,
    }
}

#[test]
fn every_optimizer_takes_pytorchs_defaults_by_name_and_by_spelling() {
    let names: Vec<&str> = OptimizerKind::ALL.iter().map(|k| k.torch_name()).collect();
    let torch: Value = serde_json::from_str(run_python(TORCH_DEFAULTS, &names).trim()).unwrap();
    let mut wrong = Vec::new();
    for kind in OptimizerKind::ALL {
        let torch_name = kind.torch_name();
        let defaults = torch[torch_name].as_object().unwrap();
        for (form, spec) in [
            ("name", kind.name().to_string()),
            ("spelling", format!("{torch_name}()")),
        ] {
            let settings = written(&spec);
            for (key, value) in &settings {
                let expected = match (form, key.as_str()) {
                    ("name", "lr") => serde_json::json!(0.05), // the harness's documented --lr
                    _ => match defaults.get(key) {
                        Some(v) => v.clone(),
                        None => {
                            wrong.push(format!("{spec}: {key} is not a keyword of {torch_name}"));
                            continue;
                        }
                    },
                };
                if !same(value, &expected) {
                    wrong.push(format!(
                        "{spec}: {key} = {value}, PyTorch's default {expected}"
                    ));
                }
            }
            for key in defaults.keys() {
                let not_taken = NOT_TAKEN.contains(&(torch_name, key.as_str()));
                if !settings.contains_key(key) && !not_taken {
                    wrong.push(format!("{spec}: {torch_name}'s keyword {key} is missing"));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "defaults differ from PyTorch's:\n{}",
        wrong.join("\n")
    );
}

/// A keyword the harness does not take is refused, never dropped.
#[test]
fn keywords_not_taken_are_refused() {
    for (torch_name, key) in NOT_TAKEN {
        let spec = format!("{torch_name}({key}=True)");
        let out = run_bin(&["train", "--epochs", "1", "--optimizer", &spec]);
        assert_clean_error(&out, key);
    }
}

/// A keyword flag given explicitly still applies, also when it equals the flag's default.
#[test]
fn an_explicit_flag_at_its_default_value_applies() {
    let dir = tempdir();
    let out = dir.path().join("run");
    let run = run_bin(&[
        "train",
        "--experiment",
        "linear-regression",
        "--epochs",
        "1",
        "--optimizer",
        "adadelta",
        "--eps",
        "1e-8",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", text(&run));
    let config: Value =
        serde_json::from_slice(&std::fs::read(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["config"]["optimizer"]["eps"].as_f64(), Some(1e-8));
}
