//! The OpenTelemetry GenAI semantic conventions: which span fields mean what, and which trace
//! events a finished span stands for.
//!
//! Only span fields are read (`gen_ai.operation.name`, `gen_ai.usage.*`, `gen_ai.tool.*`,
//! `gen_ai.request.model`, `gen_ai.response.*`, `gen_ai.output.messages`, `error.type`); the
//! `tracing` target is ignored because it differs from one crate to the next.

use crate::trace::{Event, ModelResponse, TokenUsage, ToolCall, ToolError, ToolResult};
use serde_json::Value;
use std::fmt;
use tracing::field::{Field, FieldSet, Visit};

/// What a span does: from `gen_ai.operation.name`, or from the span's name when no operation is
/// recorded. Any other operation (`embeddings`, a span of the user's) only reports usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    /// One call of a model (`chat`, `text_completion`, `generate_content`).
    ModelCall,
    /// One run of a tool (`execute_tool`).
    ExecuteTool,
    /// A whole agent or workflow (`invoke_agent`, `create_agent`, `invoke_workflow`). Its usage is
    /// the sum of the model calls below it, so counting it too would double the tokens.
    Aggregate,
}

impl Operation {
    fn named(name: &str) -> Option<Operation> {
        match name {
            "chat" | "text_completion" | "generate_content" => Some(Operation::ModelCall),
            "execute_tool" => Some(Operation::ExecuteTool),
            "invoke_agent" | "create_agent" | "invoke_workflow" => Some(Operation::Aggregate),
            _ => None,
        }
    }
}

/// Whether a span declares any GenAI field, i.e. whether it is worth following.
pub(crate) fn declares_gen_ai(fields: &FieldSet) -> bool {
    fields.iter().any(|field| declares_gen_ai_name(field.name()))
}

/// Whether a field or attribute of this name is one of the GenAI conventions'.
pub(crate) fn declares_gen_ai_name(name: &str) -> bool {
    name.starts_with("gen_ai.")
}

/// The GenAI fields of one span, as recorded so far: at creation and by every later `record`.
#[derive(Debug, Default)]
pub(crate) struct GenAiFields {
    operation: Option<String>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_read_tokens: Option<u64>,
    cache_creation_tokens: Option<u64>,
    request_model: Option<String>,
    response_model: Option<String>,
    finish_reasons: Option<String>,
    output_messages: Option<String>,
    tool_name: Option<String>,
    tool_call_id: Option<String>,
    tool_arguments: Option<String>,
    tool_result: Option<String>,
    tool_outcome: Option<String>,
    tool_error_type: Option<String>,
    error_type: Option<String>,
    /// A span below this one reported usage: this span's own usage is an aggregate of it.
    pub(crate) usage_reported_below: bool,
}

/// What a finished span reports, before the capture decides what of it to keep.
#[derive(Debug, Default)]
pub(crate) struct Reported {
    pub operation: Option<Operation>,
    pub model_response: Option<ModelResponse>,
    /// Tool calls the model asked for, from the tool-call parts of `gen_ai.output.messages`.
    pub requested_calls: Vec<ToolCall>,
    /// A tool that ran, from an `execute_tool` span.
    pub execution: Option<ToolExecution>,
    pub usage: Option<TokenUsage>,
}

/// A tool that ran: the call and how it ended ([`Event::ToolResult`] or [`Event::ToolError`]).
#[derive(Debug)]
pub(crate) struct ToolExecution {
    pub call: ToolCall,
    pub outcome: Event,
}

/// Outcomes of `gen_ai.tool.call.outcome` that mean the tool did not answer.
const FAILED_OUTCOMES: [&str; 4] = ["error", "failure", "failed", "denied"];

