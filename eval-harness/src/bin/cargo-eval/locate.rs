//! Finding the store, and the run a `cargo eval show` argument names.
//!
//! The argument is, in this order: `last` (the run saved last in the store, whatever its
//! suite), an existing file (a run JSON), an existing directory (a suite's: its run saved last;
//! a store's: its run saved last; a nextest run's: assembled in memory), then a suite name or a
//! run id looked up in the store. An argument that looks like a path but is not there is
//! reported as a missing file.

use eval_engine::{RunResult, Store};
use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// How long `cargo metadata` may take before the store is given up on.
const METADATA_DEADLINE: Duration = Duration::from_secs(60);

/// The store to look in: `--store`, else `EVAL_STORE_DIR`, else `<target dir>/tmp/evals`, where
/// `cargo test` saves runs by default (a suite's own `store = "…"` option needs `--store`).
pub(crate) fn store_dir(explicit: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(dir) = explicit {
        return Ok(dir.to_owned());
    }
    if let Some(dir) = std::env::var_os("EVAL_STORE_DIR").filter(|dir| !dir.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    target_dir()
        .map(|target| target.join("tmp").join("evals"))
        .map_err(|why| format!("cannot find the default store: {why}; pass --store DIR or set EVAL_STORE_DIR"))
}

/// The target directory of the package in the current directory, as `cargo metadata` reports
/// it (through `$CARGO`, which cargo sets for its subcommands, else `cargo`).
fn target_dir() -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let shown = Path::new(&cargo).display().to_string();
    let mut child = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `{shown} metadata`: {e}"))?;
    // Read on threads while waiting: a full pipe would otherwise stall cargo forever.
    let stdout = read_on_a_thread(child.stdout.take());
    let stderr = read_on_a_thread(child.stderr.take());
    let deadline = Instant::now() + METADATA_DEADLINE;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "`{shown} metadata` did not answer within {}s",
                    METADATA_DEADLINE.as_secs()
                ));
            }
            Err(e) => return Err(format!("cannot wait for `{shown} metadata`: {e}")),
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    if !status.success() {
        let stderr = String::from_utf8_lossy(&stderr);
        let said = stderr
            .lines()
            .find(|line| !line.trim().is_empty())
            .unwrap_or("no message");
        return Err(format!("`{shown} metadata` failed ({status}): {}", said.trim()));
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&stdout).map_err(|e| format!("`{shown} metadata` printed no JSON: {e}"))?;
    metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| format!("`{shown} metadata` reported no `target_directory`"))
}

/// Reads all of `pipe` on a thread of its own.
fn read_on_a_thread<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

/// The run an argument of `cargo eval show` names, and, when it was looked up, one line
/// saying which run that is and why.
pub(crate) struct Shown {
    pub run: RunResult,
    pub chosen: Option<String>,
}

/// Resolves `arg` (see the module documentation); `store` is `--store`.
pub(crate) fn run_to_show(arg: &Path, store: Option<&Path>) -> Result<Shown, String> {
    if arg.as_os_str() == "last" {
        let root = store_dir(store)?;
        return saved_last_in_store(&root, "last");
    }
    if arg.is_file() {
        return load(arg).map(|run| Shown { run, chosen: None });
    }
    if arg.is_dir() {
        return in_directory(arg);
    }
    let text = arg.to_string_lossy();
    let looks_like_a_path = text.contains(['/', '\\']) || arg.extension().is_some_and(|ext| ext == "json");
    if looks_like_a_path || eval_engine::file_name::check_file_name("name", &text).is_err() {
        // Let the loader name the file and say it is not there.
        return load(arg).map(|run| Shown { run, chosen: None });
    }
    let root = store_dir(store)?;
    by_name(&root, &text)
}

fn load(path: &Path) -> Result<RunResult, String> {
    eval_engine::load_run(path).map_err(|e| e.to_string())
}

