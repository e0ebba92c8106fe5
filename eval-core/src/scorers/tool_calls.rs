//! Which tools the agent called, how often, in what order.

use super::common::ready;
use crate::feedback::Feedback;
use crate::scorer::{ScoreFuture, ScoreInput, Scorer, ScorerSpec};
use crate::trace::Trace;
use std::ops::{Bound, RangeBounds};

/// Passes when the agent called the tool `name` at least once (or, with
/// [`exactly`](ToolCalled::exactly), exactly `n` times). Key `tool_called[<name>]`, as AG2's.
///
/// ```
/// use eval_engine::scorers::{grade_blocking, tool_called};
/// use eval_engine::{Task, Trace, Verdict};
/// use eval_engine::trace::Event;
/// use serde_json::{Value, json};
///
/// let trace = Trace::new(vec![Event::tool_call("get_weather", json!({"city": "Paris"}))], None, 12);
/// let task = Task::new("paris", json!({"input": "Weather in Paris?"}), Value::Null);
///
/// let feedback = grade_blocking(tool_called("get_weather"), &task, &Value::Null, &trace);
/// assert_eq!(feedback[0].key, "tool_called[get_weather]");
/// assert_eq!(feedback[0].verdict(), Verdict::Pass);
///
/// let twice = grade_blocking(tool_called("get_weather").exactly(2), &task, &Value::Null, &trace);
/// assert_eq!(twice[0].verdict(), Verdict::Fail);
/// assert_eq!(twice[0].comment.as_deref(), Some("expected exactly 2 calls of `get_weather`, saw 1; tools called: get_weather"));
/// ```
pub fn tool_called(name: impl Into<String>) -> ToolCalled {
    let tool = name.into();
    ToolCalled {
        spec: ScorerSpec::new(format!("tool_called[{tool}]")),
        tool,
        exactly: None,
    }
}

/// The scorer made by [`tool_called`].
#[derive(Debug, Clone)]
pub struct ToolCalled {
    spec: ScorerSpec,
    tool: String,
    exactly: Option<usize>,
}

spec_builders!(ToolCalled);

impl ToolCalled {
    /// Passes only when the tool was called exactly `n` times (`0`: never).
    pub fn exactly(mut self, n: usize) -> Self {
        self.exactly = Some(n);
        self
    }

    fn check(&self, trace: &Trace) -> Feedback {
        let count = calls_of(trace, &self.tool);
        let (passed, expected) = match self.exactly {
            Some(n) => (count == n, format!("exactly {}", calls(n))),
            None => (count > 0, "at least one call".to_owned()),
        };
        let feedback = Feedback::pass_fail(&self.spec.key, passed);
        if passed {
            return feedback;
        }
        feedback.with_comment(format!(
            "expected {expected} of `{}`, saw {count}; {}",
            self.tool,
            tools_called(trace)
        ))
    }
}

impl<I, R, O> Scorer<I, R, O> for ToolCalled {
    fn spec(&self) -> &ScorerSpec {
        &self.spec
    }

    fn score<'a>(&'a self, input: &'a ScoreInput<'a, I, R, O>) -> ScoreFuture<'a> {
        ready(self.check(input.trace))
    }
}

/// Passes when the number of calls of `name` lies in `range`: `1..=3`, `2..`, `..=1`, `0..2`.
/// Key `tool_call_count[<name>]`.
///
/// ```
/// use eval_engine::scorers::{grade_blocking, tool_call_count};
/// use eval_engine::{Task, Trace, Verdict};
/// use eval_engine::trace::Event;
/// use serde_json::{Value, json};
///
/// let search = || Event::tool_call("search", json!({"q": "rust"}));
/// let trace = Trace::new(vec![search(), search()], None, 30);
/// let task = Task::new("q", json!({"input": "Find it"}), Value::Null);
///
/// let within = grade_blocking(tool_call_count("search", 1..=3), &task, &Value::Null, &trace);
/// assert_eq!(within[0].key, "tool_call_count[search]");
/// assert_eq!(within[0].verdict(), Verdict::Pass);
/// let at_most_one = grade_blocking(tool_call_count("search", ..=1), &task, &Value::Null, &trace);
/// assert_eq!(at_most_one[0].verdict(), Verdict::Fail);
/// ```
pub fn tool_call_count(name: impl Into<String>, range: impl RangeBounds<usize>) -> ToolCallCount {
    let tool = name.into();
    ToolCallCount {
        spec: ScorerSpec::new(format!("tool_call_count[{tool}]")),
        tool,
        bounds: (range.start_bound().cloned(), range.end_bound().cloned()),
    }
}

