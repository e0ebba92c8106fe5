//! The run JSON as it is on disk, kept apart from the in-memory model.
//!
//! The shape is AG2's run JSON (schema 0.2) with this crate's fields after AG2's in every
//! object. Writing borrows the model ([`RunOut`]), so nothing is cloned; reading fills owned
//! records ([`RunIn`]) straight from the bytes, leniently: AG2 files lack our fields, older
//! files lack some of AG2's, and unknown fields are ignored. Neither side uses
//! `#[serde(flatten)]`, which would buffer every object.

use crate::aggregates::Aggregates;
use crate::feedback::Feedback;
use crate::record::TaskRecord;
use crate::result::{
    Budgets, GitInfo, Producer, Resumed, RunMeta, RunResult, RunStatus, SCHEMA_VERSION, Selection, SuiteInfo,
};
use crate::scorer::{ScorerSpec, ScorerTrace};
use crate::task::ContentHash;
use crate::trace::{Event, Exception, TokenUsage, Trace};
use crate::variant::Variant;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;

pub(crate) mod pretty_run;

/// The schema version a file without `schema_version` is taken to have (as AG2 does).
pub(crate) const IMPLICIT_SCHEMA_VERSION: &str = "0.1";

// ---------------------------------------------------------------------------------------------
// Writing

/// A run borrowed in its on-disk shape.
#[derive(Serialize)]
pub(crate) struct RunOut<'a> {
    schema_version: &'a str,
    run_id: &'a str,
    label: Option<&'a str>,
    created_at: &'a str,
    duration_ms: u64,
    suite: &'a SuiteInfo,
    target: &'a str,
    concurrency: usize,
    tasks: TasksOut<'a>,
    aggregates: &'a Aggregates,
    // Ours, after AG2's.
    status: RunStatus,
    selection: Option<&'a Selection>,
    repeats: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    fewest_repeats: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    variant: Option<&'a Variant>,
    budgets: &'a Budgets,
    producer: Option<&'a Producer>,
    git: Option<&'a GitInfo>,
    scorers: &'a [ScorerSpec],
    resumed: Option<&'a Resumed>,
    replayed_from: Option<&'a str>,
}

impl<'a> RunOut<'a> {
    /// The on-disk shape of `run`. The schema version written is always this crate's: the
    /// shape written is this crate's, whatever the version of the file the run was read from.
    pub(crate) fn new(run: &'a RunResult) -> Self {
        RunOut::with_tasks(run, run.tasks())
    }

    /// `run` in its on-disk shape with `tasks` for its records.
    fn with_tasks(run: &'a RunResult, tasks: &'a [TaskRecord]) -> Self {
        let meta = &run.meta;
        RunOut {
            schema_version: SCHEMA_VERSION,
            run_id: &meta.run_id,
            label: meta.label.as_deref(),
            created_at: &meta.created_at,
            duration_ms: meta.duration_ms,
            suite: &meta.suite,
            target: &meta.target,
            concurrency: meta.concurrency,
            tasks: TasksOut(tasks),
            aggregates: run.aggregates(),
            status: meta.status,
            selection: meta.selection.as_ref(),
            repeats: meta.repeats,
            fewest_repeats: meta.fewest_repeats,
            model: meta.model.as_deref(),
            variant: meta.variant.as_ref(),
            budgets: &meta.budgets,
            producer: meta.producer.as_ref(),
            git: meta.git.as_ref(),
            scorers: &meta.scorers,
            resumed: meta.resumed.as_ref(),
            replayed_from: meta.regraded_from.as_deref(),
        }
    }
}

struct TasksOut<'a>(&'a [TaskRecord]);

impl Serialize for TasksOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(TaskOut::new))
    }
}

/// A file of task records under a header of the caller's: `{"header": …, "tasks": […]}`, the
/// records in the run JSON's task shape.
#[derive(Serialize)]
pub(crate) struct TaskRecordsOut<'a, H> {
    header: &'a H,
    tasks: TasksOut<'a>,
}

impl<'a, H: Serialize> TaskRecordsOut<'a, H> {
    pub(crate) fn new(header: &'a H, tasks: &'a [TaskRecord]) -> Self {
        TaskRecordsOut {
            header,
            tasks: TasksOut(tasks),
        }
    }
}

/// A file of task records as read back.
#[derive(Deserialize)]
pub(crate) struct TaskRecordsIn<H> {
    pub(crate) header: H,
    pub(crate) tasks: Vec<TaskIn>,
}

