//! Property tests of the loaders and the round trips: random inputs never panic a loader, and
//! what is written reads back the same.

use eval_engine::result::{RunMeta, RunStatus, SCHEMA_VERSION, Selection, SuiteInfo};
use eval_engine::scorecard::{PairVerdict, Scorecard, ScorecardEntry};
use eval_engine::scorer::{ScorerTrace, Threshold};
use eval_engine::store::{from_json, to_json};
use eval_engine::task::ContentHash;
use eval_engine::trace::{Event, Exception, TokenUsage};
use eval_engine::{DiffMode, Feedback, RunResult, ScorerSpec, Suite, TaskRecord, Trace};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use std::path::Path;

/// `cases` random cases; a failing case is printed, never saved next to the sources.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn id() -> impl Strategy<Value = String> {
    // Ids with the characters that make quoting and sanitising interesting.
    "[a-zA-Z0-9 _#\"\\-é→]{1,12}"
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        (-1e6f64..1e6).prop_map(|f| json!(f)),
        "[ -~]{0,8}".prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,5}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

fn feedback() -> impl Strategy<Value = Feedback> {
    (
        "[a-z_]{1,8}",
        prop_oneof![
            any::<bool>().prop_map(|b| Some(eval_engine::Score::Bool(b))),
            (-100.0f64..100.0).prop_map(|n| Some(eval_engine::Score::Number(n))),
            Just(None),
        ],
        prop::option::of("[a-z]{1,6}"),
        prop::option::of("[ -~]{0,12}"),
    )
        .prop_map(|(key, score, value, comment)| Feedback {
            key,
            score,
            value,
            comment,
            detail: None,
        })
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        ("[a-z_]{1,8}", json_value()).prop_map(|(name, args)| Event::tool_call(name, args)),
        ("[a-z_]{1,8}", json_value()).prop_map(|(name, result)| Event::tool_result(name, result)),
        ("[a-z_]{1,8}", "[ -~]{0,12}").prop_map(|(name, message)| Event::tool_error(name, message)),
        "[ -~]{0,16}".prop_map(Event::model_response),
        (0u64..10_000, 0u64..10_000).prop_map(|(input, output)| Event::Usage(TokenUsage {
            input,
            output,
            cache_creation: 0,
            cache_read: 0,
        })),
        ("[a-z]{1,6}", json_value()).prop_map(|(name, data)| Event::custom(name, data)),
    ]
}

fn task_result(index: usize) -> impl Strategy<Value = TaskRecord> {
    (
        json_value(),
        json_value(),
        prop::collection::vec("[a-z]{1,5}", 0..3),
        prop::collection::vec(event(), 0..6),
        prop::option::of(("[a-z]{1,6}", "[ -~]{0,12}")),
        prop::collection::vec(feedback(), 0..5),
        any::<bool>(),
        json_value(),
        0u64..100_000,
    )
        .prop_map(
            move |(inputs, reference, tags, events, exception, feedback, budget_violation, outputs, duration)| {
                let inputs = json!({ "input": inputs });
                let exception = exception.map(|(kind, message)| Exception::new(kind, message));
                // Some records carry a judge's trace of their own, beside the agent's.
                let scorer_traces = if duration % 3 == 0 {
                    vec![ScorerTrace {
                        scorer: "judge".to_owned(),
                        trace: Trace::new(events.clone(), None, duration / 3),
                    }]
                } else {
                    Vec::new()
                };
                TaskRecord {
                    task_id: format!("task-{index}"),
                    content_hash: ContentHash::of(&inputs, &reference),
                    inputs,
                    reference_outputs: reference,
                    tags,
                    metadata: Map::new(),
                    trace: Trace::new(events, exception, duration),
                    feedback,
                    budget_violation,
                    scorer_traces,
                    trace_ref: None,
                    outputs,
                    attempt: None,
                }
            },
        )
}

fn run_result() -> impl Strategy<Value = RunResult> {
    (
        (0usize..6).prop_flat_map(|n| (0..n).map(task_result).collect::<Vec<_>>()),
        prop::option::of("[a-z]{1,8}"),
        any::<bool>(),
        prop::option::of("[0-9A-Z]{26}"),
        prop::option::of(1u32..5),
        prop::option::of("[a-z0-9.-]{1,12}"),
    )
        .prop_map(|(tasks, label, complete, regraded_from, fewest_repeats, model)| {
            let meta = RunMeta {
                schema_version: SCHEMA_VERSION.to_owned(),
                run_id: "01JPROPERTY".to_owned(),
                label,
                created_at: "2026-11-24T00:00:00Z".to_owned(),
                duration_ms: 12,
                suite: SuiteInfo {
                    name: "props".to_owned(),
                    size: tasks.len(),
                    source: "inline".to_owned(),
                },
                target: "props".to_owned(),
                concurrency: 4,
                status: RunStatus::Completed,
                selection: Some(Selection { filter: None, complete }),
                repeats: 1,
                fewest_repeats,
                model,
                budgets: Default::default(),
                producer: None,
                git: None,
                scorers: vec![ScorerSpec::new("k").with_threshold(Threshold::at_least(0.5))],
                resumed: None,
                variant: None,
                regraded_from,
            };
            RunResult::new(meta, tasks)
        })
}

