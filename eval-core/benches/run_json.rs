//! Benchmark of the engine on a synthetic run: running N tasks × 5 scorers with an instant
//! agent, saving and loading the run JSON, diffing two runs, re-grading a loaded run with other
//! scorers (a regrade), and the memory a loaded run takes.
//!
//! `cargo bench -p eval-engine --bench run_json [-- <tasks>]` (default 10,000 tasks). Prints
//! figures; it asserts nothing about time.

// Counting allocations takes a global allocator, which is unsafe to implement.
#![allow(unsafe_code)]

use eval_engine::scorer::Threshold;
use eval_engine::store::save_run;
use eval_engine::{
    Ctx, DiffMode, RunOptions, RunResult, ScoreInput, Scorer, ScorerSpec, Scorers, Suite, Task, decode_output,
    load_run, regrade, run, scorer_fn,
};
use serde_json::{Value, json};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Counts live heap bytes, to measure what a loaded run occupies.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

type Input<'a> = ScoreInput<'a, Value, Value, String>;

fn suite(tasks: usize) -> Suite {
    let values = (0..tasks)
        .map(|i| {
            json!({
                "task_id": format!("task-{i:05}"),
                "inputs": {"input": format!("What is the weather in city {i}?"), "city": format!("city-{i}")},
                "reference_outputs": {"answer": format!("ANS-{i}"), "temp_c": (i % 40) as f64 - 5.0},
                "tags": if i % 3 == 0 { json!(["smoke"]) } else { json!("full") },
                "metadata": {"difficulty": i % 5},
            })
        })
        .collect();
    Suite::from_values("synthetic", values).expect("valid synthetic suite")
}

fn scorers(flip_every: usize) -> Scorers<Value, Value, String> {
    let exact: Arc<dyn Scorer<Value, Value, String>> =
        Arc::new(scorer_fn(ScorerSpec::new("final_answer_matches"), move |s: &Input| {
            let wrong = flip_every > 0 && s.task.id().ends_with(&format!("{}", flip_every % 10));
            s.outputs
                .map(|o| !wrong && s.reference_outputs()["answer"] == o.as_str())
        }));
    let tool: Arc<dyn Scorer<Value, Value, String>> =
        Arc::new(scorer_fn(ScorerSpec::new("tool_called[lookup]"), |s: &Input| {
            s.trace.tool_calls().any(|c| c.name == "lookup")
        }));
    let overlap: Arc<dyn Scorer<Value, Value, String>> =
        Arc::new(scorer_fn(ScorerSpec::new("overlap"), |s: &Input| {
            s.outputs.map(|o| o.len() as f64 / 10.0)
        }));
    let gated: Arc<dyn Scorer<Value, Value, String>> = Arc::new(scorer_fn(
        ScorerSpec::new("quality").with_threshold(Threshold::at_least(0.5)),
        |s: &Input| s.trace.tokens.total() as f64 / 100.0,
    ));
    let label: Arc<dyn Scorer<Value, Value, String>> =
        Arc::new(scorer_fn(ScorerSpec::new("tone"), |_: &Input| "neutral"));
    vec![exact, tool, overlap, gated, label]
}

async fn make_run(tasks: &Suite, run_id: &str, flip_every: usize) -> RunResult {
    let agent = |task: Arc<Task>, ctx: Ctx| async move {
        let code = task.id().trim_start_matches("task-").to_owned();
        ctx.tool_call("lookup", json!({ "code": code }));
        ctx.tool_result("lookup", json!(format!("record for {code}")));
        ctx.usage(60, 12);
        ctx.model_response(format!("ANS-{}", code.trim_start_matches('0')));
        Ok::<_, String>(format!("ANS-{}", code.trim_start_matches('0')))
    };
    let options = RunOptions::default()
        .concurrency(64)
        .run_id(run_id)
        .expect("plain run id");
    run(tasks, agent, scorers(flip_every), options).await
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time<T>(rounds: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut samples = Vec::with_capacity(rounds);
    let mut last = None;
    for _ in 0..rounds {
        let start = Instant::now();
        last = Some(f());
        samples.push(start.elapsed());
    }
    (median(samples), last.expect("at least one round"))
}

fn main() {
    let tasks: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(10_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let suite = suite(tasks);
    let dir = tempfile::tempdir().expect("temp dir");

    let (run_time, baseline) = time(3, || runtime.block_on(make_run(&suite, "baseline", 0)));
    let current = runtime.block_on(make_run(&suite, "current", 7));
    let pairs = tasks * 5;
    println!(
        "engine run, instant agent: {tasks} tasks × 5 scorers in {run_time:?} ({:.2} µs per pair)",
        run_time.as_secs_f64() * 1e6 / pairs as f64
    );

    let mut round = 0;
    let (save_time, path) = time(5, || {
        round += 1;
        let path = dir.path().join(format!("run-{round}.json"));
        save_run(&baseline, &path).expect("save");
        path
    });
    let size = std::fs::metadata(&path).expect("saved file").len();
    println!("save: {save_time:?} (median of 5; {:.1} MB)", size as f64 / 1e6);

    let (load_time, loaded) = time(5, || load_run(&path).expect("load"));
    println!("load: {load_time:?} (median of 5)");
    drop(loaded);

    let before = LIVE.load(Ordering::Relaxed);
    let loaded = load_run(&path).expect("load");
    let retained = LIVE.load(Ordering::Relaxed).saturating_sub(before);
    println!(
        "memory of the loaded run: {:.1} MB = {:.2}× its JSON",
        retained as f64 / 1e6,
        retained as f64 / size as f64
    );
    assert_eq!(loaded.tasks().len(), tasks);

    let options = RunOptions::default().concurrency(64);
    let mut samples = Vec::new();
    let mut regraded = None;
    for _ in 0..3 {
        // Neither the copy of the loaded run each round needs nor freeing the last round's
        // result is timed.
        drop(regraded.take());
        let stored = loaded.clone();
        let started = Instant::now();
        let result = runtime.block_on(regrade(&suite, stored, decode_output, scorers(7), options.clone()));
        samples.push(started.elapsed());
        regraded = Some(result);
    }
    let (regrade_time, regraded) = (median(samples), regraded.expect("three rounds"));
    println!(
        "regrade (re-grade of the loaded run, no agent): {regrade_time:?} (median of 3; {:.2} µs per pair)",
        regrade_time.as_secs_f64() * 1e6 / pairs as f64
    );
    assert_eq!(regraded.tasks().len(), tasks);

    let (diff_time, diff) = time(5, || {
        current.diff(&baseline, DiffMode::Strict).expect("comparable runs")
    });
    println!(
        "diff: {diff_time:?} (median of 5; {} regressions)",
        diff.regressions().count()
    );
}
