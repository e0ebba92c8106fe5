//! The eval suite of the rig weather assistant. The agent function records nothing through
//! `Ctx`: every token count, model response and tool call on the traces comes from rig's own
//! `tracing` spans, captured by the layer the harness installs.
//!
//! Run it with `cargo test -p rig-agent-example --test evals`.

use eval_engine::judge::{Judge, RigModel};
use eval_engine::{ScoreFuture, ScoreInput, Scorer, ScorerSpec};
use eval_harness::prelude::*;
use rig_agent::completion::PromptError;

/// The assistant looked the weather up once, for the city asked about, and not at all when no
/// city was asked about.
#[scorer]
fn looked_up_the_city(trace: &Trace, reference_outputs: &Value) -> bool {
    let cities: Vec<&Value> = trace
        .tool_calls()
        .filter(|call| call.name == "get_weather")
        .map(|call| &call.arguments["city"])
        .collect();
    match &reference_outputs["city"] {
        Value::Null => cities.is_empty(),
        city => cities == [city],
    }
}

/// The answer states the reference temperature. Not applicable without one.
#[scorer]
fn reports_the_temperature(outputs: &String, reference_outputs: &Value) -> Option<bool> {
    let temp_c = reference_outputs["temp_c"].as_i64()?;
    Some(outputs.contains(&format!("{temp_c}°C")))
}

/// Every tool call succeeded.
#[scorer]
fn no_tool_errors(trace: &Trace) -> Feedback {
    let errors: Vec<String> = trace
        .tool_errors()
        .map(|error| format!("{}: {}", error.name, error.message))
        .collect();
    Feedback::pass_fail("no_tool_errors", errors.is_empty()).with_comment(errors.join("; "))
}

/// Tokens the task took, summed from rig's per-call usage: informational.
#[scorer]
fn tokens_used(trace: &Trace) -> u64 {
    trace.tokens.total()
}

/// Whether the answer is what the user asked for, graded 1–5 by a judge whose model is a rig
/// completion model (`RigModel`): here rig's mock, scripted per answer; in a real suite, the
/// provider the agent already uses. 4 or more passes.
struct AnswersTheQuestion {
    spec: ScorerSpec,
}

/// The judge, as the suite's scorer list names it.
fn answers_the_question() -> AnswersTheQuestion {
    AnswersTheQuestion {
        spec: AnswersTheQuestion::judge("").spec().clone(),
    }
}

impl AnswersTheQuestion {
    fn judge(response: &str) -> Judge {
        let model = RigModel::new("scripted-judge-1", rig_agent_example::judge_model_for(response));
        judge(
            "answers_the_question",
            model,
            "The response answers the user's question about the weather.",
        )
        .scale(Scale::points(1, 5))
        .pass_at(4.0)
    }
}

impl Scorer<Value, Value, String> for AnswersTheQuestion {
    fn spec(&self) -> &ScorerSpec {
        &self.spec
    }

    fn score<'a>(&'a self, input: &'a ScoreInput<'a, Value, Value, String>) -> ScoreFuture<'a> {
        Box::pin(async move {
            let judge = Self::judge(input.outputs.map_or("", String::as_str));
            judge.score(input).await
        })
    }

    fn uses_ctx(&self) -> bool {
        true
    }
}

#[eval_suite(
    dataset = "tests/data/weather.jsonl",
    scorers = [looked_up_the_city, reports_the_temperature, no_tool_errors, tokens_used, answers_the_question()],
    concurrency = 4,
    timeout = "10s",
)]
async fn rig_weather(task: &Task) -> Result<String, PromptError> {
    rig_agent_example::ask(task.input()).await
}

eval_harness::main!();
