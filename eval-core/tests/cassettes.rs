//! Cassettes: keys, record → replay of values and of errors classified as answers, failed
//! calls that are not recorded, the four modes, corrupt files, redaction, concurrent recording,
//! and cassettes given to a run.

use eval_engine::cassette::CassetteError;
use eval_engine::cassette::redact_secrets;
use eval_engine::{Agent, CassetteMode, Cassettes, Ctx, RunOptions, RunResult, Suite, Task, run};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Reply {
    text: String,
    tokens: u32,
}

#[derive(Debug, thiserror::Error)]
enum ClientError {
    #[error("the endpoint answered {0}")]
    Status(u16),
    #[error("cannot reach the endpoint: connection refused")]
    Unreachable,
    #[error(transparent)]
    Cassette(#[from] CassetteError),
}

impl ClientError {
    /// What the endpoint said is an answer; not reaching it is not.
    fn is_answer(&self) -> bool {
        matches!(self, ClientError::Status(_))
    }
}

fn reply(text: &str) -> Reply {
    Reply {
        text: text.to_owned(),
        tokens: 7,
    }
}

/// A call that counts how often it is really made.
struct Endpoint {
    calls: AtomicUsize,
}

impl Endpoint {
    fn new() -> Arc<Self> {
        Arc::new(Endpoint {
            calls: AtomicUsize::new(0),
        })
    }

    async fn answer(&self, result: Result<Reply, ClientError>) -> Result<Reply, ClientError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        result
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

/// Every file under `dir`, relative, sorted.
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

#[test]
fn the_key_ignores_key_order_and_number_spelling_but_not_the_kind_or_the_request() {
    let cassettes = Cassettes::new("unused", CassetteMode::Strict);
    let a = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.0});
    let b: Value =
        serde_json::from_str(r#"{"temperature": 0, "messages": [{"content": "hi", "role": "user"}], "model": "m"}"#)
            .unwrap();
    let key = cassettes.key("model", &a).unwrap();
    assert_eq!(key, cassettes.key("model", &b).unwrap());
    assert_eq!(key.len(), 64);
    assert!(key.bytes().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(
        key,
        eval_engine::canonical::sha256_hex(&["model", &eval_engine::canonical::to_canonical_json(&a)]),
        "the key is SHA-256 over the kind and the canonical request"
    );
    assert_ne!(key, cassettes.key("tool:model", &a).unwrap());
    assert_ne!(key, cassettes.key("model", &json!({"model": "m2"})).unwrap());

    // A typed request keys like its JSON.
    #[derive(Serialize)]
    struct Typed<'a> {
        temperature: f64,
        model: &'a str,
    }
    assert_eq!(
        cassettes
            .key(
                "model",
                &Typed {
                    temperature: 0.0,
                    model: "m"
                }
            )
            .unwrap(),
        cassettes
            .key("model", &json!({"model": "m", "temperature": 0}))
            .unwrap()
    );
    assert_eq!(
        cassettes.path("tool:get_weather", &a).unwrap(),
        Path::new("unused/tool_get_weather").join(format!("{}.json", cassettes.key("tool:get_weather", &a).unwrap()))
    );
}

#[tokio::test]
async fn a_recorded_value_replays_without_calling() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = Endpoint::new();
    let request = json!({"prompt": "hello"});

    let recording = Cassettes::new(dir.path(), CassetteMode::Record);
    let live = recording
        .replay("model", &request, || endpoint.answer(Ok(reply("hi there"))))
        .await
        .unwrap();
    assert_eq!(live, reply("hi there"));
    assert_eq!(endpoint.calls(), 1);

    let path = recording.path("model", &request).unwrap();
    let file: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        file,
        json!({
            "schema_version": 1,
            "kind": "model",
            "key": recording.key("model", &request).unwrap(),
            "request": {"prompt": "hello"},
            "response": {"text": "hi there", "tokens": 7}
        })
    );

    for mode in [CassetteMode::Strict, CassetteMode::Auto] {
        let replayed = Cassettes::new(dir.path(), mode)
            .replay("model", &request, || endpoint.answer(Ok(reply("a different answer"))))
            .await
            .unwrap();
        assert_eq!(replayed, live, "{mode}");
    }
    assert_eq!(endpoint.calls(), 1, "replays make no call");
}

