//! Traces recorded elsewhere: OTLP JSON spans following the GenAI conventions, grouped per
//! task, mapped by the live capture's rules and graded by a suite's scorers without an agent.

use eval_engine::otlp::{TaskKey, import_traces, read_spans, stored_run};
use eval_engine::scorers::{Matcher, final_answer_matches, token_budget, tool_called};
use eval_engine::{RunOptions, Scorer, Suite, Verdict, decode_output, regrade};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

fn attr(key: &str, value: Value) -> Value {
    let value = match value {
        Value::String(s) => json!({"stringValue": s}),
        Value::Number(n) if n.is_u64() => json!({"intValue": n.to_string()}),
        Value::Number(n) => json!({"doubleValue": n}),
        Value::Bool(b) => json!({"boolValue": b}),
        other => json!({"stringValue": other.to_string()}),
    };
    json!({"key": key, "value": value})
}

fn span(trace: &str, id: &str, parent: &str, name: &str, (start, end): (u64, u64), attributes: Vec<Value>) -> Value {
    json!({
        "traceId": trace, "spanId": id, "parentSpanId": parent, "name": name,
        "startTimeUnixNano": (start * 1_000_000).to_string(), "endTimeUnixNano": (end * 1_000_000).to_string(),
        "attributes": attributes,
    })
}

/// An agent run as OpenTelemetry records it: `invoke_agent` (with the task id and an aggregate
/// usage) around a chat that asks for a tool, the tool's execution, and a chat that answers.
fn agent_trace(trace: &str, task: Option<&str>, city: &str, answer: &str) -> Vec<Value> {
    let mut root_attributes = vec![
        attr("gen_ai.operation.name", json!("invoke_agent")),
        // An aggregate: not the sum of its chats', so counting it would show.
        attr("gen_ai.usage.input_tokens", json!(31)),
        attr("gen_ai.usage.output_tokens", json!(13)),
    ];
    if let Some(task) = task {
        root_attributes.push(attr("eval.task_id", json!(task)));
    }
    let asks = json!([{"role": "assistant", "parts": [
        {"type": "tool_call", "id": format!("{trace}-c1"), "name": "get_weather", "arguments": {"city": city}}
    ], "finish_reason": "tool_calls"}]);
    let answers =
        json!([{"role": "assistant", "parts": [{"type": "text", "content": answer}], "finish_reason": "stop"}]);
    vec![
        span(trace, "a1", "", "invoke_agent weather", (0, 900), root_attributes),
        span(
            trace,
            "c1",
            "a1",
            "chat small",
            (10, 300),
            vec![
                attr("gen_ai.operation.name", json!("chat")),
                attr("gen_ai.request.model", json!("small")),
                attr("gen_ai.usage.input_tokens", json!(20)),
                attr("gen_ai.usage.output_tokens", json!(5)),
                attr("gen_ai.output.messages", json!(asks.to_string())),
            ],
        ),
        span(
            trace,
            "t1",
            "a1",
            "execute_tool get_weather",
            (310, 400),
            vec![
                attr("gen_ai.operation.name", json!("execute_tool")),
                attr("gen_ai.tool.name", json!("get_weather")),
                attr("gen_ai.tool.call.id", json!(format!("{trace}-c1"))),
                attr("gen_ai.tool.call.result", json!("{\"temp_c\": 18}")),
            ],
        ),
        span(
            trace,
            "c2",
            "a1",
            "chat small",
            (410, 890),
            vec![
                attr("gen_ai.operation.name", json!("chat")),
                attr("gen_ai.request.model", json!("small")),
                attr("gen_ai.usage.input_tokens", json!(10)),
                attr("gen_ai.usage.output_tokens", json!(7)),
                attr("gen_ai.output.messages", json!(answers.to_string())),
            ],
        ),
    ]
}

fn document(spans: Vec<Value>) -> Value {
    json!({"resourceSpans": [{
        "resource": {"attributes": [attr("service.name", json!("weather-agent"))]},
        "scopeSpans": [{"scope": {"name": "agent"}, "spans": spans}],
    }]})
}

