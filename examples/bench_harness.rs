//! Benchmark of the whole harness: a synthetic suite of N tasks × S scorers through the real
//! trials, outcomes, run JSON and summary, as `cargo test --test evals` would run it.
//!
//! ```text
//! cargo run --release --example bench_harness -- -q          # both budget sizes, a table
//! EVAL_BENCH_TASKS=10000 EVAL_BENCH_SCORERS=5 cargo run --release --example bench_harness -- -q
//! EVAL_BENCH_TASKS=64 EVAL_BENCH_LATENCY_MS=200 EVAL_BENCH_CONCURRENCY=64 \
//!     cargo run --release --example bench_harness -- --test-threads=2 -q
//! ```
//!
//! Without `EVAL_BENCH_TASKS`, runs each size the performance budgets name (10,000 tasks × 5
//! scorers, 100,000 × 2) as a process of its own and prints them beside their budgets. With
//! it, runs that one size and prints, on stderr, the wall time of the whole run (from `main`
//! to the exit code), the cost per pair and the peak memory of the process. Arguments go to
//! the harness (`-q` is what the budgets are stated for). Run JSON goes to a temporary
//! directory; no baseline is read or written.
//!
//! The suite reads its tasks from a JSONL file, written to a temporary directory before the
//! clock starts, as a user's suite does; `EVAL_BENCH_SOURCE=inline` gives them as JSON values
//! built in the process instead (`TaskSource::Inline`), which holds the whole dataset as values
//! before the suite is made.

use eval_harness::__private::{SuiteDef, SuiteSite, TaskSource, suite};
use eval_harness::core::{Ctx, Feedback, ScoreFuture, ScoreInput, Scorer, ScorerSpec, Suite, Task};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Task `i` of the synthetic suite, as a line of its dataset.
fn task(i: u64) -> Value {
    json!({"task_id": format!("t{i:05}"), "inputs": {"input": format!("question {i}")}, "reference_outputs": {"answer": i}})
}

fn tasks() -> Result<Suite, eval_harness::core::dataset::DatasetError> {
    let values = (0..setting("EVAL_BENCH_TASKS", 1000)).map(task).collect();
    Suite::from_values("bench", values)
}

/// Writes the suite's dataset as a JSONL file in `dir`, as a user's suite gives its tasks.
fn write_dataset(dir: &std::path::Path) -> &'static str {
    let path = dir.join("bench.jsonl");
    let mut lines = String::new();
    for i in 0..setting("EVAL_BENCH_TASKS", 1000) {
        lines.push_str(&task(i).to_string());
        lines.push('\n');
    }
    std::fs::write(&path, lines).expect("the dataset is written");
    Box::leak(path.to_string_lossy().into_owned().into_boxed_str())
}

/// A scorer that compares the output with the reference: as cheap as a real exact-match.
struct Exact(ScorerSpec);

impl Scorer<Value, Value, u64> for Exact {
    fn spec(&self) -> &ScorerSpec {
        &self.0
    }
    fn score<'a>(&'a self, input: &'a ScoreInput<'a, Value, Value, u64>) -> ScoreFuture<'a> {
        let passed = input.outputs.is_some_and(|o| input.reference_outputs()["answer"] == *o);
        Box::pin(std::future::ready(vec![Feedback::pass_fail(
            self.0.key.clone(),
            passed,
        )]))
    }
}

fn bench_suite(dataset: Option<&'static str>) -> SuiteDef {
    let latency = Duration::from_millis(setting("EVAL_BENCH_LATENCY_MS", 0));
    let agent = move |task: Arc<Task>, _ctx: Ctx| async move {
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let n: u64 = task.id()[1..].parse().unwrap_or(0);
        Ok::<u64, String>(n)
    };
    let site = SuiteSite {
        name: "bench",
        module_path: "bench_harness",
        file: file!(),
        manifest_dir: env!("CARGO_MANIFEST_DIR"),
    };
    let source = match dataset {
        Some(path) => TaskSource::Jsonl(path),
        None => TaskSource::Inline(tasks),
    };
    let mut builder = suite(site, source, agent).concurrency(setting("EVAL_BENCH_CONCURRENCY", 64) as usize);
    for s in 0..setting("EVAL_BENCH_SCORERS", 5) {
        builder = builder.scorer(Exact(ScorerSpec::new(format!("exact_{s}"))));
    }
    builder.build()
}

/// The sizes the performance budgets name: tasks, scorers, wall seconds, peak megabytes.
const BUDGETS: [(u64, u64, f64, Option<u64>); 2] = [(10_000, 5, 0.25, None), (100_000, 2, 1.2, Some(300))];

fn main() -> std::process::ExitCode {
    if std::env::var_os("EVAL_BENCH_TASKS").is_some() {
        return one_size();
    }
    let exe = std::env::current_exe().expect("the benchmark's own path");
    let args: Vec<String> = std::env::args().skip(1).collect();
    eprintln!("size               wall       per pair   peak memory   budget");
    for (tasks, scorers, seconds, megabytes) in BUDGETS {
        let output = std::process::Command::new(&exe)
            .args(&args)
            .env("EVAL_BENCH_TASKS", tasks.to_string())
            .env("EVAL_BENCH_SCORERS", scorers.to_string())
            .stdout(std::process::Stdio::null())
            .output()
            .expect("the benchmark runs itself");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let Some(figures) = stderr.lines().rev().find_map(|line| line.strip_prefix("figures: ")) else {
            eprintln!("{tasks} × {scorers}: no figures ({})\n{stderr}", output.status);
            return std::process::ExitCode::FAILURE;
        };
        let budget = match megabytes {
            Some(mb) => format!("≤ {seconds} s, ≤ {mb} MB"),
            None => format!("≤ {seconds} s, ≤ 5 µs per pair"),
        };
        eprintln!("{:<18} {figures}   {budget}", format!("{tasks} × {scorers}"));
    }
    std::process::ExitCode::SUCCESS
}

/// Runs the size the environment names.
fn one_size() -> std::process::ExitCode {
    let inline = std::env::var("EVAL_BENCH_SOURCE").is_ok_and(|source| source == "inline");
    let data = tempfile::tempdir().expect("a temporary directory for the dataset");
    let dataset = (!inline).then(|| write_dataset(data.path()));
    let started = Instant::now();
    let store = tempfile::tempdir().expect("a temporary store");
    // SAFETY: set before any other thread exists.
    unsafe {
        std::env::set_var("EVAL_STORE_DIR", store.path());
        // Nothing is written next to the sources, as in CI.
        std::env::set_var("CI", "true");
    }
    let code = eval_harness::__private::run_main(vec![bench_suite(dataset)], &|_| {}, None);
    let elapsed = started.elapsed();
    let pairs = setting("EVAL_BENCH_TASKS", 1000) * setting("EVAL_BENCH_SCORERS", 5);
    eprintln!(
        "bench_harness: {} tasks × {} scorers = {pairs} pairs, agent latency {} ms, concurrency {}",
        setting("EVAL_BENCH_TASKS", 1000),
        setting("EVAL_BENCH_SCORERS", 5),
        setting("EVAL_BENCH_LATENCY_MS", 0),
        setting("EVAL_BENCH_CONCURRENCY", 64),
    );
    eprintln!(
        "figures: {:>7.3} s  {:>7.2} µs  {:>8}",
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / pairs as f64,
        peak_memory().map_or("n/a".to_owned(), |kb| format!("{} MB", kb / 1024)),
    );
    code
}

/// The process's peak resident memory in KiB, where the system tells it.
fn peak_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
