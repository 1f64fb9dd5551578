//! `--data` files with a NaN or an infinity in one sample of one tensor.
use tch::Kind;
use tch_harness::data::NamedTensors;

use super::own_cases::{Cases, Task};
use super::tensor_edits::{get, set_in_sample, with};

/// NaN, +inf and -inf in each float tensor, at its first, a middle and its last sample.
pub(super) fn nonfinite_cases(cases: &mut Cases, model: &str, base: &NamedTensors) {
    let values = [
        ("nan", f64::NAN),
        ("inf", f64::INFINITY),
        ("-inf", -f64::INFINITY),
    ];
    for (k, key) in ["inputs", "targets", "eval_inputs", "eval_targets"]
        .into_iter()
        .enumerate()
    {
        let t = get(base, key);
        let n = t.size()[0];
        for (v, (vname, value)) in values.iter().enumerate() {
            for (p, sample) in [0, n / 2, n - 1].into_iter().enumerate() {
                // Every value at every position of the training split; one position per value
                // in the held-out split.
                if k >= 2 && p != (v + k) % 3 {
                    continue;
                }
                let name = format!("{key}-{vname}-sample-{sample}");
                let data = cases.data(&name, &with(base, key, set_in_sample(&t, sample, *value)));
                let needle = format!(
                    "'{key}' {:?} holds 1 NaN/infinite value(s), the first ({value}) in sample \
                     {sample}",
                    t.size()
                );
                let task = Task::new(model, &data, "mse");
                cases.add(&name, task, &needle, p == v && v == k.min(2));
            }
        }
    }
    // Half-precision tensors are checked too.
    let half = set_in_sample(&get(base, "inputs").to_kind(Kind::Half), 7, f64::NAN);
    let data = cases.data("inputs-f16-nan", &with(base, "inputs", half));
    cases.train(
        "inputs-f16-nan",
        Task::new(model, &data, "mse"),
        "'inputs' [203, 5] holds 1 NaN/infinite value(s), the first (NaN) in sample 7",
    );
    let bf16 = set_in_sample(
        &get(base, "eval_targets").to_kind(Kind::BFloat16),
        60,
        f64::INFINITY,
    );
    let data = cases.data("eval-targets-bf16-inf", &with(base, "eval_targets", bf16));
    cases.train(
        "eval-targets-bf16-inf",
        Task::new(model, &data, "mse"),
        "'eval_targets' [61, 1] holds 1 NaN/infinite value(s), the first (inf) in sample 60",
    );
}
