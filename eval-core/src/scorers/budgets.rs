//! Per-task budgets as pass/fail scorers: tokens spent, time taken.
//!
//! Unlike the run's `Budgets` (recorded as violations), these are gates with their own key,
//! so they count in pass rates and can regress against a baseline.

use super::common::ready;
use crate::feedback::Feedback;
use crate::scorer::{ScoreFuture, ScoreInput, Scorer, ScorerSpec};
use crate::trace::Trace;

/// Passes when the task spent at most `max_tokens` tokens (input + output; cache tokens are
/// not counted, as in AG2). The comment gives the count. Key `token_budget`.
///
/// ```
/// use eval_engine::scorers::{grade_blocking, token_budget};
/// use eval_engine::{Task, Trace, Verdict};
/// use eval_engine::trace::{Event, TokenUsage};
/// use serde_json::{Value, json};
///
/// let usage = Event::Usage(TokenUsage { input: 900, output: 300, ..TokenUsage::default() });
/// let trace = Trace::new(vec![usage], None, 12);
/// let task = Task::new("paris", json!({"input": "Weather in Paris?"}), Value::Null);
///
/// let feedback = grade_blocking(token_budget(1_000), &task, &Value::Null, &trace);
/// assert_eq!(feedback[0].key, "token_budget");
/// assert_eq!(feedback[0].verdict(), Verdict::Fail);
/// assert_eq!(feedback[0].comment.as_deref(), Some("1200 tokens (900 in, 300 out), budget 1000"));
/// ```
pub fn token_budget(max_tokens: u64) -> TokenBudget {
    TokenBudget {
        spec: ScorerSpec::new("token_budget"),
        max_tokens,
    }
}

/// The scorer made by [`token_budget`].
#[derive(Debug, Clone)]
pub struct TokenBudget {
    spec: ScorerSpec,
    max_tokens: u64,
}

spec_builders!(TokenBudget);

impl TokenBudget {
    fn check(&self, trace: &Trace) -> Feedback {
        let tokens = trace.tokens;
        Feedback::pass_fail(&self.spec.key, tokens.total() <= self.max_tokens).with_comment(format!(
            "{} tokens ({} in, {} out), budget {}",
            tokens.total(),
            tokens.input,
            tokens.output,
            self.max_tokens
        ))
    }
}

impl<I, R, O> Scorer<I, R, O> for TokenBudget {
    fn spec(&self) -> &ScorerSpec {
        &self.spec
    }

    fn score<'a>(&'a self, input: &'a ScoreInput<'a, I, R, O>) -> ScoreFuture<'a> {
        ready(self.check(input.trace))
    }
}

/// Passes when the agent finished in strictly less than `limit_ms` milliseconds (the trace's
/// `duration_ms`, the agent's own run without grading). The comment gives the time. Key
/// `latency_under`.
///
/// A wall-clock gate is only as steady as the machine it runs on: keep the limit generous, or
/// mark it [`advisory`](LatencyUnder::advisory).
///
/// ```
/// use eval_engine::scorers::{grade_blocking, latency_under};
/// use eval_engine::{Task, Trace, Verdict};
/// use serde_json::{Value, json};
///
/// let task = Task::new("paris", json!({"input": "Weather in Paris?"}), Value::Null);
/// let quick = Trace::new(vec![], None, 850);
/// let feedback = grade_blocking(latency_under(1_000), &task, &Value::Null, &quick);
/// assert_eq!(feedback[0].key, "latency_under");
/// assert_eq!(feedback[0].verdict(), Verdict::Pass);
/// assert_eq!(feedback[0].comment.as_deref(), Some("took 850 ms, limit under 1000 ms"));
/// ```
pub fn latency_under(limit_ms: u64) -> LatencyUnder {
    LatencyUnder {
        spec: ScorerSpec::new("latency_under"),
        limit_ms,
    }
}

/// The scorer made by [`latency_under`].
#[derive(Debug, Clone)]
pub struct LatencyUnder {
    spec: ScorerSpec,
    limit_ms: u64,
}

spec_builders!(LatencyUnder);

impl LatencyUnder {
    fn check(&self, trace: &Trace) -> Feedback {
        Feedback::pass_fail(&self.spec.key, trace.duration_ms < self.limit_ms).with_comment(format!(
            "took {} ms, limit under {} ms",
            trace.duration_ms, self.limit_ms
        ))
    }
}

impl<I, R, O> Scorer<I, R, O> for LatencyUnder {
    fn spec(&self) -> &ScorerSpec {
        &self.spec
    }

    fn score<'a>(&'a self, input: &'a ScoreInput<'a, I, R, O>) -> ScoreFuture<'a> {
        ready(self.check(input.trace))
    }
}