/// The scorer made by [`tool_call_count`].
#[derive(Debug, Clone)]
pub struct ToolCallCount {
    spec: ScorerSpec,
    tool: String,
    bounds: (Bound<usize>, Bound<usize>),
}

spec_builders!(ToolCallCount);

impl ToolCallCount {
    fn check(&self, trace: &Trace) -> Feedback {
        let count = calls_of(trace, &self.tool);
        let passed = self.bounds.contains(&count);
        let feedback = Feedback::pass_fail(&self.spec.key, passed);
        if passed {
            return feedback;
        }
        feedback.with_comment(format!(
            "expected {} of `{}`, saw {count}; {}",
            describe_range(self.bounds),
            self.tool,
            tools_called(trace)
        ))
    }
}

impl<I, R, O> Scorer<I, R, O> for ToolCallCount {
    fn spec(&self) -> &ScorerSpec {
        &self.spec
    }

    fn score<'a>(&'a self, input: &'a ScoreInput<'a, I, R, O>) -> ScoreFuture<'a> {
        ready(self.check(input.trace))
    }
}

/// Passes when the tools `names` were called in that order, other calls allowed in between
/// (a subsequence of the trace's tool calls). A name listed twice must be called twice. Key
/// `tools_called_in_order`.
///
/// ```
/// use eval_engine::scorers::{grade_blocking, tools_called_in_order};
/// use eval_engine::{Task, Trace, Verdict};
/// use eval_engine::trace::Event;
/// use serde_json::{Value, json};
///
/// let call = |name: &str| Event::tool_call(name, json!({}));
/// let trace = Trace::new(vec![call("search"), call("fetch"), call("summarize")], None, 40);
/// let task = Task::new("q", json!({"input": "Summarize the top result"}), Value::Null);
///
/// let in_order = grade_blocking(tools_called_in_order(["search", "summarize"]), &task, &Value::Null, &trace);
/// assert_eq!(in_order[0].key, "tools_called_in_order");
/// assert_eq!(in_order[0].verdict(), Verdict::Pass);
/// let reversed = grade_blocking(tools_called_in_order(["summarize", "search"]), &task, &Value::Null, &trace);
/// assert_eq!(reversed[0].verdict(), Verdict::Fail);
/// ```
pub fn tools_called_in_order<T: Into<String>>(names: impl IntoIterator<Item = T>) -> ToolsCalledInOrder {
    ToolsCalledInOrder {
        spec: ScorerSpec::new("tools_called_in_order"),
        tools: names.into_iter().map(Into::into).collect(),
    }
}

/// The scorer made by [`tools_called_in_order`].
#[derive(Debug, Clone)]
pub struct ToolsCalledInOrder {
    spec: ScorerSpec,
    tools: Vec<String>,
}

spec_builders!(ToolsCalledInOrder);

impl ToolsCalledInOrder {
    fn check(&self, trace: &Trace) -> Feedback {
        // Matching each expected name to its earliest possible call is optimal for a
        // subsequence, so one pass decides it.
        let mut calls = trace.tool_calls();
        let matched = self
            .tools
            .iter()
            .take_while(|tool| calls.any(|call| &call.name == *tool))
            .count();
        let passed = matched == self.tools.len();
        let feedback = Feedback::pass_fail(&self.spec.key, passed);
        if passed {
            return feedback;
        }
        let missing = &self.tools[matched];
        let stopped = match matched {
            0 => format!("`{missing}` was never called"),
            _ => format!(
                "matched {}, but no `{missing}` was called after that",
                sequence(&self.tools[..matched])
            ),
        };
        feedback.with_comment(format!(
            "expected {} in order; {stopped}; {}",
            sequence(&self.tools),
            tools_called(trace)
        ))
    }
}

impl<I, R, O> Scorer<I, R, O> for ToolsCalledInOrder {
    fn spec(&self) -> &ScorerSpec {
        &self.spec
    }

    fn score<'a>(&'a self, input: &'a ScoreInput<'a, I, R, O>) -> ScoreFuture<'a> {
        ready(self.check(input.trace))
    }
}

/// Passes when the agent called no tool at all. Key `no_tool_calls`.
///
/// ```
/// use eval_engine::scorers::{grade_blocking, no_tool_calls};
/// use eval_engine::{Task, Trace, Verdict};
/// use eval_engine::trace::Event;
/// use serde_json::{Value, json};
///
/// let task = Task::new("hi", json!({"input": "Say hello"}), Value::Null);
/// let chatted = Trace::new(vec![Event::model_response("Hello!")], None, 5);
/// assert_eq!(grade_blocking(no_tool_calls(), &task, &Value::Null, &chatted)[0].verdict(), Verdict::Pass);
///
/// let searched = Trace::new(vec![Event::tool_call("search", json!({"q": "hello"}))], None, 5);
/// let feedback = grade_blocking(no_tool_calls(), &task, &Value::Null, &searched);
/// assert_eq!(feedback[0].verdict(), Verdict::Fail);
/// assert_eq!(feedback[0].comment.as_deref(), Some("expected no tool calls; tools called: search"));
/// ```
pub fn no_tool_calls() -> NoToolCalls {
    NoToolCalls {
        spec: ScorerSpec::new("no_tool_calls"),
    }
}

