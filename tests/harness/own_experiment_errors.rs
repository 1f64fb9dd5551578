//! Malformed data for `--model/--data/--loss`: each problem is one clean `error: …` line naming
//! the key and the shapes, before any training and before the run directory exists.
use std::path::Path;

use tch::{Kind, Tensor};
use tch_harness::data::write_tensors;

use crate::common::{assert_clean_error, run_bin, tempdir};
use crate::own_fixture::{fixture, path};

fn floats(shape: &[i64]) -> Tensor {
    Tensor::randn(shape, (Kind::Float, tch::Device::Cpu))
}

fn labels(n: i64, classes: i64) -> Tensor {
    Tensor::randint(classes, [n], (Kind::Int64, tch::Device::Cpu))
}

fn with_value(t: Tensor, index: i64, value: f64) -> Tensor {
    let t = t.copy();
    let _ = t.flatten(0, -1).get(index).fill_(value);
    t
}

/// Trains `model` (a fixture loss name) with `--loss loss` on a data file holding `tensors`;
/// asserts a clean error naming every needle, and that no run directory was made.
fn assert_train_fails(model: &str, loss: &str, tensors: Vec<(&str, Tensor)>, needles: &[&str]) {
    let dir = tempdir();
    let data = dir.path().join("data.safetensors");
    let named: Vec<(String, Tensor)> = tensors
        .into_iter()
        .map(|(n, t)| (n.to_string(), t))
        .collect();
    write_tensors(&data, &named, None).expect("write data");
    assert_train_fails_on(&fixture().model(model), &path(&data), loss, needles);
}

pub fn assert_train_fails_on(model: &str, data: &str, loss: &str, needles: &[&str]) {
    let dir = tempdir();
    let out = dir.path().join("run");
    let run = run_bin(&[
        "train",
        "--model",
        model,
        "--data",
        data,
        "--loss",
        loss,
        "--epochs",
        "1",
        "--out",
        &path(&out),
    ]);
    for needle in needles {
        assert_clean_error(&run, needle);
    }
    assert!(!Path::new(&out).exists(), "a run directory was made");
}

/// Keys, sample counts, empty splits, scalars and per-sample shapes.
#[test]
fn data_keys_counts_and_shapes_give_clean_errors() {
    let x = || floats(&[203, 5]);
    let y = || floats(&[203, 1]);
    // Keys.
    assert_train_fails(
        "mse",
        "mse",
        vec![("inputs", x())],
        &["missing tensor 'targets'", "inputs Float [203, 5]"],
    );
    assert_train_fails(
        "mse",
        "mse",
        vec![("targets", y())],
        &["missing tensor 'inputs'"],
    );
    assert_train_fails(
        "mse",
        "mse",
        vec![
            ("inputs", x()),
            ("targets", y()),
            ("eval_inputs", floats(&[9, 5])),
        ],
        &["missing tensor 'eval_targets'"],
    );
    assert_train_fails(
        "mse",
        "mse",
        vec![("inputs", x()), ("targets", y()), ("eval_input", x())],
        &["unexpected tensor 'eval_input'"],
    );
    // Sample counts, empty data, scalars, per-sample shapes.
    assert_train_fails(
        "mse",
        "mse",
        vec![("inputs", x()), ("targets", floats(&[200, 1]))],
        &["inputs/targets", "203 samples [203, 5]", "200 [200, 1]"],
    );
    assert_train_fails(
        "mse",
        "mse",
        vec![
            ("inputs", x()),
            ("targets", y()),
            ("eval_inputs", floats(&[9, 5])),
            ("eval_targets", floats(&[8, 1])),
        ],
        &["eval_inputs/eval_targets", "9 samples [9, 5]"],
    );
    assert_train_fails(
        "mse",
        "mse",
        vec![("inputs", floats(&[0, 5])), ("targets", floats(&[0, 1]))],
        &["the dataset is empty"],
    );
    assert_train_fails(
        "mse",
        "mse",
        vec![("inputs", x()), ("targets", Tensor::from(1.0f32))],
        &["'targets' is a scalar"],
    );
    assert_train_fails(
        "mse",
        "mse",
        vec![
            ("inputs", x()),
            ("targets", y()),
            ("eval_inputs", floats(&[9, 6])),
            ("eval_targets", floats(&[9, 1])),
        ],
        &["'eval_inputs' [9, 6] and 'inputs' [203, 5]"],
    );
    assert_train_fails(
        "mse",
        "mse",
        vec![("inputs", floats(&[203, 7])), ("targets", y())],
        &[
            "the model fails on one sample [1, 7] of 'inputs' [203, 7]",
            "mat1 and mat2 shapes cannot be multiplied",
        ],
    );
    assert_train_fails(
        "mse",
        "mse",
        vec![("inputs", x()), ("targets", floats(&[203]))],
        &[
            "'targets' [203] does not fit the model's output [1, 1]",
            "needs targets [N, 1]",
        ],
    );
    assert_train_fails(
        "cross-entropy",
        "cross-entropy",
        vec![("inputs", x()), ("targets", labels(203, 4).view([203, 1]))],
        &["'targets' [203, 1] does not fit", "needs targets [N]"],
    );
}

