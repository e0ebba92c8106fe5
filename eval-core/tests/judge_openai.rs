//! The built-in judge against an OpenAI-compatible endpoint on 127.0.0.1 that each test starts:
//! recorded then replayed strictly with the endpoint stopped, every fault of the endpoint and of
//! its verdicts, and its cost kept apart from the agent's.

use eval_engine::judge::{OpenAiChat, Scale, judge};
use eval_engine::scorers::token_budget;
use eval_engine::{CassetteMode, Cassettes, Ctx, RunOptions, RunResult, Scorers, Suite, Task, Verdict, run};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// How the scripted endpoint answers one request: a status and a body, after a delay.
type Script = dyn Fn(&Value, usize) -> (u16, Value, Duration) + Send + Sync;

/// A chat-completions endpoint answering as `script` says, counting requests and keeping them.
struct Endpoint {
    base_url: String,
    requests: Arc<AtomicUsize>,
    bodies: Arc<Mutex<Vec<Value>>>,
    server: JoinHandle<()>,
}

impl Endpoint {
    async fn start(script: impl Fn(&Value, usize) -> (u16, Value, Duration) + Send + Sync + 'static) -> Endpoint {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Script> = Arc::new(script);
        let (count, kept) = (requests.clone(), bodies.clone());
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (count, kept, script) = (count.clone(), kept.clone(), script.clone());
                tokio::spawn(async move {
                    let mut reader = BufReader::new(stream);
                    let mut line = String::new();
                    let mut length = 0;
                    reader.read_line(&mut line).await.ok();
                    loop {
                        let mut header = String::new();
                        if reader.read_line(&mut header).await.unwrap_or(0) == 0 || header.trim().is_empty() {
                            break;
                        }
                        if let Some((name, value)) = header.split_once(':')
                            && name.eq_ignore_ascii_case("content-length")
                        {
                            length = value.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let n = count.fetch_add(1, Ordering::SeqCst);
                    kept.lock().unwrap().push(request.clone());
                    let (status, reply, delay) = script(&request, n);
                    tokio::time::sleep(delay).await;
                    let reply = reply.to_string();
                    let head = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        reply.len()
                    );
                    let mut stream = reader.into_inner();
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.write_all(reply.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Endpoint {
            base_url,
            requests,
            bodies,
            server,
        }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Stops serving: the port is closed once this returns.
    async fn stop(self) -> String {
        self.server.abort();
        let _ = self.server.await;
        self.base_url
    }
}

/// A chat completion whose message says `content`, with usage.
fn completion(content: &str) -> Value {
    json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "model": "judge-test-1",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    })
}

/// A judge that grades by reading the response out of the prompt: "4" when it names Paris.
fn grades_paris(request: &Value, _: usize) -> (u16, Value, Duration) {
    let prompt = request["messages"][1]["content"].as_str().unwrap_or_default();
    let response = prompt.split("## The agent's response\n").nth(1).unwrap_or_default();
    let score = if response.contains("Paris") { 4 } else { 2 };
    let verdict = json!({"reasoning": format!("the response scores {score}"), "score": score}).to_string();
    (200, completion(&verdict), Duration::ZERO)
}

fn suite() -> Suite {
    Suite::from_values(
        "cities",
        vec![
            json!({"task_id": "paris", "inputs": {"input": "Weather in Paris?"}}),
            json!({"task_id": "oslo", "inputs": {"input": "Weather in Oslo?"}}),
        ],
    )
    .unwrap()
}

/// Answers about Paris for every task, spending 50 tokens of its own.
async fn agent(_task: Arc<Task>, ctx: Ctx) -> Result<String, String> {
    ctx.usage(40, 10);
    Ok("It is sunny in Paris.".to_owned())
}

fn names_the_city(base_url: &str) -> eval_engine::judge::Judge {
    judge(
        "names_the_city",
        OpenAiChat::new(base_url, "judge-test-1").with_timeout(Duration::from_millis(800)),
        "The response names the city the question asks about.",
    )
    .scale(Scale::points(1, 5))
    .pass_at(4.0)
}

async fn graded(dir: &Path, mode: CassetteMode, judge: eval_engine::judge::Judge) -> RunResult {
    let scorers: Scorers<Value, Value, String> = vec![Arc::new(judge), Arc::new(token_budget(60))];
    let options = RunOptions::default().cassettes(Cassettes::new(dir, mode));
    run(&suite(), agent, scorers, options).await
}

fn verdicts(run: &RunResult) -> Vec<(String, Verdict, Option<String>)> {
    run.tasks()
        .iter()
        .map(|task| {
            let fb = task.feedback_for("names_the_city").unwrap();
            (task.task_id.clone(), fb.verdict(), fb.comment.clone())
        })
        .collect()
}

fn recordings(dir: &Path) -> usize {
    match std::fs::read_dir(dir.join("judge")) {
        Ok(entries) => entries.count(),
        Err(_) => 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_then_replays_strictly_with_the_endpoint_stopped() {
    let cassettes = tempfile::tempdir().unwrap();
    let endpoint = Endpoint::start(grades_paris).await;
    let recorded = graded(cassettes.path(), CassetteMode::Auto, names_the_city(&endpoint.base_url)).await;
    assert_eq!(endpoint.requests(), 2);
    // The request asks for a structured verdict at temperature 0.
    let first = endpoint.bodies.lock().unwrap()[0].clone();
    assert_eq!(first["temperature"], 0.0);
    assert_eq!(first["response_format"]["type"], "json_schema");
    assert_eq!(
        first["response_format"]["json_schema"]["schema"]["properties"]["score"]["maximum"],
        5
    );
    let base_url = endpoint.stop().await;
    assert_eq!(recordings(cassettes.path()), 2);

    let by_id = |run: &RunResult, id: &str| verdicts(run).into_iter().find(|v| v.0 == id).unwrap();
    assert_eq!(by_id(&recorded, "paris").1, Verdict::Pass);
    // The agent answered about Paris to a question about Oslo.
    assert_eq!(
        by_id(&recorded, "oslo").1,
        Verdict::Pass,
        "the scripted judge reads only the response"
    );
    let replayed = graded(cassettes.path(), CassetteMode::Strict, names_the_city(&base_url)).await;
    assert_eq!(verdicts(&replayed), verdicts(&recorded));
    let detail = replayed.tasks()[0]
        .feedback_for("names_the_city")
        .unwrap()
        .detail
        .clone()
        .unwrap();
    assert_eq!(detail["score"], 4.0);
    assert_eq!(detail["judge"], "judge-test-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_judges_tokens_are_its_own() {
    let cassettes = tempfile::tempdir().unwrap();
    let endpoint = Endpoint::start(grades_paris).await;
    let run = graded(cassettes.path(), CassetteMode::Auto, names_the_city(&endpoint.base_url)).await;
    for task in run.tasks() {
        // The agent's 50 tokens, within its budget of 60; the judge's 120 are not counted.
        assert_eq!(task.trace.tokens.total(), 50);
        assert_eq!(task.verdict("token_budget"), Some(Verdict::Pass));
        assert!(!task.budget_violation);
        assert_eq!(task.scorer_traces.len(), 1, "{task:?}");
        let judge = &task.scorer_traces[0];
        assert_eq!(judge.scorer, "names_the_city");
        assert_eq!((judge.trace.tokens.input, judge.trace.tokens.output), (100, 20));
        assert_eq!(judge.trace.model_responses().count(), 1);
    }
    let cost = run.aggregates().scorer_cost["names_the_city"];
    assert_eq!((cost.tasks, cost.calls, cost.input, cost.output), (2, 2, 200, 40));
    assert_eq!(run.aggregates().tokens.total, 100);
    assert!(
        run.summary()
            .contains("Judge cost:  names_the_city: 2 call(s) over 2 attempt(s), input=200 output=40")
    );

    // Stored and read back, the judge's trace is still apart from the agent's.
    let text = eval_engine::store::to_json(&run).unwrap();
    let read = eval_engine::store::from_json(&text, Path::new("judged.json")).unwrap();
    assert_eq!(read.tasks()[0].scorer_traces, run.tasks()[0].scorer_traces);
    assert_eq!(read.aggregates().scorer_cost, run.aggregates().scorer_cost);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_criterion_misses_the_old_recording() {
    let cassettes = tempfile::tempdir().unwrap();
    let endpoint = Endpoint::start(grades_paris).await;
    graded(cassettes.path(), CassetteMode::Auto, names_the_city(&endpoint.base_url)).await;
    let base_url = endpoint.stop().await;
    let reworded = names_the_city(&base_url);
    let reworded = judge(
        "names_the_city",
        OpenAiChat::new(&base_url, "judge-test-1"),
        "The response names the city asked about, spelled correctly.",
    )
    .scale(Scale::points(1, 5))
    .pass_at(4.0)
    .key(reworded.spec().key.clone());
    let run = graded(cassettes.path(), CassetteMode::Strict, reworded).await;
    for (_, verdict, comment) in verdicts(&run) {
        assert_eq!(
            verdict,
            Verdict::Fail,
            "ungradeable counts as a fail under the threshold"
        );
        let comment = comment.unwrap();
        assert!(comment.contains("ungradeable"), "{comment}");
        assert!(comment.contains("no recording of this `judge` call"), "{comment}");
        assert!(
            comment.contains(&cassettes.path().join("judge").display().to_string()),
            "{comment}"
        );
    }
    // Another model misses too.
    let other_model = judge(
        "names_the_city",
        OpenAiChat::new(&base_url, "judge-test-2"),
        "The response names the city the question asks about.",
    )
    .scale(Scale::points(1, 5));
    let run = graded(cassettes.path(), CassetteMode::Strict, other_model).await;
    assert!(verdicts(&run).iter().all(|v| v.1 == Verdict::Ungradeable));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_verdict_is_asked_again_then_ungradeable_with_the_raw_reply() {
    let cassettes = tempfile::tempdir().unwrap();
    // Prose first, a verdict when asked again.
    let endpoint = Endpoint::start(|request: &Value, _| {
        let asked_again = request["messages"].as_array().is_some_and(|m| m.len() > 2);
        let content = match asked_again {
            true => r#"{"reasoning": "names it", "score": 5}"#,
            false => "The response is good, I would say four.",
        };
        (200, completion(content), Duration::ZERO)
    })
    .await;
    let run = graded(cassettes.path(), CassetteMode::Auto, names_the_city(&endpoint.base_url)).await;
    assert_eq!(endpoint.requests(), 4);
    let fb = run.tasks()[0].feedback_for("names_the_city").unwrap();
    assert_eq!(fb.verdict(), Verdict::Pass);
    assert_eq!(fb.detail.as_ref().unwrap()["replies"], 2);
    let bodies = endpoint.bodies.lock().unwrap().clone();
    let second = bodies
        .iter()
        .find(|b| b["messages"].as_array().unwrap().len() == 4)
        .unwrap();
    assert_eq!(second["messages"][2]["role"], "assistant");
    assert!(
        second["messages"][3]["content"]
            .as_str()
            .unwrap()
            .contains("no JSON object")
    );
    assert_eq!(run.aggregates().scorer_cost["names_the_city"].calls, 4);

    // Never a verdict: ungradeable, quoting what the model said.
    let endpoint = Endpoint::start(|_: &Value, _| (200, completion("I refuse to grade."), Duration::ZERO)).await;
    let judge = names_the_city(&endpoint.base_url).retries(1);
    let run = graded(tempfile::tempdir().unwrap().path(), CassetteMode::Auto, judge).await;
    assert_eq!(endpoint.requests(), 4, "two replies per task");
    let fb = run.tasks()[0].feedback_for("names_the_city").unwrap();
    let comment = fb.comment.as_deref().unwrap();
    assert!(comment.contains("gave no valid verdict in 2 replies"), "{comment}");
    assert!(comment.contains("\"I refuse to grade.\""), "{comment}");
    assert_eq!(
        fb.verdict(),
        Verdict::Fail,
        "ungradeable, counted as a fail under the threshold"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_score_off_the_scale_is_clamped_saying_so() {
    let endpoint = Endpoint::start(|_: &Value, _| {
        (
            200,
            completion(
                r#"```json
{"reasoning": "excellent", "score": 9}
```"#,
            ),
            Duration::ZERO,
        )
    })
    .await;
    let run = graded(
        tempfile::tempdir().unwrap().path(),
        CassetteMode::Auto,
        names_the_city(&endpoint.base_url),
    )
    .await;
    let fb = run.tasks()[0].feedback_for("names_the_city").unwrap();
    assert_eq!(fb.verdict(), Verdict::Pass);
    assert_eq!(fb.detail.as_ref().unwrap()["score"], 5.0);
    assert!(
        fb.comment
            .as_deref()
            .unwrap()
            .contains("clamped 9 to 5 (scale 1..=5 points)")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_faults_are_ungradeable_and_never_recorded() {
    // An HTTP error, a refusal of the key, a reply that is not a completion, a timeout.
    let faults: [(u16, Value, Duration, &str); 4] = [
        (
            500,
            json!({"error": {"message": "boom"}}),
            Duration::ZERO,
            "answered 500: boom",
        ),
        (
            401,
            json!({"error": {"message": "Incorrect API key provided."}}),
            Duration::ZERO,
            "answered 401",
        ),
        (
            200,
            json!({"unexpected": true}),
            Duration::ZERO,
            "neither content nor a tool call",
        ),
        (
            200,
            completion(r#"{"score": 5}"#),
            Duration::from_secs(3),
            "cannot reach the judge model",
        ),
    ];
    for (status, body, delay, expected) in faults {
        let cassettes = tempfile::tempdir().unwrap();
        let endpoint = Endpoint::start(move |_: &Value, _| (status, body.clone(), delay)).await;
        let run = graded(cassettes.path(), CassetteMode::Auto, names_the_city(&endpoint.base_url)).await;
        for task in run.tasks() {
            let fb = task.feedback_for("names_the_city").unwrap();
            let comment = fb.comment.as_deref().unwrap();
            assert!(comment.contains(expected), "{status}: {comment}");
            assert!(comment.contains("ungradeable"), "{comment}");
            // The task's other scorer is unaffected.
            assert_eq!(task.verdict("token_budget"), Some(Verdict::Pass));
        }
        assert_eq!(
            recordings(cassettes.path()),
            0,
            "a fault ({status}) must not become a recording"
        );
    }

    // The endpoint is down: a transport failure, not recorded either.
    let cassettes = tempfile::tempdir().unwrap();
    let base_url = Endpoint::start(grades_paris).await.stop().await;
    let run = graded(cassettes.path(), CassetteMode::Auto, names_the_city(&base_url)).await;
    assert!(
        verdicts(&run)
            .iter()
            .all(|v| v.2.as_deref().unwrap().contains("cannot reach"))
    );
    assert_eq!(recordings(cassettes.path()), 0);
}

#[test]
fn a_judge_without_a_model_says_so_before_anything_runs() {
    use eval_engine::Scorer;
    // No model named in the environment nor in code.
    let model = OpenAiChat::from_env();
    if std::env::var_os("EVAL_JUDGE_MODEL").is_some() {
        eprintln!("note: EVAL_JUDGE_MODEL is set; the unconfigured case is not checked");
        return;
    }
    let unconfigured = judge("helpful", model, "The answer helps.");
    let why = Scorer::<Value, Value, String>::check(&unconfigured).unwrap_err();
    assert!(why.contains("judge `helpful` has no model to ask"), "{why}");
    assert!(why.contains("EVAL_JUDGE_MODEL"), "{why}");
    let configured = judge(
        "helpful",
        OpenAiChat::from_env().default_model("m"),
        "The answer helps.",
    );
    assert!(Scorer::<Value, Value, String>::check(&configured).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_regrade_replays_the_judges_verdicts_from_the_cassettes() {
    let cassettes = tempfile::tempdir().unwrap();
    let endpoint = Endpoint::start(grades_paris).await;
    let recorded = graded(cassettes.path(), CassetteMode::Auto, names_the_city(&endpoint.base_url)).await;
    let base_url = endpoint.stop().await;
    let scorers: Scorers<Value, Value, String> = vec![Arc::new(names_the_city(&base_url))];
    let options = RunOptions::default().cassettes(Cassettes::new(cassettes.path(), CassetteMode::Strict));
    let regraded = eval_engine::regrade(&suite(), recorded.clone(), eval_engine::decode_output, scorers, options).await;
    assert_eq!(verdicts(&regraded), verdicts(&recorded));
    assert_eq!(
        regraded.tasks()[0].scorer_traces.len(),
        1,
        "the regrade's judge calls are recorded too"
    );
}
