//! The Python side of `compare`: the project's `.venv` interpreter (or `--python`) running
//! `scripts/reference.py` (the same training in plain PyTorch) and `scripts/plot_compare.py`,
//! found in the project home (`home.rs`).
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::home::{find_home, resolve_program};
use crate::error::{Error, Result};

/// What to tell the user whenever the Python side is missing or broken.
pub const SETUP_HINT: &str = "run scripts/setup.sh to (re)create the project's .venv";

/// The interpreter and the scripts it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonEnv {
    pub python: PathBuf,
    pub reference: PathBuf,
    pub plot: PathBuf,
}

impl PythonEnv {
    /// The project home's (`find_home`) `.venv/bin/python`, `scripts/reference.py` and
    /// `scripts/plot_compare.py`; `python` (a path, or a name looked up on `PATH`) and `reference`
    /// replace the first two when given.
    pub fn locate(python: Option<&Path>, reference: Option<&Path>) -> Result<PythonEnv> {
        let python = python.map(resolve_program).transpose()?;
        let home = find_home()?;
        Ok(PythonEnv {
            python: python.unwrap_or_else(|| home.join(".venv/bin/python")),
            reference: reference
                .map_or_else(|| home.join("scripts/reference.py"), Path::to_path_buf),
            plot: home.join("scripts/plot_compare.py"),
        })
    }

    /// Fails early, with one line saying what to do, when the interpreter or a script is missing.
    pub fn check(&self) -> Result<()> {
        if !self.python.is_file() {
            return Err(Error::Python(format!(
                "no Python at {}: {SETUP_HINT} (or pass --python)",
                self.python.display()
            )));
        }
        let scripts = [
            (&self.reference, " (or pass --reference)"),
            (&self.plot, ""),
        ];
        for (script, flag) in scripts {
            if !script.is_file() {
                return Err(Error::Python(format!(
                    "script {} not found: compare needs the project's scripts/{flag} (set TCH_HARNESS_HOME)",
                    script.display()
                )));
            }
        }
        Ok(())
    }

    /// Runs the reference on the configuration in `config_file` (`{"config": …}`, as a run's
    /// `config.json`) into `out`; each line it prints goes to `on_line`.
    pub fn run_reference(
        &self,
        config_file: &Path,
        out: &Path,
        nproc: usize,
        on_line: &mut dyn FnMut(&str),
    ) -> Result<()> {
        let mut command = Command::new(&self.python);
        command
            .arg(&self.reference)
            .arg("--config")
            .arg(config_file)
            .arg("--out")
            .arg(out);
        if nproc > 1 {
            command.arg("--nproc").arg(nproc.to_string());
        }
        run(command, "the PyTorch reference", on_line)
    }

    /// Draws `png` from `compare_json` with matplotlib.
    pub fn plot(&self, compare_json: &Path, png: &Path) -> Result<()> {
        let mut command = Command::new(&self.python);
        command.arg(&self.plot).arg(compare_json).arg(png);
        run(command, "plotting", &mut |_| {})
    }
}

/// Runs `command`, handing each stdout line to `on_line`; a failure to start or a non-zero exit
/// becomes one line naming the last line of Python's stderr (the exception) and the fix.
fn run(mut command: Command, what: &str, on_line: &mut dyn FnMut(&str)) -> Result<()> {
    let python = command.get_program().to_string_lossy().into_owned();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::Python(format!("cannot start {python} ({e}): {SETUP_HINT}")))?;
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout)
            .lines()
            .map_while(std::io::Result::ok)
        {
            on_line(&line);
        }
    }
    let status = child
        .wait()
        .map_err(|e| Error::Python(format!("{what}: {python} did not finish ({e})")))?;
    let errors = errors.join().unwrap_or_default();
    if status.success() {
        return Ok(());
    }
    let last = errors
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("no message on stderr");
    Err(Error::Python(format!(
        "{what} failed ({status}): {last}; if the Python env is broken, {SETUP_HINT}"
    )))
}
