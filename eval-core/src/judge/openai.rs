//! A judge model over the OpenAI-compatible chat-completions API: `POST <base>/chat/completions`.

use super::model::{ChatFuture, ChatModel, ChatReply, ChatRequest, ModelError};
use serde_json::{Value, json};
use std::time::Duration;

/// A chat model behind an OpenAI-compatible endpoint: OpenAI itself, vLLM, Ollama, a
/// llama.cpp server. Configured in code or from the environment:
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `EVAL_JUDGE_MODEL` | the model's name | the one given to [`OpenAiChat::default_model`] |
/// | `EVAL_JUDGE_BASE_URL` | the endpoint (`http://127.0.0.1:11434/v1`) | `OPENAI_BASE_URL`, else OpenAI's |
/// | `EVAL_JUDGE_API_KEY` | sent as a bearer token, never recorded | `OPENAI_API_KEY` |
///
/// HTTPS needs the feature `openai-tls`. The verdict's schema is sent as `response_format`
/// (`json_schema`); [`OpenAiChat::without_structured_output`] leaves it out for servers that
/// refuse it.
///
/// ```
/// use eval_engine::judge::{ChatModel, OpenAiChat};
///
/// let model = OpenAiChat::new("http://127.0.0.1:8080/v1", "qwen2.5-7b-instruct");
/// assert_eq!(model.name(), "qwen2.5-7b-instruct");
/// assert_eq!(model.completions_url(), "http://127.0.0.1:8080/v1/chat/completions");
/// ```
#[derive(Debug, Clone)]
pub struct OpenAiChat {
    http: reqwest::Client,
    base_url: String,
    model: Option<String>,
    /// Sent as a header, never part of a request body: it cannot reach a recording.
    api_key: Option<String>,
    structured: bool,
}

impl OpenAiChat {
    /// OpenAI's endpoint, when no other is given.
    pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

    /// How long a completion may take by default, from connecting to the last byte.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

    /// `model` behind the endpoint under `base_url`.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        OpenAiChat {
            http: http_client(Self::DEFAULT_TIMEOUT),
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            model: Some(model.into()),
            api_key: None,
            structured: true,
        }
    }

    /// The model the environment names (see the table above). Without `EVAL_JUDGE_MODEL` nor
    /// a [`default_model`](OpenAiChat::default_model), [`ChatModel::check`] says so before any
    /// agent runs.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let base_url = var("EVAL_JUDGE_BASE_URL")
            .or_else(|| var("OPENAI_BASE_URL"))
            .unwrap_or_else(|| Self::DEFAULT_BASE_URL.to_owned());
        OpenAiChat {
            http: http_client(Self::DEFAULT_TIMEOUT),
            base_url: base_url.trim_end_matches('/').to_owned(),
            model: var("EVAL_JUDGE_MODEL"),
            api_key: var("EVAL_JUDGE_API_KEY").or_else(|| var("OPENAI_API_KEY")),
            structured: true,
        }
    }

    /// The model to use when the environment names none.
    pub fn default_model(mut self, model: impl Into<String>) -> Self {
        self.model.get_or_insert_with(|| model.into());
        self
    }

    /// Sends `key` as a bearer token.
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Gives each completion at most `timeout`; past it the call fails as
    /// [`ModelError::Unreachable`].
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.http = http_client(timeout);
        self
    }

    /// Leaves the verdict's schema out of the request; the reply is read tolerantly.
    pub fn without_structured_output(mut self) -> Self {
        self.structured = false;
        self
    }

    /// Where completions are posted.
    pub fn completions_url(&self) -> String {
        format!("{}/chat/completions", self.base_url)
    }

    /// The request body for `request`.
    fn body(&self, request: &ChatRequest) -> Value {
        let mut body = json!({
            "model": self.model.as_deref().unwrap_or_default(),
            "messages": request.messages,
            "temperature": request.temperature,
        });
        if let Some(max_tokens) = request.max_tokens {
            body["max_tokens"] = json!(max_tokens);
        }
        if let (true, Some(schema)) = (self.structured, &request.schema) {
            body["response_format"] = json!({
                "type": "json_schema",
                "json_schema": {"name": schema.name, "schema": schema.schema, "strict": true},
            });
        }
        body
    }

    async fn post(&self, request: &ChatRequest) -> Result<ChatReply, ModelError> {
        if self.model.is_none() {
            return Err(ModelError::NotConfigured(NO_MODEL.to_owned()));
        }
        let url = self.completions_url();
        let mut post = self.http.post(&url).json(&self.body(request));
        if let Some(key) = &self.api_key {
            post = post.bearer_auth(key);
        }
        let unreachable = |e: reqwest::Error| ModelError::Unreachable {
            url: url.clone(),
            message: e.to_string(),
        };
        let response = post.send().await.map_err(unreachable)?;
        let status = response.status();
        // Read whole before judging it: a body cut off is the transport's failure.
        let body = response.bytes().await.map_err(unreachable)?;
        if !status.is_success() {
            return Err(ModelError::Status {
                status: status.as_u16(),
                message: error_message(&String::from_utf8_lossy(&body)),
            });
        }
        let completion: Value =
            serde_json::from_slice(&body).map_err(|e| ModelError::Decode(format!("not JSON: {e}")))?;
        let choice = &completion["choices"][0];
        let text = match &choice["message"]["content"] {
            Value::String(text) => text.clone(),
            // A forced tool call carries the verdict as the call's arguments.
            Value::Null => match &choice["message"]["tool_calls"][0]["function"]["arguments"] {
                Value::String(arguments) => arguments.clone(),
                _ => {
                    return Err(ModelError::Decode(
                        "the reply has neither content nor a tool call".to_owned(),
                    ));
                }
            },
            other => other.to_string(),
        };
        Ok(ChatReply {
            text,
            model: completion["model"].as_str().map(str::to_owned),
            finish_reason: choice["finish_reason"].as_str().map(str::to_owned),
            input_tokens: completion["usage"]["prompt_tokens"].as_u64().unwrap_or(0),
            output_tokens: completion["usage"]["completion_tokens"].as_u64().unwrap_or(0),
        })
    }
}

const NO_MODEL: &str = "no judge model is configured: set EVAL_JUDGE_MODEL (and EVAL_JUDGE_BASE_URL for an \
                        endpoint other than OpenAI's), or name one with OpenAiChat::default_model";

impl ChatModel for OpenAiChat {
    fn name(&self) -> &str {
        self.model.as_deref().unwrap_or_default()
    }

    fn complete<'a>(&'a self, request: &'a ChatRequest) -> ChatFuture<'a> {
        Box::pin(self.post(request))
    }

    fn check(&self) -> Result<(), String> {
        match self.model {
            Some(_) => Ok(()),
            None => Err(NO_MODEL.to_owned()),
        }
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
