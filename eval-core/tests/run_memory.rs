//! The memory a run takes while it runs: not much more than the records it ends with.
//!
//! Each attempt's record used to be held twice or three times on its way to the run (in a
//! channel of its own, in the round's list and in a list per task); a run of many tasks then
//! peaked at several times what its result occupies. A counting allocator measures the peak of
//! live heap bytes during `run` against what the finished run holds.

// Counting allocations takes a global allocator, which is unsafe to implement.
#![allow(unsafe_code)]

use eval_engine::{Ctx, RunOptions, ScoreInput, ScorerSpec, Scorers, Suite, Task, run, scorer_fn};
use serde_json::{Value, json};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts live heap bytes and remembers the most there were.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        grew(new_size);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const TASKS: usize = 20_000;

fn suite() -> Suite {
    let values = (0..TASKS)
        .map(|i| json!({"task_id": format!("t{i:05}"), "inputs": {"input": i}, "reference_outputs": {"answer": i}}))
        .collect();
    Suite::from_values("memory", values).expect("a valid suite")
}

fn scorers() -> Scorers<Value, Value, u64> {
    let exact = scorer_fn(ScorerSpec::new("exact"), |s: &ScoreInput<'_, Value, Value, u64>| {
        s.outputs.is_some_and(|o| s.reference_outputs()["answer"] == *o)
    });
    vec![Arc::new(exact)]
}

// The only test in this file: the counts are the whole process's.
#[test]
fn a_run_peaks_at_little_more_than_the_records_it_ends_with() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let suite = suite();
    let agent = |task: Arc<Task>, _ctx: Ctx| async move { Ok::<u64, String>(task.id()[1..].parse().unwrap_or(0)) };

    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let result = runtime.block_on(run(&suite, agent, scorers(), RunOptions::default().concurrency(64)));
    let peak = PEAK.load(Ordering::Relaxed) - before;
    let held = LIVE.load(Ordering::Relaxed).saturating_sub(before);

    assert_eq!(result.tasks().len(), TASKS);
    assert_eq!(result.pass_rate("exact", None), Some(1.0));
    // What the run keeps is its records (and the runtime's few buffers); on their way they may
    // add a quarter more, no more (they added more than the records themselves before).
    assert!(
        peak * 4 <= held * 5,
        "the run peaked at {peak} bytes ({} a task) for {held} bytes held at its end ({} a task)",
        peak / TASKS,
        held / TASKS,
    );
}
