//! One attempt's record: the task as it ran, its trace, its output and its feedback.

use crate::feedback::{Feedback, Verdict};
use crate::score_ctx::ScorerTrace;
use crate::task::ContentHash;
use crate::trace::Trace;
use serde_json::{Map, Value};

/// One task's (or one attempt's) record: the task, its trace, its feedback.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRecord {
    /// The task id; with repeats, `<id>#<n>` (AG2's convention).
    pub task_id: String,
    /// The task's inputs, as JSON.
    pub inputs: Value,
    /// The task's reference outputs, as JSON (`null` when it has none).
    pub reference_outputs: Value,
    /// The task's tags.
    pub tags: Vec<String>,
    /// The task's metadata.
    pub metadata: Map<String, Value>,
    /// What the agent did.
    pub trace: Trace,
    /// Every scorer's feedback, in the order of the suite's scorers.
    pub feedback: Vec<Feedback>,
    /// Whether the trace went over the run's budgets.
    pub budget_violation: bool,
    /// What the scorers that make calls of their own (judges) did, one trace per scorer that
    /// recorded anything, apart from the agent's `trace`: their tokens never count against the
    /// agent's budgets.
    pub scorer_traces: Vec<ScorerTrace>,
    /// Link to an external trace (AG2's OpenTelemetry reference), kept as is.
    pub trace_ref: Option<Value>,
    /// The agent's output as JSON (`null` when the agent failed).
    pub outputs: Value,
    /// Attempt number with repeats, from 1 (as in `<id>#<n>`); `None` without repeats.
    pub attempt: Option<u32>,
    /// The hash of the task's inputs and reference outputs, to tell a changed task.
    pub content_hash: ContentHash,
}

impl TaskRecord {
    /// The record id of attempt `attempt` of task `task_id`: `<id>#<n>` with repeats (AG2's
    /// convention), the task id itself without.
    pub fn id_of(task_id: &str, attempt: Option<u32>) -> String {
        match attempt {
            Some(n) => format!("{task_id}#{n}"),
            None => task_id.to_owned(),
        }
    }

    /// The task id without the `#<n>` attempt suffix.
    pub fn base_id(&self) -> &str {
        match self.attempt {
            Some(_) => self.task_id.rsplit_once('#').map_or(&self.task_id, |(base, _)| base),
            None => &self.task_id,
        }
    }

    /// Whether the task carries `tag`.
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }

    /// The first feedback under `key`.
    pub fn feedback_for(&self, key: &str) -> Option<&Feedback> {
        self.feedback.iter().find(|fb| fb.key == key)
    }

    /// The verdict of `key` on this task, if the task has feedback under it.
    pub fn verdict(&self, key: &str) -> Option<Verdict> {
        self.feedback_for(key).map(Feedback::verdict)
    }
}
