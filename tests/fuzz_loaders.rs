//! Runs the fuzz targets of `fuzz/` for a bounded time, on the stable toolchain, without
//! cargo-fuzz.
//!
//! The targets are built as `cargo fuzz build --sanitizer none` builds them: the same rustc
//! flags (all stable `-C` options), for the host triple so that build scripts and proc macros
//! stay uninstrumented, in release mode with debug assertions. libfuzzer-sys compiles libFuzzer
//! itself with the C++ compiler. Each target then runs from a copy of its seeds,
//! `fuzz/seeds/<target>/`, for `EVAL_FUZZ_SECONDS` seconds (default 15; 0 builds and runs
//! nothing), one after another. The build, the corpora, the crash artifacts and the targets'
//! scratch files all live under cargo's `CARGO_TARGET_TMPDIR`, never in the source tree.
//!
//! Any crash, or a build that fails, fails the test with what libFuzzer or cargo printed last.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output};
use std::time::{Duration, Instant};

const DEFAULT_SECONDS: u64 = 15;
const SECONDS_VAR: &str = "EVAL_FUZZ_SECONDS";

/// `cargo fuzz build --sanitizer none`'s rustc flags on Linux (cargo-fuzz 0.13, `src/project.rs`),
/// with `-Coverflow-checks` spelled out (`-Cdebug-assertions` implies it).
const RUSTFLAGS: &[&str] = &[
    "-Cpasses=sancov-module",
    "-Cllvm-args=-sanitizer-coverage-level=4",
    "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
    "-Cllvm-args=-sanitizer-coverage-pc-table",
    "-Cllvm-args=-sanitizer-coverage-trace-compares",
    "--cfg",
    "fuzzing",
    "-Cllvm-args=-simplifycfg-branch-fold-threshold=0",
    "-Cllvm-args=-sanitizer-coverage-stack-depth",
    "-Cdebug-assertions",
    "-Coverflow-checks",
    "-Ccodegen-units=1",
];

/// How many lines of cargo's or libFuzzer's output a failure shows.
const TAIL_LINES: usize = 80;
/// How much of a failing input a failure shows (it is lost with a CI machine).
const INPUT_SHOWN: usize = 2048;

fn main() -> ExitCode {
    match fuzz_all() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("\nfuzz_loaders: FAILED: {message}");
            ExitCode::FAILURE
        }
    }
}

/// What one target did; `failure` says how it failed, if it did.
struct Report {
    target: String,
    seconds: f64,
    executions: Option<u64>,
    corpus: usize,
    failure: Option<String>,
}

fn fuzz_all() -> Result<(), String> {
    let seconds = seconds()?;
    let fuzz_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz");
    let targets = targets(&fuzz_dir)?;
    println!(
        "fuzz_loaders: {} target(s): {}; {seconds} s each ({SECONDS_VAR})",
        targets.len(),
        targets.join(", ")
    );

    let bin_dir = build(&fuzz_dir, &work.join("target"))?;
    if seconds == 0 {
        println!("fuzz_loaders: built; {SECONDS_VAR}=0, so no target runs");
        return Ok(());
    }

    // Every target runs even when one fails, so that one crash hides nothing else.
    let mut reports = Vec::new();
    for target in &targets {
        reports.push(run(target, &bin_dir.join(target), &fuzz_dir, &work, seconds)?);
    }
    println!("\nfuzz_loaders: summary");
    for r in &reports {
        let outcome = if r.failure.is_some() { "FAILED" } else { "ok" };
        let executions = r.executions.map_or("?".to_owned(), |n| n.to_string());
        println!(
            "  {:<16} {outcome}: {executions} executions in {:.1} s, corpus {} input(s)",
            r.target, r.seconds, r.corpus
        );
    }
    let failures: Vec<&str> = reports.iter().filter_map(|r| r.failure.as_deref()).collect();
    println!("\n{} passed, {} failed", reports.len() - failures.len(), failures.len());
    if failures.is_empty() {
        Ok(())
    } else {
        // The details were printed as each target finished; their first lines say enough here.
        let firsts: Vec<&str> = failures.iter().filter_map(|f| f.lines().next()).collect();
        Err(firsts.join("\n"))
    }
}

