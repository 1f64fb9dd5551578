//! The comparison's arithmetic (`compare::compare_records`) on hand-made `metrics.jsonl` records.
use serde_json::{json, Value};
use tch_harness::compare::{compare_records, relative_difference};

fn record(epoch: u64, train: f64, eval: f64, acc: Option<f64>) -> Value {
    let mut r = json!({ "epoch": epoch, "train_loss": train, "eval_loss": eval });
    if let Some(acc) = acc {
        r["eval_accuracy"] = json!(acc);
    }
    r
}

/// The arithmetic: 0 for equal values, one ulp is a (tiny) difference, a value missing on one side
/// or not finite is an infinite one, and mismatched epochs are an error.
#[test]
fn comparison_of_perturbed_rows() {
    assert_eq!(relative_difference(0.0, -0.0), 0.0);
    assert_eq!(relative_difference(1.0, 2.0), 0.5);
    assert_eq!(relative_difference(-4.0, 4.0), 2.0);
    assert_eq!(relative_difference(f64::NAN, f64::NAN), f64::INFINITY);
    assert_eq!(relative_difference(1.0, f64::INFINITY), f64::INFINITY);

    let base: Vec<Value> = (1..=3)
        .map(|e| record(e, 1.0 / e as f64, 0.3 + e as f64, Some(0.9)))
        .collect();
    let same = compare_records(&base, &base, 0.0).unwrap();
    assert_eq!(same.max_rel_diff(), 0.0);
    assert!(same.passed());
    assert_eq!(same.to_json()["rows"].as_array().unwrap().len(), 3);

    // One ulp in epoch 2's train loss: within 1e-6, not within 0.
    let mut ulp = base.clone();
    let bumped = f64::from_bits((0.5f64).to_bits() + 1);
    ulp[1]["train_loss"] = json!(bumped);
    let c = compare_records(&base, &ulp, 1e-6).unwrap();
    assert_eq!(c.max_rel_diff(), (bumped - 0.5) / bumped);
    assert!(c.passed());
    assert_eq!(c.rows[1].train_loss.abs_diff(), Some(bumped - 0.5));
    assert!(!compare_records(&base, &ulp, 0.0).unwrap().passed());

    // Accuracy counts too.
    let mut acc = base.clone();
    acc[2]["eval_accuracy"] = json!(0.8);
    let c = compare_records(&base, &acc, 1e-6).unwrap();
    assert!(!c.passed());
    assert!((c.max_rel_diff() - 0.1 / 0.9).abs() < 1e-15);

    // A value one side lacks fails, and is null in the JSON.
    let no_acc: Vec<Value> = (1..=3)
        .map(|e| record(e, 1.0 / e as f64, 0.3 + e as f64, None))
        .collect();
    let c = compare_records(&base, &no_acc, 1.0).unwrap();
    assert_eq!(c.max_rel_diff(), f64::INFINITY);
    assert!(!c.passed());
    assert_eq!(c.to_json()["max_rel_diff"], Value::Null);
    assert_eq!(c.to_json()["passed"], json!(false));
    // Neither side having it is nothing to compare.
    assert!(compare_records(&no_acc, &no_acc, 0.0).unwrap().passed());

    let err = compare_records(&base, &base[..2], 1e-6)
        .unwrap_err()
        .to_string();
    assert!(err.contains("3 epochs") && err.contains("2"), "{err}");
    let mut renumbered = base.clone();
    renumbered[0]["epoch"] = json!(5);
    assert!(compare_records(&base, &renumbered, 1e-6).is_err());
    assert!(compare_records(&base, &base, -1.0).is_err());
    assert!(compare_records(&base, &base, f64::NAN).is_err());
}

/// compare.json and metrics.jsonl values are read back to the same bits. serde_json's default
/// float parser is not correctly rounded (about one value in eight in [0, 4) comes back 1 ulp
/// off); Cargo.toml enables its `float_roundtrip` feature, and this fails without it.
#[test]
fn json_floats_read_back_to_the_same_bits() {
    for text in ["2.4191210911045706", "0.1", "2.268186421242145", "1e-8"] {
        let parsed: f64 = serde_json::from_str(text).unwrap();
        assert_eq!(
            parsed.to_bits(),
            text.parse::<f64>().unwrap().to_bits(),
            "{text}"
        );
    }
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let v = (x >> 11) as f64 / (1u64 << 53) as f64 * 4.0;
        let back: f64 = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
        assert_eq!(back.to_bits(), v.to_bits(), "{v}");
    }
}
