//! Loading suites: the happy path, and every malformed input naming file, line and field.

use eval_engine::dataset::DatasetError;
use eval_engine::task::TaskOrigin;
use eval_engine::{Suite, Task};
use serde::Deserialize;
use serde_json::{Value, json};
use std::path::PathBuf;

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn load_err(text: &str) -> (DatasetError, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "data.jsonl", text);
    let err = Suite::<Value, Value>::from_jsonl(&path).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("data.jsonl"), "the message names the file: {message}");
    (err, message)
}

#[test]
fn loads_jsonl_with_bom_blank_lines_tags_and_auto_ids() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "weather.jsonl",
        "\u{feff}{\"inputs\": {\"input\": \"Paris?\"}, \"reference_outputs\": {\"city\": \"Paris\"}, \"tags\": \"smoke\"}\n\
         \n   \r\n\
         {\"task_id\": \"lyon\", \"inputs\": {\"input\": \"Lyon?\"}, \"tags\": [\"a\", \"b\"], \"metadata\": {\"k\": 1}}\r\n\
         {\"inputs\": {\"input\": \"Nice?\"}}",
    );
    let suite: Suite = Suite::from_jsonl(&path).unwrap();
    assert_eq!(suite.name(), "weather");
    let ids: Vec<&str> = suite.tasks().iter().map(|t| t.id()).collect();
    assert_eq!(ids, ["task-0000", "lyon", "task-0002"]);
    let first = &suite.tasks()[0];
    assert_eq!(first.input(), "Paris?");
    assert_eq!(first.tags(), ["smoke"]);
    assert_eq!(first.reference_outputs(), &json!({"city": "Paris"}));
    assert_eq!(
        first.origin(),
        &TaskOrigin::File {
            path: path.clone(),
            line: 1
        }
    );
    let lyon = suite.get("lyon").unwrap();
    assert_eq!(lyon.tags(), ["a", "b"]);
    assert_eq!(lyon.metadata()["k"], 1);
    assert_eq!(lyon.reference_outputs(), &Value::Null);
    assert_eq!(lyon.origin().to_string(), format!("{}:4", path.display()));
    assert_eq!(suite.with_tag("a").count(), 1);
}

#[test]
fn malformed_line_names_file_and_line() {
    let (err, message) = load_err("{\"inputs\": {}}\n{\"inputs\": {\"input\": \"x\"\n");
    assert!(matches!(err, DatasetError::Json { .. }), "{err:?}");
    assert!(message.contains("data.jsonl:2: not valid JSON"), "{message}");
}

#[test]
fn a_line_that_is_not_an_object_is_rejected() {
    let (err, message) = load_err("{\"inputs\": {}}\n[1, 2]\n");
    assert!(matches!(err, DatasetError::NotAnObject { .. }));
    assert!(
        message.contains(":2: a task must be a JSON object, found an array"),
        "{message}"
    );
}

#[test]
fn missing_inputs_is_rejected() {
    let (err, message) = load_err("{\"task_id\": \"a\", \"reference_outputs\": {}}\n");
    assert!(matches!(err, DatasetError::MissingInputs { .. }));
    assert!(message.contains(":1: the task has no `inputs`"), "{message}");
}

