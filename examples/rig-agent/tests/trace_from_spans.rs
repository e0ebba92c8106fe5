//! The rig agent's traces come from rig's own spans: run the agent of the eval suite through
//! `eval_engine::run` under the subscriber the harness installs, then check the tokens and tool
//! calls of every task, in memory and in the saved run JSON.

use eval_engine::store::save_run;
use eval_engine::trace::TokenUsage;
use eval_engine::{Ctx, RunOptions, RunResult, Suite, Task, Trace, capture, load_run};
use rig_agent_example::{ANSWER_TURN_TOKENS, DIRECT_TURN_TOKENS, TOOL_TURN_TOKENS, ask};
use serde_json::json;
use std::sync::Arc;

/// Runs of the suite (five tasks each, on a multi-thread runtime). With a per-layer filter on
/// the capture layer, rig's `execute_tool` span went missing about once in a thousand tasks;
/// this many rounds catch that kind of loss most of the time, in a few seconds.
const ROUNDS: usize = 400;

fn run_the_suite(runtime: &tokio::runtime::Runtime) -> RunResult {
    let dataset = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/weather.jsonl");
    let suite: Suite = Suite::from_jsonl(dataset).unwrap();
    // The agent records nothing through `ctx`.
    let agent = |task: Arc<Task>, _ctx: Ctx| async move { ask(task.input()).await };
    runtime.block_on(eval_engine::run(
        &suite,
        agent,
        Vec::new(),
        RunOptions::default().concurrency(5),
    ))
}

fn tokens((input, output): (u64, u64)) -> TokenUsage {
    TokenUsage {
        input,
        output,
        ..TokenUsage::default()
    }
}

/// What the scripted model reported for a task, once per model call.
fn scripted_tokens(task_id: &str) -> TokenUsage {
    match task_id {
        "greeting" => tokens(DIRECT_TURN_TOKENS),
        _ => tokens(TOOL_TURN_TOKENS) + tokens(ANSWER_TURN_TOKENS),
    }
}

fn check(run: &RunResult, what: &str) {
    assert_eq!(run.tasks().len(), 5);
    for task in run.tasks() {
        let trace: &Trace = &task.trace;
        let id = task.task_id.as_str();
        assert!(trace.succeeded(), "{what} {id}: {:?}", trace.exception);
        assert_eq!(trace.tokens, scripted_tokens(id), "{what} {id}: {:?}", trace.events);

        let calls: Vec<_> = trace.tool_calls().collect();
        match task.reference_outputs["city"].as_str() {
            Some(city) => {
                assert_eq!(calls.len(), 1, "{what} {id}: {:?}", trace.events);
                assert_eq!(calls[0].name, "get_weather");
                assert_eq!(calls[0].arguments, json!({ "city": city }));
                assert_eq!(calls[0].id.as_deref(), Some(format!("call_{id}").as_str()));
            }
            None => assert!(calls.is_empty(), "{what} {id}"),
        }
        assert_eq!(trace.final_response(), task.outputs.as_str(), "{what} {id}");
    }

    let paris = &run.task("paris").unwrap().trace;
    let result = paris.tool_results().next().unwrap();
    assert_eq!(
        result.result,
        json!({"city": "Paris", "temp_c": 18, "conditions": "cloudy"})
    );
    assert_eq!(paris.model_responses().count(), 2);
    assert_eq!(
        paris.model_responses().next().unwrap().model.as_deref(),
        Some("mock-model")
    );

    let atlantis = &run.task("atlantis").unwrap().trace;
    assert_eq!(atlantis.tool_errors().count(), 1, "{what}: {:?}", atlantis.events);
    assert_eq!(atlantis.tool_results().count(), 0);

    let total = run.aggregates().tokens;
    assert_eq!(total.input, 4 * 470 + 120, "{what}: not doubled");
    assert_eq!(total.output, 4 * 42 + 15, "{what}: not doubled");
}

#[test]
fn tokens_and_tool_calls_come_from_rigs_spans() {
    // What the harness does before it starts its runtime.
    assert!(capture::install_default());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut run = run_the_suite(&runtime);
    for round in 0..ROUNDS {
        check(&run, &format!("round {round}"));
        run = run_the_suite(&runtime);
    }

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.json");
    save_run(&run, &path).unwrap();
    let loaded = load_run(&path).unwrap();
    check(&loaded, "from the run JSON");
}
