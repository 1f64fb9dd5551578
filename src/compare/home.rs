//! The project home: the folder holding `scripts/` (the PyTorch reference, the plot) and
//! `data/` (the datasets the reference reads). A binary carried to another machine, or run from
//! another folder than the one it was built in, finds it without a rebuild.
//!
//! The order: `TCH_HARNESS_HOME`; the executable's folder and each folder above it (a copy at
//! `HOME/bin/tch-harness` or the build's `HOME/target/release/tch-harness`); the checkout this
//! binary was compiled in.
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The environment variable naming the home explicitly.
pub const HOME_VAR: &str = "TCH_HARNESS_HOME";

/// The project home the running binary uses (see the module's order).
pub fn find_home() -> Result<PathBuf> {
    let exe = std::env::current_exe().ok();
    home_from(
        std::env::var_os(HOME_VAR),
        exe.as_deref(),
        Path::new(env!("CARGO_MANIFEST_DIR")),
    )
}

/// [`find_home`] on given places: `var` (the variable's value), `exe` (the executable), the
/// compile-time checkout. A variable that is set must name a home: a typo there is an error,
/// not a silent fall-back to another checkout.
pub fn home_from(var: Option<OsString>, exe: Option<&Path>, compiled: &Path) -> Result<PathBuf> {
    if let Some(var) = var.filter(|v| !v.is_empty()) {
        let dir = PathBuf::from(var);
        if is_home(&dir) {
            return Ok(dir);
        }
        return Err(Error::Python(format!(
            "{HOME_VAR}={} holds no scripts/ and data/: point it at a tch-harness checkout (or a copy of its scripts/ and data/)",
            dir.display()
        )));
    }
    let mut tried = Vec::new();
    let above_exe = exe
        .and_then(Path::parent)
        .into_iter()
        .flat_map(Path::ancestors);
    for dir in above_exe.chain([compiled]) {
        if is_home(dir) {
            return Ok(dir.to_path_buf());
        }
        tried.push(dir.display().to_string());
    }
    Err(Error::Python(format!(
        "no project home (a folder with scripts/ and data/): {HOME_VAR} is not set, and none of {} has them; set {HOME_VAR} to a tch-harness checkout",
        tried.join(", ")
    )))
}

/// A folder with `scripts/` and `data/`.
fn is_home(dir: &Path) -> bool {
    dir.join("scripts").is_dir() && dir.join("data").is_dir()
}

/// `--python NAME`: a name with a slash is a path, as given; a bare name (`python3`) is looked
/// up on `PATH`, as a shell would.
pub fn resolve_program(name: &Path) -> Result<PathBuf> {
    if name.as_os_str().is_empty() || name.to_string_lossy().contains('/') {
        return Ok(name.to_path_buf());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| {
            Error::Python(format!(
                "no {} on PATH: give its path to --python, or {}",
                name.display(),
                super::SETUP_HINT
            ))
        })
}

/// A file this user may run.
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home(dir: &Path) {
        std::fs::create_dir_all(dir.join("scripts")).unwrap();
        std::fs::create_dir_all(dir.join("data")).unwrap();
    }

    #[test]
    fn the_variable_comes_first_then_the_exe_then_the_checkout() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            tmp.path().join("a"),
            tmp.path().join("b"),
            tmp.path().join("c"),
        );
        for dir in [&a, &b, &c] {
            home(dir);
        }
        let exe = b.join("target/release/tch-harness");
        let var = Some(a.clone().into_os_string());
        assert_eq!(home_from(var, Some(&exe), &c).unwrap(), a);
        assert_eq!(home_from(None, Some(&exe), &c).unwrap(), b);
        let empty = Some(OsString::new());
        assert_eq!(home_from(empty, Some(&exe), &c).unwrap(), b);
        let elsewhere = tmp.path().join("bin/tch-harness");
        assert_eq!(home_from(None, Some(&elsewhere), &c).unwrap(), c);
    }

    #[test]
    fn a_wrong_variable_or_no_home_is_one_line_naming_the_places() {
        let tmp = tempfile::tempdir().unwrap();
        let nowhere = tmp.path().join("nowhere");
        let var = Some(nowhere.clone().into_os_string());
        let e = home_from(var, None, &nowhere).unwrap_err().to_string();
        assert!(
            e.contains("TCH_HARNESS_HOME=") && e.contains("nowhere"),
            "{e}"
        );

        let exe = tmp.path().join("x/tch-harness");
        std::fs::create_dir_all(tmp.path().join("x/scripts")).unwrap(); // no data/: not a home
        let e = home_from(None, Some(&exe), &nowhere)
            .unwrap_err()
            .to_string();
        for place in [tmp.path().join("x"), tmp.path().to_path_buf(), nowhere] {
            assert!(e.contains(&place.display().to_string()), "{e}");
        }
        assert!(!e.contains('\n'), "{e}");
    }

    #[test]
    fn a_bare_name_is_looked_up_on_path_and_a_path_is_kept() {
        assert_eq!(
            resolve_program(Path::new("./py")).unwrap(),
            Path::new("./py")
        );
        let sh = resolve_program(Path::new("sh")).unwrap();
        assert!(sh.is_absolute() && sh.ends_with("sh"), "{}", sh.display());
        let e = resolve_program(Path::new("no-such-python-here"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no no-such-python-here on PATH"), "{e}");
    }
}
