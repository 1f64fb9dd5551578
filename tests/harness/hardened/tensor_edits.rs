//! The fixture's data tensors, and copies of them with one tensor set, removed or retyped.
use std::path::Path;

use tch::{Kind, Tensor};
use tch_harness::data::{read_tensors, NamedTensors};

use crate::own_fixture::fixture;

/// The fixture's model and data for `loss`, and the data's tensors.
pub(super) fn base(loss: &str) -> (String, String, NamedTensors) {
    let fx = fixture();
    let data = fx.data(loss);
    let tensors = read_tensors(Path::new(&data)).unwrap();
    (fx.model(loss), data, tensors)
}

/// A copy of `base` with `key` set to `t` (added when missing).
pub(super) fn with(base: &NamedTensors, key: &str, t: Tensor) -> NamedTensors {
    let mut out = without(base, key);
    out.push((key.to_string(), t));
    out
}

/// A copy of `base` with two keys set.
pub(super) fn with_pair(
    base: &NamedTensors,
    [(k1, t1), (k2, t2)]: [(&str, Tensor); 2],
) -> NamedTensors {
    with(&with(base, k1, t1), k2, t2)
}

/// A copy of `base` without `key`.
pub(super) fn without(base: &NamedTensors, key: &str) -> NamedTensors {
    base.iter()
        .filter(|(n, _)| n != key)
        .map(|(n, t)| (n.clone(), t.shallow_clone()))
        .collect()
}

/// A copy of `key`'s tensor.
pub(super) fn get(base: &NamedTensors, key: &str) -> Tensor {
    base.iter()
        .find(|(n, _)| n == key)
        .map(|(_, t)| t.copy())
        .unwrap_or_else(|| panic!("no '{key}'"))
}

/// `t` with its last element of sample `sample` set to `value`.
pub(super) fn set_in_sample(t: &Tensor, sample: i64, value: f64) -> Tensor {
    let t = t.copy();
    let per_sample = t.numel() as i64 / t.size()[0];
    let _ = t
        .flatten(0, -1)
        .get(sample * per_sample + per_sample - 1)
        .fill_(value);
    t
}

/// `base` with `key` (and `eval_<key>` when `both`) converted to `kind`.
pub(super) fn retyped(base: &NamedTensors, key: &str, kind: Kind, both: bool) -> NamedTensors {
    let mut out = with(base, key, get(base, key).to_kind(kind));
    if both {
        let eval = format!("eval_{key}");
        out = with(&out, &eval, get(base, &eval).to_kind(kind));
    }
    out
}
