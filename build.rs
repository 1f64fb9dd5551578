//! Link step for the tch-harness binary (and its tests).
//!
//! tch's default link leaves two traps: the binary has no run path to libtorch (so it needs
//! LD_LIBRARY_PATH to start), and `--as-needed` drops libtorch_cuda.so, so
//! `tch::Cuda::is_available()` is false even on a CUDA machine. Both are fixed here, in the crate
//! that owns the binary: link args from a library crate do not reach downstream binaries.
//!
//! It also compiles the C++ shims under `src/native/`: `rng.cpp` gets and sets the state of
//! libtorch's global CPU generator (tch exposes neither; see `src/rng_state.rs`), `grad.cpp` sets
//! a gradient to None (`src/optim/grad.rs`), `autocast.cpp` sets autocast's state per device
//! type (`src/autocast.rs`), `backends.cpp` sets and reads at::globalContext()'s deterministic,
//! cuDNN and TF32 switches (`src/backends.rs`), and `c10d.cpp` is a c10d process group, Gloo
//! always and NCCL when the CUDA and NCCL headers are there, with `sync_batch_norm.cpp`,
//! SyncBatchNorm's autograd function on it, and `buckets.cpp`, gradient buckets all-reduced
//! while backward runs (see `src/distributed/`).
use std::path::{Path, PathBuf};

const RNG_SHIM: &str = "src/native/rng.cpp";
const GRAD_SHIM: &str = "src/native/grad.cpp";
const AUTOCAST_SHIM: &str = "src/native/autocast.cpp";
const BACKENDS_SHIM: &str = "src/native/backends.cpp";
const C10D_SHIM: &str = "src/native/c10d.cpp";
const SYNC_BN_SHIM: &str = "src/native/sync_batch_norm.cpp";
const BUCKETS_SHIM: &str = "src/native/buckets.cpp";

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    println!("cargo:rerun-if-changed=build.rs");

    // torch-sys prints `cargo:libtorch_lib=…`; Cargo passes it on as DEP_TCH_LIBTORCH_LIB to
    // crates that depend on torch-sys directly (it declares `links = "tch"`).
    // LIBTORCH (`<dir>` with include/ and lib/) is what torch-sys itself was pointed at.
    let lib_dir = std::env::var_os("DEP_TCH_LIBTORCH_LIB")
        .or_else(|| std::env::var_os("LIBTORCH").map(|dir| PathBuf::from(dir).join("lib").into()));
    let Some(lib_dir) = lib_dir else {
        println!("cargo:warning=DEP_TCH_LIBTORCH_LIB is not set: run scripts/setup.sh");
        return;
    };
    // Resolve .libtorch (a symlink made by scripts/setup.sh) so the run path names the real
    // `…/torch/lib` and keeps working when the checkout's symlink is replaced.
    let lib_dir = PathBuf::from(&lib_dir)
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from(lib_dir));
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib_dir.display());
    println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
    println!("cargo:rustc-link-arg=-ltorch");
    if lib_dir.join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-arg=-ltorch_cuda");
    }
    println!("cargo:rustc-link-arg=-Wl,--as-needed");
    build_shims(&lib_dir);
    println!(
        "cargo:rustc-env=TCH_HARNESS_LIBTORCH_LIB={}",
        lib_dir.display()
    );

    // The pip layout keeps the version next to lib/: torch/version.py, `__version__ = '2.11.0+…'`.
    let version = std::fs::read_to_string(lib_dir.join("../version.py"))
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("__version__"))?;
            Some(line.split(['\'', '"']).nth(1)?.to_string())
        })
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=TCH_HARNESS_LIBTORCH_VERSION={version}");
}

/// Compiles the shims against the libtorch whose `lib/` is `lib_dir`, with the flags torch-sys
/// compiles its own wrapper with. torch-sys already links torch_cpu and c10.
fn build_shims(lib_dir: &Path) {
    println!("cargo:rerun-if-changed=src/native");
    let libtorch = lib_dir.parent().unwrap_or(lib_dir);
    let shim = || {
        let mut build = cc::Build::new();
        build
            .cpp(true)
            .pic(true)
            .warnings(false)
            .include(libtorch.join("include"))
            .include(libtorch.join("include/torch/csrc/api/include"))
            .flag("-std=c++17")
            .flag("-D_GLIBCXX_USE_CXX11_ABI=1");
        build
    };
    shim().file(RNG_SHIM).compile("tch_harness_rng");
    shim().file(GRAD_SHIM).compile("tch_harness_grad");
    shim().file(AUTOCAST_SHIM).compile("tch_harness_autocast");
    shim().file(BACKENDS_SHIM).compile("tch_harness_backends");

    // ProcessGroupGloo.hpp is empty without USE_C10D_GLOO and includes gloo's headers, which the
    // wheel lacks: src/native/gloo declares the few types it names (nothing of gloo is called).
    let mut c10d = shim();
    c10d.include("src/native/gloo")
        .define("USE_C10D_GLOO", None);
    match nccl_includes(lib_dir) {
        Some(includes) => {
            c10d.define("USE_C10D_NCCL", None).define("USE_CUDA", None);
            for include in includes {
                c10d.include(include);
            }
        }
        None => println!(
            "cargo:warning=building without the NCCL backend: the CUDA/NCCL headers are not next to libtorch (scripts/setup.sh installs them)"
        ),
    }
    c10d.file(C10D_SHIM)
        .file(SYNC_BN_SHIM)
        .file(BUCKETS_SHIM)
        .compile("tch_harness_c10d");
}

/// The include directories for ProcessGroupNCCL.hpp, from the wheel's `nvidia/` packages
/// (`cu13` or `cuda_runtime` for the CUDA headers, with the header-only `nvidia-cuda-cccl` and
/// `nvidia-cuda-crt` that setup adds; `nccl`), when all are there and libtorch_cuda is too.
fn nccl_includes(lib_dir: &Path) -> Option<Vec<PathBuf>> {
    if !lib_dir.join("libtorch_cuda.so").exists() {
        return None;
    }
    let nvidia = lib_dir.join("../../nvidia");
    let cuda = ["cu13/include", "cu12/include", "cuda_runtime/include"]
        .iter()
        .map(|dir| nvidia.join(dir))
        .find(|dir| dir.join("crt/host_config.h").exists() && dir.join("nv/target").exists())?;
    let nccl = nvidia.join("nccl/include");
    nccl.join("nccl.h").exists().then(|| vec![cuda, nccl])
}
