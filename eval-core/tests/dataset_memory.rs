//! The memory a JSONL dataset takes while it loads: not much more than the suite it ends as.
//!
//! A parsed line is a tree of JSON values several times the size of the task made from it. The
//! loader used to parse every line before making any task, so a large dataset peaked at all its
//! values and all its tasks at once; each line now becomes its task as soon as it is read.

mod counting;

use counting::{live, peak, reset_peak};
use eval_engine::Suite;

const TASKS: usize = 20_000;

// The only test in this file: the counts are the whole process's.
#[test]
fn loading_a_dataset_peaks_at_little_more_than_the_suite_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large.jsonl");
    let mut text = String::new();
    for i in 0..TASKS {
        let line = serde_json::json!({
            "task_id": format!("t{i:05}"),
            "inputs": {"input": format!("question {i}"), "context": {"turns": [1, 2, 3], "lang": "en"}},
            "reference_outputs": {"answer": i, "because": "it is written so"},
            "tags": ["smoke", "large"],
        });
        text.push_str(&line.to_string());
        text.push('\n');
    }
    std::fs::write(&path, &text).unwrap();
    let file = text.len();
    drop(text);

    let before = reset_peak();
    let suite: Suite = Suite::from_jsonl(&path).unwrap();
    let peaked = peak() - before;
    let held = live() - before;
    assert_eq!(suite.len(), TASKS);
    // The file's bytes are read whole; beside them and the suite, a line's values at a time and
    // the duplicate check's index (two words a task) are all there is room for.
    let index = TASKS * 2 * std::mem::size_of::<usize>() * 2;
    assert!(
        peaked <= held + file + index + held / 10,
        "loading peaked at {peaked} bytes ({} a task) for a suite of {held} bytes ({} a task) and a file of \
         {file} bytes",
        peaked / TASKS,
        held / TASKS,
    );
}
