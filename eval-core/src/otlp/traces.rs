//! Spans into one trace per task, and a run of those traces for a suite's scorers to grade.

use super::read::OtlpSpan;
use crate::capture::SpanRecorder;
use crate::record::TaskRecord;
use crate::result::{RunMeta, RunResult, SuiteInfo};
use crate::suite::Suite;
use crate::trace::{Exception, Trace};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

/// The attribute naming a span's task unless told otherwise.
pub const TASK_ID_ATTRIBUTE: &str = "eval.task_id";
/// The attribute holding a task's answer as JSON.
pub const OUTPUTS_ATTRIBUTE: &str = "eval.outputs";

/// How spans are assigned to tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskKey {
    /// The value of this attribute on any span of the trace (or on its resource).
    Attribute(String),
    /// The task of each trace id.
    Mapping(HashMap<String, String>),
}

impl Default for TaskKey {
    fn default() -> Self {
        TaskKey::Attribute(TASK_ID_ATTRIBUTE.to_owned())
    }
}

/// One task's trace, read from spans recorded elsewhere.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskTrace {
    /// The task.
    pub task_id: String,
    /// The trace id the spans carried.
    pub trace_id: String,
    /// What the spans say happened, by the live capture's rules; its duration is the root
    /// span's, its exception the root span's error.
    pub trace: Trace,
    /// The answer, from the `eval.outputs` attribute (`null` without one).
    pub outputs: Value,
}

/// Spans that could not be put into any task's trace, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The file the span came from.
    pub file: PathBuf,
    /// The span (its name and id) or the trace.
    pub what: String,
    /// Why.
    pub why: String,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.file.display(), self.what, self.why)
    }
}

/// The traces of the tasks, and what was left out.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImportedTraces {
    /// One per task, in the order their traces first appear.
    pub tasks: Vec<TaskTrace>,
    /// Spans without a task, traces of a task that already has one.
    pub skipped: Vec<Skipped>,
}

