//! The assistant: asks the model, runs the tools it calls, and loops until the model answers.
//! Every model call and every tool call goes through `ctx.replay`, so a replayed run makes no
//! network call at all and records the same trace as the live run it replays.

use crate::client::{ChatClient, ChatRequest, ClientError, Message};
use crate::weather::{Weather, current_weather, get_weather_spec};
use eval_engine::Ctx;
use eval_engine::cassette::CassetteError;
use eval_engine::trace::ModelResponse;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use thiserror::Error;

/// The assistant's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// The text shown to the user.
    pub text: String,
    /// The city whose weather the assistant looked up, if it did.
    pub city: Option<String>,
}

/// Why the assistant gave up.
#[derive(Debug, Error)]
pub enum AgentError {
    #[error("model call failed: {0}")]
    Model(#[from] ClientError),
    #[error("tool call failed: {0}")]
    Tool(#[from] CassetteError),
    #[error("the model returned no choice")]
    NoChoice,
    #[error("no answer after {0} model turns")]
    TooManyTurns(usize),
}

/// How the assistant is configured.
#[derive(Debug, Clone)]
pub struct WeatherAgent {
    pub client: ChatClient,
    /// Part of every request, hence of every recording's key.
    pub model: String,
    pub max_turns: usize,
}

const SYSTEM_PROMPT: &str = "You are a weather assistant. Call get_weather for the city the user asks about, \
                             then answer in one sentence.";

impl WeatherAgent {
    /// The model every recording of this example was made with.
    pub const MODEL: &str = "gpt-4o-mini";

    /// An assistant using `client`.
    pub fn new(client: ChatClient) -> Self {
        WeatherAgent {
            client,
            model: Self::MODEL.to_owned(),
            max_turns: 4,
        }
    }

    /// An assistant whose endpoint comes from `OPENAI_BASE_URL` and `OPENAI_API_KEY`.
    pub fn from_env() -> Self {
        WeatherAgent::new(ChatClient::from_env())
    }

    /// The first request sent for `question`: what keys the first model call's recording.
    pub fn first_request(&self, question: &str) -> ChatRequest {
        ChatRequest {
            model: self.model.clone(),
            messages: vec![Message::text("system", SYSTEM_PROMPT), Message::text("user", question)],
            tools: vec![get_weather_spec()],
            temperature: Some(0.0),
        }
    }

    /// Answers `question`, recording every model reply, token count, tool call and tool
    /// outcome on `ctx`.
    pub async fn ask(&self, question: &str, ctx: &Ctx) -> Result<Answer, AgentError> {
        let mut request = self.first_request(question);
        let mut city = None;
        for _ in 0..self.max_turns {
            // A 503 is the endpoint's answer and is recorded; a refused connection is not.
            let response = ctx
                .replay_answers("model", &request, ClientError::is_answer, || {
                    self.client.complete(&request)
                })
                .await?;
            if let Some(usage) = response.usage {
                ctx.usage(usage.prompt_tokens, usage.completion_tokens);
            }
            let choice = response.choices.into_iter().next().ok_or(AgentError::NoChoice)?;
            ctx.model_response_from(ModelResponse {
                model: Some(response.model),
                text: choice.message.content.clone(),
                finish_reason: choice.finish_reason.clone(),
            });
            if choice.message.tool_calls.is_empty() {
                return Ok(Answer {
                    text: choice.message.content.unwrap_or_default(),
                    city,
                });
            }

            let calls = choice.message.tool_calls.clone();
            request.messages.push(choice.message);
            for call in calls {
                let arguments: Value = serde_json::from_str(&call.function.arguments)
                    .unwrap_or_else(|_| Value::String(call.function.arguments.clone()));
                ctx.tool_call_with_id(&call.id, &call.function.name, arguments.clone());
                let outcome = self.run_tool(ctx, &call.function.name, &arguments).await?;
                let content = match outcome {
                    Ok(weather) => {
                        city = Some(weather.city.clone());
                        let result = json!(weather);
                        ctx.tool_result(&call.function.name, result.clone());
                        result.to_string()
                    }
                    Err(message) => {
                        ctx.tool_error(&call.function.name, &message);
                        json!({ "error": message }).to_string()
                    }
                };
                request.messages.push(Message::tool_result(call.id, content));
            }
        }
        Err(AgentError::TooManyTurns(self.max_turns))
    }

    /// Runs one tool through the cassettes. A tool's own failure ("no weather station") is an
    /// answer for the model, so it is returned as `Ok(Err(..))` and recorded like a success;
    /// only cassette trouble fails the task.
    async fn run_tool(
        &self,
        ctx: &Ctx,
        name: &str,
        arguments: &Value,
    ) -> Result<Result<Weather, String>, CassetteError> {
        let kind = format!("tool:{name}");
        ctx.replay(&kind, arguments, || async {
            Ok(match (name, arguments["city"].as_str()) {
                ("get_weather", Some(city)) => current_weather(city),
                ("get_weather", None) => Err("get_weather needs a `city`".to_owned()),
                _ => Err(format!("there is no tool `{name}`")),
            })
        })
        .await
    }
}
