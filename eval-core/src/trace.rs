//! What an agent did on one task: its events in order, how it ended, how long it took.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// The record of one agent run, as scorers see it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trace {
    /// Every event, in the order it happened.
    pub events: Vec<Event>,
    /// How the run failed, if it did (an error, a panic, a timeout).
    pub exception: Option<Exception>,
    /// Wall-clock duration of the agent run.
    pub duration_ms: u64,
    /// Token totals (summed from usage events for a live run; as stored for a loaded one).
    pub tokens: TokenUsage,
}

impl Trace {
    /// Builds a trace and sums the token usage of its events.
    pub fn new(events: Vec<Event>, exception: Option<Exception>, duration_ms: u64) -> Self {
        let tokens = TokenUsage::sum(events.iter().filter_map(Event::as_usage));
        Trace {
            events,
            exception,
            duration_ms,
            tokens,
        }
    }

    /// Every tool call, in order.
    ///
    /// ```
    /// use eval_engine::Trace;
    /// use eval_engine::trace::Event;
    /// use serde_json::json;
    ///
    /// let trace = Trace::new(vec![Event::tool_call("get_weather", json!({"city": "Paris"}))], None, 12);
    /// assert_eq!(trace.tool_calls().filter(|c| c.name == "get_weather").count(), 1);
    /// ```
    pub fn tool_calls(&self) -> impl DoubleEndedIterator<Item = &ToolCall> {
        self.events.iter().filter_map(|e| match e {
            Event::ToolCall(call) => Some(call),
            _ => None,
        })
    }

    /// Every tool result, in order.
    pub fn tool_results(&self) -> impl DoubleEndedIterator<Item = &ToolResult> {
        self.events.iter().filter_map(|e| match e {
            Event::ToolResult(result) => Some(result),
            _ => None,
        })
    }

    /// Every tool error, in order.
    pub fn tool_errors(&self) -> impl DoubleEndedIterator<Item = &ToolError> {
        self.events.iter().filter_map(|e| match e {
            Event::ToolError(error) => Some(error),
            _ => None,
        })
    }

    /// Every model response, in order.
    pub fn model_responses(&self) -> impl DoubleEndedIterator<Item = &ModelResponse> {
        self.events.iter().filter_map(|e| match e {
            Event::ModelResponse(response) => Some(response),
            _ => None,
        })
    }

    /// The text of the last model response that had text: usually the agent's final answer.
    pub fn final_response(&self) -> Option<&str> {
        self.model_responses().filter_map(|r| r.text.as_deref()).next_back()
    }

    /// Whether the agent run ended without an exception.
    pub fn succeeded(&self) -> bool {
        self.exception.is_none()
    }
}

/// How an agent run ended badly. `kind` is the error's type name, or `panic` / `timeout`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exception {
    /// The error's type name, or [`Exception::PANIC`], [`Exception::TIMEOUT`], [`Exception::NOT_REGRADED`] (`type` in the run JSON).
    #[serde(rename = "type")]
    pub kind: String,
    /// What went wrong.
    pub message: String,
}

impl Exception {
    /// Kind of an exception recorded for a panicking agent.
    pub const PANIC: &'static str = "panic";
    /// Kind of an exception recorded for an agent that overran its timeout.
    pub const TIMEOUT: &'static str = "timeout";
    /// Kind of an exception recorded by a regrade for a task it could not re-grade (written
    /// `not_replayed`, the name runs have always carried).
    pub const NOT_REGRADED: &'static str = "not_replayed";

    /// An exception of `kind` saying `message`.
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> Self {
        Exception {
            kind: kind.into(),
            message: message.into(),
        }
    }
}

/// Token counts. `total()` is input + output; cache tokens are reported apart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Input (prompt) tokens.
    #[serde(default)]
    pub input: u64,
    /// Output (completion) tokens.
    #[serde(default)]
    pub output: u64,
    /// Tokens written to the prompt cache.
    #[serde(default)]
    pub cache_creation: u64,
    /// Tokens read from the prompt cache.
    #[serde(default)]
    pub cache_read: u64,
}

impl TokenUsage {
    /// Input plus output tokens.
    pub fn total(&self) -> u64 {
        // Counts come from files too: a huge one saturates rather than wrapping or panicking.
        self.input.saturating_add(self.output)
    }

    /// The field-wise sum.
    pub fn sum<'a>(items: impl IntoIterator<Item = &'a TokenUsage>) -> TokenUsage {
        items.into_iter().fold(TokenUsage::default(), |acc, u| acc + *u)
    }
}

