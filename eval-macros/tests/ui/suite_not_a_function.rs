use eval_harness::prelude::*;

#[scorer]
fn called_tool(trace: &Trace) -> bool {
    trace.tool_calls().count() > 0
}

#[eval_suite(dataset = "tests/data/weather.jsonl", scorers = [called_tool])]
struct Weather;

fn main() {}
