//! What `#[scorer]` and `#[eval_suite]` generate, checked at run time: the scorers' specs and
//! feedback, the suite descriptions and their registration, and the IDE anchors.
//!
//! This is an ordinary (libtest) test target, so the anchors below are real tests that pass
//! trivially; in a `harness = false` eval target they compile away.

use eval_engine::scorer::Threshold;
use eval_engine::trace::Event;
use eval_engine::{ScoreInput, Scorer, ScorerSpec, Verdict};
use eval_harness::core::scorer_fn;
use eval_harness::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    city: String,
    temp_c: f64,
}

/// The agent asked for the weather.
#[scorer]
fn called_tool(trace: &Trace) -> bool {
    trace.tool_calls().any(|call| call.name == "get_weather")
}

#[scorer(key = "city", advisory)]
fn city_matches(outputs: &Forecast, reference_outputs: &Value) -> bool {
    reference_outputs["city"] == outputs.city.as_str()
}

#[scorer(threshold = 0.5, at_most = 40)]
async fn temperature(outputs: &Forecast) -> f64 {
    tokio::task::yield_now().await;
    outputs.temp_c
}

/// Takes every parameter, in an unusual order, and reports what it was given.
#[scorer(at_least = 1)]
fn everything(
    reference_outputs: &Value,
    trace: &Trace,
    task: &Task,
    outputs: &Forecast,
    inputs: &Value,
) -> Result<Feedback, String> {
    if task.reference_outputs() != reference_outputs || task.inputs() != inputs {
        return Err("inputs or reference outputs are not the task's".to_owned());
    }
    Ok(Feedback::number("", trace.events.len() as f64).with_comment(format!("{} in {}", task.id(), outputs.city)))
}

/// Asks a model through its context: the call is recorded and replayed like an agent's, and
/// what it spends is its own.
#[scorer]
async fn judged(outputs: &Forecast, ctx: &ScoreCtx) -> Result<bool, String> {
    let verdict: bool = ctx
        .replay("judge", &outputs.city, || async { Ok::<_, String>(true) })
        .await?;
    ctx.usage(120, 8);
    Ok(verdict)
}

/// A scorer factory like the built-ins, to check the anchor name of a call.
fn tool_called(name: &'static str) -> impl Scorer<Value, Value, Forecast> {
    scorer_fn(
        ScorerSpec::new(format!("tool_called[{name}]")),
        move |input: &ScoreInput<'_, Value, Value, Forecast>| input.trace.tool_calls().any(|call| call.name == name),
    )
}

#[eval_suite(
    dataset = "tests/data/weather.jsonl",
    scorers = [called_tool, city_matches, temperature, everything, tool_called("get_weather")],
    concurrency = 2,
    repeats = 1,
    timeout = "5s",
    max_tokens = 1000,
    max_seconds = 10,
    label = "expand",
    store = "evals",
)]
async fn weather(task: &Task, ctx: &Ctx) -> Result<Forecast, String> {
    ctx.tool_call("get_weather", json!({"q": task.input()}));
    let city = task.reference_outputs()["city"].as_str().unwrap_or_default().to_owned();
    Ok(Forecast { city, temp_c: 18.0 })
}

