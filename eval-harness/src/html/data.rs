//! The page's data: every pair and every task's transcript, as the JSON its script reads.
//! Values are cut to a length a browser shows quickly; the run file keeps them whole.

use super::text::{SHOWN_CHARS, clip};
use crate::outcome::decision_name;
use crate::run_report::{RowStatus, RunReport};
use eval_engine::trace::Event;
use eval_engine::{Score, TaskRecord, Trace};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;

/// How many events of one trace are shown; the rest are counted.
const EVENTS_SHOWN: usize = 200;

#[derive(Serialize)]
pub(crate) struct PageData<'a> {
    pairs: Vec<PairData<'a>>,
    tasks: Vec<TaskData>,
}

#[derive(Serialize)]
struct PairData<'a> {
    /// Index into `tasks`.
    task: usize,
    key: &'a str,
    outcome: &'static str,
    status: &'static str,
    verdict: Option<&'a str>,
    baseline: Option<&'a str>,
    score: Option<f64>,
    comment: Option<String>,
}

#[derive(Serialize)]
struct TaskData {
    id: String,
    attempts: Vec<AttemptData>,
}

#[derive(Serialize)]
struct AttemptData {
    attempt: Option<u32>,
    inputs: String,
    reference: Option<String>,
    outputs: Option<String>,
    duration_ms: u64,
    tokens: (u64, u64),
    exception: Option<String>,
    events: Vec<EventData>,
    feedback: Vec<FeedbackData>,
    judges: Vec<JudgeData>,
}

#[derive(Serialize)]
struct EventData {
    kind: &'static str,
    title: String,
    body: Option<String>,
}

#[derive(Serialize)]
struct FeedbackData {
    key: String,
    score: Option<String>,
    comment: Option<String>,
}

#[derive(Serialize)]
struct JudgeData {
    scorer: String,
    duration_ms: u64,
    tokens: (u64, u64),
    events: Vec<EventData>,
}

pub(crate) fn page_data<'a>(page: &'a RunReport<'_>) -> PageData<'a> {
    // Attempts of a task, in run order, under its id without attempt suffix.
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut tasks: Vec<TaskData> = Vec::new();
    for record in page.run.tasks() {
        let at = *index.entry(record.base_id()).or_insert_with(|| {
            tasks.push(TaskData {
                id: record.base_id().to_owned(),
                attempts: Vec::new(),
            });
            tasks.len() - 1
        });
        tasks[at].attempts.push(attempt(record));
    }
    let pairs = page
        .pairs
        .iter()
        .map(|pair| {
            let task = *index.entry(&pair.task_id).or_insert_with(|| {
                // A pair whose task the run does not hold (it was lost): an empty transcript.
                tasks.push(TaskData {
                    id: pair.task_id.clone(),
                    attempts: Vec::new(),
                });
                tasks.len() - 1
            });
            PairData {
                task,
                key: &pair.key,
                outcome: decision_name(pair.outcome),
                status: pair.status.name(),
                verdict: pair.verdict.as_deref(),
                baseline: pair.baseline.as_deref(),
                score: pair.score,
                // A failing pair shows its test's message; any other its comment, or why it is skipped.
                comment: match pair.status {
                    RowStatus::Failed => pair.message.as_deref(),
                    _ => pair.comment.as_deref().or(pair.message.as_deref()),
                }
                .map(|c| clip(c, SHOWN_CHARS)),
            }
        })
        .collect();
    PageData { pairs, tasks }
}

fn attempt(record: &TaskRecord) -> AttemptData {
    let trace = &record.trace;
    AttemptData {
        attempt: record.attempt,
        inputs: json_text(&record.inputs),
        reference: (!record.reference_outputs.is_null()).then(|| json_text(&record.reference_outputs)),
        outputs: (!record.outputs.is_null()).then(|| json_text(&record.outputs)),
        duration_ms: trace.duration_ms,
        tokens: (trace.tokens.input, trace.tokens.output),
        exception: trace
            .exception
            .as_ref()
            .map(|e| clip(&format!("{}: {}", e.kind, e.message), SHOWN_CHARS)),
        events: events(trace),
        feedback: record
            .feedback
            .iter()
            .map(|f| FeedbackData {
                key: f.key.clone(),
                score: match (&f.score, &f.value) {
                    (Some(Score::Bool(b)), _) => Some(if *b { "pass" } else { "fail" }.to_owned()),
                    (Some(Score::Number(n)), _) => Some(format!("{n}")),
                    (None, Some(value)) => Some(clip(value, SHOWN_CHARS)),
                    (None, None) => None,
                },
                comment: f.comment.as_deref().map(|c| clip(c, SHOWN_CHARS)),
            })
            .collect(),
        judges: record
            .scorer_traces
            .iter()
            .map(|judge| JudgeData {
                scorer: judge.scorer.clone(),
                duration_ms: judge.trace.duration_ms,
                tokens: (judge.trace.tokens.input, judge.trace.tokens.output),
                events: events(&judge.trace),
            })
            .collect(),
    }
}

fn events(trace: &Trace) -> Vec<EventData> {
    let mut shown: Vec<EventData> = trace.events.iter().take(EVENTS_SHOWN).map(event).collect();
    if trace.events.len() > EVENTS_SHOWN {
        shown.push(EventData {
            kind: "more",
            title: format!(
                "… and {} more event(s), in the run file",
                trace.events.len() - EVENTS_SHOWN
            ),
            body: None,
        });
    }
    shown
}

fn event(event: &Event) -> EventData {
    let (kind, title, body) = match event {
        Event::ModelResponse(reply) => {
            let mut title = format!("model {}", reply.model.as_deref().unwrap_or("reply"));
            if let Some(reason) = &reply.finish_reason {
                title.push_str(&format!(" ({reason})"));
            }
            ("model", title, reply.text.clone())
        }
        Event::ToolCall(call) => (
            "tool_call",
            format!("calls {}", call.name),
            Some(json_text(&call.arguments)),
        ),
        Event::ToolResult(result) => (
            "tool_result",
            format!("{} returned", result.name),
            Some(json_text(&result.result)),
        ),
        Event::ToolError(error) => (
            "tool_error",
            format!("{} failed", error.name),
            Some(error.message.clone()),
        ),
        Event::Usage(usage) => (
            "usage",
            format!("{} input + {} output tokens", usage.input, usage.output),
            None,
        ),
        Event::Custom(custom) => ("custom", custom.name.clone(), Some(json_text(&custom.data))),
        Event::Foreign(map) => (
            "custom",
            map.get("type").and_then(Value::as_str).unwrap_or("event").to_owned(),
            Some(json_text(&Value::Object(map.clone()))),
        ),
        // An event kind this page does not know yet: shown as its JSON.
        other => (
            "custom",
            "event".to_owned(),
            Some(serde_json::to_string_pretty(other).unwrap_or_default()),
        ),
    };
    EventData {
        kind,
        title: clip(&title, SHOWN_CHARS),
        body: body.map(|b| clip(&b, SHOWN_CHARS)),
    }
}

/// A JSON value as shown: a string as itself, anything else pretty-printed; cut when long.
fn json_text(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    };
    clip(&text, SHOWN_CHARS)
}