/// Dtypes, class ranges and values.
#[test]
fn data_dtypes_classes_and_values_give_clean_errors() {
    let x = || floats(&[203, 5]);
    let y = || floats(&[203, 1]);
    // Dtypes: int64 inputs are token ids, which this model (nn.Linear) cannot take.
    assert_train_fails(
        "mse",
        "mse",
        vec![("inputs", x().to_kind(Kind::Int)), ("targets", y())],
        &[
            "'inputs' has dtype Int [203, 5]",
            "must be float",
            "or int64 (token ids)",
        ],
    );
    assert_train_fails(
        "mse",
        "mse",
        vec![("inputs", x().to_kind(Kind::Int64)), ("targets", y())],
        &[
            "the model fails on one sample [1, 5] of 'inputs' [203, 5]",
            "Long and Float",
        ],
    );
    assert_train_fails(
        "mse",
        "mse",
        vec![("inputs", x()), ("targets", labels(203, 4).view([203, 1]))],
        &[
            "'targets' has dtype Int64 [203, 1]",
            "--loss mse needs float targets",
        ],
    );
    assert_train_fails(
        "bce-with-logits",
        "bce-with-logits",
        vec![("inputs", x()), ("targets", y().gt(0.0))],
        &["'targets' has dtype Bool", "needs float targets"],
    );
    assert_train_fails(
        "cross-entropy",
        "cross-entropy",
        vec![("inputs", x()), ("targets", floats(&[203]))],
        &[
            "'targets' has dtype Float [203]",
            "needs int64 class indices",
        ],
    );
    assert_train_fails(
        "nll",
        "nll",
        vec![
            ("inputs", x()),
            ("targets", labels(203, 3).to_kind(Kind::Int)),
        ],
        &["'targets' has dtype Int [203]", "--loss nll needs int64"],
    );
    // Class indices out of range: 4 classes (output dimension 1 of the probe).
    assert_train_fails(
        "cross-entropy",
        "cross-entropy",
        vec![
            ("inputs", x()),
            ("targets", with_value(labels(203, 4), 17, 4.0)),
        ],
        &[
            "'targets' [203] holds class indices in [0, 4]",
            "outputs 4 classes",
            "[0, 3]",
        ],
    );
    assert_train_fails(
        "nll",
        "nll",
        vec![
            ("inputs", x()),
            ("targets", labels(203, 3)),
            ("eval_inputs", floats(&[9, 5])),
            ("eval_targets", with_value(labels(9, 3), 2, -1.0)),
        ],
        &["'eval_targets' [9] holds class indices in [-1,"],
    );
    // One output column is one class: label 1 is out of range.
    assert_train_fails(
        "mse",
        "cross-entropy",
        vec![("inputs", x()), ("targets", labels(203, 2))],
        &["outputs 1 classes", "must lie in [0, 0]"],
    );
    // NaN and infinity.
    assert_train_fails(
        "mse",
        "mse",
        vec![("inputs", with_value(x(), 12, f64::NAN)), ("targets", y())],
        &[
            "'inputs' [203, 5] holds 1 NaN/infinite value(s)",
            "in sample 2",
        ],
    );
    assert_train_fails(
        "mse",
        "mse",
        vec![
            ("inputs", x()),
            ("targets", with_value(y(), 7, f64::INFINITY)),
        ],
        &[
            "'targets' [203, 1] holds 1 NaN/infinite",
            "(inf) in sample 7",
        ],
    );
    assert_train_fails(
        "mse",
        "mse",
        vec![
            ("inputs", x()),
            ("targets", y()),
            (
                "eval_inputs",
                with_value(floats(&[9, 5]), 0, f64::NEG_INFINITY),
            ),
            ("eval_targets", floats(&[9, 1])),
        ],
        &["'eval_inputs' [9, 5] holds 1"],
    );
}
