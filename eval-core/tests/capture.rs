//! The capture layer end to end: agents run by `eval_engine::run` emit GenAI spans through
//! `tracing`, and each task's trace holds exactly what its own agent emitted, counted once.

use eval_engine::trace::{Event, TokenUsage};
use eval_engine::{Ctx, RunOptions, RunResult, Suite, Task, TaskRecord, Trace, capture, run};
use serde_json::{Value, json};
use std::future::Future;
use std::sync::{Arc, Once};
use std::time::Duration;
use tracing::field::Empty;
use tracing::{Instrument, Level, info_span};
use tracing_subscriber::prelude::*;

/// One global subscriber for the whole test binary: the runtime's worker threads must see it.
fn install_capture() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::registry().with(capture::layer().with_log_events(Level::WARN));
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber in this binary");
    });
}

/// Runs `tasks` tasks (inputs `"0"`, `"1"`, …) through `agent`, all at once, on four worker threads.
fn run_tasks<A, F>(tasks: usize, agent: A) -> RunResult
where
    A: Fn(usize, Ctx) -> F + Send + Sync + 'static,
    F: Future<Output = Result<String, String>> + Send + 'static,
{
    install_capture();
    let lines = (0..tasks)
        .map(|i| json!({"task_id": format!("t{i}"), "inputs": {"input": i.to_string()}}))
        .collect();
    let suite: Suite = Suite::from_values("capture", lines).unwrap();
    let agent = move |task: Arc<Task>, ctx: Ctx| agent(task.input().parse().unwrap(), ctx);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(&suite, agent, Vec::new(), RunOptions::default().concurrency(tasks)))
}

fn trace_of(run: &RunResult, task_id: &str) -> Trace {
    let task: &TaskRecord = run.task(task_id).unwrap();
    assert!(task.trace.succeeded(), "{:?}", task.trace.exception);
    task.trace.clone()
}

fn usage(input: u64, output: u64) -> TokenUsage {
    TokenUsage {
        input,
        output,
        ..TokenUsage::default()
    }
}

/// A pause of a few milliseconds that differs from task to task, so that tasks interleave.
async fn pause(i: usize) {
    tokio::time::sleep(Duration::from_millis((i as u64 * 7919) % 13)).await;
}

/// A `chat` span as rig declares it: every field empty, recorded as the call goes.
fn chat_span() -> tracing::Span {
    info_span!(
        "chat",
        gen_ai.operation.name = "chat",
        gen_ai.request.model = Empty,
        gen_ai.response.model = Empty,
        gen_ai.usage.input_tokens = Empty,
        gen_ai.usage.output_tokens = Empty,
        gen_ai.output.messages = Empty,
    )
}

fn execute_tool_span() -> tracing::Span {
    info_span!(
        "execute_tool",
        gen_ai.operation.name = "execute_tool",
        gen_ai.tool.name = Empty,
        gen_ai.tool.call.id = Empty,
        gen_ai.tool.call.arguments = Empty,
        gen_ai.tool.call.result = Empty,
        gen_ai.tool.call.outcome = Empty,
        gen_ai.tool.error.type = Empty,
    )
}

fn tool_call_message(id: &str, name: &str, arguments: Value) -> String {
    json!([{"role": "assistant", "finish_reason": "tool_call",
            "parts": [{"type": "tool_call", "id": id, "name": name, "arguments": arguments}]}])
    .to_string()
}

/// One model call asking for a tool, then that tool running, as a rig agent emits them.
async fn model_then_tool(i: usize, tool: &str, id: &str, arguments: Value) {
    let chat = chat_span();
    pause(i).instrument(chat.clone()).await;
    chat.record("gen_ai.response.model", "mock-model");
    chat.record("gen_ai.output.messages", tool_call_message(id, tool, arguments.clone()));
    chat.record("gen_ai.usage.input_tokens", i as u64 + 1);
    chat.record("gen_ai.usage.output_tokens", 2 * (i as u64 + 1));
    drop(chat);

    let execute = execute_tool_span();
    execute.record("gen_ai.tool.name", tool);
    execute.record("gen_ai.tool.call.id", id);
    execute.record("gen_ai.tool.call.arguments", arguments.to_string());
    pause(i + 1).instrument(execute.clone()).await;
    execute.record("gen_ai.tool.call.result", json!({"from": tool}).to_string());
    execute.record("gen_ai.tool.call.outcome", "success");
}