#[tokio::test]
async fn an_error_classified_as_an_answer_is_recorded_and_replays_as_an_error_with_the_same_text() {
    for mode in [CassetteMode::Auto, CassetteMode::Record] {
        let dir = tempfile::tempdir().unwrap();
        let endpoint = Endpoint::new();
        let request = json!({"prompt": "overloaded?"});

        let recorded = Cassettes::new(dir.path(), mode)
            .replay_answers("model", &request, ClientError::is_answer, || {
                endpoint.answer(Err(ClientError::Status(503)))
            })
            .await
            .unwrap_err();
        // Strict replay, through either entry point: the recording decides, not the classifier.
        let strict = Cassettes::new(dir.path(), CassetteMode::Strict);
        let replayed = strict
            .replay_answers("model", &request, ClientError::is_answer, || {
                endpoint.answer(Ok(reply("fine")))
            })
            .await
            .unwrap_err();
        let replayed_plain = strict
            .replay("model", &request, || endpoint.answer(Ok(reply("fine"))))
            .await
            .unwrap_err();
        assert_eq!(endpoint.calls(), 1, "{mode}");
        for error in [&recorded, &replayed, &replayed_plain] {
            assert_eq!(error.to_string(), "the endpoint answered 503", "{mode}");
            assert!(
                matches!(error, ClientError::Cassette(CassetteError::Recorded { .. })),
                "{mode}: {error:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_recorded_error_replays_as_an_error_with_the_same_text() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = Endpoint::new();
    let request = json!({"prompt": "overloaded?"});

    let recorded = Cassettes::new(dir.path(), CassetteMode::Record)
        .replay_answers("model", &request, ClientError::is_answer, || {
            endpoint.answer(Err(ClientError::Status(503)))
        })
        .await
        .unwrap_err();
    let replayed = Cassettes::new(dir.path(), CassetteMode::Strict)
        .replay("model", &request, || endpoint.answer(Ok(reply("fine"))))
        .await
        .unwrap_err();
    assert_eq!(endpoint.calls(), 1);

    // Recording and replaying hand the agent the same error, reading like the live one.
    for error in [&recorded, &replayed] {
        assert_eq!(error.to_string(), "the endpoint answered 503");
        let ClientError::Cassette(CassetteError::Recorded { kind, message, .. }) = error else {
            panic!("expected a recorded error, got {error:?}");
        };
        assert_eq!(
            (kind.as_str(), message.as_str()),
            ("model", "the endpoint answered 503")
        );
    }
    let file: Value = serde_json::from_slice(
        &std::fs::read(
            Cassettes::new(dir.path(), CassetteMode::Strict)
                .path("model", &request)
                .unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(file["error"], json!({"message": "the endpoint answered 503"}));
    assert!(file.get("response").is_none());

    // Plain `String` errors work too.
    let as_string: Result<Reply, String> = Cassettes::new(dir.path(), CassetteMode::Strict)
        .replay("model", &request, || async { Ok(reply("unused")) })
        .await;
    assert_eq!(as_string, Err("the endpoint answered 503".to_owned()));
}

#[tokio::test]
async fn in_auto_mode_a_failed_call_is_not_recorded_and_its_error_comes_back_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = Endpoint::new();
    let auto = Cassettes::new(dir.path(), CassetteMode::Auto);
    let request = json!({"prompt": "is anyone there?"});

    // Even an error that reads like an answer is not recorded unless the caller says so.
    for (error, text) in [
        (
            ClientError::Unreachable,
            "cannot reach the endpoint: connection refused",
        ),
        (ClientError::Status(503), "the endpoint answered 503"),
    ] {
        let returned = auto
            .replay("model", &request, || endpoint.answer(Err(error)))
            .await
            .unwrap_err();
        assert_eq!(returned.to_string(), text);
        assert!(
            !matches!(returned, ClientError::Cassette(_)),
            "the caller's own error, not a recorded one: {returned:?}"
        );
        assert_eq!(files_under(dir.path()), Vec::<String>::new(), "nothing is written");
    }
    let missing = auto
        .clone()
        .with_mode(CassetteMode::Strict)
        .replay("model", &request, || endpoint.answer(Ok(reply("unused"))))
        .await
        .unwrap_err();
    assert!(
        matches!(missing, ClientError::Cassette(CassetteError::Missing { .. })),
        "{missing:?}"
    );

    // The next run, with the endpoint back, calls again and records the real answer.
    let answered = auto
        .replay("model", &request, || endpoint.answer(Ok(reply("yes"))))
        .await
        .unwrap();
    assert_eq!(answered, reply("yes"));
    assert_eq!(endpoint.calls(), 3);
    let replayed = auto
        .clone()
        .with_mode(CassetteMode::Strict)
        .replay("model", &request, || endpoint.answer(Err(ClientError::Unreachable)))
        .await
        .unwrap();
    assert_eq!(replayed, reply("yes"));
}

#[tokio::test]
async fn in_record_mode_a_failed_call_leaves_the_recording_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = Endpoint::new();
    let record = Cassettes::new(dir.path(), CassetteMode::Record);
    let request = json!({"prompt": "p"});
    record
        .replay("model", &request, || endpoint.answer(Ok(reply("good"))))
        .await
        .unwrap();
    let path = record.path("model", &request).unwrap();
    let good = std::fs::read(&path).unwrap();

    let plain = record
        .replay("model", &request, || endpoint.answer(Err(ClientError::Status(503))))
        .await
        .unwrap_err();
    assert!(matches!(plain, ClientError::Status(503)), "{plain:?}");
    let classified = record
        .replay_answers("model", &request, ClientError::is_answer, || {
            endpoint.answer(Err(ClientError::Unreachable))
        })
        .await
        .unwrap_err();
    assert!(matches!(classified, ClientError::Unreachable), "{classified:?}");
    assert_eq!(endpoint.calls(), 3, "record mode calls every time");
    assert_eq!(std::fs::read(&path).unwrap(), good, "the good recording stays");

    let key = record.key("model", &request).unwrap();
    assert_eq!(
        files_under(dir.path()),
        [format!("model/{key}.json")],
        "no temporary file left"
    );
    let replayed = record
        .clone()
        .with_mode(CassetteMode::Strict)
        .replay("model", &request, || endpoint.answer(Ok(reply("other"))))
        .await
        .unwrap();
    assert_eq!(replayed, reply("good"));
}

#[tokio::test]
async fn replay_answers_records_nothing_for_an_error_that_is_not_an_answer() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = Endpoint::new();
    let cassettes = Cassettes::new(dir.path(), CassetteMode::Auto);
    let ctx = Ctx::new("t", 1).with_cassettes(cassettes.clone());
    let request = json!({"prompt": "p"});

    let direct = cassettes
        .replay_answers("model", &request, ClientError::is_answer, || {
            endpoint.answer(Err(ClientError::Unreachable))
        })
        .await
        .unwrap_err();
    let through_ctx = ctx
        .replay_answers("model", &request, ClientError::is_answer, || {
            endpoint.answer(Err(ClientError::Unreachable))
        })
        .await
        .unwrap_err();
    for error in [&direct, &through_ctx] {
        assert!(matches!(error, ClientError::Unreachable), "{error:?}");
    }
    assert_eq!(endpoint.calls(), 2, "each attempt called: nothing was replayed");
    assert_eq!(files_under(dir.path()), Vec::<String>::new());

    // The same entry point records an answer; `Ctx` forwards to the same cassettes.
    let answer = ctx
        .replay_answers("model", &request, ClientError::is_answer, || {
            endpoint.answer(Err(ClientError::Status(429)))
        })
        .await
        .unwrap_err();
    assert_eq!(answer.to_string(), "the endpoint answered 429");
    let key = cassettes.key("model", &request).unwrap();
    assert_eq!(files_under(dir.path()), [format!("model/{key}.json")]);
}

#[tokio::test]
async fn strict_mode_without_a_recording_fails_naming_the_key_and_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = Endpoint::new();
    let cassettes = Cassettes::new(dir.path().join("weather"), CassetteMode::Strict);
    let request = json!({"prompt": "never recorded"});

    let error = cassettes
        .replay("tool:get_weather", &request, || endpoint.answer(Ok(reply("live"))))
        .await
        .unwrap_err();
    let key = cassettes.key("tool:get_weather", &request).unwrap();
    let path = cassettes.path("tool:get_weather", &request).unwrap();
    let text = error.to_string();
    assert!(text.contains(&key), "{text}");
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("EVAL_CASSETTES"), "{text}");
    assert!(
        matches!(&error, ClientError::Cassette(CassetteError::Missing { key: k, path: p, .. }) if *k == key && *p == path),
        "{error:?}"
    );
    assert_eq!(endpoint.calls(), 0);
    assert_eq!(files_under(dir.path()), Vec::<String>::new(), "strict writes nothing");
}

