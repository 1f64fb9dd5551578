//! scripts/gpu-check.sh in its dry mode (the same steps on the CPU), the safetensors stand-in it
//! falls back on, and `tch-harness info`.
use crate::common::{bin, root, run_bin, run_python, text};

/// The whole check, as on a GPU machine but with `--device cpu`, on the stand-in for safetensors:
/// every comparison must pass (on one device everything is bit-identical) and the table appear.
#[test]
fn gpu_check_dry_run_passes_on_the_cpu() {
    let exe = bin().get_program().to_owned();
    let out = std::process::Command::new(root().join("scripts/gpu-check.sh"))
        .env("PYTHON", root().join(".venv/bin/python"))
        .env("TCH_HARNESS_BIN", exe)
        .env("GPU_CHECK_ALLOW_CPU", "1")
        .env("GPU_CHECK_FORCE_SHIM", "1")
        .env("GPU_CHECK_EPOCHS", "3")
        .env("GPU_CHECK_RUNS", "1")
        .output()
        .unwrap();
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    for needle in [
        "cuda_available: false",
        "dry mode",
        "stand-in",
        "cpu --loss-sync epoch vs batch train_loss",
        "cpu harness vs reference.py --device cpu eval_loss",
        "harness --loss-sync epoch",
        "all comparisons within tolerance on cpu",
    ] {
        assert!(all.contains(needle), "missing '{needle}': {all}");
    }
    assert!(!all.contains("FAIL"), "{all}");
}

/// Without GPU_CHECK_ALLOW_CPU, a machine without CUDA is an error, not a silent CPU run.
#[test]
fn gpu_check_without_cuda_fails_cleanly() {
    let exe = bin().get_program().to_owned();
    let out = std::process::Command::new(root().join("scripts/gpu-check.sh"))
        .env("PYTHON", root().join(".venv/bin/python"))
        .env("TCH_HARNESS_BIN", exe)
        .env_remove("GPU_CHECK_ALLOW_CPU")
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no CUDA device visible"),
        "{}",
        text(&out)
    );
}

/// The stand-in reads the data files as safetensors does and writes files safetensors reads.
#[test]
fn safetensors_stand_in_matches_the_real_package() {
    let code = r#"
import sys, tempfile, os, torch
sys.path.insert(0, "scripts/pyshim")
import safetensors.torch as shim
assert "pyshim" in shim.__file__, shim.__file__
sys.path.pop(0)
for m in ["safetensors", "safetensors.torch"]:
    del sys.modules[m]
import safetensors.torch as real
assert "pyshim" not in real.__file__
for f in ["data/digits.safetensors", "data/breast_cancer.safetensors"]:
    a, b = shim.load_file(f), real.load_file(f)
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype and torch.equal(a[k], b[k]), (f, k)
d = {"w": torch.randn(3, 4), "b": torch.randn(4).double(), "i": torch.arange(5),
     "s": torch.tensor(2.5), "e": torch.empty(0, 3), "h": torch.randn(2).half()}
path = os.path.join(tempfile.mkdtemp(), "t.safetensors")
shim.save_file(d, path)
for loaded in (real.load_file(path), shim.load_file(path)):
    for k in d:
        assert loaded[k].dtype == d[k].dtype and torch.equal(loaded[k], d[k]), k
print("ok")
"#;
    assert_eq!(run_python(code, &[]).trim(), "ok");
}

#[test]
fn info_prints_versions_devices_and_threads() {
    let out = run_bin(&["info"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for key in [
        "tch: 0.24.0",
        "libtorch: 2.11.0",
        "cuda_available: ",
        "cuda_devices: ",
        "cudnn_available: ",
        "threads: ",
    ] {
        assert!(stdout.contains(key), "missing '{key}': {stdout}");
    }
}

/// scripts/bench.sh end to end, tiny: every row of the table is there (the numbers are its job).
#[test]
fn bench_prints_its_table() {
    let exe = std::path::PathBuf::from(bin().get_program());
    let bare = exe.parent().unwrap().join("examples/bare_loop");
    assert!(
        bare.exists(),
        "cargo test builds examples: {}",
        bare.display()
    );
    let out = std::process::Command::new(root().join("scripts/bench.sh"))
        .args(["--runs", "1", "--epochs", "2"])
        .env("BENCH_NO_BUILD", "1")
        .env("TCH_HARNESS_BIN", &exe)
        .env("BARE_LOOP_BIN", &bare)
        .output()
        .unwrap();
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    for needle in [
        "device cpu, 1 thread(s)",
        "harness, --loss-sync batch",
        "harness, --loss-sync epoch",
        "reference.py (PyTorch eager)",
        "bare tch loop",
        "--loss-sync batch: harness / reference",
        "harness overhead over the bare loop",
    ] {
        assert!(all.contains(needle), "missing '{needle}': {all}");
    }
}