#[test]
fn concurrent_tasks_never_see_each_others_events() {
    let run = run_tasks(64, |i, _ctx| async move {
        model_then_tool(i, &format!("tool_{i}"), &format!("call_{i}"), json!({"n": i})).await;
        Ok(format!("done {i}"))
    });
    for i in 0..64 {
        let trace = trace_of(&run, &format!("t{i}"));
        let calls: Vec<_> = trace.tool_calls().collect();
        assert_eq!(calls.len(), 1, "task {i}: {:?}", trace.events);
        assert_eq!(calls[0].name, format!("tool_{i}"));
        assert_eq!(calls[0].id.as_deref(), Some(format!("call_{i}").as_str()));
        assert_eq!(calls[0].arguments, json!({"n": i}));
        let results: Vec<_> = trace.tool_results().collect();
        assert_eq!(results.len(), 1, "task {i}");
        assert_eq!(results[0].result, json!({"from": format!("tool_{i}")}));
        assert_eq!(trace.tokens, usage(i as u64 + 1, 2 * (i as u64 + 1)), "task {i}");
        assert_eq!(trace.model_responses().count(), 1);
    }
}

#[test]
fn usage_recorded_after_the_span_opens_counts() {
    let run = run_tasks(1, |_, _ctx| async move {
        let chat = info_span!(
            "llm_call",
            gen_ai.operation.name = Empty,
            gen_ai.usage.input_tokens = Empty,
            gen_ai.usage.output_tokens = Empty,
            gen_ai.usage.cache_read.input_tokens = Empty,
            gen_ai.usage.cache_creation.input_tokens = Empty,
        );
        tokio::task::yield_now().instrument(chat.clone()).await;
        chat.record("gen_ai.operation.name", "text_completion");
        chat.record("gen_ai.usage.input_tokens", 30_u64);
        chat.record("gen_ai.usage.output_tokens", 7_i64);
        chat.record("gen_ai.usage.cache_read.input_tokens", 20_u64);
        chat.record("gen_ai.usage.cache_creation.input_tokens", "4");
        Ok(String::new())
    });
    let trace = trace_of(&run, "t0");
    let expected = TokenUsage {
        input: 30,
        output: 7,
        cache_read: 20,
        cache_creation: 4,
    };
    assert_eq!(trace.tokens, expected);
    assert_eq!(trace.model_responses().count(), 1, "text_completion is a model call");
}

#[test]
fn agent_level_totals_are_not_added_to_the_calls() {
    let run = run_tasks(2, |i, _ctx| async move {
        let agent = info_span!(
            "invoke_agent",
            gen_ai.operation.name = "invoke_agent",
            gen_ai.usage.input_tokens = Empty,
            gen_ai.usage.output_tokens = Empty,
        );
        let calls = async {
            for (input, output) in [(40_u64, 20_u64), (60, 30)] {
                let chat = chat_span();
                chat.record("gen_ai.usage.input_tokens", input);
                chat.record("gen_ai.usage.output_tokens", output);
            }
        };
        if i == 0 {
            calls.instrument(agent.clone()).await;
        } else {
            // A span of the user's that totals its calls is an aggregate too.
            let total = info_span!("my_agent", gen_ai.usage.input_tokens = Empty);
            calls.instrument(total.clone()).await;
            total.record("gen_ai.usage.input_tokens", 100_u64);
        }
        agent.record("gen_ai.usage.input_tokens", 100_u64);
        agent.record("gen_ai.usage.output_tokens", 50_u64);
        Ok(String::new())
    });
    assert_eq!(trace_of(&run, "t0").tokens, usage(100, 50));
    assert_eq!(trace_of(&run, "t1").tokens, usage(100, 50));
    assert_eq!(
        trace_of(&run, "t0")
            .events
            .iter()
            .filter(|e| e.as_usage().is_some())
            .count(),
        2
    );
}