#[tokio::test]
async fn a_corrupt_recording_is_an_error_naming_the_file_and_is_never_re_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = Endpoint::new();
    let request = json!({"prompt": "p"});
    let auto = Cassettes::new(dir.path(), CassetteMode::Auto);
    let path = auto.path("model", &request).unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();

    let broken = [
        "{\"schema_version\": 1, \"kind\": \"model\", \"requ",
        r#"{"schema_version": 1, "kind": "model", "request": {"prompt": "p"}, "response": {"text": 3}}"#,
        r#"{"schema_version": 1, "kind": "model", "request": {"prompt": "another"}, "response": {"text": "x", "tokens": 1}}"#,
    ];
    for contents in broken {
        std::fs::write(&path, contents).unwrap();
        for mode in [CassetteMode::Auto, CassetteMode::Strict] {
            let error = auto
                .clone()
                .with_mode(mode)
                .replay("model", &request, || endpoint.answer(Ok(reply("live"))))
                .await
                .unwrap_err();
            let text = error.to_string();
            assert!(
                text.starts_with(&format!("cassette {} cannot be replayed: ", path.display())),
                "{text}"
            );
            assert!(
                matches!(error, ClientError::Cassette(CassetteError::Corrupt { .. })),
                "{text}"
            );
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), contents, "left as it was");
    }
    assert_eq!(endpoint.calls(), 0);

    // Record mode is how a broken recording gets replaced.
    let fixed = auto
        .clone()
        .with_mode(CassetteMode::Record)
        .replay("model", &request, || endpoint.answer(Ok(reply("live"))))
        .await
        .unwrap();
    assert_eq!(fixed, reply("live"));
    let replayed = auto
        .replay("model", &request, || endpoint.answer(Ok(reply("other"))))
        .await
        .unwrap();
    assert_eq!(replayed, reply("live"));
}

