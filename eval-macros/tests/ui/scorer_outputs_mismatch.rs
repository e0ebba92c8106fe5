use eval_harness::prelude::*;
use serde::Serialize;

#[derive(Serialize)]
struct Weather {
    city: String,
}

struct Forecast {
    city: String,
}

#[scorer]
fn city_matches(outputs: &Forecast, reference_outputs: &Value) -> bool {
    reference_outputs["city"] == outputs.city.as_str()
}

#[scorer]
fn called_tool(trace: &Trace) -> bool {
    trace.tool_calls().count() > 0
}

fn tasks() -> Vec<Value> {
    vec![json!({"task_id": "paris", "inputs": {"input": "Paris"}, "reference_outputs": {"city": "Paris"}})]
}

#[eval_suite(tasks = tasks, scorers = [called_tool, city_matches])]
async fn weather(task: &Task, _ctx: &Ctx) -> Result<Weather, String> {
    Ok(Weather {
        city: task.input().to_owned(),
    })
}

fn main() {}