#[test]
fn a_call_in_output_messages_and_its_execute_tool_span_count_once() {
    let run = run_tasks(3, |i, _ctx| async move {
        match i {
            // The model's message first, then the tool: rig's order.
            0 => model_then_tool(i, "get_weather", "c1", json!({"city": "Paris"})).await,
            // The tool's span closes first: the model call is still open around it.
            1 => {
                let chat = chat_span();
                async {
                    let execute = execute_tool_span();
                    execute.record("gen_ai.tool.name", "get_weather");
                    execute.record("gen_ai.tool.call.id", "c1");
                    execute.record("gen_ai.tool.call.result", "18");
                }
                .instrument(chat.clone())
                .await;
                chat.record(
                    "gen_ai.output.messages",
                    tool_call_message("c1", "get_weather", json!({})),
                );
            }
            // Only the model's message, no span for the tool: the call still counts.
            _ => {
                let chat = chat_span();
                chat.record(
                    "gen_ai.output.messages",
                    tool_call_message("c1", "get_weather", json!({})),
                );
            }
        }
        Ok(String::new())
    });
    for (task, results) in [("t0", 1), ("t1", 1), ("t2", 0)] {
        let trace = trace_of(&run, task);
        assert_eq!(trace.tool_calls().count(), 1, "{task}: {:?}", trace.events);
        assert_eq!(trace.tool_results().count(), results, "{task}");
    }
}

#[test]
fn a_spawned_future_carrying_the_span_is_attributed_and_a_bare_one_is_not() {
    let run = run_tasks(4, |i, _ctx| async move {
        let carried = tokio::spawn(
            async move {
                pause(i).await;
                let chat = chat_span();
                chat.record("gen_ai.usage.input_tokens", 10_u64);
            }
            .in_current_span(),
        );
        let bare = tokio::spawn(async move {
            let chat = chat_span();
            chat.record("gen_ai.usage.input_tokens", 1000_u64);
        });
        carried.await.unwrap();
        bare.await.unwrap();
        Ok(String::new())
    });
    for i in 0..4 {
        assert_eq!(trace_of(&run, &format!("t{i}")).tokens, usage(10, 0));
    }
}

#[test]
fn spans_outside_any_task_are_ignored() {
    install_capture();
    // Before any run, and a span opened outside but closed inside a task.
    let outside = chat_span();
    outside.record("gen_ai.usage.input_tokens", 500_u64);
    drop(info_span!("execute_tool", gen_ai.tool.name = "stray"));
    let leftover = Arc::new(std::sync::Mutex::new(Some(outside)));
    let run = run_tasks(1, move |_, _ctx| {
        let leftover = leftover.clone();
        async move {
            drop(leftover.lock().unwrap().take());
            Ok(String::new())
        }
    });
    let trace = trace_of(&run, "t0");
    assert!(trace.events.is_empty(), "{:?}", trace.events);
}

#[test]
fn what_the_agent_records_itself_is_not_captured_again() {
    let run = run_tasks(1, |_, ctx| async move {
        // A tool call the agent records with its id, then the framework's span for it.
        ctx.tool_call_with_id("c7", "lookup", json!({"q": "x"}));
        ctx.tool_result("lookup", json!("X"));
        let execute = execute_tool_span();
        execute.record("gen_ai.tool.name", "lookup");
        execute.record("gen_ai.tool.call.id", "c7");
        execute.record("gen_ai.tool.call.result", "X");
        drop(execute);

        // A model call the agent accounts for itself, under the skip marker.
        ctx.usage(10, 5);
        let own = info_span!("recorded_by_the_agent", eval.skip_capture = true);
        async {
            let chat = chat_span();
            chat.record("gen_ai.usage.input_tokens", 10_u64);
            chat.record("gen_ai.usage.output_tokens", 5_u64);
        }
        .instrument(own)
        .await;
        Ok(String::new())
    });
    let trace = trace_of(&run, "t0");
    assert_eq!(trace.tool_calls().count(), 1, "{:?}", trace.events);
    assert_eq!(trace.tool_results().count(), 1);
    assert_eq!(trace.tokens, usage(10, 5));
    assert_eq!(trace.model_responses().count(), 0);
}

