//! A client for OpenAI-compatible chat completions: `POST <base>/chat/completions`, JSON in and
//! out. Only the fields the agent uses are modelled; the rest of a response is ignored.

use eval_engine::cassette::CassetteError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;
use thiserror::Error;

/// One chat-completions request: what is sent, and what keys its recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
}

/// A chat message: `system`, `user`, `assistant` (text or tool calls) or `tool` (a result).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    /// `null` on an assistant message that only calls tools.
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl Message {
    /// A message of `role` with text `content`.
    pub fn text(role: &str, content: impl Into<String>) -> Self {
        Message {
            role: role.to_owned(),
            content: Some(content.into()),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }

    /// The result of tool call `id`, as the model reads it.
    pub fn tool_result(id: impl Into<String>, content: impl Into<String>) -> Self {
        Message {
            tool_call_id: Some(id.into()),
            ..Message::text("tool", content)
        }
    }
}

/// A tool call the model asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    pub function: FunctionCall,
}

fn function_type() -> String {
    "function".to_owned()
}

/// Which function, with its arguments as a JSON text (the API's convention).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCall {
    pub name: String,
    pub arguments: String,
}

/// The parts of a chat-completions response the agent reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    pub model: String,
    pub choices: Vec<Choice>,
    #[serde(default)]
    pub usage: Option<Usage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub message: Message,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// Why a completion failed.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The request did not get an answer: connection refused, DNS, TLS, a timeout.
    #[error("cannot reach {url}: {source}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The endpoint answered with an error status; `message` is its error's text.
    #[error("the model endpoint answered {status}: {message}")]
    Status { status: u16, message: String },
    /// The answer's body was cut off: the connection dropped, or the timeout ran out.
    #[error("the answer of {url} was cut off: {source}")]
    Cut {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// A success status, but the body is not a chat completion (a wrong base URL, say).
    #[error("the model endpoint's answer is not a chat completion: {0}")]
    Decode(#[source] serde_json::Error),
    /// Transparent, so that a replayed error reads exactly like the live one it recorded.
    #[error(transparent)]
    Cassette(#[from] CassetteError),
}

impl ClientError {
    /// Whether this error is the endpoint's answer to the request, to be recorded and replayed
    /// like a response (the agent passes it to
    /// [`Ctx::replay_answers`](eval_engine::Ctx::replay_answers)).
    ///
    /// An error status is (a `503`, a `400` about the request), except those that say the setup
    /// is wrong rather than the request: `401` and `403` (no key, a bad key), `404` (a wrong
    /// base URL) and `407` (a proxy). Those, and every failure to get or read an answer, are
    /// not: recorded, they would replay a broken setup as if the model had said it.
    ///
    /// ```
    /// use http_agent_example::ClientError;
    ///
    /// let status = |status| ClientError::Status { status, message: String::new() };
    /// assert!(status(503).is_answer());
    /// assert!(!status(401).is_answer());
    /// ```
    pub fn is_answer(&self) -> bool {
        match self {
            ClientError::Status { status, .. } => !matches!(status, 401 | 403 | 404 | 407),
            ClientError::Unreachable { .. } | ClientError::Cut { .. } | ClientError::Decode(_) => false,
            // Never the call's own: cassette errors come from the replay around it.
            ClientError::Cassette(_) => false,
        }
    }
}

/// An OpenAI-compatible chat-completions client.
///
/// ```
/// use http_agent_example::ChatClient;
///
/// let client = ChatClient::new("http://127.0.0.1:8080/v1").with_api_key("sk-local");
/// assert_eq!(client.completions_url(), "http://127.0.0.1:8080/v1/chat/completions");
/// ```
#[derive(Debug, Clone)]
pub struct ChatClient {
    http: reqwest::Client,
    base_url: String,
    /// Sent as a header, never part of a request body: it cannot reach a recording.
    api_key: Option<String>,
}

impl ChatClient {
    /// The default endpoint, when `OPENAI_BASE_URL` is not set.
    pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

    /// How long a completion may take by default, from connecting to the last byte.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

    /// A client of the endpoint under `base_url` (e.g. `http://127.0.0.1:11434/v1`).
    pub fn new(base_url: impl Into<String>) -> Self {
        ChatClient {
            http: http_client(Self::DEFAULT_TIMEOUT),
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            api_key: None,
        }
    }

    /// Gives each completion at most `timeout`, from connecting to the last byte; past it the
    /// call fails as [`ClientError::Unreachable`] or [`ClientError::Cut`].
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.http = http_client(timeout);
        self
    }

    /// A client configured by `OPENAI_BASE_URL` and `OPENAI_API_KEY`.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let client = ChatClient::new(var("OPENAI_BASE_URL").unwrap_or_else(|| Self::DEFAULT_BASE_URL.to_owned()));
        match var("OPENAI_API_KEY") {
            Some(key) => client.with_api_key(key),
            None => client,
        }
    }

    /// Sends `key` as a bearer token.
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Where completions are posted.
    pub fn completions_url(&self) -> String {
        format!("{}/chat/completions", self.base_url)
    }

    /// Posts `request` and reads the completion.
    pub async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, ClientError> {
        let url = self.completions_url();
        let mut post = self.http.post(&url).json(request);
        if let Some(key) = &self.api_key {
            post = post.bearer_auth(key);
        }
        let response = match post.send().await {
            Ok(response) => response,
            Err(source) => return Err(ClientError::Unreachable { url, source }),
        };
        let status = response.status();
        // Read whole before judging it: a body cut off midway is a failure of the transport,
        // not an answer, even under an error status.
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(source) => return Err(ClientError::Cut { url, source }),
        };
        if !status.is_success() {
            return Err(ClientError::Status {
                status: status.as_u16(),
                message: error_message(&String::from_utf8_lossy(&body)),
            });
        }
        serde_json::from_slice(&body).map_err(ClientError::Decode)
    }
}

fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder().timeout(timeout).build().unwrap_or_default()
}

/// The `error.message` of an OpenAI-style error body, else the body itself.
fn error_message(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| body.trim().to_owned())
}
