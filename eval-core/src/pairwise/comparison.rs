//! What is compared (one task's two answers) and what a comparator says of them.

use crate::cassette::Cassettes;
use crate::record::TaskRecord;
use crate::trace::Trace;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

/// Which answer is better: the first run's (`a`), the second's (`b`), or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Winner {
    /// The first run's answer.
    A,
    /// The second run's answer.
    B,
    /// Neither.
    Tie,
}

impl Winner {
    /// `a`, `b` or `tie`, as the pairwise JSON writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Winner::A => "a",
            Winner::B => "b",
            Winner::Tie => "tie",
        }
    }
}

/// One side of a pair: a run's answer to the task and how it got there.
#[derive(Debug, Clone)]
pub struct Side<'a> {
    /// The answer: the run JSON's `outputs`, or when they are `null` (AG2 keeps the answer in
    /// the trace) the trace's final response.
    pub outputs: Cow<'a, Value>,
    /// The trace that led to it.
    pub trace: &'a Trace,
}

/// The answer a record gives: [`Side::outputs`].
pub(crate) fn answer_of(record: &TaskRecord) -> Cow<'_, Value> {
    if !record.outputs.is_null() {
        return Cow::Borrowed(&record.outputs);
    }
    match record.trace.final_response().or_else(|| ag2_final_text(&record.trace)) {
        Some(text) => Cow::Owned(Value::String(text.to_owned())),
        None => Cow::Borrowed(&record.outputs),
    }
}

/// The text of the last model response of a trace AG2 wrote (its events are kept as they
/// are: `{"type": "ModelResponse", "message": {"content": …}}`).
fn ag2_final_text(trace: &Trace) -> Option<&str> {
    trace.events.iter().rev().find_map(|event| match event {
        crate::trace::Event::Foreign(fields) if fields.get("type").and_then(Value::as_str) == Some("ModelResponse") => {
            fields.get("message")?.get("content")?.as_str()
        }
        _ => None,
    })
}

/// One task answered by both runs.
#[derive(Debug, Clone)]
pub struct Pair<'a> {
    /// The task's id.
    pub task_id: &'a str,
    /// The task's inputs.
    pub inputs: &'a Value,
    /// The task's reference outputs (`null` when it has none).
    pub reference: &'a Value,
    /// The first run's side.
    pub a: Side<'a>,
    /// The second run's side.
    pub b: Side<'a>,
}

/// What a comparator says of one pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The better answer; `None` when the comparator could not say (a judge that gave no valid
    /// verdict, a pair people left unlabelled): counted apart, in no win rate.
    pub winner: Option<Winner>,
    /// Why, in words.
    pub reasoning: Option<String>,
    /// What else the comparator records (a judge: each order's preference).
    pub detail: Value,
}

impl Comparison {
    /// A decided comparison.
    pub fn decided(winner: Winner, reasoning: Option<String>) -> Self {
        Comparison {
            winner: Some(winner),
            reasoning,
            detail: Value::Object(Default::default()),
        }
    }

    /// A comparison that could not be made, and why.
    pub fn ungradeable(why: impl Into<String>) -> Self {
        Comparison {
            winner: None,
            reasoning: Some(why.into()),
            detail: Value::Object(Default::default()),
        }
    }

    /// The same comparison with `detail`.
    pub fn with_detail(mut self, detail: Value) -> Self {
        self.detail = detail;
        self
    }
}

/// A boxed future of a comparison.
pub type ComparisonFuture<'a> = Pin<Box<dyn Future<Output = Comparison> + Send + 'a>>;

/// Decides which of a pair's two answers is better, under one key. Implemented by the pairwise
/// judge ([`pairwise_judge`](crate::judge::pairwise_judge)) and by [`HumanLabels`](super::HumanLabels).
pub trait Comparator: Send + Sync {
    /// The key its results go under.
    fn key(&self) -> &str;

    /// Compares one pair; a model's calls go through `cassettes` when given.
    fn compare<'a>(&'a self, pair: &'a Pair<'a>, cassettes: Option<&'a Cassettes>) -> ComparisonFuture<'a>;
}
