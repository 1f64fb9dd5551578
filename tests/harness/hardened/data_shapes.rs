//! `--data` tensors whose shapes do not fit the model or each other, and missing or unknown keys.
use tch::{Kind, Tensor};
use tch_harness::data::NamedTensors;

use super::own_cases::{Cases, Task};
use super::tensor_edits::{base, get, with, with_pair, without};

/// Shapes that do not fit the model or each other; empty splits, scalars, missing and unknown
/// keys.
pub(super) fn shape_cases(cases: &mut Cases) {
    let (mse, _, data) = base("mse");
    let (ce, _, ce_data) = base("cross-entropy");
    let y = get(&data, "targets");
    let ex = get(&data, "eval_inputs");
    let floats = |shape: &[i64]| Tensor::randn(shape, (Kind::Float, tch::Device::Cpu));
    // Without a held-out split, inputs of another shape reach the model's probe.
    let no_eval = without(&without(&data, "eval_inputs"), "eval_targets");
    type Variant = (&'static str, NamedTensors, String);
    let variants: Vec<Variant> =
        vec![
        (
            "targets-N-2",
            with_pair(
                &data,
                [("targets", floats(&[203, 2])), ("eval_targets", floats(&[61, 2]))],
            ),
            "'targets' [203, 2] does not fit the model's output [1, 1] for one sample of \
             'inputs' [203, 5]: --loss mse needs targets [N, 1]"
                .into(),
        ),
        (
            "targets-N",
            with(&data, "targets", y.view([203])),
            "'targets' [203] does not fit the model's output [1, 1]".into(),
        ),
        (
            "targets-N-1-1",
            with(&data, "targets", y.view([203, 1, 1])),
            "'targets' [203, 1, 1] does not fit the model's output [1, 1]".into(),
        ),
        (
            "targets-N-0",
            with(&data, "targets", floats(&[203, 0])),
            "'targets' [203, 0] does not fit the model's output [1, 1]".into(),
        ),
        (
            "eval-targets-N-2",
            with(&data, "eval_targets", floats(&[61, 2])),
            "'eval_targets' [61, 2] does not fit the model's output [1, 1] for one sample of \
             'eval_inputs' [61, 5]"
                .into(),
        ),
        (
            "eval-inputs-6-features",
            with(&data, "eval_inputs", floats(&[61, 6])),
            "'eval_inputs' [61, 6] and 'inputs' [203, 5] differ in the shape of one sample".into(),
        ),
        (
            "eval-inputs-extra-dim",
            with(&data, "eval_inputs", ex.view([61, 5, 1])),
            "'eval_inputs' [61, 5, 1] and 'inputs' [203, 5] differ in the shape of one sample"
                .into(),
        ),
        (
            "inputs-7-features",
            with(&data, "inputs", floats(&[203, 7])),
            "'eval_inputs' [61, 5] and 'inputs' [203, 7] differ".into(),
        ),
        (
            "inputs-7-features-no-eval",
            with(&no_eval, "inputs", floats(&[203, 7])),
            "the model fails on one sample [1, 7] of 'inputs' [203, 7]: TorchScript forward: \
             RuntimeError: mat1 and mat2 shapes cannot be multiplied (1x7 and 5x16)"
                .into(),
        ),
        (
            "inputs-1d",
            with(&no_eval, "inputs", floats(&[203])),
            "the model fails on one sample [1] of 'inputs' [203]".into(),
        ),
        (
            "inputs-0-features",
            with(&no_eval, "inputs", floats(&[203, 0])),
            "the model fails on one sample [1, 0] of 'inputs' [203, 0]".into(),
        ),
        (
            "targets-fewer-samples",
            with(&data, "targets", y.narrow(0, 0, 200)),
            "inputs/targets: inputs have 203 samples [203, 5] but targets have 200 [200, 1]".into(),
        ),
        (
            "eval-targets-more-samples",
            with(&data, "eval_targets", floats(&[62, 1])),
            "eval_inputs/eval_targets: inputs have 61 samples [61, 5] but targets have 62 [62, 1]"
                .into(),
        ),
        (
            "zero-samples",
            with_pair(&data, [("inputs", floats(&[0, 5])), ("targets", floats(&[0, 1]))]),
            "inputs/targets: the dataset is empty".into(),
        ),
        (
            "zero-eval-samples",
            with_pair(
                &data,
                [("eval_inputs", floats(&[0, 5])), ("eval_targets", floats(&[0, 1]))],
            ),
            "eval_inputs/eval_targets: the dataset is empty".into(),
        ),
        (
            "missing-targets",
            without(&data, "targets"),
            "missing tensor 'targets' (the file holds eval_inputs Float [61, 5], eval_targets \
             Float [61, 1], inputs Float [203, 5])"
                .into(),
        ),
        (
            "missing-eval-targets",
            without(&data, "eval_targets"),
            "missing tensor 'eval_targets' to go with 'eval_inputs'".into(),
        ),
        (
            "only-eval-split",
            without(&without(&data, "inputs"), "targets"),
            "missing tensor 'inputs'".into(),
        ),
        (
            "unknown-key",
            with(&data, "labels", y.shallow_clone()),
            "unexpected tensor 'labels' (expected inputs, targets, eval_inputs, eval_targets"
                .into(),
        ),
    ];
    for (i, (name, tensors, needle)) in variants.into_iter().enumerate() {
        let file = cases.data(&format!("shape-{name}"), &tensors);
        let task = Task::new(&mse, &file, "mse");
        cases.add(name, task, &needle, i % 4 == 0);
    }
    for (i, key) in ["inputs", "targets", "eval_inputs", "eval_targets"]
        .into_iter()
        .enumerate()
    {
        let name = format!("{key}-scalar");
        let file = cases.data(&name, &with(&data, key, Tensor::from(1.5f32)));
        let needle = format!("'{key}' is a scalar []; it needs a sample dimension [N, …]");
        cases.add(&name, Task::new(&mse, &file, "mse"), &needle, i == 1);
    }
    // Class-index targets with a class dimension, for cross-entropy.
    let labels = get(&ce_data, "targets");
    let file = cases.data(
        "shape-labels-N-1",
        &with(&ce_data, "targets", labels.view([203, 1])),
    );
    cases.both(
        "labels-N-1",
        Task::new(&ce, &file, "cross-entropy"),
        "'targets' [203, 1] does not fit the model's output [1, 4] for one sample of 'inputs' \
         [203, 5]: --loss cross-entropy needs targets [N]",
    );
}
