//! The blinded label sheet: the tasks of a run as people label them, one JSON object a line,
//! `label` left `null` for them to fill in.
//!
//! Blinded: a line holds what the judge saw (inputs, outputs, reference outputs) and nothing of
//! what it said (no verdict, no score, no comment), so that people label the task, not the
//! judge's answer. The order is shuffled, so that the run's order (often easy tasks first, or
//! grouped by topic) does not lean on people either, and deterministic: the lines sorted by a
//! SHA-256 of their task id, the same order for every run of the suite and every key.

use super::error::CalibrationError;
use super::labels::Label;
use crate::atomic_file::{AtomicWriteError, IfExists, write_atomically};
use crate::record::TaskRecord;
use crate::result::RunResult;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::io::Write as _;
use std::path::Path;

/// One line of a label sheet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SheetLine {
    /// The task, without an attempt suffix.
    pub task_id: String,
    /// The key people label it for.
    pub key: String,
    /// The task's inputs.
    pub inputs: Value,
    /// What the agent answered (with repeats, in its first attempt).
    pub outputs: Value,
    /// The task's reference outputs (`null` when it has none).
    pub reference_outputs: Value,
    /// `None` (`null`) on a new sheet: people write a category here (`"pass"`, `"fail"`, …), or
    /// replace it with a `"score"` for a number.
    pub label: Option<Label>,
}

/// The label sheet of `key` for `run`: one line per task (with repeats, the first attempt's
/// outputs), sorted by a SHA-256 of the task id. Errors when the run has no feedback under
/// `key`.
pub fn label_sheet(run: &RunResult, key: &str) -> Result<Vec<SheetLine>, CalibrationError> {
    let keys = run.keys();
    if !keys.contains(&key) {
        return Err(CalibrationError::UnknownKey {
            key: key.to_owned(),
            run_id: run.run_id().to_owned(),
            known: keys.into_iter().map(str::to_owned).collect(),
        });
    }
    // The first attempt of each task: the lowest attempt number, whatever order the run
    // records them in.
    let mut first: HashMap<&str, &TaskRecord> = HashMap::new();
    for record in run.tasks() {
        let kept = first.entry(record.base_id()).or_insert(record);
        if record.attempt < kept.attempt {
            *kept = record;
        }
    }
    let mut records: Vec<([u8; 32], &TaskRecord)> = first
        .into_iter()
        .map(|(id, record)| (Sha256::digest(id.as_bytes()).into(), record))
        .collect();
    records.sort_by(|(a, first), (b, second)| a.cmp(b).then_with(|| first.base_id().cmp(second.base_id())));
    Ok(records
        .into_iter()
        .map(|(_, record)| SheetLine {
            task_id: record.base_id().to_owned(),
            key: key.to_owned(),
            inputs: record.inputs.clone(),
            outputs: record.outputs.clone(),
            reference_outputs: record.reference_outputs.clone(),
            label: None,
        })
        .collect())
}

