//! A judge model over any rig completion model: rig users grade with the provider they
//! already configured.

use super::model::{ChatFuture, ChatModel, ChatReply, ChatRequest, ModelError, Role};
use rig_core::DynModel;
use rig_core::completion::{AssistantContent, CompletionRequest, CompletionResponse};
use rig_core::error::ProviderError;
use rig_core::message::Message;
use rig_core::operation::Completion;
use tracing::Instrument;

/// A rig completion model as a judge's [`ChatModel`]: one call per request, no agent loop and
/// no tools. The system message becomes the request's preamble, the others its chat history;
/// temperature and the token bound carry over. The verdict's schema is not sent (rig takes a
/// `schemars` schema; the judge reads the reply tolerantly either way). A reply that is a tool
/// call instead of text gives its arguments as the verdict's text.
///
/// ```
/// use eval_engine::judge::{Judge, RigModel, judge};
/// use rig_core::DynModel;
/// use rig_core::operation::Completion;
///
/// /// A judge of helpfulness on the rig model the agent already uses (any provider).
/// fn helpful(model: DynModel<Completion>) -> Judge {
///     judge("helpful", RigModel::new("gpt-4o-mini", model), "The answer helps the user.")
/// }
/// # let _ = helpful;
/// ```
#[derive(Debug, Clone)]
pub struct RigModel {
    name: String,
    model: DynModel<Completion>,
}

impl RigModel {
    /// `model` under `name`: the name keys the judge's recordings, so give the model's own
    /// (`gpt-4o-mini`), not the provider's.
    pub fn new(name: impl Into<String>, model: impl Into<DynModel<Completion>>) -> Self {
        RigModel {
            name: name.into(),
            model: model.into(),
        }
    }

    /// rig's request for `request`.
    fn rig_request(request: &ChatRequest) -> CompletionRequest {
        let messages = request.messages.iter().map(|message| match message.role {
            Role::System => Message::system(message.content.clone()),
            Role::User => Message::user(message.content.clone()),
            Role::Assistant => Message::assistant(message.content.clone()),
        });
        let mut rig = CompletionRequest::new(Message::user(String::new()));
        rig.chat_history = messages.collect();
        rig.temperature = Some(request.temperature);
        rig.max_tokens = request.max_tokens.map(u64::from);
        rig
    }

    async fn ask(&self, request: &ChatRequest) -> Result<ChatReply, ModelError> {
        // The judge records the reply and its usage itself: rig's own spans of the call would
        // count them a second time.
        let uncaptured = tracing::info_span!("judge_model_call", eval.skip_capture = true);
        let response = self
            .model
            .call(Self::rig_request(request))
            .instrument(uncaptured)
            .await
            .map_err(|error| self.error(error))?;
        Ok(reply(&response))
    }

    fn error(&self, error: ProviderError) -> ModelError {
        match error {
            ProviderError::Http(e) => ModelError::Unreachable {
                url: format!("rig model `{}`", self.name),
                message: e.to_string(),
            },
            ProviderError::Json(e) => ModelError::Decode(e.to_string()),
            ProviderError::Response(why) => ModelError::Decode(why),
            other => ModelError::Provider(other.to_string()),
        }
    }
}

/// What the judge reads of rig's response: its text (else a tool call's arguments), usage and
/// finish reason.
fn reply(response: &CompletionResponse) -> ChatReply {
    let mut text = response.text();
    if text.trim().is_empty()
        && let Some(arguments) = response.choice.iter().find_map(|content| match content {
            AssistantContent::ToolCall(call) => Some(&call.function.arguments),
            _ => None,
        })
    {
        text = serde_json::Value::Object(arguments.clone()).to_string();
    }
    ChatReply {
        text,
        model: None,
        finish_reason: response
            .finish_reason()
            .map(|reason| format!("{reason:?}").to_lowercase()),
        input_tokens: response.usage.input_tokens.unwrap_or(0),
        output_tokens: response.usage.output_tokens.unwrap_or(0),
    }
}

impl ChatModel for RigModel {
    fn name(&self) -> &str {
        &self.name
    }

    fn complete<'a>(&'a self, request: &'a ChatRequest) -> ChatFuture<'a> {
        Box::pin(self.ask(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::ChatMessage;

    #[test]
    fn the_request_keeps_the_chat_in_order() {
        let request = ChatRequest {
            messages: vec![
                ChatMessage::new(Role::System, "You grade."),
                ChatMessage::new(Role::User, "Grade this."),
                ChatMessage::new(Role::Assistant, "Fine."),
                ChatMessage::new(Role::User, "Reply with JSON."),
            ],
            temperature: 0.0,
            max_tokens: Some(200),
            schema: None,
        };
        let rig = RigModel::rig_request(&request);
        assert_eq!(rig.system_instructions(), Some("You grade."));
        assert_eq!(rig.chat_history.len(), 4);
        assert_eq!(rig.chat_history[3], Message::user("Reply with JSON."));
        assert_eq!((rig.temperature, rig.max_tokens), (Some(0.0), Some(200)));
    }
}
