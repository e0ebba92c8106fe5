//! Benchmark of the whole harness: a synthetic suite of N tasks × S scorers through the real
//! trials, outcomes, run JSON and summary, as `cargo test --test evals` would run it.
//!
//! ```text
//! EVAL_BENCH_TASKS=10000 EVAL_BENCH_SCORERS=5 cargo run --release --example bench_harness -- -q
//! EVAL_BENCH_TASKS=64 EVAL_BENCH_LATENCY_MS=200 EVAL_BENCH_CONCURRENCY=64 \
//!     cargo run --release --example bench_harness -- --test-threads=2 -q
//! ```
//!
//! Prints the wall time of the whole process (minus compilation) and the cost per pair on
//! stderr. Run JSON goes to a temporary directory; no baseline is read or written.

use eval_harness::__private::{SuiteDef, SuiteSite, TaskSource, suite};
use eval_harness::core::{Ctx, Feedback, ScoreFuture, ScoreInput, Scorer, ScorerSpec, Suite, Task};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn tasks() -> Result<Suite, eval_harness::core::dataset::DatasetError> {
    let n = setting("EVAL_BENCH_TASKS", 1000);
    let values = (0..n)
        .map(|i| json!({"task_id": format!("t{i:05}"), "inputs": {"input": format!("question {i}")}, "reference_outputs": {"answer": i}}))
        .collect();
    Suite::from_values("bench", values)
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

fn bench_suite() -> SuiteDef {
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
    let mut builder =
        suite(site, TaskSource::Inline(tasks), agent).concurrency(setting("EVAL_BENCH_CONCURRENCY", 64) as usize);
    for s in 0..setting("EVAL_BENCH_SCORERS", 5) {
        builder = builder.scorer(Exact(ScorerSpec::new(format!("exact_{s}"))));
    }
    builder.build()
}

fn main() -> std::process::ExitCode {
    let started = Instant::now();
    let store = tempfile::tempdir().expect("a temporary store");
    // SAFETY: set before any other thread exists.
    unsafe {
        std::env::set_var("EVAL_STORE_DIR", store.path());
        // Nothing is written next to the sources, as in CI.
        std::env::set_var("CI", "true");
    }
    let code = eval_harness::__private::run_main(vec![bench_suite()], &|_| {}, None);
    let elapsed = started.elapsed();
    let pairs = setting("EVAL_BENCH_TASKS", 1000) * setting("EVAL_BENCH_SCORERS", 5);
    eprintln!(
        "bench_harness: {} tasks × {} scorers = {pairs} pairs in {elapsed:?} ({:.2} µs per pair, agent latency {} ms, concurrency {})",
        setting("EVAL_BENCH_TASKS", 1000),
        setting("EVAL_BENCH_SCORERS", 5),
        elapsed.as_secs_f64() * 1e6 / pairs as f64,
        setting("EVAL_BENCH_LATENCY_MS", 0),
        setting("EVAL_BENCH_CONCURRENCY", 64),
    );
    code
}
