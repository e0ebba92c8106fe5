//! The judge's prompt: one criterion, the task, optionally the reference and the agent's
//! trajectory, and the answer; the instructions for a structured verdict.

use super::model::{ChatMessage, Role};
use super::verdict::Scale;
use crate::trace::{Event, Trace};
use serde_json::Value;
use std::fmt::Write as _;

/// The version of the template below. Part of every recording's key: a changed template never
/// replays a verdict given to the old one. Bump it with any change to the text.
pub const TEMPLATE_VERSION: u32 = 1;

/// How much of one tool result or argument the trajectory shows.
const EXCERPT_CHARS: usize = 2000;

/// What the prompt shows of one attempt.
pub(crate) struct Shown<'a> {
    pub(crate) criterion: &'a str,
    pub(crate) scale: &'a Scale,
    pub(crate) inputs: &'a Value,
    pub(crate) reference: Option<&'a Value>,
    pub(crate) trajectory: Option<&'a Trace>,
    pub(crate) answer: &'a Value,
}

/// The system and user messages asking for a verdict.
pub(crate) fn messages(shown: &Shown<'_>) -> Vec<ChatMessage> {
    let system = format!(
        "You grade the response of an AI agent against exactly one criterion. Judge only that \
         criterion, not style or length unless the criterion asks for them. Reply with only a \
         JSON object {{\"reasoning\": \"…\", \"score\": …}}: first your reasoning in a few \
         sentences, then the score. {}.",
        shown.scale.instruction()
    );
    let mut user = String::new();
    let _ = write!(
        user,
        "## Criterion\n{}\n\n## Task\n{}\n",
        shown.criterion.trim(),
        text(shown.inputs)
    );
    if let Some(reference) = shown.reference {
        let _ = write!(user, "\n## Reference answer\n{}\n", text(reference));
    }
    if let Some(trace) = shown.trajectory {
        let _ = write!(user, "\n## What the agent did\n{}", trajectory(trace));
    }
    let _ = write!(user, "\n## The agent's response\n{}\n", text(shown.answer));
    vec![
        ChatMessage::new(Role::System, system),
        ChatMessage::new(Role::User, user),
    ]
}

/// The message asking again after a reply that was not a verdict.
pub(crate) fn ask_again(why: &str) -> ChatMessage {
    ChatMessage::new(
        Role::User,
        format!("That reply is not a valid verdict: {why}. Reply with only the JSON object."),
    )
}

/// A string as itself, anything else as pretty JSON.
pub(crate) fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => "(none)".to_owned(),
        other => serde_json::to_string_pretty(other).unwrap_or_else(|_| other.to_string()),
    }
}

/// The tool calls, results and errors of a trace, one line each, and how the run ended.
pub(crate) fn trajectory(trace: &Trace) -> String {
    let mut out = String::new();
    for event in &trace.events {
        let _ = match event {
            Event::ToolCall(call) => writeln!(out, "- called `{}` with {}", call.name, excerpt(&call.arguments)),
            Event::ToolResult(result) => writeln!(out, "- `{}` returned {}", result.name, excerpt(&result.result)),
            Event::ToolError(error) => writeln!(out, "- `{}` failed: {}", error.name, error.message),
            _ => Ok(()),
        };
    }
    if out.is_empty() {
        out.push_str("- no tool calls\n");
    }
    if let Some(exception) = &trace.exception {
        let _ = writeln!(out, "- the run failed: {}: {}", exception.kind, exception.message);
    }
    out
}

fn excerpt(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}… ({} characters in all)", &text[..cut], text.chars().count()),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shows_what_it_is_told_to() {
        let trace = Trace::new(
            vec![
                Event::tool_call("get_weather", json!({"city": "Paris"})),
                Event::model_response("It is sunny."),
            ],
            None,
            3,
        );
        let scale = Scale::points(1, 5);
        let shown = Shown {
            criterion: "The answer is polite.",
            scale: &scale,
            inputs: &json!({"input": "Weather in Paris?"}),
            reference: Some(&json!("Sunny")),
            trajectory: Some(&trace),
            answer: &json!("It is sunny."),
        };
        let messages = messages(&shown);
        assert_eq!(messages[0].role, Role::System);
        assert!(messages[0].content.contains("whole number from 1"));
        let user = &messages[1].content;
        for part in [
            "The answer is polite.",
            "## Reference answer\nSunny",
            "called `get_weather`",
            "It is sunny.",
        ] {
            assert!(user.contains(part), "{part} missing from {user}");
        }
        let bare = Shown {
            reference: None,
            trajectory: None,
            ..shown
        };
        let user = &super::messages(&bare)[1].content;
        assert!(!user.contains("Reference") && !user.contains("get_weather"));
    }
}