fn verdict() -> impl Strategy<Value = PairVerdict> {
    prop_oneof![
        Just(PairVerdict::Pass),
        Just(PairVerdict::Fail),
        Just(PairVerdict::Ungradeable),
        Just(PairVerdict::Informational),
        Just(PairVerdict::NotApplicable),
        (1u32..20).prop_flat_map(|attempts| (0..=attempts).prop_map(move |passed| PairVerdict::Repeated {
            passed,
            attempts
        })),
    ]
}

proptest! {
    #![proptest_config(config(200))]

    #[test]
    fn save_then_load_keeps_every_field(run in run_result()) {
        let bytes = to_json(&run).unwrap();
        let back = from_json(&bytes, Path::new("prop.json")).unwrap();
        prop_assert_eq!(back, run);
    }

    #[test]
    fn a_run_diffed_with_itself_has_no_flips(run in run_result()) {
        let diff = run.diff(&run, DiffMode::Strict).unwrap();
        prop_assert_eq!(diff.regressions().count(), 0);
        prop_assert!(diff.flipped_to_fail.is_empty() && diff.flipped_to_pass.is_empty());
    }

    #[test]
    fn a_truncated_run_file_is_an_error_never_a_panic(run in run_result(), cut in 0.0f64..1.0) {
        let bytes = to_json(&run).unwrap();
        let end = ((bytes.len() - 1) as f64 * cut) as usize;
        prop_assert!(from_json(&bytes[..end], Path::new("cut.json")).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_run_loader(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = from_json(&bytes, Path::new("noise.json"));
    }

    #[test]
    fn arbitrary_json_never_panics_the_run_loader(value in json_value()) {
        let _ = from_json(value.to_string().as_bytes(), Path::new("any.json"));
    }

    #[test]
    fn scorecards_render_and_parse_back(
        entries in prop::collection::btree_map((id(), id()), ("[0-9a-f]{16}", verdict()), 0..12)
    ) {
        let card = Scorecard {
            entries: entries
                .into_iter()
                .map(|(pair, (hash, verdict))| (pair, ScorecardEntry { content_hash: ContentHash::from_stored(hash), verdict }))
                .collect(),
        };
        prop_assert_eq!(Scorecard::parse(&card.render()).unwrap(), card);
    }

    #[test]
    fn a_scorecard_cut_anywhere_reads_whole_or_fails_unless_nothing_graded_is_left(
        entries in prop::collection::btree_map((id(), id()), ("[0-9a-f]{16}", verdict()), 0..12),
        cut in any::<prop::sample::Index>(),
    ) {
        let card = Scorecard {
            entries: entries
                .into_iter()
                .map(|(pair, (hash, verdict))| (pair, ScorecardEntry { content_hash: ContentHash::from_stored(hash), verdict }))
                .collect(),
        };
        let text = card.render();
        let mut end = cut.index(text.len() + 1);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        // What parses is the whole scorecard, or (cut before its first graded entry) one with
        // no pass rate at all, which the baseline's pair count then exposes.
        if let Ok(read) = Scorecard::parse(&text[..end]) {
            prop_assert!(read == card || read.pass_counts().is_empty(), "cut at {end} reads smaller:\n{}", &text[..end]);
        }
    }

    #[test]
    fn arbitrary_text_never_panics_the_scorecard_parser(text in "[ -~\n\"#/]{0,200}") {
        let _ = Scorecard::parse(&text);
    }

    #[test]
    fn arbitrary_lines_never_panic_the_dataset_loader(lines in prop::collection::vec(
        prop_oneof![json_value().prop_map(|v| v.to_string()), "[ -~]{0,30}"], 0..8
    )) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.jsonl");
        std::fs::write(&path, lines.join("\n")).unwrap();
        let _ = Suite::<Value, Value>::from_jsonl(&path);
    }

    #[test]
    fn content_hashes_ignore_key_order(value in json_value()) {
        // Re-parsing through a sorted map reorders every object's keys.
        let reordered: Value = serde_json::from_str(&serde_json::to_string(&value).unwrap()).unwrap();
        let sorted = sort_keys(&value);
        prop_assert_eq!(ContentHash::of(&value, &Value::Null), ContentHash::of(&reordered, &Value::Null));
        prop_assert_eq!(ContentHash::of(&value, &Value::Null), ContentHash::of(&sorted, &Value::Null));
    }
}

fn sort_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| b.0.cmp(a.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k.clone(), sort_keys(v))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

proptest! {
    #![proptest_config(config(100))]

    #[test]
    fn arbitrary_recording_files_never_panic_a_replay(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..200),
            json_value().prop_map(|v| v.to_string().into_bytes()),
        ]
    ) {
        use eval_engine::{CassetteMode, Cassettes};
        use eval_engine::cassette::CassetteError;
        let dir = tempfile::tempdir().unwrap();
        let cassettes = Cassettes::new(dir.path(), CassetteMode::Strict);
        let request = json!({"prompt": "hello"});
        let path = cassettes.path("model", &request).unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &bytes).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let replayed: Result<String, CassetteError> = runtime.block_on(cassettes.replay("model", &request, || async {
            Ok::<String, CassetteError>("never called in strict mode".to_owned())
        }));
        match replayed {
            // A recorded failure reads as its own text did live; the error still knows its file.
            Err(CassetteError::Recorded { path: recorded_in, .. }) => prop_assert_eq!(recorded_in, path),
            // Whatever else is wrong is said about this file.
            Err(e) => prop_assert!(e.to_string().contains(&path.display().to_string()), "{}", e),
            Ok(_) => {}
        }
    }
}

