//! Record once against a live endpoint, then replay with the endpoint gone: the same outputs,
//! traces and feedback, and not one request. A call that fails for want of an endpoint, a key or
//! time is never recorded; the endpoint's own error answers (a `503`) are. Cassettes go to a
//! temporary directory.

use eval_engine::{
    Agent, CassetteMode, Cassettes, Ctx, RunOptions, RunResult, ScoreInput, ScorerSpec, Scorers, Suite, Task, run,
    scorer_fn,
};
use http_agent_example::fake_openai::FakeOpenAi;
use http_agent_example::{AgentError, Answer, ChatClient, ClientError, WeatherAgent};
use serde_json::{Value, json};
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

type Input<'a> = ScoreInput<'a, Value, Value, Answer>;

fn dataset() -> Suite {
    Suite::from_jsonl(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/weather.jsonl")).unwrap()
}

/// What a test gives a network call, so that none can hang the suite.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// A client of `base_url` that gives up after [`CALL_TIMEOUT`].
fn client(base_url: &str) -> ChatClient {
    ChatClient::new(base_url).with_timeout(CALL_TIMEOUT)
}

fn weather_agent(base_url: &str) -> impl Agent<Value, Value, Output = Answer, Error = AgentError> {
    let agent = Arc::new(WeatherAgent::new(client(base_url)));
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

/// `run` bounded in time: a hung call fails the test instead of stalling it.
async fn within_a_minute<T>(run: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the run finished within a minute")
}

/// Every file under `dir`, relative, sorted (none when `dir` does not exist).
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// A port of 127.0.0.1 that nothing listens on: bound, then closed.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_down_records_nothing_and_the_next_run_records_its_real_answers() {
    let cassettes = tempfile::tempdir().unwrap();
    let port = closed_port();
    let base_url = format!("http://127.0.0.1:{port}/v1");

    let down = within_a_minute(run(
        &dataset(),
        weather_agent(&base_url),
        scorers(),
        options(cassettes.path(), CassetteMode::Auto),
    ))
    .await;
    for task in down.tasks() {
        let exception = task.trace.exception.as_ref().expect("the task failed");
        let expected = format!("model call failed: cannot reach {base_url}/chat/completions: ");
        assert!(
            exception.message.starts_with(&expected),
            "{}: {}",
            task.task_id,
            exception.message
        );
    }
    assert_eq!(
        files_under(cassettes.path()),
        Vec::<String>::new(),
        "nothing was recorded"
    );

    // The server is up at the same address: the same run, still in auto, calls and records.
    let server = FakeOpenAi::start_on(port).await.unwrap();
    assert_eq!(server.base_url(), base_url);
    let up = within_a_minute(run(
        &dataset(),
        weather_agent(&base_url),
        scorers(),
        options(cassettes.path(), CassetteMode::Auto),
    ))
    .await;
    assert_eq!(server.stop().await, 10, "every model call reached the server");
    let paris = up.tasks().iter().find(|t| t.task_id == "paris").unwrap();
    assert_eq!(paris.trace.exception, None);
    assert_eq!(paris.outputs["text"], "It is 18°C and sunny in Paris.");
    // Ten model calls and the four tool calls they asked for.
    assert_eq!(
        files_under(cassettes.path()).len(),
        14,
        "{:?}",
        files_under(cassettes.path())
    );

    let replayed = within_a_minute(run(
        &dataset(),
        weather_agent(&base_url),
        scorers(),
        options(cassettes.path(), CassetteMode::Strict),
    ))
    .await;
    assert_eq!(observable(&replayed), observable(&up));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_in_auto_mode_is_recorded_and_replays_as_the_same_error() {
    let cassettes = tempfile::tempdir().unwrap();
    let server = FakeOpenAi::start().await.unwrap();
    let base_url = server.base_url();
    let question = "Are you overloaded in Lima?";
    let suite: Suite = Suite::from_values(
        "weather",
        vec![json!({"task_id": "overloaded", "inputs": {"input": question}, "reference_outputs": {"city": "Lima"}})],
    )
    .unwrap();
    let message = "model call failed: the model endpoint answered 503: The server is overloaded. Try again later.";

    let live = within_a_minute(run(
        &suite,
        weather_agent(&base_url),
        scorers(),
        options(cassettes.path(), CassetteMode::Auto),
    ))
    .await;
    assert_eq!(server.stop().await, 1);
    assert_eq!(live.tasks()[0].trace.exception.as_ref().unwrap().message, message);

    let request = WeatherAgent::new(client(&base_url)).first_request(question);
    let path = Cassettes::new(cassettes.path(), CassetteMode::Strict)
        .path("model", &request)
        .unwrap();
    let file: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        file["error"]["message"],
        "the model endpoint answered 503: The server is overloaded. Try again later."
    );

    let replayed = within_a_minute(run(
        &suite,
        weather_agent(&base_url),
        scorers(),
        options(cassettes.path(), CassetteMode::Strict),
    ))
    .await;
    assert_eq!(replayed.tasks()[0].trace.exception.as_ref().unwrap().message, message);
    assert_eq!(observable(&replayed), observable(&live));
}

#[tokio::test]
async fn a_missing_or_wrong_key_is_not_recorded() {
    let cassettes = tempfile::tempdir().unwrap();
    let server = FakeOpenAi::start_requiring_key("sk-right").await.unwrap();
    let ctx = Ctx::new("paris", 1).with_cassettes(Cassettes::new(cassettes.path(), CassetteMode::Auto));
    let question = "What's the weather in Paris?";

    for (client, message) in [
        (client(&server.base_url()), "You didn't provide an API key."),
        (
            client(&server.base_url()).with_api_key("sk-wrong"),
            "Incorrect API key provided.",
        ),
    ] {
        let error = WeatherAgent::new(client).ask(question, &ctx).await.unwrap_err();
        assert!(
            matches!(&error, AgentError::Model(ClientError::Status { status: 401, message: m }) if m == message),
            "{error:?}"
        );
        assert_eq!(
            files_under(cassettes.path()),
            Vec::<String>::new(),
            "{message}: nothing recorded"
        );
    }

    let answer = WeatherAgent::new(client(&server.base_url()).with_api_key("sk-right"))
        .ask(question, &ctx)
        .await
        .unwrap();
    assert_eq!(answer.text, "It is 18°C and sunny in Paris.");
    assert_eq!(server.stop().await, 4);
    assert_eq!(
        files_under(cassettes.path()).len(),
        3,
        "two model calls and the tool call"
    );
}

#[tokio::test]
async fn a_call_that_times_out_is_not_recorded() {
    let cassettes = tempfile::tempdir().unwrap();
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let agent = WeatherAgent::new(ChatClient::new(&base_url).with_timeout(Duration::from_millis(300)));
    let ctx = Ctx::new("paris", 1).with_cassettes(Cassettes::new(cassettes.path(), CassetteMode::Auto));

    let error = within_a_minute(agent.ask("What's the weather in Paris?", &ctx))
        .await
        .unwrap_err();
    silent.abort();
    let AgentError::Model(ClientError::Unreachable { source, .. }) = &error else {
        panic!("expected the call to time out, got {error:?}");
    };
    assert!(source.is_timeout(), "{error:?}");
    assert_eq!(files_under(cassettes.path()), Vec::<String>::new());
}

#[tokio::test]
async fn an_answer_cut_off_midway_is_not_recorded_even_under_an_error_status() {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

    let cassettes = tempfile::tempdir().unwrap();
    // Reads the request, promises a 100-byte 503 body, sends 9 bytes of it and hangs up.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
    let cutting = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut reader = BufReader::new(stream);
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).await.unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap();
            }
        }
        reader.read_exact(&mut vec![0; length]).await.unwrap();
        let mut stream = reader.into_inner();
        let head = "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n";
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(br#"{"error":"#).await.unwrap();
    });
    let agent = WeatherAgent::new(client(&base_url));
    let ctx = Ctx::new("paris", 1).with_cassettes(Cassettes::new(cassettes.path(), CassetteMode::Auto));

    let error = within_a_minute(agent.ask("What's the weather in Paris?", &ctx))
        .await
        .unwrap_err();
    within_a_minute(cutting).await.unwrap();
    assert!(
        matches!(&error, AgentError::Model(ClientError::Cut { .. })),
        "{error:?}"
    );
    assert_eq!(files_under(cassettes.path()), Vec::<String>::new());
}
