use eval_harness::prelude::*;

#[scorer]
fn called_tool(trace: &Trace) -> bool {
    trace.tool_calls().count() > 0
}

#[eval_suite(dataset = "tests/data/missing.jsonl", scorers = [called_tool])]
async fn weather(task: &Task, _ctx: &Ctx) -> Result<String, String> {
    Ok(task.input().to_owned())
}

// trybuild compiles this case in a project of its own, `target/tests/trybuild/eval-macros`, which
// is CARGO_MANIFEST_DIR while the macro expands; the path climbs from there back to this crate
// (assuming the workspace's default target directory).
#[eval_suite(dataset = ".", scorers = [called_tool])]
async fn travel(task: &Task, _ctx: &Ctx) -> Result<String, String> {
    Ok(task.input().to_owned())
}

fn main() {}
