//! Where the answer scorers read the agent's answer, and the task's expected one.

use crate::feedback::Feedback;
use crate::trace::Trace;
use serde::Serialize;
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;

/// The agent's answer and where it was found.
pub(super) struct Answer<'a> {
    pub(super) value: Cow<'a, Value>,
    pub(super) source: Source<'a>,
}

/// Where an [`Answer`] was found, for comments.
#[derive(Clone, Copy)]
pub(super) enum Source<'a> {
    /// A field of a structured (JSON object) output.
    OutputField(&'a str),
    /// The output itself: a string, number or boolean.
    Output,
    /// The text of the last model response.
    FinalResponse,
}

impl fmt::Display for Source<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::OutputField(field) => write!(f, "outputs[{field:?}]"),
            Source::Output => f.write_str("the output"),
            Source::FinalResponse => f.write_str("the final model response"),
        }
    }
}

impl Source<'_> {
    /// The source as a JSON string, for `detail`.
    pub(super) fn label(self) -> String {
        match self {
            Source::OutputField(field) => format!("outputs.{field}"),
            Source::Output => "outputs".to_owned(),
            Source::FinalResponse => "final_response".to_owned(),
        }
    }
}

/// The agent's answer: `outputs[field]` when the output is an object carrying `field`, else the
/// output itself when it is a scalar, else the text of the last model response (AG2 reads the
/// structured field, then the response text). `Err` says why there is none.
pub(super) fn find_answer<'a>(
    outputs: &'a Value,
    field: Option<&'a str>,
    trace: &'a Trace,
) -> Result<Answer<'a>, String> {
    if let (Some(field), Value::Object(object)) = (field, outputs)
        && let Some(value) = object.get(field)
    {
        return match value {
            // The agent said explicitly that it has no answer; do not look elsewhere.
            Value::Null => Err(format!("the agent's answer, outputs[{field:?}], is null")),
            _ => Ok(Answer {
                value: Cow::Borrowed(value),
                source: Source::OutputField(field),
            }),
        };
    }
    if let Value::String(_) | Value::Number(_) | Value::Bool(_) = outputs {
        return Ok(Answer {
            value: Cow::Borrowed(outputs),
            source: Source::Output,
        });
    }
    if let Some(text) = trace.final_response() {
        return Ok(Answer {
            value: Cow::Owned(Value::String(text.to_owned())),
            source: Source::FinalResponse,
        });
    }
    let output = match (outputs, field) {
        (Value::Null, _) => "no output".to_owned(),
        (Value::Object(_), Some(field)) => format!("an output without {field:?}"),
        _ => "an output that is neither text nor a number".to_owned(),
    };
    let mut why = format!("the agent gave no answer: {output}, and no model response with text");
    if let Some(exception) = &trace.exception {
        why.push_str(&format!(" (it failed: {}: {})", exception.kind, exception.message));
    }
    Err(why)
}

/// Why an answer could not be compared with its expectation.
pub(super) enum NotCompared {
    /// The task fails: it has no reference, or the agent no answer (AG2 fails these too).
    Fail(String),
    /// The scorer could not do its work (an invalid pattern, an unreadable reference).
    Ungradeable(String),
}

impl NotCompared {
    pub(super) fn into_feedback(self, key: &str) -> Feedback {
        match self {
            NotCompared::Fail(why) => Feedback::pass_fail(key, false).with_comment(why),
            NotCompared::Ungradeable(why) => Feedback::ungradeable(key, why),
        }
    }
}

/// `reference_outputs[field]`; a task without one (no such field, or null) fails.
pub(super) fn expected_value<R: Serialize>(reference: &R, field: &str) -> Result<Value, NotCompared> {
    match reference_field(reference, field) {
        Ok(Some(expected)) => Ok(expected),
        Ok(None) => Err(NotCompared::Fail(format!(
            "no reference to compare with: the task's reference_outputs has no {field:?}"
        ))),
        Err(why) => Err(NotCompared::Ungradeable(why)),
    }
}

/// `reference_outputs[field]`, `None` when the reference has no such field or it is null.
fn reference_field<R: Serialize>(reference: &R, field: &str) -> Result<Option<Value>, String> {
    match serde_json::to_value(reference) {
        Ok(Value::Object(mut object)) => Ok(object.swap_remove(field).filter(|value| !value.is_null())),
        Ok(_) => Ok(None),
        Err(e) => Err(format!("the reference outputs cannot be read as JSON: {e}")),
    }
}

/// A value as text for a textual comparison: a string as it is, anything else as JSON.
pub(super) fn as_text(value: &Value) -> Cow<'_, str> {
    match value {
        Value::String(text) => Cow::Borrowed(text),
        other => Cow::Owned(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{Event, Exception};
    use serde_json::json;

    fn answer_of(outputs: Value, field: Option<&str>, trace: &Trace) -> Result<(Value, String), String> {
        find_answer(&outputs, field, trace).map(|a| (a.value.into_owned(), a.source.to_string()))
    }

    #[test]
    fn the_answer_comes_from_the_field_then_the_output_then_the_response() {
        let said = Trace::new(vec![Event::model_response("It is Paris.")], None, 1);
        let field = Some("city");
        assert_eq!(
            answer_of(json!({"city": "Lyon"}), field, &said),
            Ok((json!("Lyon"), r#"outputs["city"]"#.to_owned()))
        );
        assert_eq!(
            answer_of(json!("Nice"), field, &said),
            Ok((json!("Nice"), "the output".to_owned()))
        );
        assert_eq!(
            answer_of(json!(42), None, &said),
            Ok((json!(42), "the output".to_owned()))
        );
        assert_eq!(
            answer_of(json!({"town": "Lyon"}), field, &said),
            Ok((json!("It is Paris."), "the final model response".to_owned()))
        );
        assert!(
            answer_of(json!({"city": null}), field, &said)
                .unwrap_err()
                .contains("is null")
        );
    }

    #[test]
    fn no_answer_says_why() {
        let failed = Trace::new(vec![], Some(Exception::new("timeout", "too slow")), 1);
        let why = answer_of(Value::Null, Some("answer"), &failed).unwrap_err();
        assert_eq!(
            why,
            "the agent gave no answer: no output, and no model response with text (it failed: timeout: too slow)"
        );
    }

    #[test]
    fn reference_fields() {
        assert_eq!(reference_field(&json!({"answer": 4}), "answer"), Ok(Some(json!(4))));
        assert_eq!(reference_field(&json!({"answer": null}), "answer"), Ok(None));
        assert_eq!(reference_field(&Value::Null, "answer"), Ok(None));
        assert_eq!(as_text(&json!("x")), "x");
        assert_eq!(as_text(&json!(2.5)), "2.5");
    }
}
