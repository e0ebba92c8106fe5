//! Checks a JUnit XML file against the common JUnit XSD (Jenkins' `junit-10.xsd`, the one
//! pytest validates its own reports with), with the `xmlschema` validator. Both come from
//! PyPI, pinned: the schema from pytest's source distribution, downloaded once under cargo's
//! target directory.

use super::venv;
use std::path::Path;
use std::process::Command;

/// The pytest release whose source distribution carries the schema.
const PYTEST_SDIST: &str = "pytest==8.3.4";
const XMLSCHEMA_VERSION: &str = "3.4.3";

/// What the check found.
pub enum SchemaCheck {
    Valid,
    /// The violations, one per line.
    Invalid(String),
    /// Why the check could not be made (no Python, no network to PyPI).
    Unavailable(String),
}

/// Validates `report` against the JUnit XSD.
pub fn check_junit(report: &Path, target_tmpdir: &Path) -> SchemaCheck {
    let packages = [format!("xmlschema=={XMLSCHEMA_VERSION}")];
    let packages: Vec<&str> = packages.iter().map(String::as_str).collect();
    let check = format!("import xmlschema; assert xmlschema.__version__ == '{XMLSCHEMA_VERSION}'");
    let need = venv::PythonNeed {
        variable: "JUNIT_SCHEMA_PYTHON",
        venv: &format!("xmlschema-{XMLSCHEMA_VERSION}-venv"),
        packages: &packages,
        check: &check,
    };
    let python = match venv::find_python(&need, target_tmpdir) {
        Ok(python) => python,
        Err(why) => return SchemaCheck::Unavailable(why),
    };
    let downloads = target_tmpdir.join("junit-schema");
    let sdist = downloads.join(format!("{}.tar.gz", PYTEST_SDIST.replace("==", "-")));
    if !sdist.exists() {
        let fetched = Command::new(&python)
            .args(["-m", "pip", "download", "--quiet", "--disable-pip-version-check"])
            .args(["--no-binary", ":all:", "--no-deps", "--dest"])
            .arg(&downloads)
            .arg(PYTEST_SDIST)
            .output();
        match fetched {
            Ok(out) if out.status.success() && sdist.exists() => {}
            Ok(out) => {
                return SchemaCheck::Unavailable(format!(
                    "pip download {PYTEST_SDIST} failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            Err(e) => return SchemaCheck::Unavailable(format!("pip download {PYTEST_SDIST}: {e}")),
        }
    }
    // Included rather than named by path: the crates that use this file have their own roots.
    let script = include_str!("../interop/junit_schema.py");
    match Command::new(&python)
        .args(["-c", script])
        .arg(&sdist)
        .arg(report)
        .output()
    {
        Ok(out) if out.status.success() => SchemaCheck::Valid,
        Ok(out) if out.status.code() == Some(1) => {
            SchemaCheck::Invalid(String::from_utf8_lossy(&out.stdout).into_owned())
        }
        Ok(out) => SchemaCheck::Unavailable(format!(
            "the schema check failed to run: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => SchemaCheck::Unavailable(format!("the schema check failed to start: {e}")),
    }
}