#[test]
fn fields_of_the_wrong_kind_are_named() {
    for (line, field, expected) in [
        (r#"{"inputs": "hi"}"#, "inputs", "an object"),
        (
            r#"{"inputs": {}, "tags": [1]}"#,
            "tags",
            "a string or a list of strings",
        ),
        (r#"{"inputs": {}, "metadata": []}"#, "metadata", "an object"),
        (r#"{"inputs": {}, "task_id": 7}"#, "task_id", "a non-empty string"),
        (r#"{"inputs": {}, "task_id": ""}"#, "task_id", "a non-empty string"),
        (
            r#"{"inputs": {}, "reference_outputs": "x"}"#,
            "reference_outputs",
            "an object or null",
        ),
    ] {
        let (err, message) = load_err(line);
        assert!(matches!(err, DatasetError::InvalidField { .. }), "{line}: {err:?}");
        assert!(
            message.contains(&format!("field `{field}` must be {expected}")),
            "{message}"
        );
    }
}

#[test]
fn fields_are_found_in_any_order_unknown_ones_ignored_and_checked_in_a_fixed_order() {
    let dir = tempfile::tempdir().unwrap();
    let line = r#"{"metadata": {"k": 2}, "notes": "not a field", "tags": ["x"], "reference_outputs": {"a": 1}, "inputs": {"input": "hi"}, "task_id": "t"}"#;
    let path = write(&dir, "data.jsonl", line);
    let suite: Suite = Suite::from_jsonl(&path).unwrap();
    let task = &suite.tasks()[0];
    assert_eq!((task.id(), task.input()), ("t", "hi"));
    assert_eq!(task.tags(), ["x"]);
    assert_eq!(task.reference_outputs(), &json!({"a": 1}));
    assert_eq!(task.metadata()["k"], 2);
    assert!(task.metadata().get("notes").is_none());
    // Two fields of the wrong kind: `task_id` is named, wherever it is in the line.
    let (_, message) = load_err(r#"{"tags": [1], "inputs": {}, "task_id": 7}"#);
    assert!(
        message.contains("field `task_id` must be a non-empty string"),
        "{message}"
    );
}

#[test]
fn duplicate_ids_name_both_lines() {
    let (err, message) = load_err(
        "{\"task_id\": \"a\", \"inputs\": {}}\n\n{\"task_id\": \"b\", \"inputs\": {}}\n{\"task_id\": \"a\", \"inputs\": {}}\n",
    );
    assert!(matches!(err, DatasetError::DuplicateId { .. }));
    assert!(message.contains("duplicate task id `a`"), "{message}");
    assert!(
        message.contains("data.jsonl:1") && message.contains("data.jsonl:4"),
        "{message}"
    );
}

#[test]
fn an_auto_id_colliding_with_an_explicit_one_is_a_duplicate() {
    let (err, _) = load_err("{\"task_id\": \"task-0001\", \"inputs\": {}}\n{\"inputs\": {}}\n");
    assert!(matches!(err, DatasetError::DuplicateId { ref id, .. } if id == "task-0001"));
}

/// The library reads a dataset without tasks as an empty suite (a caller may mean an empty run);
/// the cargo-test harness is what refuses to run one.
#[test]
fn a_file_without_tasks_is_an_empty_suite() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("empty.jsonl", ""),
        ("blank.jsonl", "\n \t\r\n\n"),
        ("bom.jsonl", "\u{feff}\n"),
    ] {
        let suite = Suite::<Value, Value>::from_jsonl(write(&dir, name, text)).unwrap();
        assert!(suite.is_empty(), "{name}");
    }
}

#[test]
fn missing_file_is_named() {
    let err = Suite::<Value, Value>::from_jsonl("/nonexistent/dir/weather.jsonl").unwrap_err();
    assert!(matches!(err, DatasetError::NotFound { .. }));
    assert_eq!(
        err.to_string(),
        "dataset file /nonexistent/dir/weather.jsonl does not exist"
    );
}

#[test]
fn invalid_utf8_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.jsonl");
    std::fs::write(&path, b"{\"inputs\": {}}\n{\"inputs\": {\"input\": \"\xff\"}}\n").unwrap();
    let err = Suite::<Value, Value>::from_jsonl(&path).unwrap_err();
    assert!(
        err.to_string().ends_with("data.jsonl:2: the line is not valid UTF-8"),
        "{err}"
    );
}

#[derive(Debug, Deserialize, serde::Serialize, PartialEq)]
struct WeatherInputs {
    input: String,
    city: String,
    days: u32,
}

#[derive(Debug, Deserialize, serde::Serialize, PartialEq)]
struct WeatherReference {
    temp_c: f64,
}

#[test]
fn typed_datasets_deserialize_into_user_structs() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "typed.jsonl",
        r#"{"inputs": {"input": "?", "city": "Oslo", "days": 2}, "reference_outputs": {"temp_c": -3.5}}"#,
    );
    let suite: Suite<WeatherInputs, Option<WeatherReference>> = Suite::from_jsonl(&path).unwrap();
    let task = &suite.tasks()[0];
    assert_eq!(task.inputs().city, "Oslo");
    assert_eq!(task.reference_outputs().as_ref().unwrap().temp_c, -3.5);
}