#[eval_suite(dataset = "tests/data/weather.jsonl", scorers = [called_tool], ide = "tasks")]
async fn weather_tasks(_task: &Task) -> Result<String, String> {
    Ok(String::new())
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Question {
    input: String,
}

fn trivia_tasks() -> Vec<Task<Question, Value>> {
    let question = Question {
        input: "Capital of France?".to_owned(),
    };
    vec![Task::new("capital", question, json!({"answer": "Paris"}))]
}

#[scorer]
fn answered(outputs: &String) -> bool {
    !outputs.is_empty()
}

#[eval_suite(tasks = trivia_tasks, scorers = [answered, called_tool], ide = "off")]
async fn trivia(task: &Task<Question, Value>, _ctx: &Ctx) -> Result<String, std::io::Error> {
    Ok(task.inputs().input.to_uppercase())
}

fn paris_task() -> Task {
    Task::new("paris", json!({"input": "Weather in Paris?"}), json!({"city": "Paris"}))
}

fn called_get_weather() -> Trace {
    Trace::new(vec![Event::tool_call("get_weather", json!({"q": "Paris"}))], None, 5)
}

async fn grade<S: Scorer<Value, Value, Forecast>>(scorer: &S, outputs: Option<&Forecast>) -> Vec<Feedback> {
    let task = paris_task();
    let trace = called_get_weather();
    let outputs_json = serde_json::to_value(outputs).unwrap();
    let input = ScoreInput::new(&task, outputs, &outputs_json, &trace);
    scorer.score(&input).await
}

fn paris() -> Forecast {
    Forecast {
        city: "Paris".to_owned(),
        temp_c: 18.0,
    }
}

#[test]
fn scorer_specs_follow_the_options() {
    assert_eq!(*called_tool.spec(), ScorerSpec::new("called_tool"));
    assert_eq!(*city_matches.spec(), ScorerSpec::new("city").advisory());
    assert_eq!(
        *temperature.spec(),
        ScorerSpec::new("temperature").with_threshold(Threshold {
            at_least: Some(0.5),
            at_most: Some(40.0),
        })
    );
    assert_eq!(
        *everything.spec(),
        ScorerSpec::new("everything").with_threshold(Threshold::at_least(1.0))
    );
    // The trait method answers the same.
    assert_eq!(Scorer::<Value, Value, Forecast>::spec(&city_matches).key, "city");
}

#[tokio::test]
async fn scorers_get_what_they_ask_for() {
    let feedback = grade(&called_tool, Some(&paris())).await;
    assert_eq!(feedback, [Feedback::pass_fail("called_tool", true)]);

    let feedback = grade(&city_matches, Some(&paris())).await;
    assert_eq!(feedback, [Feedback::pass_fail("city", true)]);

    let feedback = grade(&temperature, Some(&paris())).await;
    assert_eq!(feedback, [Feedback::number("temperature", 18.0)]);

    let feedback = grade(&everything, Some(&paris())).await;
    assert_eq!(feedback.len(), 1);
    assert_eq!(feedback[0].key, "everything");
    assert_eq!(feedback[0].as_number(), Some(1.0));
    assert_eq!(feedback[0].comment.as_deref(), Some("paris in Paris"));
}

#[tokio::test]
async fn a_scorer_that_asks_for_a_context_gets_one() {
    assert!(Scorer::<Value, Value, Forecast>::uses_ctx(&judged));
    assert!(!Scorer::<Value, Value, Forecast>::uses_ctx(&called_tool));
    let task = paris_task();
    let trace = called_get_weather();
    let forecast = paris();
    let outputs_json = serde_json::to_value(&forecast).unwrap();
    let ctx = ScoreCtx::new("paris", 1, None);
    let input = ScoreInput::new(&task, Some(&forecast), &outputs_json, &trace).with_ctx(&ctx);
    let feedback = judged.score(&input).await;
    assert_eq!(feedback[0].verdict(), Verdict::Pass);
    assert_eq!(ctx.events().len(), 1, "the usage went to the scorer's context");
}

#[tokio::test]
async fn scorers_of_outputs_cannot_grade_a_failed_agent() {
    let feedback = grade(&city_matches, None).await;
    assert_eq!(feedback.len(), 1);
    assert_eq!(feedback[0].key, "city");
    assert_eq!(feedback[0].verdict(), Verdict::Ungradeable);
    assert_eq!(feedback[0].comment.as_deref(), Some("no outputs to grade"));

    // A scorer that does not take `outputs` still grades.
    assert_eq!(
        grade(&called_tool, None).await,
        [Feedback::pass_fail("called_tool", true)]
    );
}

#[test]
fn suites_are_described_and_registered() {
    let site = *__eval_suite_weather().site();
    assert_eq!(site.name, "weather");
    assert_eq!(site.module_path, "expand");
    assert_eq!(site.path(), "weather");
    assert!(site.file.ends_with("expand.rs"), "{}", site.file);
    assert_eq!(site.manifest_dir, env!("CARGO_MANIFEST_DIR"));
    // `main!(weather)` reaches the suite through its module.
    assert_eq!(weather::__eval_suite().site().name, "weather");
    assert_eq!(trivia::__eval_suite().site().name, "trivia");

    let registered: Vec<&str> = eval_harness::__private::registered_suites()
        .iter()
        .map(|suite| suite.site().name)
        .collect();
    assert_eq!(registered, ["trivia", "weather", "weather_tasks"]);
}

#[test]
fn anchors_name_every_task_and_pair() {
    let pairs: [fn(); 6] = [
        weather::paris::called_tool,
        weather::paris::city_matches,
        weather::paris::temperature,
        weather::paris::everything,
        weather::paris::tool_called_get_weather,
        weather::task_0001::called_tool,
    ];
    let tasks: [fn(); 3] = [weather::lyon_2::everything, weather_tasks::paris, weather_tasks::lyon_2];
    for anchor in pairs.iter().chain(&tasks) {
        anchor();
    }
    weather_tasks::task_0001();
}