impl std::ops::Add for TokenUsage {
    type Output = TokenUsage;
    fn add(self, rhs: TokenUsage) -> TokenUsage {
        TokenUsage {
            input: self.input.saturating_add(rhs.input),
            output: self.output.saturating_add(rhs.output),
            cache_creation: self.cache_creation.saturating_add(rhs.cache_creation),
            cache_read: self.cache_read.saturating_add(rhs.cache_read),
        }
    }
}

/// One thing that happened during an agent run.
///
/// In the run JSON each event is an object with a `type`. Events of a type this crate does not
/// know (for example AG2's own event dictionaries) load as [`Event::Foreign`] and are written
/// back exactly as they were.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// A model's reply.
    ModelResponse(ModelResponse),
    /// The agent asked for a tool.
    ToolCall(ToolCall),
    /// A tool answered.
    ToolResult(ToolResult),
    /// A tool failed.
    ToolError(ToolError),
    /// Tokens a model call used.
    Usage(TokenUsage),
    /// Anything else the agent recorded.
    Custom(Custom),
    /// An event dictionary of another producer, kept verbatim (including its `type`).
    Foreign(Map<String, Value>),
}

/// A model's reply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelResponse {
    /// The model that replied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The reply's text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Why the model stopped (`stop`, `length`, `tool_calls`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
}

/// The agent asked for a tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The call's id, when the model gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The tool.
    pub name: String,
    /// The arguments asked for.
    #[serde(default)]
    pub arguments: Value,
}

/// A tool answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolResult {
    /// The id of the call answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The tool.
    pub name: String,
    /// What the tool returned.
    #[serde(default)]
    pub result: Value,
}

/// A tool failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolError {
    /// The id of the call that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The tool.
    pub name: String,
    /// The error's text.
    pub message: String,
}

/// Anything else an agent wants on its trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Custom {
    /// What the event is.
    pub name: String,
    /// Its data.
    #[serde(default)]
    pub data: Value,
}

impl Event {
    /// A tool call without an id.
    pub fn tool_call(name: impl Into<String>, arguments: Value) -> Event {
        Event::ToolCall(ToolCall {
            id: None,
            name: name.into(),
            arguments,
        })
    }

    /// A tool result without an id.
    pub fn tool_result(name: impl Into<String>, result: Value) -> Event {
        Event::ToolResult(ToolResult {
            id: None,
            name: name.into(),
            result,
        })
    }

    /// A tool error without an id.
    pub fn tool_error(name: impl Into<String>, message: impl Into<String>) -> Event {
        Event::ToolError(ToolError {
            id: None,
            name: name.into(),
            message: message.into(),
        })
    }

    /// A model response carrying `text`.
    pub fn model_response(text: impl Into<String>) -> Event {
        Event::ModelResponse(ModelResponse {
            text: Some(text.into()),
            ..ModelResponse::default()
        })
    }

    /// A custom event.
    pub fn custom(name: impl Into<String>, data: Value) -> Event {
        Event::Custom(Custom {
            name: name.into(),
            data,
        })
    }

    /// The token usage this event reports, if it is a usage event.
    pub fn as_usage(&self) -> Option<&TokenUsage> {
        match self {
            Event::Usage(usage) => Some(usage),
            _ => None,
        }
    }

    /// The `type` this event has in the run JSON.
    pub fn type_name(&self) -> &str {
        match self {
            Event::ModelResponse(_) => "model_response",
            Event::ToolCall(_) => "tool_call",
            Event::ToolResult(_) => "tool_result",
            Event::ToolError(_) => "tool_error",
            Event::Usage(_) => "usage",
            Event::Custom(_) => "custom",
            Event::Foreign(map) => map.get("type").and_then(Value::as_str).unwrap_or(""),
        }
    }
}

