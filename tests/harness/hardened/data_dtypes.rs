//! `--data` tensors of a dtype the loss or the model cannot take.
use tch::Kind;
use tch_harness::data::NamedTensors;

use super::own_cases::{Cases, Task};
use super::tensor_edits::{base, get, retyped};

/// Inputs and targets of dtypes the loss or the model cannot take. Inputs must be float or int64
/// token ids (and the model must take their dtype); float targets must have the model output's dtype
/// (libtorch's backward fails on mixed dtypes); class-index targets must be int64; both splits
/// must have the same dtypes.
pub(super) fn dtype_cases(cases: &mut Cases) {
    let (mse, _, mse_data) = base("mse");
    let (ce, _, ce_data) = base("cross-entropy");
    let (nll, _, nll_data) = base("nll");
    let (bce, _, bce_data) = base("bce-with-logits");
    let (l1, _, l1_data) = base("l1");
    let float = |kind: Kind, key: &str, loss: &str, shape: &str| {
        if key == "inputs" {
            format!(
                "the model fails on one sample [1, 5] of 'inputs' [203, 5]: TorchScript \
                 forward: RuntimeError: mat1 and mat2 must have the same dtype, but got {kind:?} \
                 and Float"
            )
        } else {
            format!(
                "'targets' has dtype {kind:?} {shape} but the model outputs Float; --loss {loss} \
                 needs targets of the output's dtype"
            )
        }
    };
    let integer = |kind: Kind, key: &str, loss: &str, shape: &str| match (key, loss) {
        // int64 inputs are token ids: the file takes them, this model (nn.Linear) does not.
        ("inputs", _) if kind == Kind::Int64 => format!(
            "the model fails on one sample [1, 5] of 'inputs' {shape}: TorchScript forward: \
             RuntimeError: mat1 and mat2 must have the same dtype"
        ),
        ("inputs" | "eval_inputs", _) => {
            format!("'{key}' has dtype {kind:?} {shape}; inputs must be float")
        }
        (_, "cross-entropy" | "nll") => {
            format!("'targets' has dtype {kind:?} {shape}; --loss {loss} needs int64 class indices")
        }
        _ => format!("'targets' has dtype {kind:?} {shape}; --loss {loss} needs float targets"),
    };
    let mixed = |kind: Kind, key: &str, _: &str, shape: &str| {
        let train = &key["eval_".len()..];
        format!("'{key}' has dtype {kind:?} {shape} but '{train}' Float; both splits need the same dtype")
    };
    type Needle = fn(Kind, &str, &str, &str) -> String;
    // (model, data, loss, key, dtype, both splits, the message)
    #[rustfmt::skip]
    let variants: Vec<(&str, &NamedTensors, &str, &str, Kind, bool, Needle)> = vec![
        // Inputs that are not float.
        (&mse, &mse_data, "mse", "inputs", Kind::Int64, true, integer),
        (&mse, &mse_data, "mse", "inputs", Kind::Uint8, false, integer),
        (&mse, &mse_data, "mse", "inputs", Kind::Bool, false, integer),
        (&mse, &mse_data, "mse", "eval_inputs", Kind::Int, false, integer),
        // Float inputs the model's float32 weights cannot take.
        (&mse, &mse_data, "mse", "inputs", Kind::Half, true, float),
        (&mse, &mse_data, "mse", "inputs", Kind::BFloat16, true, float),
        (&mse, &mse_data, "mse", "inputs", Kind::Double, true, float),
        // Float targets of another float dtype than the output.
        (&mse, &mse_data, "mse", "targets", Kind::Double, true, float),
        (&mse, &mse_data, "smooth-l1", "targets", Kind::Half, true, float),
        (&l1, &l1_data, "l1", "targets", Kind::BFloat16, true, float),
        (&bce, &bce_data, "bce-with-logits", "targets", Kind::Double, true, float),
        // A held-out split of another dtype than the training split.
        (&mse, &mse_data, "mse", "eval_inputs", Kind::Double, false, mixed),
        (&mse, &mse_data, "mse", "eval_targets", Kind::Double, false, mixed),
        // Integer and bool targets for float losses.
        (&mse, &mse_data, "mse", "targets", Kind::Int64, true, integer),
        (&mse, &mse_data, "huber", "targets", Kind::Int, true, integer),
        (&bce, &bce_data, "bce-with-logits", "targets", Kind::Bool, true, integer),
        (&l1, &l1_data, "l1", "targets", Kind::Uint8, true, integer),
        // Float, int32 and bool targets for class-index losses.
        (&ce, &ce_data, "cross-entropy", "targets", Kind::Float, true, integer),
        (&nll, &nll_data, "nll", "targets", Kind::Double, true, integer),
        (&ce, &ce_data, "cross-entropy", "targets", Kind::Int, true, integer),
        (&nll, &nll_data, "nll", "targets", Kind::Bool, true, integer),
    ];
    for (i, (model, data, loss, key, kind, both, needle)) in variants.into_iter().enumerate() {
        let name = format!("{key}-{kind:?}-{loss}");
        let file = cases.data(&format!("dtype-{name}"), &retyped(data, key, kind, both));
        let shape = format!("{:?}", get(data, key).size());
        let task = Task::new(model, &file, loss);
        cases.add(&name, task, &needle(kind, key, loss, &shape), i % 3 == 0);
    }
    // Class indices as float targets for mse: the dtype fits, the shape does not.
    let file = cases.data(
        "dtype-labels-as-float-mse",
        &retyped(&ce_data, "targets", Kind::Float, true),
    );
    cases.train(
        "labels-as-float-mse",
        Task::new(&ce, &file, "mse"),
        "'targets' [203] does not fit the model's output [1, 4]",
    );
}
