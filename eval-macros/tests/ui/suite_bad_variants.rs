use eval_harness::prelude::*;

#[scorer]
fn called_tool(trace: &Trace) -> bool {
    trace.tool_calls().count() > 0
}

fn tasks() -> Vec<Value> {
    Vec::new()
}

#[eval_suite(
    tasks = tasks,
    scorers = [called_tool],
    variants = [cheap = json!({}), cheap = json!({}), "gpt-4o" = 1, "gpt_4o" = 2, "two words" = 3],
)]
async fn clashing(task: &Task) -> Result<String, String> {
    Ok(task.input().to_owned())
}

#[eval_suite(tasks = tasks, scorers = [called_tool], variants = [])]
async fn empty(task: &Task) -> Result<String, String> {
    Ok(task.input().to_owned())
}

#[eval_suite(tasks = tasks, scorers = [called_tool], variants = ["cheap"])]
async fn not_named(task: &Task) -> Result<String, String> {
    Ok(task.input().to_owned())
}

struct NotJson;

#[eval_suite(tasks = tasks, scorers = [called_tool], variants = [odd = NotJson])]
async fn not_serialize(task: &Task) -> Result<String, String> {
    Ok(task.input().to_owned())
}

fn main() {}