#[tokio::test]
async fn exported_spans_grade_like_a_live_run() {
    let dir = tempfile::tempdir().unwrap();
    let exports = dir.path().join("exports");
    std::fs::create_dir(&exports).unwrap();
    let mut first = agent_trace("aaaa", Some("paris"), "Paris", "It is 18 degrees in Paris.");
    first.extend(agent_trace("bbbb", None, "Oslo", "Cold."));
    std::fs::write(exports.join("1.json"), document(first).to_string()).unwrap();
    // A collector's file exporter: one document per line.
    let rome = document(agent_trace("cccc", Some("rome"), "Milan", "It is 18 degrees in Milan."));
    std::fs::write(exports.join("2.jsonl"), format!("{rome}\n")).unwrap();

    let spans = read_spans(&exports).unwrap();
    assert_eq!(spans.len(), 12);
    let imported = import_traces(spans, &TaskKey::default());
    let ids: Vec<&str> = imported.tasks.iter().map(|t| t.task_id.as_str()).collect();
    assert_eq!(ids, ["paris", "rome"]);
    assert_eq!(imported.skipped.len(), 4, "every span of the trace without a task");
    assert!(
        imported.skipped[0]
            .to_string()
            .ends_with("span `invoke_agent weather` (a1): no span of trace bbbb has the attribute `eval.task_id`"),
        "{}",
        imported.skipped[0]
    );
    let paris = &imported.tasks[0].trace;
    // The chats' usage, not the agent span's aggregate, and each once.
    assert_eq!((paris.tokens.input, paris.tokens.output), (30, 12));
    assert_eq!(
        paris.tool_calls().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["get_weather"]
    );
    assert_eq!(paris.tool_calls().next().unwrap().arguments, json!({"city": "Paris"}));
    assert_eq!(paris.final_response(), Some("It is 18 degrees in Paris."));
    assert_eq!(paris.duration_ms, 900);

    let suite: Suite = Suite::from_values(
        "weather",
        vec![
            json!({"task_id": "paris", "inputs": {"input": "Weather in Paris?"}, "reference_outputs": {"city": "Paris"}}),
            json!({"task_id": "rome", "inputs": {"input": "Weather in Rome?"}, "reference_outputs": {"city": "Rome"}}),
            json!({"task_id": "oslo", "inputs": {"input": "Weather in Oslo?"}, "reference_outputs": {"city": "Oslo"}}),
        ],
    )
    .unwrap();
    let stored = stored_run(&suite, imported.tasks, "otlp-exports");
    assert_eq!(stored.tasks().len(), 2);
    let scorers: Vec<Arc<dyn Scorer<Value, Value, Value>>> = vec![
        Arc::new(tool_called("get_weather")),
        Arc::new(final_answer_matches("city", Matcher::Contains)),
        Arc::new(token_budget(40)),
    ];
    let graded = regrade(&suite, stored, decode_output::<Value>, scorers, RunOptions::default()).await;
    let verdict = |task: &str, key: &str| graded.task(task).unwrap().feedback_for(key).unwrap().verdict();
    assert_eq!(verdict("paris", "tool_called[get_weather]"), Verdict::Pass);
    assert_eq!(verdict("paris", "final_answer_matches"), Verdict::Pass);
    assert_eq!(
        verdict("rome", "final_answer_matches"),
        Verdict::Fail,
        "it answered Milan"
    );
    assert_eq!(
        verdict("paris", "token_budget"),
        Verdict::Fail,
        "42 tokens over a budget of 40"
    );
    assert_eq!(
        verdict("oslo", "tool_called[get_weather]"),
        Verdict::Ungradeable,
        "a task without a trace is not graded"
    );
    assert_eq!(graded.meta.regraded_from.as_deref(), Some("otlp-exports"));

    // A mapping file names the tasks instead; a trace id it leaves out is skipped.
    let mapping = HashMap::from([("bbbb".to_owned(), "oslo".to_owned())]);
    let first = read_spans(&exports.join("1.json")).unwrap();
    let mapped = import_traces(first, &TaskKey::Mapping(mapping));
    assert_eq!(
        mapped.tasks.iter().map(|t| t.task_id.as_str()).collect::<Vec<_>>(),
        ["oslo"]
    );
    assert!(
        mapped.skipped[0]
            .why
            .contains("the mapping names no task for trace aaaa")
    );

    // A truncated file in the directory is an error naming it.
    std::fs::write(exports.join("3.json"), r#"{"resourceSpans": [{"scopeSpans"#).unwrap();
    let error = read_spans(&exports).unwrap_err().to_string();
    assert!(error.contains("3.json") && error.contains("not OTLP JSON"), "{error}");
}
