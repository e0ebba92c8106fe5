//! Whether the agent's final answer is the right number, within a tolerance.

use super::answer_source::{NotCompared, expected_value, find_answer};
use super::common::{excerpt, ready};
use crate::feedback::Feedback;
use crate::scorer::{ScoreFuture, ScoreInput, Scorer, ScorerSpec};
use regex::Regex;
use serde::Serialize;
use serde_json::{Value, json};
use std::sync::LazyLock;

/// Passes when the agent's answer is a number within `tolerance` of `value`
/// (|answer − value| ≤ tolerance).
///
/// The answer is the output when it is a JSON number, else the first number in the answer's
/// text: the output when it is a string, else the last model response. `1,234.5` reads as
/// 1234.5 (commas group thousands; a decimal comma is not understood). An answer without a
/// number fails, with a comment. Key `final_number_equals`.
///
/// ```
/// use eval_engine::scorers::{final_number_equals, grade_blocking};
/// use eval_engine::{Task, Trace, Verdict};
/// use eval_engine::trace::Event;
/// use serde_json::{Value, json};
///
/// let trace = Trace::new(vec![Event::model_response("The total is 1,234.50 dollars.")], None, 12);
/// let task = Task::new("sum", json!({"input": "Add the invoices"}), Value::Null);
///
/// let feedback = grade_blocking(final_number_equals(1234.5, 0.01), &task, &Value::Null, &trace);
/// assert_eq!(feedback[0].key, "final_number_equals");
/// assert_eq!(feedback[0].verdict(), Verdict::Pass);
/// let off = grade_blocking(final_number_equals(1200.0, 10.0), &task, &Value::Null, &trace);
/// assert_eq!(off[0].verdict(), Verdict::Fail);
/// ```
pub fn final_number_equals(value: f64, tolerance: f64) -> FinalNumber {
    FinalNumber {
        spec: ScorerSpec::new("final_number_equals"),
        expected: Expected::Value(value),
        tolerance,
    }
}

/// Passes when the agent's answer is a number within `tolerance` of `reference_outputs[field]`
/// (a JSON number, or a string holding one): the per-task form of [`final_number_equals`].
///
/// The answer is `outputs[field]` when the output is an object carrying `field`, else read as
/// in [`final_number_equals`]. A task without a reference number fails, with a comment. Key
/// `final_number_matches[<field>]`.
///
/// ```
/// use eval_engine::scorers::{final_number_matches, grade_blocking};
/// use eval_engine::{Task, Trace, Verdict};
/// use eval_engine::trace::Event;
/// use serde_json::json;
///
/// let trace = Trace::new(vec![Event::model_response("About 21.4 °C")], None, 12);
/// let task = Task::new("paris", json!({"input": "Temperature in Paris?"}), json!({"temp_c": 21}));
///
/// let feedback = grade_blocking(final_number_matches("temp_c", 0.5), &task, &json!({"temp_c": 21.3}), &trace);
/// assert_eq!(feedback[0].key, "final_number_matches[temp_c]");
/// assert_eq!(feedback[0].verdict(), Verdict::Pass);
/// let from_text = grade_blocking(final_number_matches("temp_c", 0.1), &task, &json!(null), &trace);
/// assert_eq!(from_text[0].verdict(), Verdict::Fail);
/// assert_eq!(from_text[0].comment.as_deref(), Some("expected 21 ± 0.1, got 21.4 from the final model response"));
/// ```
pub fn final_number_matches(field: impl Into<String>, tolerance: f64) -> FinalNumber {
    let field = field.into();
    FinalNumber {
        spec: ScorerSpec::new(format!("final_number_matches[{field}]")),
        expected: Expected::Reference(field),
        tolerance,
    }
}

/// The scorer made by [`final_number_equals`] and [`final_number_matches`].
#[derive(Debug, Clone)]
pub struct FinalNumber {
    spec: ScorerSpec,
    expected: Expected,
    tolerance: f64,
}

spec_builders!(FinalNumber);

#[derive(Debug, Clone)]
enum Expected {
    /// The same number for every task.
    Value(f64),
    /// The number in this field of each task's reference outputs.
    Reference(String),
}

impl FinalNumber {
    fn check<I, R: Serialize, O>(&self, input: &ScoreInput<'_, I, R, O>) -> Feedback {
        self.compare(input)
            .unwrap_or_else(|why| why.into_feedback(&self.spec.key))
    }

    fn compare<I, R: Serialize, O>(&self, input: &ScoreInput<'_, I, R, O>) -> Result<Feedback, NotCompared> {
        let (expected, field) = match &self.expected {
            Expected::Value(value) => (*value, None),
            Expected::Reference(field) => {
                let reference = expected_value(input.reference_outputs(), field)?;
                let expected = number_in(&reference).ok_or_else(|| {
                    NotCompared::Fail(format!(
                        "the task's reference_outputs[{field:?}] is not a number: {}",
                        excerpt(&reference.to_string())
                    ))
                })?;
                (expected, Some(field.as_str()))
            }
        };
        let answer = find_answer(input.outputs_json, field, input.trace).map_err(NotCompared::Fail)?;
        let actual = number_in(&answer.value).ok_or_else(|| {
            NotCompared::Fail(format!(
                "no number in the answer {} from {}",
                excerpt(&answer.value.to_string()),
                answer.source
            ))
        })?;
        let passed = (actual - expected).abs() <= self.tolerance;
        let feedback = Feedback::pass_fail(&self.spec.key, passed);
        if passed {
            return Ok(feedback);
        }
        Ok(feedback
            .with_comment(format!(
                "expected {expected} ± {}, got {actual} from {}",
                self.tolerance, answer.source
            ))
            .with_detail(json!({
                "expected": expected,
                "actual": actual,
                "tolerance": self.tolerance,
                "source": answer.source.label(),
            })))
    }
}

impl<I, R: Serialize, O> Scorer<I, R, O> for FinalNumber {
    fn spec(&self) -> &ScorerSpec {
        &self.spec
    }

    fn score<'a>(&'a self, input: &'a ScoreInput<'a, I, R, O>) -> ScoreFuture<'a> {
        ready(self.check(input))
    }
}

/// The number a value holds: itself when it is a JSON number, the first number in it when it
/// is a string.
fn number_in(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => first_number(text),
        _ => None,
    }
}

/// The first number written in `text`: an optional sign, digits (in groups of three separated
/// by commas, or not), an optional fraction and exponent.
fn first_number(text: &str) -> Option<f64> {
    static NUMBER: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?").expect("the number pattern is valid")
    });
    let found = NUMBER.find(text)?;
    found.as_str().replace(',', "").parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_found_in_text() {
        assert_eq!(first_number("The answer is 42."), Some(42.0));
        assert_eq!(first_number("It costs $1,234.50 in total"), Some(1234.5));
        assert_eq!(first_number("-3.5 degrees"), Some(-3.5));
        assert_eq!(first_number("about 6.02e23 atoms"), Some(6.02e23));
        assert_eq!(first_number("12,5"), Some(12.0), "a decimal comma is not understood");
        assert_eq!(first_number("no digits here"), None);
        assert_eq!(number_in(&json!(7)), Some(7.0));
        assert_eq!(number_in(&json!("x = 7")), Some(7.0));
        assert_eq!(number_in(&json!(true)), None);
    }
}
