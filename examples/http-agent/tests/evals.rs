//! The weather assistant of `src/agent.rs` over `tests/data/weather.jsonl`, replayed from the
//! cassettes committed under `tests/cassettes/weather/`: no endpoint, no key, no cost.
//!
//! `cargo test -p http-agent-example --test evals` replays (in CI a missing recording fails its
//! task). To re-record against the fake endpoint of `src/fake_openai.rs`:
//!
//! ```sh
//! cargo run -p http-agent-example --bin fake-openai -- \
//!     env EVAL_CASSETTES=record cargo test -p http-agent-example --test evals
//! ```
//!
//! or against a real endpoint: `EVAL_CASSETTES=record OPENAI_BASE_URL=… OPENAI_API_KEY=… cargo
//! test -p http-agent-example --features tls --test evals`.
//!
//! The answer's helpfulness is graded by a judge, a model asked through the same endpoint
//! (`EVAL_JUDGE_BASE_URL` and `EVAL_JUDGE_MODEL` point it elsewhere); its verdicts are recorded
//! under `tests/cassettes/weather/judge/` and replayed like the agent's calls.

use eval_engine::judge::{Judge, OpenAiChat};
use eval_harness::prelude::*;
use http_agent_example::{AgentError, Answer, WeatherAgent};

/// The city the user asked about, when there is one.
fn reference_city(reference_outputs: &Value) -> Option<&str> {
    reference_outputs["city"].as_str()
}

/// The assistant looked the weather up once, for the city asked about.
#[scorer]
fn looked_up_the_city(trace: &Trace, reference_outputs: &Value) -> bool {
    let lookups: Vec<&Value> = trace
        .tool_calls()
        .filter(|c| c.name == "get_weather")
        .map(|c| &c.arguments["city"])
        .collect();
    match reference_city(reference_outputs) {
        Some(city) => lookups == [city],
        None => lookups.is_empty(),
    }
}

/// The answer names the city, or asks for one when the question had none.
#[scorer]
fn answer_names_the_city(outputs: &Answer, reference_outputs: &Value) -> bool {
    match reference_city(reference_outputs) {
        Some(city) => outputs.city.as_deref() == Some(city) && outputs.text.contains(city),
        None => outputs.text.contains("Which city"),
    }
}

/// Whether the answer is what the user needed, graded 1–5 by a model; 4 or more passes. It
/// gates only while it agrees with the people who labelled `tests/labels/` (κ ≥ 0.6).
fn answers_the_question() -> Judge {
    let model = OpenAiChat::from_env().default_model("fake-judge-1");
    judge(
        "answers_the_question",
        model,
        "The response answers the user's weather question: it gives the conditions and the \
         temperature for the city asked about, or asks which city when none was named.",
    )
    .scale(Scale::points(1, 5))
    .pass_at(4.0)
    .show_trajectory()
    .require_agreement("tests/labels/answers_the_question.jsonl", 0.6)
}

/// Tokens spent on the task: informational.
#[scorer]
fn tokens_used(trace: &Trace) -> u64 {
    trace.tokens.total()
}

#[eval_suite(
    dataset = "tests/data/weather.jsonl",
    scorers = [looked_up_the_city, answer_names_the_city, no_tool_errors(), tokens_used, answers_the_question()],
    concurrency = 4,
    timeout = "60s",
)]
async fn weather(task: &Task, ctx: &Ctx) -> Result<Answer, AgentError> {
    WeatherAgent::from_env().ask(task.input(), ctx).await
}

eval_harness::main!();
