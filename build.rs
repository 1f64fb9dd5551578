//! Link step for the tch-harness binary (and its tests).
//!
//! tch's default link leaves two traps: the binary has no run path to libtorch (so it needs
//! LD_LIBRARY_PATH to start), and `--as-needed` drops libtorch_cuda.so, so
//! `tch::Cuda::is_available()` is false even on a CUDA machine. Both are fixed here, in the crate
//! that owns the binary: link args from a library crate do not reach downstream binaries.
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    println!("cargo:rerun-if-changed=build.rs");

    // torch-sys prints `cargo:libtorch_lib=…`; Cargo passes it on as DEP_TCH_LIBTORCH_LIB to
    // crates that depend on torch-sys directly (it declares `links = "tch"`).
    let Some(lib_dir) = std::env::var_os("DEP_TCH_LIBTORCH_LIB") else {
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