impl GenAiFields {
    /// What the span reports now that it is finished. `span_name` stands in for the operation
    /// when `gen_ai.operation.name` was never recorded.
    pub(crate) fn reported(self, span_name: &str) -> Reported {
        let operation = self
            .operation
            .as_deref()
            .and_then(Operation::named)
            .or_else(|| self.operation.is_none().then(|| Operation::named(span_name)).flatten());
        let messages = self.output_messages.as_deref().map(parse_json).unwrap_or(Value::Null);
        let model_response = (operation == Some(Operation::ModelCall) && self.error_type.is_none())
            .then(|| self.model_response(&messages));
        let execution = (operation == Some(Operation::ExecuteTool))
            .then(|| self.tool_execution())
            .flatten();
        Reported {
            operation,
            model_response,
            requested_calls: requested_calls(&messages),
            execution,
            usage: self.usage(),
        }
    }

    fn usage(&self) -> Option<TokenUsage> {
        let counts = [
            self.input_tokens,
            self.output_tokens,
            self.cache_creation_tokens,
            self.cache_read_tokens,
        ];
        counts.iter().any(Option::is_some).then(|| TokenUsage {
            input: self.input_tokens.unwrap_or(0),
            output: self.output_tokens.unwrap_or(0),
            cache_creation: self.cache_creation_tokens.unwrap_or(0),
            cache_read: self.cache_read_tokens.unwrap_or(0),
        })
    }

    fn model_response(&self, messages: &Value) -> ModelResponse {
        let texts: Vec<&str> = message_parts(messages)
            .filter(|part| part["type"] == "text")
            .filter_map(|part| part["content"].as_str())
            .collect();
        let finish_reason = self
            .finish_reasons
            .as_deref()
            .map(finish_reasons)
            .or_else(|| message_finish_reasons(messages));
        ModelResponse {
            model: self.response_model.clone().or_else(|| self.request_model.clone()),
            text: (!texts.is_empty()).then(|| texts.join("\n")),
            finish_reason,
        }
    }

    fn tool_execution(&self) -> Option<ToolExecution> {
        let name = self.tool_name.clone()?;
        let id = self.tool_call_id.clone();
        let call = ToolCall {
            id: id.clone(),
            name: name.clone(),
            arguments: self
                .tool_arguments
                .as_deref()
                .map(parse_json_or_text)
                .unwrap_or(Value::Null),
        };
        let failed = self.tool_error_type.is_some()
            || self.error_type.is_some()
            || self
                .tool_outcome
                .as_deref()
                .is_some_and(|outcome| FAILED_OUTCOMES.contains(&outcome.to_ascii_lowercase().as_str()));
        let outcome = if failed {
            let kind = self.tool_error_type.as_deref().or(self.error_type.as_deref());
            let message = match (kind, self.tool_result.as_deref()) {
                (Some(kind), Some(result)) => format!("{kind}: {result}"),
                (Some(kind), None) => kind.to_owned(),
                (None, Some(result)) => result.to_owned(),
                (None, None) => self
                    .tool_outcome
                    .clone()
                    .unwrap_or_else(|| "the tool failed".to_owned()),
            };
            Event::ToolError(ToolError { id, name, message })
        } else {
            Event::ToolResult(ToolResult {
                id,
                name,
                result: self
                    .tool_result
                    .as_deref()
                    .map(parse_json_or_text)
                    .unwrap_or(Value::Null),
            })
        };
        Some(ToolExecution { call, outcome })
    }

    /// Sets an attribute recorded elsewhere (an OTLP file's span): counts for usage, the
    /// text of anything else (a value that is not a string as its JSON).
    pub(crate) fn set_attribute(&mut self, name: &str, value: &Value) {
        match value {
            Value::Number(n) if name.starts_with("gen_ai.usage.") => self.set_count(name, n.as_u64()),
            Value::String(text) if name.starts_with("gen_ai.usage.") => self.set_count(name, text.parse().ok()),
            Value::String(text) => self.set_text(name, text.clone()),
            other => self.set_text(name, other.to_string()),
        }
    }

