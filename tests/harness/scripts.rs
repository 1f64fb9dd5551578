//! The safetensors stand-in scripts/gpu-check.sh falls back on (the script's own tests are in
//! gpu_check.rs), `tch-harness info`, scripts/bench.sh, scripts/profile.sh's flags and
//! scripts/device_run.sh (the Python reference's own shape: `reference_package.rs`).
use crate::common::{bin, root, run_bin, run_python, tempdir, text};

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
        "lean PyTorch eager loop",
        "bare tch loop",
        "bare tch loop, seed's reads",
        "/ lean PyTorch loop",
        "--loss-sync batch: harness / reference",
        "harness overhead over the bare loop",
        "(with the seed's reads ",
    ] {
        assert!(all.contains(needle), "missing '{needle}': {all}");
    }
}

/// scripts/profile.sh refuses what is neither an epoch count nor `--simulate`, in one line and
/// before it builds or runs anything (its runs take minutes under valgrind: not run here).
#[test]
fn profile_refuses_a_bad_argument_in_one_line() {
    for bad in ["three", "0", "--simulated"] {
        let out = std::process::Command::new(root().join("scripts/profile.sh"))
            .arg(bad)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {stderr}");
        assert_eq!(
            stderr.trim(),
            format!("error: expected EPOCHS (a count of 1 or more) or --simulate, got '{bad}'")
        );
    }
}

/// scripts/device_run.sh's dry run (`--device cpu --quick`): every part leaves its table in OUT,
/// so that a borrowed GPU's minutes go to one prepared call; an unknown part is refused.
#[test]
fn device_run_leaves_every_part_in_out() {
    let exe = std::path::PathBuf::from(bin().get_program());
    let dir = tempdir();
    let run = |args: &[&str]| {
        std::process::Command::new(root().join("scripts/device_run.sh"))
            .args(args)
            .env("OUT", dir.path())
            .env("TCH_HARNESS_BIN", &exe)
            .env(
                "BARE_LOOP_BIN",
                exe.parent().unwrap().join("examples/bare_loop"),
            )
            .env(
                "IN_PROCESS_BIN",
                exe.parent().unwrap().join("examples/in_process_overhead"),
            )
            .output()
            .unwrap()
    };
    let out = run(&["--device", "cpu", "--quick"]);
    assert!(out.status.success(), "{}", text(&out));
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap_or_default();
    assert!(
        read("info.txt").contains("libtorch"),
        "{}",
        read("info.txt")
    );
    assert!(
        read("gpu-check.txt").contains("| digits-mlp | pass | 0 |"),
        "{}",
        read("gpu-check.txt")
    );
    for part in [
        "digits-mlp",
        "digits-cnn",
        "cmudict-gru",
        "bf16-mixed",
        "16-mixed",
    ] {
        let table = read(&format!("bench-{part}.txt"));
        assert!(
            table.contains("lean PyTorch eager loop"),
            "bench-{part}: {table}"
        );
    }
    assert!(
        read("overhead.txt").contains("median over 2 processes"),
        "{}",
        read("overhead.txt")
    );
    assert_eq!(
        read("times.txt").lines().count(),
        7,
        "{}",
        read("times.txt")
    );
    assert_eq!(run(&["--parts", "speed"]).status.code(), Some(2));
}
