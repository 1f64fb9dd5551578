//! Data-parallel gradients in DDP's buckets, each all-reduced from inside backward as soon as it
//! and the buckets before it are ready (src/native/buckets.cpp): the buckets are PyTorch's own
//! assignment, the sums stay bit for bit those of `reference.py --nproc N` (whose buckets come
//! from `dist._compute_bucket_assignment_by_size` itself), accumulation reduces once per window
//! (DDP's `no_sync`), and every rank's step and sync times reach metrics.jsonl.
use crate::common::{assert_clean_error, read_jsonl, run_bin, run_python, tempdir, text};
use crate::distributed::train;
use crate::own_fixture::path;

/// The number of buckets PyTorch makes of digits-cnn's parameters with `bucket_cap_mb`
/// (`None`: DDP's default limits), as DDP rebuilds them: in reverse, the order backward makes
/// the gradients.
fn pytorch_buckets(bucket_cap_mb: Option<f64>) -> u64 {
    // The PyTorch side of the check:
    //   params = list(make_net("digits-cnn").parameters())
    //   limits = [dist._DEFAULT_FIRST_BUCKET_BYTES, 25 MiB] or [int(mb * 1024 * 1024)]
    //   dist._compute_bucket_assignment_by_size(params[::-1], limits, [False] * len(params))
    let code = r#"
import sys, torch, torch.distributed as dist
sys.path.insert(0, "scripts")
from torchref.experiments import make_net
params = list(make_net("digits-cnn").parameters())
mb = sys.argv[1]
limits = [dist._DEFAULT_FIRST_BUCKET_BYTES, 25 * 1024 * 1024] if mb == "none" else [int(float(mb) * 1024 * 1024)]
buckets, _ = dist._compute_bucket_assignment_by_size(params[::-1], limits, [False] * len(params))
print(len(buckets))
"#;
    let mb = bucket_cap_mb.map_or("none".to_string(), |mb| mb.to_string());
    run_python(code, &[&mb]).trim().parse().expect("a count")
}

fn count(record: &serde_json::Value, key: &str) -> u64 {
    record[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} in {record}"))
}

#[test]
fn small_buckets_go_out_during_backward_and_3_processes_equal_the_reference_bit_for_bit() {
    let buckets = pytorch_buckets(Some(0.0001));
    assert!(buckets > 3, "small buckets: {buckets}");
    let dir = tempdir();
    let out_dir = path(&dir.path().join("cmp"));
    let out = run_bin(&[
        "compare",
        "--experiment",
        "digits-cnn",
        "--epochs",
        "2",
        "--threads",
        "1",
        "--device",
        "cpu",
        "--nproc",
        "3",
        "--bucket-cap-mb",
        "0.0001",
        "--tolerance",
        "0",
        "--out",
        &out_dir,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    // Gloo's ring sums each element in an order set by its place in the bucket: three ranks give
    // the reference's bits only if the two sides' buckets are the same.
    for record in read_jsonl(&dir.path().join("cmp/harness/metrics.jsonl")) {
        let steps = count(&record, "batches");
        assert_eq!(count(&record, "grad_buckets"), steps * buckets, "{record}");
        // Every parameter gets a gradient in every pass: each bucket leaves from a hook.
        assert_eq!(
            count(&record, "grad_buckets_in_backward"),
            steps * buckets,
            "{record}"
        );
    }
}

#[test]
fn accumulation_reduces_once_per_window_in_ddps_default_buckets() {
    let buckets = pytorch_buckets(None);
    let dir = tempdir();
    let records = train(
        &dir.path().join("acc"),
        2,
        &["--experiment", "digits-cnn", "--accumulate", "3"],
    );
    for record in &records {
        let windows = count(record, "batches").div_ceil(3);
        assert_eq!(count(record, "grad_buckets"), windows * buckets, "{record}");
        for key in ["rank_step_ms", "rank_sync_ms"] {
            let times: Vec<f64> = serde_json::from_value(record[key].clone()).expect(key);
            assert_eq!(times.len(), 2, "{key}: one per rank");
            assert!(
                times.iter().all(|t| t.is_finite() && *t >= 0.0),
                "{key}: {times:?}"
            );
        }
        let step: Vec<f64> = serde_json::from_value(record["rank_step_ms"].clone()).unwrap();
        assert!(step.iter().all(|t| *t > 0.0), "a step takes time: {step:?}");
    }
}

#[test]
fn a_bucket_size_that_is_not_positive_is_a_one_line_error() {
    for bad in ["0", "-1", "nan", "inf"] {
        let dir = tempdir();
        let out_dir = path(&dir.path().join("run"));
        let out = run_bin(&[
            "train",
            "--experiment",
            "digits-mlp",
            "--epochs",
            "1",
            "--bucket-cap-mb",
            bad,
            "--out",
            &out_dir,
        ]);
        assert_clean_error(&out, "--bucket-cap-mb");
    }
}