#[tokio::test]
async fn auto_records_what_is_missing_and_never_replaces_a_recording() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = Endpoint::new();
    let auto = Cassettes::new(dir.path(), CassetteMode::Auto);
    let request = json!({"prompt": "p"});

    let first = auto
        .replay("model", &request, || endpoint.answer(Ok(reply("first"))))
        .await
        .unwrap();
    let second = auto
        .replay("model", &request, || endpoint.answer(Ok(reply("second"))))
        .await
        .unwrap();
    assert_eq!((first, second), (reply("first"), reply("first")));
    assert_eq!(endpoint.calls(), 1);

    // Record mode always calls and rewrites.
    let rerecorded = auto
        .clone()
        .with_mode(CassetteMode::Record)
        .replay("model", &request, || endpoint.answer(Ok(reply("third"))))
        .await
        .unwrap();
    assert_eq!(rerecorded, reply("third"));
    assert_eq!(endpoint.calls(), 2);
    let replayed = auto
        .replay("model", &request, || endpoint.answer(Ok(reply("fourth"))))
        .await
        .unwrap();
    assert_eq!(replayed, reply("third"));
    let key = auto.key("model", &request).unwrap();
    assert_eq!(files_under(dir.path()), [format!("model/{key}.json")]);
}

#[tokio::test]
async fn off_mode_always_calls_and_touches_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = Endpoint::new();
    let request = json!({"prompt": "p"});
    Cassettes::new(dir.path(), CassetteMode::Record)
        .replay("model", &request, || endpoint.answer(Ok(reply("recorded"))))
        .await
        .unwrap();
    let before = files_under(dir.path());

    let off = Cassettes::new(dir.path(), CassetteMode::Off);
    let live = off
        .replay("model", &request, || endpoint.answer(Ok(reply("live"))))
        .await
        .unwrap();
    assert_eq!(live, reply("live"), "the recording is not read");
    let error = off
        .replay("model", &json!({"prompt": "new"}), || {
            endpoint.answer(Err(ClientError::Status(500)))
        })
        .await
        .unwrap_err();
    assert!(matches!(error, ClientError::Status(500)), "errors come back untouched");
    assert_eq!(endpoint.calls(), 3);
    assert_eq!(files_under(dir.path()), before, "nothing is written");
}

