//! A rig completion model as a judge's model (`eval_engine::judge::RigModel`): the chat rig
//! is sent, the reply's text, usage and tool calls read back, and rig's errors.

use eval_engine::judge::{ChatMessage, ChatModel, ChatRequest, ModelError, RigModel, Role};
use rig_core::completion::Usage;
use rig_core::message::Message;
use rig_core::test_utils::{MockCompletionModel, MockTurn};
use serde_json::json;

fn request() -> ChatRequest {
    ChatRequest {
        messages: vec![
            ChatMessage::new(Role::System, "You grade."),
            ChatMessage::new(Role::User, "Grade: It is 18°C in Paris."),
        ],
        temperature: 0.0,
        max_tokens: Some(300),
        schema: None,
    }
}

#[tokio::test]
async fn a_text_reply_is_the_verdict_with_its_usage() {
    let usage = Usage::new().input_tokens(120).output_tokens(9);
    let mock =
        MockCompletionModel::from_turns([MockTurn::text(r#"{"reasoning": "ok", "score": 5}"#).with_usage(usage)]);
    let model = RigModel::new("scripted-1", mock.clone());
    assert_eq!(model.name(), "scripted-1");
    let reply = model.complete(&request()).await.unwrap();
    assert_eq!(reply.text, r#"{"reasoning": "ok", "score": 5}"#);
    assert_eq!((reply.input_tokens, reply.output_tokens), (120, 9));

    let sent = &mock.requests()[0];
    assert_eq!(sent.system_instructions(), Some("You grade."));
    assert_eq!(
        sent.chat_history.last(),
        Some(&Message::user("Grade: It is 18°C in Paris."))
    );
    assert_eq!((sent.temperature, sent.max_tokens), (Some(0.0), Some(300)));
    assert!(sent.tools.is_empty(), "a judge's call offers no tools");
}

#[tokio::test]
async fn a_tool_call_reply_gives_its_arguments() {
    let mock = MockCompletionModel::from_turns([MockTurn::tool_call(
        "call_1",
        "verdict",
        json!({"reasoning": "ok", "score": 4}),
    )]);
    let reply = RigModel::new("scripted-1", mock).complete(&request()).await.unwrap();
    let verdict: serde_json::Value = serde_json::from_str(&reply.text).unwrap();
    assert_eq!(verdict, json!({"reasoning": "ok", "score": 4}));
}

#[tokio::test]
async fn a_provider_error_is_a_model_error() {
    let mock = MockCompletionModel::from_turns([MockTurn::error("quota exceeded")]);
    let error = RigModel::new("scripted-1", mock)
        .complete(&request())
        .await
        .unwrap_err();
    assert!(matches!(error, ModelError::Provider(_)), "{error:?}");
    assert!(error.to_string().contains("quota exceeded"), "{error}");
}
