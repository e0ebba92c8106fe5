//! Record once against a live endpoint, then replay with the endpoint gone: the same outputs,
//! traces and feedback, and not one request. Cassettes go to a temporary directory.

use eval_engine::{
    Agent, CassetteMode, Cassettes, Ctx, RunOptions, RunResult, ScoreInput, ScorerSpec, Scorers, Suite, Task, run,
    scorer_fn,
};
use http_agent_example::fake_openai::FakeOpenAi;
use http_agent_example::{AgentError, Answer, ChatClient, ClientError, WeatherAgent};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;

type Input<'a> = ScoreInput<'a, Value, Value, Answer>;

fn dataset() -> Suite {
    Suite::from_jsonl(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/weather.jsonl")).unwrap()
}

fn weather_agent(base_url: &str) -> impl Agent<Value, Value, Output = Answer, Error = AgentError> {
    let agent = Arc::new(WeatherAgent::new(ChatClient::new(base_url)));
    move |task: Arc<Task>, ctx: Ctx| {
        let agent = agent.clone();
        async move { agent.ask(task.input(), &ctx).await }
    }
}

fn scorers() -> Scorers<Value, Value, Answer> {
    let names_the_city = scorer_fn(ScorerSpec::new("names_the_city"), |s: &Input<'_>| {
        let city = s.reference_outputs()["city"].as_str();
        s.outputs
            .map(|answer| city.is_some_and(|city| answer.text.contains(city)))
    });
    let no_tool_errors = scorer_fn(ScorerSpec::new("no_tool_errors"), |s: &Input<'_>| {
        s.trace.tool_errors().count() == 0
    });
    let tokens = scorer_fn(ScorerSpec::new("tokens"), |s: &Input<'_>| s.trace.tokens.total());
    vec![Arc::new(names_the_city), Arc::new(no_tool_errors), Arc::new(tokens)]
}

fn options(dir: &Path, mode: CassetteMode) -> RunOptions {
    RunOptions::default()
        .concurrency(4)
        .cassettes(Cassettes::new(dir, mode))
}

/// Everything about a task that must not depend on whether it was live or replayed.
fn observable(run: &RunResult) -> Vec<Value> {
    run.tasks()
        .iter()
        .map(|t| {
            json!({
                "task": t.task_id,
                "outputs": t.outputs,
                "feedback": t.feedback,
                "events": format!("{:?}", t.trace.events),
                "exception": t.trace.exception,
                "tokens": t.trace.tokens,
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_run_replays_identically_without_the_endpoint() {
    let cassettes = tempfile::tempdir().unwrap();
    let server = FakeOpenAi::start().await.unwrap();
    let base_url = server.base_url();

    let recorded = run(
        &dataset(),
        weather_agent(&base_url),
        scorers(),
        options(cassettes.path(), CassetteMode::Record),
    )
    .await;
    let served = server.stop().await;
    // Two model calls per city asked about, one for the question without a city, one failed.
    assert_eq!(served, 10);
    let request = WeatherAgent::new(ChatClient::new(&base_url)).first_request("Weather in Paris?");
    let live = ChatClient::new(&base_url).complete(&request).await;
    assert!(
        matches!(live, Err(ClientError::Unreachable { .. })),
        "the endpoint is really gone: {live:?}"
    );

    let paris = &recorded.tasks()[0];
    assert_eq!(paris.outputs["text"], "It is 18°C and sunny in Paris.");
    let overloaded = recorded.tasks().iter().find(|t| t.task_id == "overloaded").unwrap();
    let exception = overloaded.trace.exception.as_ref().unwrap();
    assert_eq!(
        exception.message,
        "model call failed: the model endpoint answered 503: The server is overloaded. Try again later."
    );

    // The endpoint is gone: any call that is not replayed fails, and shows in the results.
    let replayed = run(
        &dataset(),
        weather_agent(&base_url),
        scorers(),
        options(cassettes.path(), CassetteMode::Strict),
    )
    .await;
    assert_eq!(observable(&replayed), observable(&recorded));
    assert_eq!(replayed.aggregates().pass_rate, recorded.aggregates().pass_rate);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_replay_of_an_unrecorded_question_fails_its_task_naming_key_and_path() {
    let cassettes = tempfile::tempdir().unwrap();
    let server = FakeOpenAi::start().await.unwrap();
    let suite: Suite = Suite::from_values(
        "weather",
        vec![json!({"task_id": "lima", "inputs": {"input": "What's the weather in Lima?"}})],
    )
    .unwrap();

    let result = run(
        &suite,
        weather_agent(&server.base_url()),
        scorers(),
        options(cassettes.path(), CassetteMode::Strict),
    )
    .await;
    assert_eq!(server.stop().await, 0, "strict mode never calls the endpoint");

    let exception = result.tasks()[0].trace.exception.as_ref().expect("the task failed");
    let request = WeatherAgent::new(ChatClient::new("unused")).first_request("What's the weather in Lima?");
    let lookup = Cassettes::new(cassettes.path(), CassetteMode::Strict);
    let key = lookup.key("model", &request).unwrap();
    let path = lookup.path("model", &request).unwrap();
    assert!(exception.message.contains(&key), "{}", exception.message);
    assert!(
        exception.message.contains(&path.display().to_string()),
        "{}",
        exception.message
    );
    assert!(!path.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_mode_records_only_what_is_missing() {
    let cassettes = tempfile::tempdir().unwrap();
    let server = FakeOpenAi::start().await.unwrap();
    let agent = WeatherAgent::new(ChatClient::new(server.base_url()));
    let ctx = Ctx::new("paris", 1).with_cassettes(Cassettes::new(cassettes.path(), CassetteMode::Auto));

    let first = agent.ask("What's the weather in Paris?", &ctx).await.unwrap();
    assert_eq!(server.requests(), 2);
    let again = agent.ask("What's the weather in Paris?", &ctx).await.unwrap();
    assert_eq!(again, first);
    assert_eq!(server.requests(), 2, "the second run is replayed");
    agent.ask("What's the weather in Tokyo?", &ctx).await.unwrap();
    assert_eq!(server.stop().await, 4, "only the new question reached the endpoint");
}

#[tokio::test]
async fn the_api_key_travels_as_a_header_and_never_reaches_a_recording() {
    let cassettes = tempfile::tempdir().unwrap();
    let server = FakeOpenAi::start().await.unwrap();
    let agent = WeatherAgent::new(ChatClient::new(server.base_url()).with_api_key("sk-test-secret-123"));
    let ctx = Ctx::new("oslo", 1).with_cassettes(Cassettes::new(cassettes.path(), CassetteMode::Record));
    agent.ask("Is it cold in Oslo today?", &ctx).await.unwrap();
    server.stop().await;

    let mut recorded = String::new();
    for kind in std::fs::read_dir(cassettes.path()).unwrap() {
        for file in std::fs::read_dir(kind.unwrap().path()).unwrap() {
            recorded.push_str(&std::fs::read_to_string(file.unwrap().path()).unwrap());
        }
    }
    assert!(recorded.contains("Oslo"));
    assert!(!recorded.contains("sk-test-secret-123"));
}
