//! A bounded, seeded fuzz over `train --config` files (issue 24): TOML and JSON files of real
//! keys (config.json's, the optimizer's inside `optimizer`) and a few unknown ones, with values
//! of every type — huge, negative, non-finite, strings, arrays, nested tables. Whatever the file
//! says, `train` ends with exit 0, 1 or 2 and on failure with exactly one `error: …` line. The
//! command line pins one epoch on one CPU thread, so a file
//! that asks for a billion epochs or threads cannot make the test run on.
use std::path::Path;

use toml::Value;

use crate::common::{run_bin, tempdir};
use crate::fuzz_flags::{assert_exit_or_one_error_line, Lcg};

/// The keys of config.json's `config` object (src/config/wire.rs), and one it does not know.
const KEYS: &[&str] = &[
    "experiment",
    "epochs",
    "batch_size",
    "optimizer",
    "param_groups",
    "seed",
    "device",
    "threads",
    "shuffle",
    "init",
    "model",
    "data",
    "loss",
    "checkpoint_every",
    "on_nonfinite",
    "loss_sync",
    "scheduler",
    "scheduler_interval",
    "clip_grad_norm",
    "clip_norm_type",
    "clip_grad_value",
    "accumulate",
    "trace",
    "ignore_index",
    "class_weights",
    "pos_weight",
    "label_smoothing",
    "no_such_key",
];

/// The keys of the `optimizer` table.
const OPTIMIZER_KEYS: &[&str] = &[
    "kind",
    "lr",
    "momentum",
    "dampening",
    "weight_decay",
    "nesterov",
    "maximize",
    "betas",
    "eps",
    "amsgrad",
    "alpha",
    "centered",
    "bogus",
];

/// Strings a careless or hostile file may hold.
const STRINGS: &[&str] = &[
    "",
    "adam",
    "sgd",
    "cpu",
    "cuda:99",
    "mse",
    "breast-cancer",
    "linear-regression",
    "inf",
    "nan",
    "1e39",
    "StepLR(step_size=0)",
    "ExponentialLR(gamma=1e308)",
    "Adam(lr=",
    "/dev/zero",
    "/",
    "../no/such/file.safetensors",
    "ndim=2",
    "*.bias",
    "épsilon ☃",
];

/// Numbers: huge, tiny, negative, zero, non-finite (TOML only: JSON writes them as null).
const FLOATS: &[f64] = &[
    0.0,
    -0.0,
    0.5,
    1.0,
    -1.0,
    1e-45,
    3.5e38,
    1e39,
    1e308,
    -1e308,
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
];
const INTEGERS: &[i64] = &[0, 1, 2, -1, 7, 64, 1 << 31, i64::MAX, i64::MIN];

/// A random value, nested at most `depth` more levels.
fn value(rng: &mut Lcg, depth: usize) -> Value {
    let kinds = if depth == 0 { 5 } else { 7 };
    match rng.below(kinds) {
        0 => Value::Integer(INTEGERS[rng.below(INTEGERS.len())]),
        1 => Value::Float(FLOATS[rng.below(FLOATS.len())]),
        2 => Value::String(STRINGS[rng.below(STRINGS.len())].to_string()),
        3 => Value::Boolean(rng.below(2) == 0),
        4 => Value::String("x".repeat(10_000)),
        5 => Value::Array((0..rng.below(4)).map(|_| value(rng, depth - 1)).collect()),
        _ => Value::Table(table(rng, OPTIMIZER_KEYS, depth - 1)),
    }
}

/// A table of 1 to 4 random keys of `keys`; `optimizer` gets a table of optimizer keys.
fn table(rng: &mut Lcg, keys: &[&str], depth: usize) -> toml::Table {
    let mut settings = toml::Table::new();
    for _ in 0..1 + rng.below(4) {
        let key = keys[rng.below(keys.len())];
        let value = match key {
            "optimizer" if rng.below(3) > 0 => Value::Table(table(rng, OPTIMIZER_KEYS, depth)),
            _ => value(rng, depth),
        };
        settings.insert(key.to_string(), value);
    }
    settings
}

/// Writes `table` as TOML or as JSON (where non-finite numbers become null); returns the path.
fn write(dir: &Path, case: usize, table: &toml::Table, as_toml: bool) -> String {
    let toml_text = toml::to_string(table).ok().filter(|_| as_toml);
    let (name, text) = match toml_text {
        Some(text) => (format!("case-{case}.toml"), text),
        None => (
            format!("case-{case}.json"),
            serde_json::to_string(table).expect("a table serialises"),
        ),
    };
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn fuzzed_config_files_end_in_one_line_or_success() {
    let dir = tempdir();
    let mut rng = Lcg(24);
    let cases: Vec<(String, Vec<String>)> = (0..128)
        .map(|case| {
            let table = table(&mut rng, KEYS, 2);
            let file = write(dir.path(), case, &table, rng.below(2) == 0);
            let out = dir.path().join(format!("run-{case}"));
            let args = [
                "train",
                "--config",
                &file,
                "--epochs",
                "1",
                "--threads",
                "1",
                "--device",
                "cpu",
                "--out",
                out.to_str().unwrap(),
            ];
            let described = format!("case {case}: {table}");
            (described, args.iter().map(|s| s.to_string()).collect())
        })
        .collect();
    // Each run mostly waits for libtorch to load: several at a time keep the test short.
    for chunk in cases.chunks(8) {
        std::thread::scope(|s| {
            for (described, args) in chunk {
                s.spawn(move || {
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    assert_exit_or_one_error_line(&run_bin(&args), described);
                });
            }
        });
    }
}
