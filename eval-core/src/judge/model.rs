//! A model that completes a chat request: all a judge needs of a provider.

use crate::cassette::CassetteError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use thiserror::Error;

/// Who says a message of a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The instructions.
    System,
    /// The question.
    User,
    /// The model's earlier reply.
    Assistant,
}

/// One message of a chat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Who says it.
    pub role: Role,
    /// What is said.
    pub content: String,
}

impl ChatMessage {
    /// A message of `role` saying `content`.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        ChatMessage {
            role,
            content: content.into(),
        }
    }
}

/// What a judge asks a model: the messages, the sampling temperature and, when the reply must
/// be a JSON object of a given shape, its JSON Schema (a provider with structured output
/// enforces it; the judge parses the reply either way).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The chat so far.
    pub messages: Vec<ChatMessage>,
    /// Sampling temperature: 0 for a judge, unless told otherwise.
    pub temperature: f64,
    /// The most tokens the reply may have, when bounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// The JSON Schema the reply must follow, named, when it is structured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<ReplySchema>,
}

/// A JSON Schema for a structured reply, with the name providers ask for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplySchema {
    /// A short name (`verdict`).
    pub name: String,
    /// The schema itself.
    pub schema: Value,
}

/// A model's reply: its text, and what it cost. Recorded in cassettes as is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatReply {
    /// The reply's text (for a structured reply, the JSON object as text).
    pub text: String,
    /// The model that answered, as the provider names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Why the reply ended (`stop`, `length`), as the provider says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    /// Input (prompt) tokens.
    #[serde(default)]
    pub input_tokens: u64,
    /// Output (completion) tokens.
    #[serde(default)]
    pub output_tokens: u64,
}

/// Why a model call failed. None of these is recorded by a cassette: a judge that could not
/// reach its model is ungradeable this time and asks again next time.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ModelError {
    /// No answer: connection refused, DNS, TLS, a timeout, a body cut off.
    #[error("cannot reach the judge model at {url}: {message}")]
    Unreachable {
        /// Where it was called.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The endpoint answered with an error status.
    #[error("the judge model's endpoint answered {status}: {message}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The endpoint's error message.
        message: String,
    },
    /// A success status, but not a reply the client can read.
    #[error("the judge model's answer cannot be read: {0}")]
    Decode(String),
    /// The provider refused or failed the request (a rig model's provider error).
    #[error("the judge model's provider failed: {0}")]
    Provider(String),
    /// The model is not configured (no model name, no endpoint).
    #[error("{0}")]
    NotConfigured(String),
    /// The cassette around the call failed (strict mode and no recording, a corrupt file).
    #[error(transparent)]
    Cassette(#[from] CassetteError),
}

/// A boxed future of a model's reply.
pub type ChatFuture<'a> = Pin<Box<dyn Future<Output = Result<ChatReply, ModelError>> + Send + 'a>>;

/// A model that completes a chat request. Implemented by `OpenAiChat` (feature `openai`) and
/// `RigModel` (feature `rig`, any rig completion model); implement it for any other provider.
///
/// ```
/// use eval_engine::judge::{ChatFuture, ChatModel, ChatReply, ChatRequest};
///
/// /// Approves of everything, for a test.
/// struct Approves;
///
/// impl ChatModel for Approves {
///     fn name(&self) -> &str {
///         "approves-1"
///     }
///     fn complete<'a>(&'a self, _request: &'a ChatRequest) -> ChatFuture<'a> {
///         let reply = ChatReply { text: r#"{"reasoning": "fine", "score": 5}"#.into(), ..ChatReply::default() };
///         Box::pin(async move { Ok(reply) })
///     }
/// }
/// ```
pub trait ChatModel: Send + Sync {
    /// The model's name: part of every judge recording's key, so that another model never
    /// replays this one's verdicts.
    fn name(&self) -> &str;

    /// Completes `request`.
    fn complete<'a>(&'a self, request: &'a ChatRequest) -> ChatFuture<'a>;

    /// Whether the model is configured; an `Err` says what to set. Asked before any agent
    /// runs. `Ok` by default.
    fn check(&self) -> Result<(), String> {
        Ok(())
    }
}
