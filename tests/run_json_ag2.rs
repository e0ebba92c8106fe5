//! Run JSON written by AG2 loads here, renders AG2's summary verbatim, and survives a save and
//! load by this crate with AG2's fields, their order and their values intact.

use eval_engine::store::save_run;
use eval_engine::trace::Event;
use eval_engine::{RunResult, load_run};
use serde_json::Value;
use std::path::PathBuf;

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ag2")
        .join(name)
}

fn load_fixture_run(name: &str) -> RunResult {
    let path = fixture_path(name);
    load_run(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn read_fixture_json(name: &str) -> Value {
    let path = fixture_path(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .map(|map| map.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

/// JSON equality where numbers compare by value (`1` equals `1.0`) and key order is ignored:
/// Python writes `1.0` for a float grade that this crate writes as `1`.
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(xs), Value::Array(ys)) => xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| same_json(x, y)),
        (Value::Object(xs), Value::Object(ys)) => {
            xs.len() == ys.len() && xs.iter().all(|(k, x)| ys.get(k).is_some_and(|y| same_json(x, y)))
        }
        _ => a == b,
    }
}

#[test]
fn the_summary_of_an_ag2_run_is_ag2s_summary() {
    let expected = std::fs::read_to_string(fixture_path("run_b.summary.txt")).unwrap();
    let expected = expected.strip_suffix('\n').unwrap_or(&expected);
    assert_eq!(load_fixture_run("run_b.json").summary(), expected);
}

#[test]
fn an_ag2_run_loads_with_its_events_verbatim() {
    let run = load_fixture_run("run_a.json");
    let raw = read_fixture_json("run_a.json");
    assert_eq!(run.run_id(), "run_a");
    assert_eq!(run.meta.label.as_deref(), Some("regression-demo"));
    assert_eq!(run.meta.suite.name, "regression5");
    assert_eq!(run.tasks().len(), 5);
    let ids: Vec<&str> = run.tasks().iter().map(|t| t.task_id.as_str()).collect();
    assert_eq!(ids, ["reg-0", "reg-1", "reg-2", "reg-3", "reg-4"]);

    let task = &run.tasks()[0];
    assert!(!task.trace.events.is_empty());
    assert!(task.trace.events.iter().all(|e| matches!(e, Event::Foreign(_))));
    let raw_events = &raw["tasks"][0]["events"];
    let events = serde_json::to_value(&task.trace.events).unwrap();
    assert_eq!(&events, raw_events);
    // Same text too: key order and float digits are kept.
    assert_eq!(
        serde_json::to_string(&task.trace.events).unwrap(),
        serde_json::to_string(raw_events).unwrap()
    );
    assert_eq!(task.trace_ref.as_ref(), Some(&raw["tasks"][0]["trace_ref"]));
    assert_eq!(run.aggregates().pass_rate["final_answer_matches"], 1.0);
}

#[test]
fn an_ag2_run_saved_and_loaded_again_is_unchanged() {
    let first = load_fixture_run("run_b.json");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("regression5/run_b.json");
    save_run(&first, &path).unwrap();
    let second = load_run(&path).unwrap();
    assert_eq!(second, first);
    assert_eq!(second.summary(), first.summary());

    // AG2's fields come first, in AG2's order, with AG2's values; ours follow.
    let original = read_fixture_json("run_b.json");
    let saved: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_ag2_fields_kept(&original, &saved, "run", &["tasks", "aggregates"]);
    assert_ag2_fields_kept(&original["aggregates"], &saved["aggregates"], "aggregates", &[]);
    assert_eq!(keys(&saved["aggregates"])[6..], ["pass_counts", "ungradeable"]);
    let (original_tasks, saved_tasks) = (
        original["tasks"].as_array().unwrap(),
        saved["tasks"].as_array().unwrap(),
    );
    assert_eq!(original_tasks.len(), saved_tasks.len());
    for (original_task, saved_task) in original_tasks.iter().zip(saved_tasks) {
        assert_ag2_fields_kept(original_task, saved_task, "task", &[]);
        assert_eq!(keys(saved_task)[12..], ["outputs", "attempt", "content_hash"]);
        // Events are kept exactly, not merely equal in value.
        assert_eq!(original_task["events"], saved_task["events"]);
    }
}

/// `saved` starts with every field of `original`, in the same order, and (except `skip`,
/// checked by the caller) with the same values.
fn assert_ag2_fields_kept(original: &Value, saved: &Value, what: &str, skip: &[&str]) {
    let ag2_keys = keys(original);
    assert!(
        keys(saved).starts_with(&ag2_keys),
        "{what}: {:?} does not start with {ag2_keys:?}",
        keys(saved)
    );
    for key in ag2_keys.iter().filter(|key| !skip.contains(key)) {
        assert!(
            same_json(&original[key], &saved[key]),
            "{what} field `{key}` changed: {} became {}",
            original[key],
            saved[key]
        );
    }
}