// The wire form is `{"type": "...", ...fields}`. Written by hand rather than with
// `#[serde(tag = "type")]` so that unknown types fall back to `Foreign` losslessly.
impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Tagged<'a, T> {
            #[serde(rename = "type")]
            kind: &'a str,
            #[serde(flatten)]
            body: &'a T,
        }
        let kind = self.type_name();
        match self {
            Event::ModelResponse(body) => Tagged { kind, body }.serialize(serializer),
            Event::ToolCall(body) => Tagged { kind, body }.serialize(serializer),
            Event::ToolResult(body) => Tagged { kind, body }.serialize(serializer),
            Event::ToolError(body) => Tagged { kind, body }.serialize(serializer),
            Event::Usage(body) => Tagged { kind, body }.serialize(serializer),
            Event::Custom(body) => Tagged { kind, body }.serialize(serializer),
            Event::Foreign(map) => map.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EventVisitor;

        impl<'de> serde::de::Visitor<'de> for EventVisitor {
            type Value = Event;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an event: an object with a string `type`")
            }

            // The fields are collected in a plain list, not a map: an event has a handful of
            // them, and hashing every key was the largest single cost of loading a run.
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut access: A) -> Result<Event, A::Error> {
                let mut fields: Vec<(String, Value)> = Vec::with_capacity(access.size_hint().unwrap_or(4));
                while let Some(field) = access.next_entry::<String, Value>()? {
                    fields.push(field);
                }
                match fields.iter().find(|(name, _)| name == "type") {
                    Some((_, Value::String(_))) => Ok(Event::from_fields(fields)),
                    _ => Err(A::Error::custom("an event must be an object with a string `type`")),
                }
            }
        }

        deserializer.deserialize_map(EventVisitor)
    }
}

/// The JSON kind a field of a known event must have.
#[derive(Clone, Copy)]
enum Field {
    /// A string, required.
    Text,
    /// A string or null, optional.
    OptionalText,
    /// A non-negative integer, optional.
    Count,
    /// Anything, optional.
    Any,
}

impl Field {
    fn accepts(self, value: Option<&Value>) -> bool {
        match (self, value) {
            (Field::Text, Some(Value::String(_))) => true,
            (Field::Text, _) => false,
            (Field::OptionalText, None | Some(Value::Null | Value::String(_))) => true,
            (Field::Count, None) => true,
            (Field::Count, Some(n)) => n.as_u64().is_some(),
            (Field::Any, _) => true,
            _ => false,
        }
    }
}

/// `fields` with each repeated key kept once, in its first place, with its last value.
fn without_repeated_keys(fields: Vec<(String, Value)>) -> Vec<(String, Value)> {
    let repeats = |fields: &[(String, Value)]| {
        fields
            .iter()
            .enumerate()
            .any(|(i, (name, _))| fields[..i].iter().any(|(n, _)| n == name))
    };
    // Events have a handful of fields, and repeated keys are rare: no map is worth building.
    if !repeats(&fields) {
        return fields;
    }
    let mut kept: Vec<(String, Value)> = Vec::with_capacity(fields.len());
    for (name, value) in fields {
        match kept.iter_mut().find(|(n, _)| *n == name) {
            Some((_, slot)) => *slot = value,
            None => kept.push((name, value)),
        }
    }
    kept
}