/// Groups `spans` by trace, names each trace's task by `key`, and builds its trace. A trace
/// without a task is skipped (its first span named); so is a second trace of a task.
pub fn import_traces(spans: Vec<OtlpSpan>, key: &TaskKey) -> ImportedTraces {
    let mut by_trace: BTreeMap<(usize, String), Vec<OtlpSpan>> = BTreeMap::new();
    let mut order: HashMap<String, usize> = HashMap::new();
    for span in spans {
        let next = order.len();
        let position = *order.entry(span.trace_id.clone()).or_insert(next);
        by_trace
            .entry((position, span.trace_id.clone()))
            .or_default()
            .push(span);
    }
    let mut imported = ImportedTraces::default();
    let mut seen: HashSet<String> = HashSet::new();
    for ((_, trace_id), spans) in by_trace {
        let task_id = match key {
            TaskKey::Attribute(name) => spans.iter().find_map(|span| match span.attribute(name)? {
                Value::String(id) => Some(id.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            }),
            TaskKey::Mapping(mapping) => mapping.get(&trace_id).cloned(),
        };
        let Some(task_id) = task_id else {
            let why = match key {
                TaskKey::Attribute(name) => format!("no span of trace {trace_id} has the attribute `{name}`"),
                TaskKey::Mapping(_) => format!("the mapping names no task for trace {trace_id}"),
            };
            imported.skipped.extend(spans.iter().map(|span| Skipped {
                file: span.file.clone(),
                what: span.describe(),
                why: why.clone(),
            }));
            continue;
        };
        if !seen.insert(task_id.clone()) {
            imported.skipped.push(Skipped {
                file: spans[0].file.clone(),
                what: format!("trace {trace_id}"),
                why: format!("task `{task_id}` already has a trace; only its first is graded"),
            });
            continue;
        }
        imported.tasks.push(task_trace(task_id, trace_id, spans));
    }
    imported
}

/// The trace of one task's spans: each span, in the order they ended, through the capture's
/// rules; a span's usage counts unless a span inside it reported usage too.
fn task_trace(task_id: String, trace_id: String, mut spans: Vec<OtlpSpan>) -> TaskTrace {
    spans.sort_by_key(|span| (span.end_ns, span.start_ns));
    let parents: HashMap<&str, &str> = spans
        .iter()
        .map(|span| (span.span_id.as_str(), span.parent_span_id.as_str()))
        .collect();
    let mut usage_below: HashSet<&str> = HashSet::new();
    let recorder = SpanRecorder::new(&task_id);
    for span in &spans {
        let attributes = span.attributes.iter().map(|(k, v)| (k.as_str(), v));
        let reported_usage = recorder.finished(&span.name, attributes, usage_below.contains(span.span_id.as_str()));
        if reported_usage {
            let mut parent = parents.get(span.span_id.as_str()).copied();
            while let Some(id) = parent.filter(|id| !id.is_empty()) {
                usage_below.insert(id);
                parent = parents.get(id).copied();
            }
        }
    }
    let ids: HashSet<&str> = spans.iter().map(|span| span.span_id.as_str()).collect();
    let root = spans
        .iter()
        .find(|span| span.parent_span_id.is_empty() || !ids.contains(span.parent_span_id.as_str()));
    let duration_ms = root.map_or(0, |root| root.end_ns.saturating_sub(root.start_ns) / 1_000_000);
    let exception = root
        .and_then(|root| root.error.clone())
        .map(|message| Exception::new("error", message));
    let outputs = spans
        .iter()
        .find_map(|span| span.attribute(OUTPUTS_ATTRIBUTE))
        .map(|value| match value {
            Value::String(text) => serde_json::from_str(text).unwrap_or_else(|_| value.clone()),
            other => other.clone(),
        })
        .unwrap_or(Value::Null);
    TaskTrace {
        task_id,
        trace_id,
        trace: Trace::new(recorder.into_events(), exception, duration_ms),
        outputs,
    }
}

/// A run of `traces` as if `suite`'s agent had produced them, for
/// [`regrade`](fn@crate::regrade) to grade with today's scorers: each trace becomes the record
/// of its task (the task's inputs, reference and content hash as the suite has them). A task
/// without a trace has no record, so the regrade says it was not graded; a trace of a task
/// the suite does not have is left out. `source` names where the traces came from: the run's
/// id (which the regrade records as `replayed_from`) and its target.
pub fn stored_run<I: Serialize, R: Serialize>(suite: &Suite<I, R>, traces: Vec<TaskTrace>, source: &str) -> RunResult {
    let mut by_task: HashMap<String, TaskTrace> = traces.into_iter().map(|t| (t.task_id.clone(), t)).collect();
    let records = suite
        .tasks()
        .iter()
        .filter_map(|task| {
            let imported = by_task.remove(task.id())?;
            Some(TaskRecord {
                task_id: task.id().to_owned(),
                inputs: serde_json::to_value(task.inputs()).unwrap_or(Value::Null),
                reference_outputs: serde_json::to_value(task.reference_outputs()).unwrap_or(Value::Null),
                tags: task.tags().to_vec(),
                metadata: Default::default(),
                trace: imported.trace,
                feedback: Vec::new(),
                budget_violation: false,
                scorer_traces: Vec::new(),
                trace_ref: Some(serde_json::json!({"otlp_trace_id": imported.trace_id})),
                outputs: imported.outputs,
                attempt: None,
                content_hash: task.content_hash().clone(),
            })
        })
        .collect();
    let suite_info = SuiteInfo {
        name: suite.name().to_owned(),
        size: suite.len(),
        source: suite.source().to_owned(),
    };
    let meta = RunMeta {
        target: format!("otlp:{source}"),
        ..RunMeta::new(source, suite_info)
    };
    RunResult::new(meta, records)
}
