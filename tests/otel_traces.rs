//! Traces written by the real OpenTelemetry Python SDK (its in-memory exporter and its own
//! OTLP encoder, as OTLP/HTTP JSON) graded by our scorers without running any agent: the
//! tokens, tool calls and answers we read must be what the spans say, and the verdicts follow.
//!
//! A plain `main` (harness = false) so that a skip is printed: outside CI, a machine without
//! Python or PyPI skips with a note; with `CI` set the check must run. The SDK comes from
//! `OTEL_PYTHON` (a Python with the packages below), else from a virtual environment this test
//! makes once under cargo's target directory.

use eval_engine::otlp::{TaskKey, import_traces, read_spans, stored_run};
use eval_engine::scorers::{Matcher, final_answer_matches, no_tool_errors, token_budget, tool_called};
use eval_engine::{RunOptions, Scorer, Suite, Verdict, decode_output, regrade};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, ExitCode};
use std::sync::Arc;

#[path = "support/venv.rs"]
mod venv;

const OTEL_VERSION: &str = "1.45.2";

fn main() -> ExitCode {
    let packages = [
        format!("opentelemetry-sdk=={OTEL_VERSION}"),
        format!("opentelemetry-exporter-otlp-proto-common=={OTEL_VERSION}"),
    ];
    let packages: Vec<&str> = packages.iter().map(String::as_str).collect();
    let check = format!(
        "import opentelemetry.sdk.version as v, opentelemetry.exporter.otlp.proto.common.trace_encoder; \
         assert v.__version__ == '{OTEL_VERSION}', v.__version__"
    );
    let need = venv::PythonNeed {
        variable: "OTEL_PYTHON",
        venv: &format!("otel-{OTEL_VERSION}-venv"),
        packages: &packages,
        check: &check,
    };
    let python = match venv::find_python(&need, Path::new(env!("CARGO_TARGET_TMPDIR"))) {
        Ok(python) => python,
        Err(why) if venv::in_ci() => {
            eprintln!("otel_traces: FAILED: the OpenTelemetry Python SDK {OTEL_VERSION} is required in CI: {why}");
            return ExitCode::FAILURE;
        }
        Err(why) => {
            println!("\notel_traces: skipped (the OpenTelemetry Python SDK {OTEL_VERSION} is not available: {why})\n");
            return ExitCode::SUCCESS;
        }
    };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    match runtime.block_on(check_traces(&python)) {
        Ok(()) => {
            println!("\notel_traces: spans written by the OpenTelemetry Python SDK graded as they say: ok\n");
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("otel_traces: FAILED: {why}");
            ExitCode::FAILURE
        }
    }
}

async fn check_traces(python: &Path) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let file = dir.path().join("traces.json");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/otel_writes_traces.py");
    let out = Command::new(python)
        .arg(&script)
        .arg(&file)
        .output()
        .map_err(|e| format!("cannot start {}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(format!(
            "the SDK's script failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let expected: Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("the script's report: {e}"))?;

    let spans = read_spans(&file).map_err(|e| e.to_string())?;
    let imported = import_traces(spans, &TaskKey::default());
    if !imported.skipped.is_empty() {
        return Err(format!("spans left out: {:?}", imported.skipped));
    }
    for task in &imported.tasks {
        let said = &expected[&task.task_id];
        let trace = &task.trace;
        let calls: Vec<Value> = trace
            .tool_calls()
            .map(|c| json!({"name": c.name, "arguments": c.arguments}))
            .collect();
        let ours = json!({
            "input_tokens": trace.tokens.input,
            "output_tokens": trace.tokens.output,
            "tool_calls": calls,
            "answer": trace.final_response(),
            "failed": trace.exception.is_some(),
        });
        if &ours != said {
            return Err(format!("task {}: the spans say {said}, we read {ours}", task.task_id));
        }
    }
    let mut ids: Vec<&str> = imported.tasks.iter().map(|t| t.task_id.as_str()).collect();
    ids.sort_unstable();
    if ids != ["oslo", "paris", "rome"] {
        return Err(format!("tasks {ids:?}"));
    }

    let suite: Suite = Suite::from_values(
        "weather",
        ["Paris", "Rome", "Oslo"]
            .iter()
            .map(|city| {
                json!({"task_id": city.to_lowercase(), "inputs": {"input": format!("Weather in {city}?")},
                       "reference_outputs": {"city": city}})
            })
            .collect(),
    )
    .map_err(|e| e.to_string())?;
    let scorers: Vec<Arc<dyn Scorer<Value, Value, Value>>> = vec![
        Arc::new(tool_called("get_weather")),
        Arc::new(no_tool_errors()),
        Arc::new(final_answer_matches("city", Matcher::Contains)),
        Arc::new(token_budget(45)),
    ];
    let stored = stored_run(&suite, imported.tasks, "otel-python");
    let graded = regrade(&suite, stored, decode_output::<Value>, scorers, RunOptions::default()).await;
    let verdict = |task: &str, key: &str| graded.task(task).and_then(|t| t.feedback_for(key)).map(|f| f.verdict());
    let expected_verdicts = [
        ("paris", "tool_called[get_weather]", Verdict::Pass),
        ("paris", "no_tool_errors", Verdict::Pass),
        ("paris", "final_answer_matches", Verdict::Pass),
        ("paris", "token_budget", Verdict::Pass),
        ("rome", "final_answer_matches", Verdict::Fail),
        ("rome", "token_budget", Verdict::Fail),
        ("oslo", "no_tool_errors", Verdict::Fail),
        ("oslo", "tool_called[get_weather]", Verdict::Pass),
    ];
    for (task, key, wanted) in expected_verdicts {
        if verdict(task, key) != Some(wanted) {
            return Err(format!("{task} · {key}: {:?}, expected {wanted:?}", verdict(task, key)));
        }
    }
    Ok(())
}