/// The sheet as JSON Lines, one line per task, each ending in a newline.
pub fn sheet_jsonl(lines: &[SheetLine]) -> String {
    let mut out = String::new();
    for line in lines {
        // A line of JSON values and strings always serializes.
        out.push_str(&serde_json::to_string(line).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// Writes the sheet to `path` atomically (a temporary file beside it, renamed into place): a
/// reader sees no file or the whole sheet. An existing file is kept, and reported, unless
/// `replace`.
pub fn write_label_sheet(path: &Path, lines: &[SheetLine], replace: bool) -> Result<(), CalibrationError> {
    let if_exists = if replace { IfExists::Replace } else { IfExists::Keep };
    let text = sheet_jsonl(lines);
    write_atomically(path, if_exists, |out| out.write_all(text.as_bytes())).map_err(|e| match e {
        AtomicWriteError::AlreadyExists => CalibrationError::SheetExists { path: path.to_owned() },
        AtomicWriteError::Io { action, source, .. } => CalibrationError::SheetWrite {
            path: path.to_owned(),
            message: format!("cannot {action}: {source}"),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feedback::Feedback;
    use crate::task::ContentHash;
    use crate::trace::Trace;
    use serde_json::{Map, json};

    fn record(id: &str, attempt: Option<u32>, output: &str) -> TaskRecord {
        let inputs = json!({"input": format!("question {id}")});
        let reference_outputs = json!({"answer": format!("answer {id}")});
        TaskRecord {
            task_id: TaskRecord::id_of(id, attempt),
            content_hash: ContentHash::of(&inputs, &reference_outputs),
            inputs,
            reference_outputs,
            tags: Vec::new(),
            metadata: Map::new(),
            trace: Trace::default(),
            feedback: vec![
                Feedback::pass_fail("judge", true).with_comment("SECRET REASONING"),
                Feedback::pass_fail("other", false),
            ],
            budget_violation: false,
            scorer_traces: Vec::new(),
            trace_ref: None,
            outputs: json!(output),
            attempt,
        }
    }

    fn run(records: Vec<TaskRecord>) -> RunResult {
        RunResult::new(crate::fixtures::run_meta("01SHEET"), records)
    }

    #[test]
    fn one_blinded_line_per_task_in_the_order_of_a_hash() {
        let ids = ["alpha", "beta", "gamma", "delta", "epsilon"];
        let records: Vec<TaskRecord> = ids.iter().map(|id| record(id, None, &format!("out {id}"))).collect();
        let sheet = label_sheet(&run(records.clone()), "judge").unwrap();
        let mut expected: Vec<&str> = ids.to_vec();
        expected.sort_by_key(|id| <[u8; 32]>::from(Sha256::digest(id.as_bytes())));
        let order: Vec<&str> = sheet.iter().map(|line| line.task_id.as_str()).collect();
        assert_eq!(order, expected);
        assert_ne!(order, ids, "not the run's order");

        // The run's order does not change the sheet's.
        let reversed: Vec<TaskRecord> = records.into_iter().rev().collect();
        assert_eq!(label_sheet(&run(reversed), "judge").unwrap(), sheet);

        let text = sheet_jsonl(&sheet);
        assert_eq!(text.lines().count(), 5);
        let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        let id = first["task_id"].as_str().unwrap();
        assert_eq!(
            first,
            json!({
                "task_id": id, "key": "judge",
                "inputs": {"input": format!("question {id}")},
                "outputs": format!("out {id}"),
                "reference_outputs": {"answer": format!("answer {id}")},
                "label": null,
            })
        );
        assert!(
            !text.contains("SECRET") && !text.contains("score") && !text.contains("true"),
            "{text}"
        );
    }

    #[test]
    fn with_repeats_a_task_is_one_line_with_its_first_attempts_outputs() {
        let records = vec![
            record("a", Some(2), "second"),
            record("a", Some(1), "first"),
            record("a", Some(3), "third"),
        ];
        let sheet = label_sheet(&run(records), "judge").unwrap();
        assert_eq!(sheet.len(), 1);
        assert_eq!((sheet[0].task_id.as_str(), &sheet[0].outputs), ("a", &json!("first")));
    }

    #[test]
    fn an_unknown_key_is_refused() {
        let error = label_sheet(&run(vec![record("a", None, "x")]), "tone").unwrap_err();
        assert_eq!(
            error.to_string(),
            "run 01SHEET has no feedback under key `tone`; its keys: judge, other"
        );
    }

    #[test]
    fn the_sheet_is_written_whole_and_an_existing_file_is_kept_unless_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sheet.jsonl");
        let sheet = label_sheet(&run(vec![record("a", None, "x")]), "judge").unwrap();
        write_label_sheet(&path, &sheet, false).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), sheet_jsonl(&sheet));

        std::fs::write(&path, "my labels\n").unwrap();
        let error = write_label_sheet(&path, &sheet, false).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("label sheet {} exists already", path.display())
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "my labels\n");
        write_label_sheet(&path, &sheet, true).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), sheet_jsonl(&sheet));
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file is left");
    }
}