#[test]
fn a_typed_mismatch_names_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "typed.jsonl",
        "{\"inputs\": {\"input\": \"?\", \"city\": \"Oslo\", \"days\": 2}}\n{\"inputs\": {\"input\": \"?\", \"city\": \"Oslo\", \"days\": \"two\"}}\n",
    );
    let err = Suite::<WeatherInputs, Value>::from_jsonl(&path).unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, DatasetError::Typed { ref field, .. } if field == "inputs.days"),
        "{err:?}"
    );
    assert!(
        message.contains("typed.jsonl:2: field `inputs.days` does not fit"),
        "{message}"
    );

    let missing = write(&dir, "missing.jsonl", r#"{"inputs": {"input": "?", "days": 2}}"#);
    let err = Suite::<WeatherInputs, Value>::from_jsonl(&missing).unwrap_err();
    assert!(err.to_string().contains("missing field `city`"), "{err}");

    let no_reference = write(
        &dir,
        "noref.jsonl",
        r#"{"inputs": {"input": "?", "city": "x", "days": 1}}"#,
    );
    let err = Suite::<WeatherInputs, WeatherReference>::from_jsonl(&no_reference).unwrap_err();
    assert!(err.to_string().contains("field `reference_outputs`"), "{err}");
}

#[test]
fn inline_suites_report_the_index() {
    let err = Suite::<Value, Value>::from_values("inline", vec![json!({"inputs": {}}), json!(3)]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "inline task #1: a task must be a JSON object, found a number"
    );
    let tasks = vec![
        Task::new("a", json!({}), Value::Null),
        Task::new("a", json!({"x": 1}), Value::Null),
    ];
    let err = Suite::from_tasks("inline", tasks).unwrap_err();
    assert_eq!(
        err.to_string(),
        "duplicate task id `a`: defined at inline task #0 and again at inline task #1"
    );
}

#[test]
fn content_hash_is_the_same_for_typed_and_untyped_loads() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "t.jsonl",
        r#"{"inputs": {"input": "?", "city": "Oslo", "days": 2}}"#,
    );
    let typed = Suite::<WeatherInputs, Value>::from_jsonl(&path).unwrap();
    let untyped = Suite::<Value, Value>::from_jsonl(&path).unwrap();
    assert_eq!(typed.tasks()[0].content_hash(), untyped.tasks()[0].content_hash());
}

/// `n` typed task lines, with `replace` putting other text at the given 1-based lines.
fn lines(n: usize, replace: &[(usize, &str)]) -> String {
    (1..=n)
        .map(|line| match replace.iter().find(|(at, _)| *at == line) {
            Some((_, text)) => (*text).to_owned(),
            None => {
                format!(r#"{{"task_id": "t{line}", "inputs": {{"input": "?", "city": "c{line}", "days": {line}}}}}"#)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_large_dataset_loads_in_order_and_names_its_first_error() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(&dir, "good.jsonl", &lines(5000, &[]));
    let suite: Suite<WeatherInputs, Value> = Suite::from_jsonl(&good).unwrap();
    assert_eq!(suite.len(), 5000);
    for (index, task) in suite.tasks().iter().enumerate() {
        assert_eq!(task.id(), format!("t{}", index + 1));
        assert_eq!(task.inputs().days, index as u32 + 1);
        assert_eq!(task.origin().to_string(), format!("{}:{}", good.display(), index + 1));
    }

    // Each line becomes its task as it is read: the first line with something wrong is named,
    // whatever is wrong with it, and whatever is wrong with the lines after it.
    let wrong_kind = r#"{"inputs": {"input": "?"}, "tags": 5}"#;
    let mismatch = r#"{"inputs": {"input": "?", "city": "x", "days": "two"}}"#;
    let cases = [
        ([(120, wrong_kind), (4900, "{not json")], "bad.jsonl:120: field `tags`"),
        (
            [(120, "{not json"), (4900, wrong_kind)],
            "bad.jsonl:120: not valid JSON",
        ),
        ([(3100, wrong_kind), (4000, mismatch)], "bad.jsonl:3100: field `tags`"),
        (
            [(3100, mismatch), (4000, wrong_kind)],
            "bad.jsonl:3100: field `inputs.days`",
        ),
    ];
    for (bad_lines, named) in cases {
        let bad = write(&dir, "bad.jsonl", &lines(5000, &bad_lines));
        let err = Suite::<WeatherInputs, Value>::from_jsonl(&bad).unwrap_err();
        assert!(err.to_string().contains(named), "{bad_lines:?}: {err}");
    }
}
