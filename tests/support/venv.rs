//! A Python with the packages an interoperability test needs: the one an environment variable
//! names, else a virtual environment made once under cargo's target directory. Outside CI a
//! test skips with a note when none can be had; with `CI` set it must run.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What a test needs of Python.
pub struct PythonNeed<'a> {
    /// The variable that may name a Python that has it (`AG2_PYTHON`).
    pub variable: &'a str,
    /// The virtual environment's directory name under `CARGO_TARGET_TMPDIR`.
    pub venv: &'a str,
    /// What `pip install` installs there, pinned.
    pub packages: &'a [&'a str],
    /// Python code that runs without error when the packages are there at those versions.
    pub check: &'a str,
}

/// Whether this is a CI run, where the check must not be skipped (the CI variable read the way
/// insta and the harness read it).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// A Python that meets `need`, or why there is none.
pub fn find_python(need: &PythonNeed<'_>, target_tmpdir: &Path) -> Result<PathBuf, String> {
    let works = |python: &Path| {
        Command::new(python)
            .args(["-c", need.check])
            .output()
            .is_ok_and(|out| out.status.success())
    };
    if let Some(python) = std::env::var_os(need.variable) {
        let python = PathBuf::from(python);
        return works(&python).then_some(python.clone()).ok_or_else(|| {
            format!(
                "{}={} lacks {}",
                need.variable,
                python.display(),
                need.packages.join(" ")
            )
        });
    }
    let venv = target_tmpdir.join(need.venv);
    let python = venv.join("bin").join("python");
    if works(&python) {
        return Ok(python);
    }
    run_quietly(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        "python3 -m venv",
    )?;
    run_quietly(
        Command::new(venv.join("bin").join("pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .args(need.packages),
        &format!("pip install {}", need.packages.join(" ")),
    )?;
    works(&python)
        .then_some(python)
        .ok_or_else(|| format!("{} installed but the check fails", need.packages.join(" ")))
}

fn run_quietly(command: &mut Command, what: &str) -> Result<(), String> {
    let out = command.output().map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        Err(format!("{what} failed: {}", stderr.lines().last().unwrap_or("").trim()))
    }
}