    fn set_text(&mut self, name: &str, text: String) {
        let slot = match name {
            "gen_ai.operation.name" => &mut self.operation,
            "gen_ai.request.model" => &mut self.request_model,
            "gen_ai.response.model" => &mut self.response_model,
            "gen_ai.response.finish_reasons" => &mut self.finish_reasons,
            "gen_ai.output.messages" => &mut self.output_messages,
            "gen_ai.tool.name" => &mut self.tool_name,
            "gen_ai.tool.call.id" => &mut self.tool_call_id,
            "gen_ai.tool.call.arguments" => &mut self.tool_arguments,
            "gen_ai.tool.call.result" => &mut self.tool_result,
            "gen_ai.tool.call.outcome" => &mut self.tool_outcome,
            "gen_ai.tool.error.type" => &mut self.tool_error_type,
            "error.type" => &mut self.error_type,
            _ => return self.set_count(name, text.trim().parse().ok()),
        };
        *slot = Some(text);
    }

    fn set_count(&mut self, name: &str, count: Option<u64>) {
        let slot = match name {
            "gen_ai.usage.input_tokens" => &mut self.input_tokens,
            "gen_ai.usage.output_tokens" => &mut self.output_tokens,
            "gen_ai.usage.cache_read.input_tokens" => &mut self.cache_read_tokens,
            "gen_ai.usage.cache_creation.input_tokens" => &mut self.cache_creation_tokens,
            _ => return,
        };
        if count.is_some() {
            *slot = count;
        }
    }
}

impl Visit for GenAiFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.set_text(field.name(), value.to_owned());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            name if name.starts_with("gen_ai.usage.") => self.set_count(name, Some(value)),
            name => self.set_text(name, value.to_string()),
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        match u64::try_from(value) {
            Ok(value) => self.record_u64(field, value),
            Err(_) => self.set_text(field.name(), value.to_string()),
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // `%value` arrives here too, formatted with its `Display`.
        self.set_text(field.name(), format!("{value:?}"));
    }
}

