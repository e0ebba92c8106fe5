use eval_harness::prelude::*;

#[scorer]
fn called_tool(trace: &Trace) -> bool {
    trace.tool_calls().count() > 0
}

fn tasks() -> Vec<Value> {
    Vec::new()
}

#[eval_suite(tasks = tasks, scorers = [called_tool], scorer_timeout = "a while")]
async fn not_a_duration(task: &Task, _ctx: &Ctx) -> Result<String, String> {
    Ok(task.input().to_owned())
}

#[eval_suite(tasks = tasks, scorers = [called_tool], scorer_timeout = "0ms")]
async fn zero(task: &Task, _ctx: &Ctx) -> Result<String, String> {
    Ok(task.input().to_owned())
}

#[eval_suite(tasks = tasks, scorers = [called_tool], scorer_timeout = -5)]
async fn negative(task: &Task, _ctx: &Ctx) -> Result<String, String> {
    Ok(task.input().to_owned())
}

#[eval_suite(tasks = tasks, scorers = [called_tool], scorer_timeout = true, scorer_timeout = "1s")]
async fn ill_typed_and_twice(task: &Task, _ctx: &Ctx) -> Result<String, String> {
    Ok(task.input().to_owned())
}

fn main() {}