/// A suite's directory, a store's, or a nextest run's.
fn in_directory(dir: &Path) -> Result<Shown, String> {
    let name = dir.file_name().and_then(OsStr::to_str).unwrap_or_default();
    let parent = dir.parent().unwrap_or(Path::new("."));
    if name.starts_with("nextest-") {
        let run = eval_harness::nextest::assemble(dir)?;
        return Ok(Shown {
            chosen: Some(format!(
                "run {} assembled in memory from nextest directory {} (`cargo eval assemble` saves it)",
                run.meta.run_id,
                dir.display()
            )),
            run,
        });
    }
    let as_suite = Store::new(parent);
    if eval_engine::file_name::check_file_name("suite name", name).is_ok()
        && let Some(path) = as_suite.latest(name).map_err(|e| e.to_string())?
    {
        let run = load(&path)?;
        return Ok(Shown {
            chosen: Some(format!(
                "run {} of suite {}, the run saved last in {}",
                run.meta.run_id,
                run.meta.suite.name,
                dir.display()
            )),
            run,
        });
    }
    if !Store::new(dir).suites().map_err(|e| e.to_string())?.is_empty() {
        return saved_last_in_store(dir, &dir.display().to_string());
    }
    Err(format!(
        "{} holds no run JSON files, no suites of runs and no nextest results",
        dir.display()
    ))
}

/// The run saved last in the store at `root`, whatever its suite.
fn saved_last_in_store(root: &Path, asked: &str) -> Result<Shown, String> {
    let store = Store::new(root);
    let mut newest: Option<(SystemTime, PathBuf)> = None;
    for suite in store.suites().map_err(|e| e.to_string())? {
        let Some(path) = store.latest(&suite).map_err(|e| e.to_string())? else {
            continue;
        };
        let modified = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .map_err(|e| format!("cannot read the modification time of {}: {e}", path.display()))?;
        if newest.as_ref().is_none_or(|(time, _)| modified > *time) {
            newest = Some((modified, path));
        }
    }
    let Some((_, path)) = newest else {
        return Err(no_runs(root));
    };
    let run = load(&path)?;
    Ok(Shown {
        chosen: Some(format!(
            "{asked}: run {} of suite {}, the run saved last in {}",
            run.meta.run_id,
            run.meta.suite.name,
            root.display()
        )),
        run,
    })
}

/// A suite name (its run saved last) or a run id, in the store at `root`.
fn by_name(root: &Path, name: &str) -> Result<Shown, String> {
    let store = Store::new(root);
    // Suites are stored under their path with `.` for `::`.
    let suite = name.replace("::", ".");
    if let Some(path) = store.latest(&suite).map_err(|e| e.to_string())? {
        let run = load(&path)?;
        return Ok(Shown {
            chosen: Some(format!(
                "{name}: run {} of suite {suite}, the suite's run saved last",
                run.meta.run_id
            )),
            run,
        });
    }
    let suites = store.suites().map_err(|e| e.to_string())?;
    for suite in &suites {
        let path = store.run_path(suite, name).map_err(|e| e.to_string())?;
        if path.is_file() {
            return load(&path).map(|run| Shown { run, chosen: None });
        }
    }
    if !root.is_dir() {
        return Err(format!("no suite or run `{name}`: {}", no_runs(root)));
    }
    let mut held = Vec::new();
    for suite in &suites {
        let runs = store.runs(suite).map_err(|e| e.to_string())?;
        if let Some(latest) = store.latest(suite).map_err(|e| e.to_string())? {
            let id = latest
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            held.push(format!("{suite} ({} run(s), saved last: {id})", runs.len()));
        }
    }
    if held.is_empty() {
        return Err(format!("no suite or run `{name}`: {}", no_runs(root)));
    }
    Err(format!(
        "no suite or run `{name}` in store {}; it holds: {}",
        root.display(),
        held.join(", ")
    ))
}

fn no_runs(root: &Path) -> String {
    if root.is_dir() {
        format!("store {} holds no runs", root.display())
    } else {
        format!(
            "there is no store at {} (runs are saved there by `cargo test`; pass --store DIR for another)",
            root.display()
        )
    }
}
