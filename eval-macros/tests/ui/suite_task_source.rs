use eval_harness::prelude::*;

#[scorer]
fn called_tool(trace: &Trace) -> bool {
    trace.tool_calls().count() > 0
}

fn tasks() -> Vec<Value> {
    Vec::new()
}

#[eval_suite(dataset = "tests/data/weather.jsonl", tasks = tasks, scorers = [called_tool])]
async fn both(task: &Task, _ctx: &Ctx) -> Result<String, String> {
    Ok(task.input().to_owned())
}

#[eval_suite(scorers = [called_tool])]
async fn neither(task: &Task, _ctx: &Ctx) -> Result<String, String> {
    Ok(task.input().to_owned())
}

fn main() {}