fn seconds() -> Result<u64, String> {
    match env::var(SECONDS_VAR) {
        Err(env::VarError::NotPresent) => Ok(DEFAULT_SECONDS),
        Ok(text) if text.trim().is_empty() => Ok(DEFAULT_SECONDS),
        Ok(text) => text
            .trim()
            .parse()
            .map_err(|_| format!("{SECONDS_VAR}={text:?} is not a number of seconds")),
        Err(e) => Err(format!("{SECONDS_VAR}: {e}")),
    }
}

/// The targets, as cargo-fuzz names them: the files of `fuzz/fuzz_targets/`.
fn targets(fuzz_dir: &Path) -> Result<Vec<String>, String> {
    let dir = fuzz_dir.join("fuzz_targets");
    let entries = fs::read_dir(&dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut targets: Vec<String> = entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter_map(|name| name.strip_suffix(".rs").map(str::to_owned))
        .collect();
    targets.sort();
    if targets.is_empty() {
        return Err(format!("no fuzz target in {}", dir.display()));
    }
    Ok(targets)
}

/// Builds every target and returns the directory holding the executables.
fn build(fuzz_dir: &Path, target_dir: &Path) -> Result<PathBuf, String> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let host = host_triple(&cargo)?;
    let mut command = Command::new(&cargo);
    command
        .args(["build", "--release", "--bins", "--target", &host])
        .args(["--config", "profile.release.debug=\"line-tables-only\""])
        .arg("--manifest-path")
        .arg(fuzz_dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir)
        // These flags and nothing else: CARGO_ENCODED_RUSTFLAGS outranks every other source of
        // rustc flags, and a toolchain's unstable features stay off.
        .env("CARGO_ENCODED_RUSTFLAGS", RUSTFLAGS.join("\x1f"))
        .env_remove("RUSTFLAGS")
        .env_remove("RUSTC_BOOTSTRAP");
    println!(
        "fuzz_loaders: building the targets for {host} into {} (a first build takes minutes)",
        target_dir.display()
    );
    let started = Instant::now();
    let output = command
        .output()
        .map_err(|e| format!("cannot start {}: {e}", cargo.to_string_lossy()))?;
    if !output.status.success() {
        return Err(format!(
            "the fuzz targets do not build ({}); cargo's output ends with:\n{}",
            output.status,
            tail(&output.stderr)
        ));
    }
    println!("fuzz_loaders: built in {:.1} s", started.elapsed().as_secs_f64());
    Ok(target_dir.join(host).join("release"))
}

/// The triple cargo builds for by default, from `cargo -vV`.
fn host_triple(cargo: &OsString) -> Result<String, String> {
    let output = Command::new(cargo)
        .arg("-vV")
        .output()
        .map_err(|e| format!("cannot start {}: {e}", cargo.to_string_lossy()))?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(|host| host.trim().to_owned())
        .ok_or_else(|| "`cargo -vV` names no host triple".to_owned())
}

/// Runs one target from a fresh copy of its seeds for `seconds`.
fn run(target: &str, exe: &Path, fuzz_dir: &Path, work: &Path, seconds: u64) -> Result<Report, String> {
    if !exe.is_file() {
        return Err(format!(
            "target `{target}`: the build made no {} (is it a [[bin]] of fuzz/Cargo.toml?)",
            exe.display()
        ));
    }
    let corpus = fresh_dir(&work.join("corpus").join(target))?;
    let artifacts = fresh_dir(&work.join("artifacts").join(target))?;
    // The targets' own scratch files (tempfile honours TMPDIR).
    let scratch = fresh_dir(&work.join("scratch").join(target))?;
    let seeds = fuzz_dir.join("seeds").join(target);
    let seeded = copy_seeds(&seeds, &corpus)?;
    println!("\nfuzz_loaders: {target}: {seconds} s from {seeded} seed(s)");

    let mut prefix = OsString::from("-artifact_prefix=");
    prefix.push(&artifacts);
    prefix.push("/");
    let started = Instant::now();
    let output = Command::new(exe)
        .arg(format!("-max_total_time={seconds}"))
        .args(["-rss_limit_mb=2048", "-timeout=10", "-print_final_stats=1"])
        .arg(prefix)
        .arg(&corpus)
        .env("TMPDIR", &scratch)
        .env("RUST_BACKTRACE", "1")
        .output()
        .map_err(|e| format!("target `{target}`: cannot start {}: {e}", exe.display()))?;
    let elapsed = started.elapsed();
    let _ = fs::remove_dir_all(&scratch);
    let failure = check(target, exe, &output, &artifacts, elapsed).err();

    let executions = final_stat(&output.stderr, "number_of_executed_units");
    let corpus_size = fs::read_dir(&corpus).map(|entries| entries.count()).unwrap_or(0);
    println!(
        "fuzz_loaders: {target}: {}, {} executions in {:.1} s, corpus {seeded} -> {corpus_size} input(s)",
        if failure.is_some() { "FAILED" } else { "ok" },
        executions.map_or("?".to_owned(), |n| n.to_string()),
        elapsed.as_secs_f64()
    );
    if let Some(failure) = &failure {
        eprintln!("{failure}");
    }
    Ok(Report {
        target: target.to_owned(),
        seconds: elapsed.as_secs_f64(),
        executions,
        corpus: corpus_size,
        failure,
    })
}

