//! Whether every tool call succeeded.

use super::common::{excerpt, ready};
use crate::feedback::Feedback;
use crate::scorer::{ScoreFuture, ScoreInput, Scorer, ScorerSpec};
use crate::trace::Trace;

/// Passes when no tool error was recorded. The failure comment lists the errors. Key
/// `no_tool_errors`, as AG2's.
///
/// ```
/// use eval_engine::scorers::{grade_blocking, no_tool_errors};
/// use eval_engine::{Task, Trace, Verdict};
/// use eval_engine::trace::Event;
/// use serde_json::{Value, json};
///
/// let task = Task::new("paris", json!({"input": "Weather in Paris?"}), Value::Null);
/// let failed = Trace::new(
///     vec![Event::tool_call("get_weather", json!({"city": "Paris"})), Event::tool_error("get_weather", "timed out")],
///     None,
///     12,
/// );
/// let feedback = grade_blocking(no_tool_errors(), &task, &Value::Null, &failed);
/// assert_eq!(feedback[0].key, "no_tool_errors");
/// assert_eq!(feedback[0].verdict(), Verdict::Fail);
/// assert_eq!(feedback[0].comment.as_deref(), Some("1 tool error: get_weather: timed out"));
/// ```
pub fn no_tool_errors() -> NoToolErrors {
    NoToolErrors {
        spec: ScorerSpec::new("no_tool_errors"),
    }
}

/// The scorer made by [`no_tool_errors`].
#[derive(Debug, Clone)]
pub struct NoToolErrors {
    spec: ScorerSpec,
}

spec_builders!(NoToolErrors);

impl NoToolErrors {
    fn check(&self, trace: &Trace) -> Feedback {
        let errors: Vec<String> = trace
            .tool_errors()
            .map(|error| format!("{}: {}", error.name, excerpt(&error.message)))
            .collect();
        let feedback = Feedback::pass_fail(&self.spec.key, errors.is_empty());
        match errors.len() {
            0 => feedback,
            1 => feedback.with_comment(format!("1 tool error: {}", errors[0])),
            n => feedback.with_comment(format!("{n} tool errors: {}", errors.join("; "))),
        }
    }
}

impl<I, R, O> Scorer<I, R, O> for NoToolErrors {
    fn spec(&self) -> &ScorerSpec {
        &self.spec
    }

    fn score<'a>(&'a self, input: &'a ScoreInput<'a, I, R, O>) -> ScoreFuture<'a> {
        ready(self.check(input.trace))
    }
}