#[tokio::test]
async fn secrets_are_neither_written_nor_part_of_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cassettes = Cassettes::new(dir.path(), CassetteMode::Record);
    let with_secrets = json!({
        "model": "m",
        "max_tokens": 100,
        "api_key": "sk-live-123456",
        "headers": {"Authorization": "Bearer sk-live-123456", "X-API-Key": "sk-live-123456", "Accept": "json"},
        "auth": {"Password": "hunter2", "cookie": "session=abc"}
    });
    let without = json!({"model": "m", "max_tokens": 100, "headers": {"Accept": "json"}, "auth": {}});
    assert_eq!(
        cassettes.key("model", &with_secrets).unwrap(),
        cassettes.key("model", &without).unwrap()
    );

    let answer: Result<Reply, String> = cassettes
        .replay("model", &with_secrets, || async { Ok(reply("ok")) })
        .await;
    assert_eq!(answer, Ok(reply("ok")));
    let path = cassettes.path("model", &without).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    for secret in ["sk-live-123456", "hunter2", "session=abc", "api_key", "Authorization"] {
        assert!(!text.contains(secret), "{secret} was written:\n{text}");
    }
    let file: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(file["request"], without);

    // The request without secrets replays the recording made with them.
    let replayed: Result<Reply, String> = cassettes
        .clone()
        .with_mode(CassetteMode::Strict)
        .replay("model", &without, || async { Ok(reply("not called")) })
        .await;
    assert_eq!(replayed, Ok(reply("ok")));
}

#[tokio::test]
async fn a_custom_redaction_decides_what_is_keyed_and_stored() {
    let dir = tempfile::tempdir().unwrap();
    let cassettes = Cassettes::new(dir.path(), CassetteMode::Auto).with_redaction(|kind: &str, request: &mut Value| {
        redact_secrets(request);
        if kind == "model"
            && let Some(fields) = request.as_object_mut()
        {
            fields.remove("request_id");
        }
    });
    let first = json!({"prompt": "p", "request_id": "r-1", "token": "t"});
    let second = json!({"prompt": "p", "request_id": "r-2"});
    assert_eq!(
        cassettes.key("model", &first).unwrap(),
        cassettes.key("model", &second).unwrap()
    );
    assert_ne!(
        cassettes.key("tool:x", &first).unwrap(),
        cassettes.key("tool:x", &second).unwrap()
    );
    let _: Result<Reply, String> = cassettes.replay("model", &first, || async { Ok(reply("a")) }).await;
    let text = std::fs::read_to_string(cassettes.path("model", &first).unwrap()).unwrap();
    assert!(!text.contains("r-1") && !text.contains("\"t\""), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn identical_calls_recorded_at_once_leave_one_whole_file() {
    for mode in [CassetteMode::Record, CassetteMode::Auto] {
        let dir = tempfile::tempdir().unwrap();
        let cassettes = Cassettes::new(dir.path(), mode);
        let request = json!({"prompt": "same for everyone"});
        let calls: Vec<_> = (0..32)
            .map(|_| {
                let cassettes = cassettes.clone();
                let request = request.clone();
                tokio::spawn(async move {
                    let long = Reply {
                        text: "x".repeat(64 * 1024),
                        tokens: 1,
                    };
                    cassettes
                        .replay("model", &request, || async move {
                            tokio::task::yield_now().await;
                            Ok::<_, ClientError>(long)
                        })
                        .await
                })
            })
            .collect();
        for call in calls {
            let answer = call.await.unwrap().unwrap();
            assert_eq!(answer.text.len(), 64 * 1024, "{mode}");
        }
        let key = cassettes.key("model", &request).unwrap();
        assert_eq!(
            files_under(dir.path()),
            [format!("model/{key}.json")],
            "{mode}: one file, no temporary files left"
        );
        let replayed = cassettes
            .clone()
            .with_mode(CassetteMode::Strict)
            .replay("model", &request, || async { Err::<Reply, _>(ClientError::Status(0)) })
            .await
            .unwrap();
        assert_eq!(replayed.text.len(), 64 * 1024, "{mode}");
    }
}

#[tokio::test]
async fn a_directory_that_cannot_be_used_is_an_error_of_the_call_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"").unwrap();
    let request = json!({});

    let written: Result<Reply, ClientError> = Cassettes::new(&blocker, CassetteMode::Record)
        .replay("model", &request, || async { Ok(reply("x")) })
        .await;
    let text = written.unwrap_err().to_string();
    assert!(
        text.starts_with(&format!(
            "cannot create cassette directory {}: ",
            blocker.join("model").display()
        )),
        "{text}"
    );

    let cassettes = Cassettes::new(&blocker, CassetteMode::Auto);
    let read: Result<Reply, ClientError> = cassettes.replay("model", &request, || async { Ok(reply("x")) }).await;
    let text = read.unwrap_err().to_string();
    let path = cassettes.path("model", &request).unwrap();
    assert!(
        text.starts_with(&format!("cannot read cassette {}: ", path.display())),
        "{text}"
    );
}

