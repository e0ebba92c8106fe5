use eval_harness::prelude::*;

#[scorer]
fn called_tool(trace: &Trace) -> bool {
    trace.tool_calls().count() > 0
}

fn tasks() -> Vec<Value> {
    Vec::new()
}

#[eval_suite(tasks = tasks, scorers = [called_tool])]
async fn answers_without_result(task: &Task) -> String {
    task.input().to_owned()
}

fn main() {}
