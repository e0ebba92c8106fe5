//! A run with `RunOptions::spans` opens `eval_run` → `eval_attempt` → `eval_task` and one
//! `eval_scorer` per scorer with its verdict, seen by a layer installed beside the capture
//! (what an exporter of spans is); without it, none of these spans is opened.

use eval_engine::{Ctx, Feedback, RunOptions, ScoreInput, ScorerSpec, Scorers, Suite, Task, capture, run, scorer_fn};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// Every span opened: its name, its parent's name, its fields as recorded.
#[derive(Debug, Clone)]
struct Seen {
    name: &'static str,
    parent: Option<&'static str>,
    fields: HashMap<String, String>,
}

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<HashMap<u64, Seen>>>);

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(
            field.name().to_owned(),
            format!("{value:?}").trim_matches('"').to_owned(),
        );
    }
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Recorder {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let parent = ctx.span(id).and_then(|span| span.parent()).map(|p| p.name());
        let mut fields = HashMap::new();
        attrs.record(&mut Fields(&mut fields));
        let seen = Seen {
            name: attrs.metadata().name(),
            parent,
            fields,
        };
        self.0.lock().unwrap().insert(id.into_u64(), seen);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        if let Some(seen) = self.0.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut Fields(&mut seen.fields));
        }
    }
}

#[test]
fn a_run_with_spans_is_one_tree_and_each_scorer_says_its_verdict() {
    let recorder = Recorder::default();
    assert!(capture::install_default_with(Box::new(recorder.clone())));

    let lines = ["paris", "rome"].map(|city| json!({ "task_id": city, "inputs": { "city": city } }));
    let suite: Suite = Suite::from_values("weather", lines.to_vec()).unwrap();
    let agent = |task: Arc<Task>, _ctx: Ctx| async move { Ok::<_, String>(task.inputs()["city"].clone()) };
    let scorers = || -> Scorers<serde_json::Value, serde_json::Value, serde_json::Value> {
        vec![Arc::new(scorer_fn(
            ScorerSpec::new("is_paris"),
            |input: &ScoreInput<'_, serde_json::Value, serde_json::Value, serde_json::Value>| {
                Feedback::pass_fail("is_paris", input.outputs == Some(&json!("paris")))
            },
        ))]
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    runtime.block_on(run(&suite, agent, scorers(), RunOptions::default()));
    assert!(
        recorder.0.lock().unwrap().values().all(|s| s.name == "eval_task"),
        "without spans only the agent's span opens: {:?}",
        recorder.0.lock().unwrap()
    );
    recorder.0.lock().unwrap().clear();

    let result = runtime.block_on(run(&suite, agent, scorers(), RunOptions::default().spans(true)));
    let seen: Vec<Seen> = recorder.0.lock().unwrap().values().cloned().collect();
    let named = |name: &str| -> Vec<&Seen> { seen.iter().filter(|s| s.name == name).collect() };
    let runs = named("eval_run");
    assert_eq!(runs.len(), 1, "{seen:?}");
    assert_eq!(runs[0].fields["suite"], "weather");
    assert_eq!(runs[0].fields["run_id"], result.meta.run_id);
    let attempts = named("eval_attempt");
    assert_eq!(attempts.len(), 2, "{seen:?}");
    assert!(attempts.iter().all(|a| a.parent == Some("eval_run")), "{seen:?}");
    let tasks = named("eval_task");
    assert_eq!(tasks.len(), 2, "{seen:?}");
    assert!(tasks.iter().all(|t| t.parent == Some("eval_attempt")), "{seen:?}");
    let mut verdicts: Vec<(String, String)> = named("eval_scorer")
        .iter()
        .inspect(|s| assert_eq!(s.parent, Some("eval_attempt"), "{seen:?}"))
        .map(|s| (s.fields["task_id"].clone(), s.fields["verdict"].clone()))
        .collect();
    verdicts.sort();
    assert_eq!(
        verdicts,
        [
            ("paris".to_owned(), "pass".to_owned()),
            ("rome".to_owned(), "fail".to_owned())
        ]
    );
}
