//! A weather assistant built on [rig](https://docs.rs/rig-agent): rig's agent loop, a real
//! `get_weather` tool, and a model scripted with rig's test utilities so the agent runs offline.
//!
//! The agent knows nothing about evals. Its eval suite (`tests/evals.rs`) records nothing
//! through `Ctx` either: the tokens, model responses and tool calls in the run JSON come from
//! the `chat` and `execute_tool` spans rig emits through `tracing`, read by
//! `eval_engine::capture`.

mod scripted_judge;
mod scripted_model;
mod weather_tool;

pub use scripted_judge::{VERDICT_TOKENS, judge_model_for};
pub use scripted_model::{ANSWER_TURN_TOKENS, DIRECT_TURN_TOKENS, TOOL_TURN_TOKENS, model_for};
pub use weather_tool::{Forecast, GetWeather, UnknownCity, WeatherQuery};

use rig_agent::prelude::*;

/// Asks the assistant `question` and returns its final answer.
pub async fn ask(question: &str) -> Result<String, PromptError> {
    let agent = AgentBuilder::new(model_for(question))
        .name("weather_assistant")
        .preamble("You answer questions about the weather. Look it up with get_weather.")
        .tool(GetWeather)
        // Tool arguments and results, and the model's messages, are only in the spans with this.
        .record_content_telemetry(true)
        .build();
    let response = agent.prompt(question).max_turns(3).await?;
    Ok(response.output().to_owned())
}