#[test]
fn a_failed_tool_is_a_tool_error() {
    let run = run_tasks(1, |_, _ctx| async move {
        let execute = execute_tool_span();
        execute.record("gen_ai.tool.name", "get_weather");
        execute.record("gen_ai.tool.call.id", "c1");
        execute.record("gen_ai.tool.call.arguments", r#"{"city": "Atlantis"}"#);
        execute.record("gen_ai.tool.call.result", "unknown city");
        execute.record("gen_ai.tool.call.outcome", "error");
        Ok(String::new())
    });
    let trace = trace_of(&run, "t0");
    let errors: Vec<_> = trace.tool_errors().collect();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].message, "unknown city");
    assert_eq!(
        trace.tool_calls().next().unwrap().arguments,
        json!({"city": "Atlantis"})
    );
    assert_eq!(trace.tool_results().count(), 0);
}

#[test]
fn log_events_at_the_chosen_level_are_custom_events() {
    let run = run_tasks(1, |_, _ctx| async move {
        tracing::info!("not recorded: below the chosen level");
        tracing::warn!(city = "Paris", "rate limited");
        Ok(String::new())
    });
    let trace = trace_of(&run, "t0");
    let logs: Vec<_> = trace
        .events
        .iter()
        .filter_map(|event| match event {
            Event::Custom(custom) if custom.name == "log" => Some(&custom.data),
            _ => None,
        })
        .collect();
    assert_eq!(logs.len(), 1, "{:?}", trace.events);
    assert_eq!(logs[0]["level"], "WARN");
    assert_eq!(logs[0]["message"], "rate limited");
    assert_eq!(logs[0]["city"], "Paris");
}

/// Emits one `chat` span with usage, as a judge built on a traced client does, and passes.
struct TracedJudge {
    spec: eval_engine::ScorerSpec,
}

impl eval_engine::Scorer<Value, Value, String> for TracedJudge {
    fn spec(&self) -> &eval_engine::ScorerSpec {
        &self.spec
    }

    fn score<'a>(
        &'a self,
        _input: &'a eval_engine::ScoreInput<'a, Value, Value, String>,
    ) -> eval_engine::ScoreFuture<'a> {
        Box::pin(async move {
            let chat = chat_span();
            tokio::task::yield_now().instrument(chat.clone()).await;
            chat.record("gen_ai.request.model", "judge-1");
            chat.record("gen_ai.usage.input_tokens", 300_u64);
            chat.record("gen_ai.usage.output_tokens", 9_u64);
            drop(chat);
            vec![eval_engine::Feedback::pass_fail(&self.spec.key, true)]
        })
    }

    fn uses_ctx(&self) -> bool {
        true
    }
}

#[test]
fn what_a_judge_emits_is_the_judges_not_the_agents() {
    install_capture();
    let lines = (0..3)
        .map(|i| json!({"task_id": format!("t{i}"), "inputs": {"input": i.to_string()}}))
        .collect();
    let suite: Suite = Suite::from_values("judged", lines).unwrap();
    let agent = |_task: Arc<Task>, _ctx: Ctx| async move {
        let chat = chat_span();
        chat.record("gen_ai.usage.input_tokens", 10_u64);
        chat.record("gen_ai.usage.output_tokens", 2_u64);
        drop(chat);
        Ok::<_, String>("answer".to_owned())
    };
    let judge = TracedJudge {
        spec: eval_engine::ScorerSpec::new("judged"),
    };
    let scorers: eval_engine::Scorers<Value, Value, String> = vec![Arc::new(judge)];
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let run = runtime.block_on(run(&suite, agent, scorers, RunOptions::default().concurrency(3)));
    for task in run.tasks() {
        assert_eq!(
            task.trace.tokens,
            usage(10, 2),
            "the agent's trace holds only the agent's call"
        );
        assert_eq!(task.scorer_traces.len(), 1);
        let judge = &task.scorer_traces[0];
        assert_eq!(judge.scorer, "judged");
        assert_eq!(judge.trace.tokens, usage(300, 9));
        assert_eq!(judge.trace.model_responses().count(), 1);
    }
}