impl Event {
    /// Reads an event's fields. One of ours becomes its typed variant only when it has exactly
    /// the fields that variant keeps, so nothing is lost; anything else is `Foreign`, with its
    /// fields in their order. A repeated key keeps its first place and its last value, as a
    /// JSON object map would, before the shape is judged: what is written back then reads back
    /// as the same event.
    fn from_fields(fields: Vec<(String, Value)>) -> Event {
        use Field::*;
        let mut fields = without_repeated_keys(fields);
        fn get<'a>(fields: &'a [(String, Value)], name: &str) -> Option<&'a Value> {
            fields.iter().find(|(n, _)| n == name).map(|(_, v)| v)
        }
        let shape: &[(&str, Field)] = match get(&fields, "type").and_then(Value::as_str).unwrap_or("") {
            "model_response" => &[
                ("model", OptionalText),
                ("text", OptionalText),
                ("finish_reason", OptionalText),
            ],
            "tool_call" => &[("id", OptionalText), ("name", Text), ("arguments", Any)],
            "tool_result" => &[("id", OptionalText), ("name", Text), ("result", Any)],
            "tool_error" => &[("id", OptionalText), ("name", Text), ("message", Text)],
            "usage" => &[
                ("input", Count),
                ("output", Count),
                ("cache_creation", Count),
                ("cache_read", Count),
            ],
            "custom" => &[("name", Text), ("data", Any)],
            _ => return Event::Foreign(fields.into_iter().collect()),
        };
        let known = |name: &str| name == "type" || shape.iter().any(|(field, _)| *field == name);
        let fits = fields.iter().all(|(name, _)| known(name))
            && shape.iter().all(|(name, field)| field.accepts(get(&fields, name)));
        if !fits {
            return Event::Foreign(fields.into_iter().collect());
        }
        let mut take = |name: &str| {
            fields
                .iter_mut()
                .find(|(n, _)| n == name)
                .map(|(_, v)| std::mem::take(v))
                .unwrap_or(Value::Null)
        };
        let text = |value: Value| match value {
            Value::String(s) => Some(s),
            _ => None,
        };
        match take("type").as_str().unwrap_or("") {
            "model_response" => Event::ModelResponse(ModelResponse {
                model: text(take("model")),
                text: text(take("text")),
                finish_reason: text(take("finish_reason")),
            }),
            "tool_call" => Event::ToolCall(ToolCall {
                id: text(take("id")),
                name: text(take("name")).unwrap_or_default(),
                arguments: take("arguments"),
            }),
            "tool_result" => Event::ToolResult(ToolResult {
                id: text(take("id")),
                name: text(take("name")).unwrap_or_default(),
                result: take("result"),
            }),
            "tool_error" => Event::ToolError(ToolError {
                id: text(take("id")),
                name: text(take("name")).unwrap_or_default(),
                message: text(take("message")).unwrap_or_default(),
            }),
            "custom" => Event::Custom(Custom {
                name: text(take("name")).unwrap_or_default(),
                data: take("data"),
            }),
            _ => {
                let mut count = |name: &str| take(name).as_u64().unwrap_or(0);
                Event::Usage(TokenUsage {
                    input: count("input"),
                    output: count("output"),
                    cache_creation: count("cache_creation"),
                    cache_read: count("cache_read"),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tokens_are_summed_from_usage_events() {
        let usage = |input, output| {
            Event::Usage(TokenUsage {
                input,
                output,
                cache_creation: 1,
                cache_read: 2,
            })
        };
        let trace = Trace::new(vec![usage(10, 5), Event::model_response("hi"), usage(3, 4)], None, 1);
        assert_eq!(trace.tokens.input, 13);
        assert_eq!(trace.tokens.output, 9);
        assert_eq!(trace.tokens.cache_read, 4);
        assert_eq!(trace.tokens.total(), 22);
    }

    #[test]
    fn events_round_trip_with_their_type() {
        let events = vec![
            Event::tool_call("lookup", json!({"code": "0"})),
            Event::tool_result("lookup", json!("ANS")),
            Event::tool_error("lookup", "boom"),
            Event::model_response("done"),
            Event::custom("step", json!({"n": 1})),
        ];
        let text = serde_json::to_string(&events).unwrap();
        assert!(text.contains(r#"{"type":"tool_call","name":"lookup","arguments":{"code":"0"}}"#));
        let back: Vec<Event> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, events);
    }

    #[test]
    fn foreign_events_are_kept_verbatim() {
        let raw =
            json!({"type": "ToolCallEvent", "created_at": 1.5, "arguments": "{\"code\": \"0\"}", "name": "lookup"});
        let event: Event = serde_json::from_value(raw.clone()).unwrap();
        assert!(matches!(event, Event::Foreign(_)));
        assert_eq!(serde_json::to_value(&event).unwrap(), raw);
        assert_eq!(
            serde_json::to_string(&event).unwrap(),
            serde_json::to_string(&raw).unwrap(),
            "key order is kept"
        );
    }

    #[test]
    fn our_types_with_other_fields_stay_foreign() {
        for raw in [
            json!({"type": "tool_call", "name": "x", "arguments": {}, "extra": 1}),
            json!({"type": "tool_call", "arguments": {}}),
            json!({"type": "tool_error", "name": "x", "message": 3}),
            json!({"type": "usage", "input": -1}),
        ] {
            let event: Event = serde_json::from_value(raw.clone()).unwrap();
            assert!(matches!(event, Event::Foreign(_)), "{raw}");
            assert_eq!(serde_json::to_value(&event).unwrap(), raw);
        }
        let usage: Event = serde_json::from_value(json!({"type": "usage", "input": 3})).unwrap();
        assert_eq!(usage.as_usage().unwrap().input, 3);
    }

    #[test]
    fn an_event_without_type_is_an_error() {
        assert!(serde_json::from_value::<Event>(json!({"name": "x"})).is_err());
    }

    #[test]
    fn final_response_is_the_last_text() {
        let trace = Trace::new(
            vec![
                Event::model_response("thinking"),
                Event::tool_call("t", Value::Null),
                Event::model_response("42"),
            ],
            None,
            0,
        );
        assert_eq!(trace.final_response(), Some("42"));
    }
}