fn parse_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// JSON text as the value it spells, anything else as a string.
fn parse_json_or_text(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// The messages of `gen_ai.output.messages`: a list of `{role, parts, finish_reason}` (one
/// message alone is accepted too).
fn messages(messages: &Value) -> impl Iterator<Item = &Value> {
    match messages {
        Value::Array(list) => list.iter(),
        Value::Object(_) => std::slice::from_ref(messages).iter(),
        _ => [].iter(),
    }
}

fn message_parts(messages_value: &Value) -> impl Iterator<Item = &Value> {
    messages(messages_value).flat_map(|message| message["parts"].as_array().into_iter().flatten())
}

/// The tool-call parts of the output messages: `{"type": "tool_call", "id", "name", "arguments"}`.
fn requested_calls(messages: &Value) -> Vec<ToolCall> {
    message_parts(messages)
        .filter(|part| part["type"] == "tool_call")
        .filter_map(|part| {
            Some(ToolCall {
                id: part["id"].as_str().map(str::to_owned),
                name: part["name"].as_str()?.to_owned(),
                // Some instrumentations write the arguments as JSON text rather than JSON.
                arguments: match &part["arguments"] {
                    Value::String(text) => parse_json_or_text(text),
                    other => other.clone(),
                },
            })
        })
        .collect()
}

/// `gen_ai.response.finish_reasons`: a list (JSON, or the `Debug` form of a list of strings, which
/// reads the same) or a single reason.
fn finish_reasons(text: &str) -> String {
    match serde_json::from_str::<Vec<String>>(text) {
        Ok(reasons) => reasons.join(","),
        Err(_) => text.to_owned(),
    }
}

fn message_finish_reasons(messages_value: &Value) -> Option<String> {
    let reasons: Vec<&str> = messages(messages_value)
        .filter_map(|message| message["finish_reason"].as_str())
        // rig writes `unknown` when the provider's reason is not available: no reason, then.
        .filter(|reason| *reason != "unknown")
        .collect();
    (!reasons.is_empty()).then(|| reasons.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(pairs: &[(&str, &str)]) -> GenAiFields {
        let mut fields = GenAiFields::default();
        for (name, value) in pairs {
            fields.set_text(name, (*value).to_owned());
        }
        fields
    }

    #[test]
    fn the_operation_name_wins_over_the_span_name() {
        let reported = fields(&[("gen_ai.operation.name", "execute_tool"), ("gen_ai.tool.name", "t")]).reported("chat");
        assert_eq!(reported.operation, Some(Operation::ExecuteTool));
        assert_eq!(fields(&[]).reported("chat").operation, Some(Operation::ModelCall));
        let unknown = fields(&[("gen_ai.operation.name", "embeddings")]).reported("chat");
        assert_eq!(
            unknown.operation, None,
            "a recorded operation is never overridden by the name"
        );
    }

    #[test]
    fn a_model_call_gives_its_model_text_and_finish_reason() {
        let messages = json!([{"role": "assistant", "finish_reason": "stop",
            "parts": [{"type": "text", "content": "It is 18°C."},
                      {"type": "tool_call", "id": "c1", "name": "get_weather", "arguments": {"city": "Paris"}},
                      {"type": "tool_call", "name": "lookup", "arguments": "{\"q\": 1}"}]}]);
        let reported = fields(&[
            ("gen_ai.operation.name", "chat"),
            ("gen_ai.request.model", "small"),
            ("gen_ai.response.model", "small-2025"),
            ("gen_ai.output.messages", &messages.to_string()),
            ("gen_ai.usage.input_tokens", "12"),
        ])
        .reported("whatever");
        let response = reported.model_response.unwrap();
        assert_eq!(response.model.as_deref(), Some("small-2025"));
        assert_eq!(response.text.as_deref(), Some("It is 18°C."));
        assert_eq!(response.finish_reason.as_deref(), Some("stop"));
        assert_eq!(reported.requested_calls.len(), 2);
        assert_eq!(reported.requested_calls[0].id.as_deref(), Some("c1"));
        assert_eq!(reported.requested_calls[1].arguments, json!({"q": 1}));
        assert_eq!(reported.usage.unwrap().input, 12);
    }

    #[test]
    fn finish_reasons_are_read_as_a_list_or_as_one() {
        assert_eq!(finish_reasons(r#"["stop", "length"]"#), "stop,length");
        assert_eq!(finish_reasons("stop"), "stop");
    }

    #[test]
    fn a_failed_tool_is_an_error_naming_its_kind() {
        let reported = fields(&[
            ("gen_ai.operation.name", "execute_tool"),
            ("gen_ai.tool.name", "get_weather"),
            ("gen_ai.tool.call.id", "c1"),
            ("gen_ai.tool.call.arguments", r#"{"city": "Atlantis"}"#),
            ("gen_ai.tool.call.result", "no such city"),
            ("gen_ai.tool.call.outcome", "error"),
            ("gen_ai.tool.error.type", "execution"),
        ])
        .reported("execute_tool");
        let execution = reported.execution.unwrap();
        assert_eq!(execution.call.arguments, json!({"city": "Atlantis"}));
        assert_eq!(
            execution.outcome,
            Event::ToolError(ToolError {
                id: Some("c1".into()),
                name: "get_weather".into(),
                message: "execution: no such city".into()
            })
        );
    }

    #[test]
    fn a_tool_result_that_is_not_json_stays_text() {
        let reported = fields(&[
            ("gen_ai.tool.name", "echo"),
            ("gen_ai.tool.call.result", "plain words"),
            ("gen_ai.tool.call.outcome", "success"),
        ])
        .reported("execute_tool");
        assert_eq!(
            reported.execution.unwrap().outcome,
            Event::tool_result("echo", json!("plain words"))
        );
    }

    #[test]
    fn no_usage_field_means_no_usage() {
        assert!(
            fields(&[("gen_ai.operation.name", "chat")])
                .reported("chat")
                .usage
                .is_none()
        );
    }
}
