//! `--init` (train) and `--weights` (eval) files that are not a state_dict of the user's model.
use std::path::Path;

use tch::Kind;
use tch_harness::data::{read_tensors, NamedTensors};

use super::corrupt::truncations;
use super::own_cases::{file_name, Cases, Task};
use super::tensor_edits::base;
use crate::own_fixture::{fixture, path};

/// `--init` (train) and `--weights` (eval) files that are not a state_dict of the model.
pub(super) fn init_cases(cases: &mut Cases, odd: &Path) {
    let fx = fixture();
    let (mse, data, _) = base("mse");
    let (ce, ce_data, _) = base("cross-entropy");
    let hidden8 = path(&odd.join("hidden-8.pt"));
    let reference = |loss: &str| path(&fx.dir.join(loss).join("reference.safetensors"));
    let doubled: NamedTensors = read_tensors(Path::new(&reference("mse")))
        .unwrap()
        .iter()
        .map(|(n, t)| (n.clone(), t.to_kind(Kind::Double)))
        .collect();
    let doubled = cases.data("init-double", &doubled);
    // (name, weights, model, data, loss, needle)
    let mut variants: Vec<(String, String, &str, &str, &str, String)> = vec![
        (
            "l1-model-weights".into(),
            reference("l1"),
            &mse,
            &data,
            "mse",
            "state_dict does not fit the model: shape/dtype mismatch: fc2.bias (file Float [2], \
             model Float [1]), fc2.weight (file Float [2, 16], model Float [1, 16])"
                .into(),
        ),
        (
            "16-unit-weights-for-8-unit-model".into(),
            reference("mse"),
            &hidden8,
            &data,
            "mse",
            "shape/dtype mismatch: fc1.bias (file Float [16], model Float [8])".into(),
        ),
        (
            "cross-entropy-model-weights".into(),
            reference("cross-entropy"),
            &mse,
            &data,
            "mse",
            "missing keys: fc1.bias, fc1.weight, fc2.bias, fc2.weight; unexpected keys: \
             body.0.bias"
                .into(),
        ),
        (
            "mse-weights-for-batch-norm-model".into(),
            reference("mse"),
            &ce,
            &ce_data,
            "cross-entropy",
            "missing keys: body.0.bias, body.0.weight".into(),
        ),
        (
            "double-weights".into(),
            doubled,
            &mse,
            &data,
            "mse",
            "shape/dtype mismatch: fc1.bias (file Double [16], model Float [16])".into(),
        ),
        (
            "data-file".into(),
            data.clone(),
            &mse,
            &data,
            "mse",
            "unexpected keys: eval_inputs, eval_targets, inputs, targets".into(),
        ),
        (
            "torchscript-module".into(),
            mse.clone(),
            &mse,
            &data,
            "mse",
            "model.pt: a TorchScript archive (torch.jit.save), not a state_dict".into(),
        ),
        (
            "torch-save-16-unit-state-dict-for-8-unit-model".into(),
            path(&fx.dir.join("bad/state_dict.pt")),
            &hidden8,
            &data,
            "mse",
            "shape/dtype mismatch: fc1.bias (file Float [16], model Float [8])".into(),
        ),
    ];
    let saved = std::fs::read(fx.dir.join("bad/state_dict.pt")).unwrap();
    let cut = cases.file("init-cut.pt", &saved[..saved.len() / 2]);
    variants.push((
        "torch-save-cut-in-half".into(),
        cut,
        &mse,
        &data,
        "mse",
        "init-cut.pt: not a valid torch.save zip archive".into(),
    ));
    let valid = std::fs::read(reference("mse")).unwrap();
    for (name, bytes) in truncations(&valid, 4).into_iter().skip(1) {
        let file = cases.file(&format!("init-{name}.safetensors"), &bytes);
        let needle = format!("{}: not a valid safetensors file", file_name(&file));
        variants.push((
            format!("reference-{name}"),
            file,
            &mse,
            &data,
            "mse",
            needle,
        ));
    }
    for (i, (name, weights, model, data, loss, needle)) in variants.iter().enumerate() {
        let task = Task::new(model, data, loss);
        let init = ["--init", weights.as_str()];
        cases.train(
            &format!("--init {name}"),
            Task {
                extra: &init,
                ..task
            },
            needle,
        );
        if i % 2 == 0 {
            let eval = ["--weights", weights.as_str()];
            cases.eval(
                &format!("--weights {name}"),
                Task {
                    extra: &eval,
                    ..task
                },
                needle,
            );
        }
    }
}
