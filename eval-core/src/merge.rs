//! Joining the runs of one suite made in parts (shards on several machines) into one run.

use crate::record::TaskRecord;
use crate::result::{Producer, RunMeta, RunResult, RunStatus, Selection};
use std::collections::{BTreeSet, HashMap};
use thiserror::Error;

/// Why runs cannot be joined. Every variant names the runs concerned.
#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum MergeError {
    /// Nothing to join.
    #[error("no run to merge")]
    NoRuns,
    /// The runs are not of the same suite, or not graded the same way.
    #[error("run {other} cannot be merged with run {first}: {why}")]
    NotTheSameEval {
        /// The first run's id.
        first: String,
        /// The run that differs.
        other: String,
        /// What differs.
        why: String,
    },
    /// A task record is in two of the runs (overlapping shards, or a run given twice).
    #[error("task record `{task_id}` is in both run {first} and run {second}: the runs overlap")]
    Overlap {
        /// The record's id.
        task_id: String,
        /// The run it was found in first.
        first: String,
        /// The run it was found in again.
        second: String,
    },
}

/// Joins `runs` (parts of one suite's run, such as its shards) into one: the same suite, scorers
/// and attempts, no task record twice. The result is a new run (id `run_id`) holding every
/// record in the order given; it is complete when its tasks are all the suite's, completed when
/// every part is.
///
pub fn merge_runs(runs: Vec<RunResult>, run_id: String) -> Result<RunResult, MergeError> {
    let mut runs = runs.into_iter();
    let first = runs.next().ok_or(MergeError::NoRuns)?;
    let (mut meta, mut tasks) = first.into_parts();
    let first_id = meta.run_id.clone();
    let mut seen: HashMap<String, String> = tasks.iter().map(|t| (t.task_id.clone(), first_id.clone())).collect();
    let mut status_completed = meta.status == RunStatus::Completed;
    let mut labels: BTreeSet<Option<String>> = BTreeSet::from([meta.label.clone()]);
    for run in runs {
        let (other, records) = run.into_parts();
        check_same(&meta, &other)?;
        for record in &records {
            if let Some(earlier) = seen.insert(record.task_id.clone(), other.run_id.clone()) {
                return Err(MergeError::Overlap {
                    task_id: record.task_id.clone(),
                    first: earlier,
                    second: other.run_id.clone(),
                });
            }
        }
        status_completed &= other.status == RunStatus::Completed;
        labels.insert(other.label.clone());
        if other.created_at < meta.created_at {
            meta.created_at = other.created_at.clone();
        }
        meta.duration_ms = meta.duration_ms.max(other.duration_ms);
        meta.concurrency = meta.concurrency.max(other.concurrency);
        if meta.git != other.git {
            meta.git = None;
        }
        if meta.model != other.model {
            meta.model = None;
        }
        tasks.extend(records);
    }
    let distinct: BTreeSet<&str> = tasks.iter().map(TaskRecord::base_id).collect();
    let complete = distinct.len() == meta.suite.size;
    meta.run_id = run_id;
    meta.label = match labels.len() {
        1 => labels.into_iter().next().flatten(),
        _ => None,
    };
    meta.status = if status_completed {
        RunStatus::Completed
    } else {
        RunStatus::Interrupted
    };
    meta.selection = Some(Selection {
        filter: (!complete).then(|| format!("merge of {} of the suite's {} tasks", distinct.len(), meta.suite.size)),
        complete,
    });
    meta.producer = Some(Producer::this_crate());
    meta.resumed = None;
    meta.regraded_from = None;
    Ok(RunResult::new(meta, tasks))
}

/// Whether `other` is a part of the same eval as `first`.
fn check_same(first: &RunMeta, other: &RunMeta) -> Result<(), MergeError> {
    let differs = |why: String| MergeError::NotTheSameEval {
        first: first.run_id.clone(),
        other: other.run_id.clone(),
        why,
    };
    if other.suite.name != first.suite.name {
        return Err(differs(format!(
            "it is of suite `{}`, not `{}`",
            other.suite.name, first.suite.name
        )));
    }
    if other.suite.size != first.suite.size {
        return Err(differs(format!(
            "its suite has {} tasks, not {} (another version of the dataset)",
            other.suite.size, first.suite.size
        )));
    }
    if other.scorers != first.scorers {
        return Err(differs("it was graded by other scorers".to_owned()));
    }
    if (other.repeats, other.fewest_repeats) != (first.repeats, first.fewest_repeats) {
        return Err(differs(format!(
            "it was made with repeats = {}, not {}",
            other.repeats, first.repeats
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(run_id: &str, tasks: &[&str]) -> RunResult {
        use crate::result::SuiteInfo;
        use crate::task::ContentHash;
        use crate::trace::Trace;
        use serde_json::{Map, Value, json};
        let meta = RunMeta {
            created_at: "2026-12-01T00:00:00Z".to_owned(),
            duration_ms: 1,
            suite: SuiteInfo {
                name: "s".to_owned(),
                size: 2,
                source: "inline".to_owned(),
            },
            ..crate::fixtures::run_meta(run_id)
        };
        let records = tasks
            .iter()
            .map(|id| TaskRecord {
                task_id: (*id).to_owned(),
                inputs: json!({}),
                reference_outputs: Value::Null,
                tags: Vec::new(),
                metadata: Map::new(),
                trace: Trace::default(),
                feedback: Vec::new(),
                budget_violation: false,
                scorer_traces: Vec::new(),
                trace_ref: None,
                outputs: Value::Null,
                attempt: None,
                content_hash: ContentHash::of(&json!({}), &Value::Null),
            })
            .collect();
        RunResult::new(meta, records)
    }

    #[test]
    fn parts_join_and_differences_are_named() {
        let merged = merge_runs(vec![part("a", &["t1"])], "m".to_owned()).unwrap();
        let selection = merged.meta.selection.clone().unwrap();
        assert!(!selection.complete);
        assert_eq!(selection.filter.as_deref(), Some("merge of 1 of the suite's 2 tasks"));
        assert_eq!(merged.meta.run_id, "m");

        let mut other_suite = part("b", &["t2"]);
        other_suite.meta.suite.name = "t".to_owned();
        let error = merge_runs(vec![part("a", &["t1"]), other_suite], "m".to_owned()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "run b cannot be merged with run a: it is of suite `t`, not `s`"
        );
        let mut interrupted = part("b", &["t2"]);
        interrupted.meta.status = RunStatus::Interrupted;
        let merged = merge_runs(vec![part("a", &["t1"]), interrupted], "m".to_owned()).unwrap();
        assert_eq!(merged.meta.status, RunStatus::Interrupted);
        assert!(merged.meta.selection.unwrap().complete);
        let overlap = merge_runs(vec![part("a", &["t1"]), part("b", &["t1"])], "m".to_owned()).unwrap_err();
        assert_eq!(
            overlap.to_string(),
            "task record `t1` is in both run a and run b: the runs overlap"
        );
        assert_eq!(merge_runs(Vec::new(), "m".to_owned()).unwrap_err(), MergeError::NoRuns);
    }
}