/// One task record, flat, in AG2's field order.
#[derive(Serialize)]
pub(crate) struct TaskOut<'a> {
    task_id: &'a str,
    inputs: &'a Value,
    reference_outputs: &'a Value,
    tags: &'a [String],
    metadata: &'a Map<String, Value>,
    duration_ms: u64,
    events: &'a [Event],
    exception: Option<&'a Exception>,
    tokens: &'a TokenUsage,
    feedback: &'a [Feedback],
    budget_violation: bool,
    trace_ref: Option<&'a Value>,
    // Ours, after AG2's.
    outputs: &'a Value,
    attempt: Option<u32>,
    content_hash: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    scorer_traces: Vec<ScorerTraceOut<'a>>,
}

/// A scorer's own trace: its key, then the trace's fields as a task record has them.
#[derive(Serialize)]
struct ScorerTraceOut<'a> {
    scorer: &'a str,
    duration_ms: u64,
    events: &'a [Event],
    tokens: &'a TokenUsage,
}

impl<'a> TaskOut<'a> {
    pub(crate) fn new(task: &'a TaskRecord) -> Self {
        TaskOut {
            task_id: &task.task_id,
            inputs: &task.inputs,
            reference_outputs: &task.reference_outputs,
            tags: &task.tags,
            metadata: &task.metadata,
            duration_ms: task.trace.duration_ms,
            events: &task.trace.events,
            exception: task.trace.exception.as_ref(),
            tokens: &task.trace.tokens,
            feedback: &task.feedback,
            budget_violation: task.budget_violation,
            trace_ref: task.trace_ref.as_ref(),
            outputs: &task.outputs,
            attempt: task.attempt,
            content_hash: task.content_hash.as_str(),
            scorer_traces: task
                .scorer_traces
                .iter()
                .map(|scorer| ScorerTraceOut {
                    scorer: &scorer.scorer,
                    duration_ms: scorer.trace.duration_ms,
                    events: &scorer.trace.events,
                    tokens: &scorer.trace.tokens,
                })
                .collect(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reading

/// Just the schema version, read on its own when a file fails to load, so that a file of an
/// unsupported version says so instead of listing what it lacks.
#[derive(Deserialize)]
pub(crate) struct SchemaOnly {
    #[serde(default)]
    pub(crate) schema_version: Option<String>,
}

/// A run as read from disk. `aggregates` is not read: it is recomputed from the tasks.
#[derive(Deserialize)]
pub(crate) struct RunIn {
    #[serde(default)]
    pub(crate) schema_version: Option<String>,
    #[serde(default)]
    run_id: Option<String>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    created_at: String,
    #[serde(default, deserialize_with = "count")]
    duration_ms: u64,
    #[serde(default)]
    suite: Option<SuiteIn>,
    #[serde(default, deserialize_with = "null_as_default")]
    target: String,
    #[serde(default, deserialize_with = "optional_count")]
    concurrency: Option<u64>,
    #[serde(default)]
    tasks: Option<Vec<TaskIn>>,
    #[serde(default)]
    status: Option<RunStatus>,
    #[serde(default)]
    selection: Option<Selection>,
    #[serde(default, deserialize_with = "optional_count")]
    repeats: Option<u64>,
    #[serde(default, deserialize_with = "optional_count")]
    fewest_repeats: Option<u64>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    variant: Option<Variant>,
    #[serde(default)]
    budgets: Option<Budgets>,
    #[serde(default)]
    producer: Option<Producer>,
    #[serde(default)]
    git: Option<GitInfo>,
    #[serde(default, deserialize_with = "null_as_default")]
    scorers: Vec<ScorerSpec>,
    #[serde(default)]
    resumed: Option<Resumed>,
    #[serde(default)]
    replayed_from: Option<String>,
}

#[derive(Deserialize)]
struct SuiteIn {
    #[serde(default, deserialize_with = "null_as_default")]
    name: String,
    #[serde(default, deserialize_with = "optional_count")]
    size: Option<u64>,
    #[serde(default, deserialize_with = "null_as_default")]
    source: String,
}

#[derive(Deserialize)]
pub(crate) struct TaskIn {
    task_id: String,
    #[serde(default = "empty_object")]
    inputs: Value,
    #[serde(default)]
    reference_outputs: Value,
    #[serde(default, deserialize_with = "tags")]
    tags: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    metadata: Map<String, Value>,
    #[serde(default, deserialize_with = "count")]
    duration_ms: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    events: Vec<Event>,
    #[serde(default)]
    exception: Option<ExceptionIn>,
    #[serde(default, deserialize_with = "null_as_default")]
    tokens: TokensIn,
    #[serde(default, deserialize_with = "null_as_default")]
    feedback: Vec<Feedback>,
    #[serde(default, deserialize_with = "null_as_default")]
    budget_violation: bool,
    #[serde(default)]
    trace_ref: Option<Value>,
    #[serde(default)]
    outputs: Value,
    #[serde(default)]
    attempt: Option<u32>,
    #[serde(default)]
    content_hash: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    scorer_traces: Vec<ScorerTraceIn>,
}

#[derive(Deserialize)]
struct ScorerTraceIn {
    scorer: String,
    #[serde(default, deserialize_with = "count")]
    duration_ms: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    events: Vec<Event>,
    #[serde(default, deserialize_with = "null_as_default")]
    tokens: TokensIn,
}

impl TokensIn {
    fn into_usage(self) -> TokenUsage {
        TokenUsage {
            input: self.input,
            output: self.output,
            cache_creation: self.cache_creation,
            cache_read: self.cache_read,
        }
    }
}

#[derive(Deserialize)]
struct ExceptionIn {
    #[serde(rename = "type", default, deserialize_with = "null_as_default")]
    kind: String,
    #[serde(default, deserialize_with = "null_as_default")]
    message: String,
}

#[derive(Default, Deserialize)]
struct TokensIn {
    #[serde(default, deserialize_with = "count")]
    input: u64,
    #[serde(default, deserialize_with = "count")]
    output: u64,
    #[serde(default, deserialize_with = "count")]
    cache_creation: u64,
    #[serde(default, deserialize_with = "count")]
    cache_read: u64,
}

impl RunIn {
    /// Builds the run, defaulting what the file does not record. Fails (saying what is
    /// missing) when the file lacks what makes it a run.
    pub(crate) fn into_run(self) -> Result<RunResult, String> {
        let (run_id, tasks) = match (self.run_id, self.tasks) {
            (Some(run_id), Some(tasks)) => (run_id, tasks),
            (None, None) => return Err("it has neither `run_id` nor `tasks`".to_owned()),
            (None, Some(_)) => return Err("it has no `run_id`".to_owned()),
            (Some(_), None) => return Err("it has no `tasks`".to_owned()),
        };
        let tasks: Vec<TaskRecord> = tasks.into_iter().map(TaskIn::into_task).collect();
        check_no_duplicate_tasks(&tasks)?;
        let suite = match self.suite {
            Some(suite) => SuiteInfo {
                name: suite.name,
                size: suite.size.map_or(tasks.len(), saturating_usize),
                source: suite.source,
            },
            None => SuiteInfo {
                name: String::new(),
                size: tasks.len(),
                source: String::new(),
            },
        };
        let meta = RunMeta {
            schema_version: self
                .schema_version
                .unwrap_or_else(|| IMPLICIT_SCHEMA_VERSION.to_owned()),
            run_id,
            label: self.label,
            created_at: self.created_at,
            duration_ms: self.duration_ms,
            suite,
            target: self.target,
            concurrency: self.concurrency.map_or(1, saturating_usize),
            status: self.status.unwrap_or(RunStatus::Completed),
            selection: self.selection,
            repeats: self
                .repeats
                .map_or(1, |repeats| u32::try_from(repeats).unwrap_or(u32::MAX)),
            fewest_repeats: self
                .fewest_repeats
                .map(|fewest| u32::try_from(fewest).unwrap_or(u32::MAX)),
            model: self.model,
            variant: self.variant,
            budgets: self.budgets.unwrap_or_default(),
            producer: self.producer,
            git: self.git,
            scorers: self.scorers,
            resumed: self.resumed,
            regraded_from: self.replayed_from,
        };
        // The stored aggregates are not trusted: they are recomputed from the records.
        Ok(RunResult::new(meta, tasks))
    }
}

/// A run records each attempt of a task once: a second record of the same task id and attempt
/// (a hand edit, a bad merge) would count twice in every pass rate, or let a passing copy hide
/// a regressed task from a diff. The error names the first few, with where they are.
fn check_no_duplicate_tasks(tasks: &[TaskRecord]) -> Result<(), String> {
    const SHOWN: usize = 3;
    // (task id, attempt) → the indexes of its records.
    type Record<'a> = (&'a str, Option<u32>);
    let mut places: HashMap<Record<'_>, Vec<usize>> = HashMap::with_capacity(tasks.len());
    for (index, task) in tasks.iter().enumerate() {
        places
            .entry((task.task_id.as_str(), task.attempt))
            .or_default()
            .push(index);
    }
    if places.len() == tasks.len() {
        return Ok(());
    }
    let mut repeated: Vec<(&Record<'_>, &Vec<usize>)> = places.iter().filter(|(_, at)| at.len() > 1).collect();
    // In the order of the file, so the message points at the first one a reader meets.
    repeated.sort_by_key(|(_, at)| at[0]);
    let mut lines: Vec<String> = repeated
        .iter()
        .take(SHOWN)
        .map(|((id, attempt), at)| {
            let attempt = attempt.map(|n| format!(" (attempt {n})")).unwrap_or_default();
            let first: Vec<String> = at.iter().take(SHOWN).map(|i| format!("tasks[{i}]")).collect();
            let more = if at.len() > SHOWN { ", …" } else { "" };
            format!(
                "`{id}`{attempt} is recorded {} times ({}{more})",
                at.len(),
                first.join(", ")
            )
        })
        .collect();
    if repeated.len() > SHOWN {
        lines.push(format!(
            "and {} more task(s) are recorded more than once",
            repeated.len() - SHOWN
        ));
    }
    Err(format!(
        "task {}; a run records each task attempt once: the file was edited or merged by hand",
        lines.join("; ")
    ))
}

impl TaskIn {
    pub(crate) fn into_task(self) -> TaskRecord {
        let content_hash = match self.content_hash {
            Some(stored) => ContentHash::from_stored(stored),
            None => ContentHash::of(&self.inputs, &self.reference_outputs),
        };
        // Tokens come from the file: AG2's events carry no usage this crate can sum.
        let tokens = self.tokens.into_usage();
        let scorer_traces = self
            .scorer_traces
            .into_iter()
            .map(|scorer| ScorerTrace {
                scorer: scorer.scorer,
                trace: Trace {
                    events: scorer.events,
                    exception: None,
                    duration_ms: scorer.duration_ms,
                    tokens: scorer.tokens.into_usage(),
                },
            })
            .collect();
        TaskRecord {
            task_id: self.task_id,
            inputs: self.inputs,
            reference_outputs: self.reference_outputs,
            tags: self.tags,
            metadata: self.metadata,
            trace: Trace {
                events: self.events,
                exception: self.exception.map(|e| Exception::new(e.kind, e.message)),
                duration_ms: self.duration_ms,
                tokens,
            },
            feedback: self.feedback,
            budget_violation: self.budget_violation,
            scorer_traces,
            trace_ref: self.trace_ref,
            outputs: self.outputs,
            attempt: self.attempt,
            content_hash,
        }
    }
}

fn saturating_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

/// `null` reads as the type's default, like a missing field.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A non-negative count; `null` reads as 0.
fn count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    Ok(optional_count(deserializer)?.unwrap_or(0))
}

/// A non-negative count or `null`. Python writers may write a count as a float (`12.0`);
/// it is rounded rather than rejected.
fn optional_count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    struct CountVisitor;

    impl<'de> Visitor<'de> for CountVisitor {
        type Value = Option<u64>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a non-negative number or null")
        }

        fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
            Ok(Some(n))
        }

        fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
            u64::try_from(n)
                .map(Some)
                .map_err(|_| E::invalid_value(de::Unexpected::Signed(n), &self))
        }

        fn visit_f64<E: de::Error>(self, n: f64) -> Result<Self::Value, E> {
            if n.is_finite() && n >= 0.0 {
                // Saturating conversion; a count beyond u64 is not meaningful anyway.
                Ok(Some(n.round() as u64))
            } else {
                Err(E::invalid_value(de::Unexpected::Float(n), &self))
            }
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }

    deserializer.deserialize_any(CountVisitor)
}

/// Tags as a list of strings; a single string is one tag and `null` is none (datasets allow
/// both forms, so hand-written files may use them too).
fn tags<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    struct TagsVisitor;

    impl<'de> Visitor<'de> for TagsVisitor {
        type Value = Vec<String>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of strings, a string or null")
        }

        fn visit_str<E: de::Error>(self, tag: &str) -> Result<Self::Value, E> {
            Ok(vec![tag.to_owned()])
        }

        fn visit_string<E: de::Error>(self, tag: String) -> Result<Self::Value, E> {
            Ok(vec![tag])
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut tags = Vec::with_capacity(seq.size_hint().unwrap_or(0));
            while let Some(tag) = seq.next_element()? {
                tags.push(tag);
            }
            Ok(tags)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
    }

    deserializer.deserialize_any(TagsVisitor)
}
