//! The memory a run takes while it runs: not much more than the records it ends with, and, for
//! a run that owns its suite, not the suite's tasks too by the end.
//!
//! Each attempt's record used to be held twice or three times on its way to the run (in a
//! channel of its own, in the round's list and in a list per task); a run of many tasks then
//! peaked at several times what its result occupies. A counting allocator measures the peak of
//! live heap bytes during a run against what the finished run holds, and what a run allocates
//! in all: a run that owns its tasks moves each one's content into its record, where a run that
//! borrows them copies it.

use eval_engine::{Ctx, RunOptions, ScoreInput, ScorerSpec, Scorers, Suite, Task, run, run_owned, scorer_fn};
use serde_json::{Value, json};
use std::sync::Arc;

mod counting;

use counting::{live, peak, reset_peak, total};

const TASKS: usize = 20_000;

fn dataset() -> Suite {
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

fn agent(task: Arc<Task>, _ctx: Ctx) -> impl Future<Output = Result<u64, String>> + Send + 'static {
    std::future::ready(Ok(task.id()[1..].parse().unwrap_or(0)))
}

// The only test in this file: the counts are the whole process's.
#[test]
fn a_run_peaks_at_little_more_than_the_records_it_ends_with() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    // A borrowed suite: its tasks stay, the run adds its records and little else.
    let suite = dataset();
    let before = reset_peak();
    let allocated_before = total();
    let result = runtime.block_on(run(&suite, agent, scorers(), RunOptions::default().concurrency(64)));
    let allocated = total() - allocated_before;
    let peaked = peak() - before;
    let held = live().saturating_sub(before);
    assert_eq!(result.tasks().len(), TASKS);
    assert_eq!(result.pass_rate("exact", None), Some(1.0));
    // On their way the records may add a quarter more, no more (they added more than the
    // records themselves before).
    assert!(
        peaked * 4 <= held * 5,
        "the run peaked at {peaked} bytes ({} a task) for {held} bytes held at its end ({} a task)",
        peaked / TASKS,
        held / TASKS,
    );
    drop((result, suite));

    // An owned suite: each task goes once its attempt has started, so that by the end the
    // process holds the records alone, and never the suite and all the records at once.
    let before = live();
    let suite = dataset();
    let tasks = live() - before;
    reset_peak();
    let allocated_before = total();
    let result = runtime.block_on(run_owned(
        suite,
        agent,
        scorers(),
        RunOptions::default().concurrency(64),
    ));
    let allocated_owned = total() - allocated_before;
    let (peak_owned, held_owned) = (peak() - before, live().saturating_sub(before));
    assert_eq!(result.tasks().len(), TASKS);
    assert_eq!(result.pass_rate("exact", None), Some(1.0));
    assert!(
        held_owned * 20 <= held * 21,
        "an owned run still holds {held_owned} bytes at its end, the records take {held} (the tasks take {tasks})",
    );
    // Ids, inputs and reference outputs are about half of what the tasks take (the rest is the
    // tasks' own structs, which records do not keep): an owned run allocates none of it anew.
    assert!(
        allocated_owned + tasks / 3 <= allocated,
        "an owned run allocated {allocated_owned} bytes, a borrowed one {allocated}: the records copied the tasks' \
         content ({tasks} bytes for the tasks)",
    );
    // The peak is at the start, the tasks all there beside the list the records go into.
    assert!(
        peak_owned * 10 <= (held + tasks) * 9,
        "an owned run peaked at {peak_owned} bytes, the tasks taking {tasks} and the records {held}",
    );
}