fn echo_suite(ids: &[&str]) -> Suite {
    let values = ids
        .iter()
        .map(|id| json!({"task_id": id, "inputs": {"input": id}}))
        .collect();
    Suite::from_values("echo", values).unwrap()
}

/// An agent that asks the endpoint to echo its task's input, through `ctx.replay`.
fn echo_agent(endpoint: &Arc<Endpoint>) -> impl Agent<Value, Value, Output = String, Error = ClientError> {
    let endpoint = endpoint.clone();
    move |task: Arc<Task>, ctx: Ctx| {
        let endpoint = endpoint.clone();
        async move {
            let request = json!({"prompt": task.input()});
            ctx.replay("model", &request, || endpoint.answer(Ok(reply(task.input()))))
                .await
                .map(|r| r.text)
        }
    }
}

#[tokio::test]
async fn a_run_without_cassettes_calls_straight_through() {
    let endpoint = Endpoint::new();
    let result = run(
        &echo_suite(&["a", "b"]),
        echo_agent(&endpoint),
        vec![],
        RunOptions::default(),
    )
    .await;
    assert_eq!(endpoint.calls(), 2);
    let outputs: Vec<&Value> = result.tasks().iter().map(|t| &t.outputs).collect();
    assert_eq!(outputs, [&json!("a"), &json!("b")]);
}

#[tokio::test]
async fn a_run_hands_its_cassettes_to_every_task() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint = Endpoint::new();
    let with = |mode| RunOptions::default().cassettes(Cassettes::new(dir.path(), mode));

    let recorded = run(
        &echo_suite(&["a", "b"]),
        echo_agent(&endpoint),
        vec![],
        with(CassetteMode::Record),
    )
    .await;
    assert_eq!(endpoint.calls(), 2);
    let replayed = run(
        &echo_suite(&["a", "b"]),
        echo_agent(&endpoint),
        vec![],
        with(CassetteMode::Strict),
    )
    .await;
    assert_eq!(endpoint.calls(), 2);
    let outputs = |run: &RunResult| run.tasks().iter().map(|t| t.outputs.clone()).collect::<Vec<_>>();
    assert_eq!(outputs(&recorded), [json!("a"), json!("b")]);
    assert_eq!(outputs(&recorded), outputs(&replayed));

    let missing = run(
        &echo_suite(&["c"]),
        echo_agent(&endpoint),
        vec![],
        with(CassetteMode::Strict),
    )
    .await;
    let exception = missing.tasks()[0].trace.exception.as_ref().expect("the task failed");
    let cassettes = Cassettes::new(dir.path(), CassetteMode::Strict);
    let request = json!({"prompt": "c"});
    let key = cassettes.key("model", &request).unwrap();
    let path = cassettes.path("model", &request).unwrap();
    assert!(exception.message.contains(&key), "{}", exception.message);
    assert!(
        exception.message.contains(&path.display().to_string()),
        "{}",
        exception.message
    );
    assert_eq!(endpoint.calls(), 2);
}
