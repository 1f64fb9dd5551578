//! The README's porting example holds: `examples/port_sine.rs` (the Rust port, included here and
//! run in-process) and `examples/port_sine.py` (the original PyTorch experiment, run by the
//! project's Python) give bit-identical per-epoch losses.
#[path = "../../examples/port_sine.rs"]
mod port_sine;

use crate::common::{global_rng, port_and_original, python, tempdir, text};
use tch_harness::compare::compare_records;

#[test]
fn port_sine_rust_equals_its_pytorch_original() {
    let (outcome, rust, original) = port_and_original(port_sine::run, "examples/port_sine.py");
    assert_eq!(outcome.records.len(), 30);
    let comparison = compare_records(&rust, &original, 0.0).unwrap();
    assert_eq!(
        comparison.max_rel_diff(),
        0.0,
        "the port drifted from PyTorch"
    );
    assert!(comparison.passed());
    let (first, last) = (
        rust[0]["train_loss"].as_f64().unwrap(),
        rust[29]["train_loss"].as_f64().unwrap(),
    );
    assert!(
        last < first / 10.0,
        "the sine fit did not learn: {first} -> {last}"
    );
    assert_eq!(rust[0]["train_samples"], 301);
    assert_eq!(
        rust[0]["batches"], 10,
        "301 samples in batches of 32: the short last batch is kept"
    );
}

#[path = "../../examples/port_digits.rs"]
mod port_digits;

/// The porting guide's three broken ports (docs/porting.md): `diff`'s locator names each at its
/// step and tensor, and the unbroken port is identical to its PyTorch original through every step.
#[test]
fn port_digits_broken_ports_are_located() {
    use port_digits::Break;
    use tch_harness::compare::trace_divergence;

    let dir = tempdir();
    let python_run = dir.path().join("python");
    let out = python()
        .arg("examples/port_digits.py")
        .arg(&python_run)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let located = |bug: Break| {
        let run = dir.path().join(format!("{bug:?}"));
        {
            let _rng = global_rng();
            port_digits::run(&run, bug).expect("the port trains");
        }
        trace_divergence(&run, &python_run)
            .unwrap()
            .expect("both traced")
    };
    let steps = 3 * 1347_u64.div_ceil(64);
    let fine = located(Break::None);
    assert_eq!((fine.identical_through, &fine.first), (steps, &None));

    let first = |bug| {
        let d = located(bug);
        let f = d.first.expect("a divergence");
        (d.identical_through, f.step, f.what, f.tensor)
    };
    let last_batch = first(Break::LastBatch);
    assert_eq!(
        last_batch,
        (21, 22, "batch order", None),
        "the 22nd batch is dropped"
    );
    let init = first(Break::TchInit);
    assert_eq!(init, (0, 0, "initial value", Some("fc1.weight".into())));
    let eps = first(Break::AdamEps);
    assert_eq!(
        eps,
        (0, 1, "value after the step", Some("fc1.weight".into()))
    );
}
