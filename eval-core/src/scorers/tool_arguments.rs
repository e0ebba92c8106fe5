//! Whether the agent called a tool with the right arguments.

use super::common::{excerpt, ready};
use super::json_match::{contains, first_difference, matched_leaves};
use super::tool_calls::tools_called;
use crate::feedback::Feedback;
use crate::scorer::{ScoreFuture, ScoreInput, Scorer, ScorerSpec};
use crate::trace::Trace;
use serde_json::{Value, json};
use std::borrow::Cow;

/// How many of the closest calls a failure comment shows.
const CLOSEST_SHOWN: usize = 3;

/// Passes when some call of `name` has arguments that contain `args`: every field of `args`
/// is present with that value, recursively through objects (other fields are allowed); arrays
/// and scalars must be equal, numbers by value. Arguments recorded as JSON text are parsed
/// first. Key `tool_called_with[<name>]`.
///
/// ```
/// use eval_engine::scorers::{grade_blocking, tool_called_with};
/// use eval_engine::{Task, Trace, Verdict};
/// use eval_engine::trace::Event;
/// use serde_json::{Value, json};
///
/// let trace = Trace::new(
///     vec![Event::tool_call("get_weather", json!({"city": "Paris", "options": {"units": "metric", "days": 3}}))],
///     None,
///     12,
/// );
/// let task = Task::new("paris", json!({"input": "Weather in Paris?"}), Value::Null);
///
/// let metric = tool_called_with("get_weather", json!({"city": "Paris", "options": {"units": "metric"}}));
/// let feedback = grade_blocking(metric, &task, &Value::Null, &trace);
/// assert_eq!(feedback[0].key, "tool_called_with[get_weather]");
/// assert_eq!(feedback[0].verdict(), Verdict::Pass);
///
/// let lyon = grade_blocking(tool_called_with("get_weather", json!({"city": "Lyon"})), &task, &Value::Null, &trace);
/// assert_eq!(lyon[0].verdict(), Verdict::Fail);
/// assert!(lyon[0].comment.as_deref().unwrap().contains(r#"/city: expected "Lyon", found "Paris""#));
/// ```
pub fn tool_called_with(name: impl Into<String>, args: Value) -> ToolCalledWith {
    let tool = name.into();
    ToolCalledWith {
        spec: ScorerSpec::new(format!("tool_called_with[{tool}]")),
        tool,
        args,
    }
}

/// The scorer made by [`tool_called_with`].
#[derive(Debug, Clone)]
pub struct ToolCalledWith {
    spec: ScorerSpec,
    tool: String,
    args: Value,
}

spec_builders!(ToolCalledWith);

impl ToolCalledWith {
    fn check(&self, trace: &Trace) -> Feedback {
        let calls: Vec<Cow<'_, Value>> = trace
            .tool_calls()
            .filter(|call| call.name == self.tool)
            .map(|call| parsed_arguments(&call.arguments, &self.args))
            .collect();
        let passed = calls.iter().any(|arguments| contains(arguments, &self.args));
        let feedback = Feedback::pass_fail(&self.spec.key, passed);
        if passed {
            return feedback;
        }
        let wanted = excerpt(&self.args.to_string());
        if calls.is_empty() {
            return feedback.with_comment(format!(
                "`{}` was never called (wanted arguments containing {wanted}); {}",
                self.tool,
                tools_called(trace)
            ));
        }
        // Stable sort: among equally close calls, the earlier comes first.
        let mut closest: Vec<&Value> = calls.iter().map(AsRef::as_ref).collect();
        closest.sort_by_key(|arguments| std::cmp::Reverse(matched_leaves(arguments, &self.args)));
        closest.truncate(CLOSEST_SHOWN);
        let shown: Vec<String> = closest
            .iter()
            .map(|arguments| {
                let why = first_difference(arguments, &self.args).unwrap_or_default();
                format!("{} ({why})", excerpt(&arguments.to_string()))
            })
            .collect();
        feedback
            .with_comment(format!(
                "no call of `{}` had arguments containing {wanted}; closest of {}: {}",
                self.tool,
                calls.len(),
                shown.join("; ")
            ))
            .with_detail(json!({"expected": self.args, "closest": closest}))
    }
}

impl<I, R, O> Scorer<I, R, O> for ToolCalledWith {
    fn spec(&self) -> &ScorerSpec {
        &self.spec
    }

    fn score<'a>(&'a self, input: &'a ScoreInput<'a, I, R, O>) -> ScoreFuture<'a> {
        ready(self.check(input.trace))
    }
}

/// Some agents record arguments as the JSON text the model produced (AG2 does); compare what
/// that text says, unless a string is what was asked for.
fn parsed_arguments<'a>(arguments: &'a Value, expected: &Value) -> Cow<'a, Value> {
    match (arguments, expected) {
        (Value::String(text), expected) if !expected.is_string() => {
            serde_json::from_str(text).map_or(Cow::Borrowed(arguments), Cow::Owned)
        }
        _ => Cow::Borrowed(arguments),
    }
}