/// The scorer made by [`no_tool_calls`].
#[derive(Debug, Clone)]
pub struct NoToolCalls {
    spec: ScorerSpec,
}

spec_builders!(NoToolCalls);

impl NoToolCalls {
    fn check(&self, trace: &Trace) -> Feedback {
        let passed = trace.tool_calls().next().is_none();
        let feedback = Feedback::pass_fail(&self.spec.key, passed);
        if passed {
            return feedback;
        }
        feedback.with_comment(format!("expected no tool calls; {}", tools_called(trace)))
    }
}

impl<I, R, O> Scorer<I, R, O> for NoToolCalls {
    fn spec(&self) -> &ScorerSpec {
        &self.spec
    }

    fn score<'a>(&'a self, input: &'a ScoreInput<'a, I, R, O>) -> ScoreFuture<'a> {
        ready(self.check(input.trace))
    }
}

fn calls_of(trace: &Trace, tool: &str) -> usize {
    trace.tool_calls().filter(|call| call.name == tool).count()
}

/// `1 call`, `3 calls`.
fn calls(n: usize) -> String {
    match n {
        1 => "1 call".to_owned(),
        _ => format!("{n} calls"),
    }
}

/// `` `search` → `fetch` ``.
fn sequence(tools: &[String]) -> String {
    tools
        .iter()
        .map(|tool| format!("`{tool}`"))
        .collect::<Vec<_>>()
        .join(" → ")
}

/// What a failure comment says about the calls that were made: `tools called: search ×2,
/// fetch`, in order of first call.
pub(super) fn tools_called(trace: &Trace) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for call in trace.tool_calls() {
        match counts.iter_mut().find(|(name, _)| *name == call.name) {
            Some((_, n)) => *n += 1,
            None => counts.push((&call.name, 1)),
        }
    }
    if counts.is_empty() {
        return "no tool was called".to_owned();
    }
    let listed: Vec<String> = counts
        .iter()
        .map(|&(name, n)| match n {
            1 => name.to_owned(),
            _ => format!("{name} ×{n}"),
        })
        .collect();
    format!("tools called: {}", listed.join(", "))
}

/// `between 1 and 3 calls`, `at least 2 calls`, `fewer than 2 calls`, `exactly 1 call`.
fn describe_range(bounds: (Bound<usize>, Bound<usize>)) -> String {
    let low = match bounds.0 {
        Bound::Included(n) => Some(n),
        Bound::Excluded(n) => Some(n.saturating_add(1)),
        Bound::Unbounded => None,
    };
    if let (Some(low), Bound::Included(high)) = (low, bounds.1)
        && low == high
    {
        return format!("exactly {}", calls(low));
    }
    match (low.filter(|&low| low > 0), bounds.1) {
        (Some(low), Bound::Included(high)) => format!("between {low} and {high} calls"),
        (Some(low), Bound::Excluded(high)) => format!("at least {low} and fewer than {}", calls(high)),
        (Some(low), Bound::Unbounded) => format!("at least {}", calls(low)),
        (None, Bound::Included(high)) => format!("at most {}", calls(high)),
        (None, Bound::Excluded(high)) => format!("fewer than {}", calls(high)),
        (None, Bound::Unbounded) => "any number of calls".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_read_naturally() {
        let range = |r: (Bound<usize>, Bound<usize>)| describe_range(r);
        use Bound::*;
        assert_eq!(range((Included(1), Included(3))), "between 1 and 3 calls");
        assert_eq!(range((Included(2), Included(2))), "exactly 2 calls");
        assert_eq!(range((Included(2), Unbounded)), "at least 2 calls");
        assert_eq!(range((Included(0), Excluded(2))), "fewer than 2 calls");
        assert_eq!(range((Excluded(0), Unbounded)), "at least 1 call");
        assert_eq!(range((Included(0), Included(0))), "exactly 0 calls");
        assert_eq!(range((Unbounded, Included(1))), "at most 1 call");
        assert_eq!(range((Unbounded, Excluded(1))), "fewer than 1 call");
        assert_eq!(range((Unbounded, Unbounded)), "any number of calls");
    }
}
