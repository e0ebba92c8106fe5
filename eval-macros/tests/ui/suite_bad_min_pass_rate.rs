use eval_harness::prelude::*;

#[scorer]
fn called_tool(trace: &Trace) -> bool {
    trace.tool_calls().count() > 0
}

fn tasks() -> Vec<Value> {
    Vec::new()
}

#[eval_suite(tasks = tasks, scorers = [called_tool], min_pass_rate = [called_tool = 90, called_tool = 0.5])]
async fn out_of_range(task: &Task) -> Result<String, String> {
    Ok(task.input().to_owned())
}

#[eval_suite(tasks = tasks, scorers = [called_tool], min_pass_rate = [0.9])]
async fn not_a_list_of_rates(task: &Task) -> Result<String, String> {
    Ok(task.input().to_owned())
}

fn main() {}