/// A target passes when libFuzzer exits 0 having left no crash, leak, timeout or OOM input.
fn check(target: &str, exe: &Path, output: &Output, artifacts: &Path, elapsed: Duration) -> Result<(), String> {
    let mut found: Vec<PathBuf> = fs::read_dir(artifacts)
        .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    found.sort();
    if output.status.success() && found.is_empty() {
        return Ok(());
    }
    let inputs = if found.is_empty() {
        "no input was saved".to_owned()
    } else {
        let names: Vec<String> = found.iter().map(|p| p.display().to_string()).collect();
        format!("failing input(s): {}", names.join(", "))
    };
    let mut report = format!(
        "target `{target}` failed after {:.1} s ({}); {inputs}\n\
         reproduce with `{} <input>` or `cargo fuzz run --sanitizer none {target} <input>`\n\
         libFuzzer's output ends with (progress lines left out):\n{}",
        elapsed.as_secs_f64(),
        output.status,
        exe.display(),
        tail(&without_progress(&output.stderr))
    );
    for path in &found {
        let bytes = fs::read(path).unwrap_or_default();
        let shown = &bytes[..bytes.len().min(INPUT_SHOWN)];
        let more = if bytes.len() > shown.len() { " (cut)" } else { "" };
        report.push_str(&format!(
            "\n{} ({} bytes){more}:\n{:?}",
            path.display(),
            bytes.len(),
            String::from_utf8_lossy(shown)
        ));
    }
    Err(report)
}

/// libFuzzer's output without the lines that only report progress (`#123 NEW ...`, `INFO:`
/// but the random seed) or that sanitizers are absent, which would push the panic out of a tail.
fn without_progress(stderr: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(stderr);
    let kept: Vec<&str> = text
        .lines()
        .filter(|line| {
            let progress = line.starts_with('#')
                || line.starts_with("\tNEW_FUNC")
                || (line.starts_with("INFO:") && !line.starts_with("INFO: Seed:"));
            !progress && !line.starts_with("WARNING: Failed to find function \"__sanitizer_")
        })
        .collect();
    kept.join("\n").into_bytes()
}

/// The value of a `stat::<name>:` line of `-print_final_stats=1`.
fn final_stat(stderr: &[u8], name: &str) -> Option<u64> {
    let key = format!("stat::{name}:");
    String::from_utf8_lossy(stderr)
        .lines()
        .find_map(|line| line.strip_prefix(key.as_str())?.trim().parse().ok())
}

/// An empty directory at `dir`, whatever was there before.
fn fresh_dir(dir: &Path) -> Result<PathBuf, String> {
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(|e| format!("cannot empty {}: {e}", dir.display()))?;
    }
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir.to_owned())
}

/// Copies the seed files into the scratch corpus, which libFuzzer then adds to.
fn copy_seeds(seeds: &Path, corpus: &Path) -> Result<usize, String> {
    let Ok(entries) = fs::read_dir(seeds) else {
        // A target without seeds starts from nothing, as libFuzzer allows.
        return Ok(0);
    };
    let mut copied = 0;
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot list {}: {e}", seeds.display()))?
            .path();
        if path.is_file() {
            let to = corpus.join(path.file_name().expect("a file has a name"));
            fs::copy(&path, &to).map_err(|e| format!("cannot copy {}: {e}", path.display()))?;
            copied += 1;
        }
    }
    Ok(copied)
}

/// The last lines of a process's output.
fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
}
