use eval_harness::prelude::*;

#[scorer]
fn called_tool(trace: &Trace) -> bool {
    trace.tool_calls().count() > 0
}

fn tasks() -> Vec<Value> {
    Vec::new()
}

#[eval_suite(tasks = tasks, scorers = [called_tool], repeats = 10..=3)]
async fn backwards(task: &Task, _ctx: &Ctx) -> Result<String, String> {
    Ok(task.input().to_owned())
}

#[eval_suite(tasks = tasks, scorers = [called_tool], repeats = 0..=5)]
async fn from_zero(task: &Task, _ctx: &Ctx) -> Result<String, String> {
    Ok(task.input().to_owned())
}

#[eval_suite(tasks = tasks, scorers = [called_tool], repeats = 3..)]
async fn open_ended(task: &Task, _ctx: &Ctx) -> Result<String, String> {
    Ok(task.input().to_owned())
}

fn main() {}