proptest! {
    #![proptest_config(config(64))]

    /// Re-grading a run (saved and loaded back) with the scorers that graded it gives the same
    /// feedback, outputs and traces: a regrade changes nothing but what the scorers changed.
    #[test]
    fn replaying_a_run_with_its_own_scorers_gives_the_same_feedback(
        answers in prop::collection::vec((prop::option::of(json_value()), 0usize..3), 1..8),
    ) {
        use eval_engine::{Ctx, RunOptions, ScoreInput, Scorer, Scorers, Task, decode_output, regrade, run, scorer_fn};
        use std::sync::Arc;

        let lines = (0..answers.len())
            .map(|i| json!({"task_id": format!("t{i}"), "inputs": {"input": format!("q{i}")}}))
            .collect();
        let suite: Suite = Suite::from_values("props", lines).unwrap();
        let answers = Arc::new(answers);
        let agent = {
            let answers = answers.clone();
            move |task: Arc<Task>, ctx: Ctx| {
                let (answer, tool_calls) = answers[task.id()[1..].parse::<usize>().unwrap()].clone();
                async move {
                    for n in 0..tool_calls {
                        ctx.tool_call("lookup", json!({ "n": n }));
                    }
                    answer.ok_or_else(|| "no answer".to_owned())
                }
            }
        };
        type Input<'a> = ScoreInput<'a, Value, Value, Value>;
        let scorers = || -> Scorers<Value, Value, Value> {
            let answered: Arc<dyn Scorer<Value, Value, Value>> =
                Arc::new(scorer_fn(ScorerSpec::new("answered"), |s: &Input| s.outputs.is_some_and(|o| !o.is_null())));
            let size: Arc<dyn Scorer<Value, Value, Value>> =
                Arc::new(scorer_fn(ScorerSpec::new("size"), |s: &Input| s.outputs.map(|o| o.to_string().len())));
            let tools: Arc<dyn Scorer<Value, Value, Value>> = Arc::new(scorer_fn(
                ScorerSpec::new("tools").with_threshold(Threshold::at_most(1.0)),
                |s: &Input| s.trace.tool_calls().count() as f64,
            ));
            vec![answered, size, tools]
        };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let first = runtime.block_on(run(&suite, agent, scorers(), RunOptions::default()));
        let stored = from_json(&to_json(&first).unwrap(), Path::new("run.json")).unwrap();
        let regraded = runtime.block_on(regrade(&suite, stored, decode_output, scorers(), RunOptions::default()));

        prop_assert_eq!(regraded.tasks().len(), first.tasks().len());
        for (a, b) in first.tasks().iter().zip(regraded.tasks()) {
            prop_assert_eq!(&a.task_id, &b.task_id);
            prop_assert_eq!(&a.feedback, &b.feedback);
            prop_assert_eq!(&a.outputs, &b.outputs);
            prop_assert_eq!(&a.trace, &b.trace);
        }
    }
}
