//! The built-in scorers: a passing and a failing case for each, their edge cases, and a whole
//! suite graded by all of them through the runner.

use eval_engine::runner::grade;
use eval_engine::scorer::Threshold;
use eval_engine::scorers::{
    Matcher, final_answer_matches, final_number_equals, final_number_matches, latency_under, no_tool_calls,
    no_tool_errors, threshold, token_budget, tool_call_count, tool_called, tool_called_with, tools_called_in_order,
};
use eval_engine::trace::{Event, Exception, TokenUsage};
use eval_engine::{
    Ctx, Feedback, RunOptions, RunResult, ScoreInput, Scorer, ScorerSpec, Scorers, Suite, Task, Trace, Verdict, run,
    scorer_fn,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;

/// Grades one task with one scorer the way a run does (threshold applied).
fn grade_one<S>(scorer: S, task: &Task, outputs: Value, trace: &Trace) -> Feedback
where
    S: Scorer<Value, Value, Value> + 'static,
{
    let scorers: Scorers<Value, Value, Value> = vec![Arc::new(scorer)];
    let typed_outputs = (!outputs.is_null()).then_some(&outputs);
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let mut feedback = runtime.block_on(grade(task, typed_outputs, &outputs, trace, &scorers));
    assert_eq!(feedback.len(), 1, "{feedback:?}");
    feedback.remove(0)
}

/// Grades a trace for a task that has no reference and an agent that returned nothing.
fn grade_trace<S: Scorer<Value, Value, Value> + 'static>(scorer: S, events: Vec<Event>) -> Feedback {
    grade_one(scorer, &task(Value::Null), Value::Null, &Trace::new(events, None, 10))
}

fn task(reference: Value) -> Task {
    Task::new("t", json!({"input": "question"}), reference)
}

fn call(name: &str, arguments: Value) -> Event {
    Event::tool_call(name, arguments)
}

fn calls(names: &[&str]) -> Vec<Event> {
    names.iter().map(|name| call(name, json!({}))).collect()
}

fn comment(feedback: &Feedback) -> &str {
    feedback.comment.as_deref().unwrap_or("")
}

// ---- tool_called -------------------------------------------------------------------------

#[test]
fn tool_called_passes_on_any_call_and_says_what_was_called_when_not() {
    let called = grade_trace(tool_called("get_weather"), calls(&["search", "get_weather"]));
    assert_eq!(called.key, "tool_called[get_weather]");
    assert_eq!(called.verdict(), Verdict::Pass);
    assert_eq!(called.comment, None);

    let missed = grade_trace(tool_called("get_weather"), calls(&["search", "search", "lookup"]));
    assert_eq!(missed.verdict(), Verdict::Fail);
    assert_eq!(
        comment(&missed),
        "expected at least one call of `get_weather`, saw 0; tools called: search ×2, lookup"
    );

    let idle = grade_trace(
        tool_called("get_weather"),
        vec![Event::model_response("I know this one")],
    );
    assert_eq!(
        comment(&idle),
        "expected at least one call of `get_weather`, saw 0; no tool was called"
    );
}

#[test]
fn tool_called_exactly_counts_calls() {
    let two = calls(&["get_weather", "search", "get_weather"]);
    assert_eq!(
        grade_trace(tool_called("get_weather").exactly(2), two.clone()).verdict(),
        Verdict::Pass
    );
    let once = grade_trace(tool_called("get_weather").exactly(1), two);
    assert_eq!(once.key, "tool_called[get_weather]");
    assert_eq!(once.verdict(), Verdict::Fail);
    assert_eq!(
        comment(&once),
        "expected exactly 1 call of `get_weather`, saw 2; tools called: get_weather ×2, search"
    );
    assert_eq!(
        grade_trace(tool_called("delete").exactly(0), calls(&["search"])).verdict(),
        Verdict::Pass
    );
}

// ---- tool_called_with ----------------------------------------------------------------------

#[test]
fn tool_called_with_matches_nested_subsets() {
    let events = vec![
        call("get_weather", json!({"city": "Lyon"})),
        call(
            "get_weather",
            json!({"city": "Paris", "options": {"units": "metric", "days": 3, "hourly": false}, "tags": ["a", "b"]}),
        ),
    ];
    let nested = tool_called_with(
        "get_weather",
        json!({"city": "Paris", "options": {"units": "metric", "days": 3.0}}),
    );
    let feedback = grade_trace(nested, events.clone());
    assert_eq!(feedback.key, "tool_called_with[get_weather]");
    assert_eq!(feedback.verdict(), Verdict::Pass, "{feedback:?}");
    assert_eq!(
        grade_trace(tool_called_with("get_weather", json!({})), events.clone()).verdict(),
        Verdict::Pass,
        "an empty object is contained in any arguments"
    );
    assert_eq!(
        grade_trace(
            tool_called_with("get_weather", json!({"tags": ["a", "b"]})),
            events.clone()
        )
        .verdict(),
        Verdict::Pass
    );
    assert_eq!(
        grade_trace(tool_called_with("get_weather", json!({"tags": ["a"]})), events).verdict(),
        Verdict::Fail,
        "arrays are compared whole"
    );
}

#[test]
fn tool_called_with_shows_the_closest_calls_on_failure() {
    let events = vec![
        call("get_weather", json!({"city": "Lyon", "options": {"units": "imperial"}})),
        call(
            "get_weather",
            json!({"city": "Paris", "options": {"units": "imperial"}}),
        ),
        call("search", json!({"q": "Paris"})),
    ];
    let wanted = json!({"city": "Paris", "options": {"units": "metric"}});
    let feedback = grade_trace(tool_called_with("get_weather", wanted.clone()), events);
    assert_eq!(feedback.verdict(), Verdict::Fail);
    assert_eq!(
        comment(&feedback),
        "no call of `get_weather` had arguments containing {\"city\":\"Paris\",\"options\":{\"units\":\"metric\"}}; \
         closest of 2: {\"city\":\"Paris\",\"options\":{\"units\":\"imperial\"}} \
         (/options/units: expected \"metric\", found \"imperial\"); \
         {\"city\":\"Lyon\",\"options\":{\"units\":\"imperial\"}} (/city: expected \"Paris\", found \"Lyon\")"
    );
    let detail = feedback.detail.unwrap();
    assert_eq!(detail["expected"], wanted);
    assert_eq!(detail["closest"][0]["city"], "Paris");

    let never = grade_trace(
        tool_called_with("get_weather", json!({"city": "Paris"})),
        calls(&["search"]),
    );
    assert_eq!(
        comment(&never),
        "`get_weather` was never called (wanted arguments containing {\"city\":\"Paris\"}); tools called: search"
    );
}

#[test]
fn tool_called_with_reads_arguments_recorded_as_json_text() {
    // AG2 records the model's argument text as it came.
    let events = vec![call("lookup", json!("{\"code\": \"2\", \"verbose\": true}"))];
    assert_eq!(
        grade_trace(tool_called_with("lookup", json!({"code": "2"})), events.clone()).verdict(),
        Verdict::Pass
    );
    assert_eq!(
        grade_trace(
            tool_called_with("lookup", json!("{\"code\": \"2\", \"verbose\": true}")),
            events
        )
        .verdict(),
        Verdict::Pass,
        "a string asked for is compared as a string"
    );
}

// ---- tools_called_in_order -----------------------------------------------------------------

#[test]
fn tools_called_in_order_is_a_subsequence_check() {
    let events = calls(&["search", "fetch", "search", "summarize"]);
    let in_order = grade_trace(tools_called_in_order(["search", "summarize"]), events.clone());
    assert_eq!(in_order.key, "tools_called_in_order");
    assert_eq!(in_order.verdict(), Verdict::Pass);
    assert_eq!(
        grade_trace(tools_called_in_order(Vec::<String>::new()), vec![]).verdict(),
        Verdict::Pass
    );

    let reversed = grade_trace(tools_called_in_order(["summarize", "fetch"]), events.clone());
    assert_eq!(reversed.verdict(), Verdict::Fail);
    assert_eq!(
        comment(&reversed),
        "expected `summarize` → `fetch` in order; matched `summarize`, but no `fetch` was called after that; \
         tools called: search ×2, fetch, summarize"
    );
    let first_missing = grade_trace(tools_called_in_order(["delete", "search"]), events);
    assert_eq!(
        comment(&first_missing),
        "expected `delete` → `search` in order; `delete` was never called; tools called: search ×2, fetch, summarize"
    );
}

#[test]
fn tools_called_in_order_needs_each_repeat_called_again() {
    let twice = tools_called_in_order(["search", "fetch", "search"]);
    assert_eq!(
        grade_trace(twice.clone(), calls(&["search", "fetch", "search"])).verdict(),
        Verdict::Pass
    );
    assert_eq!(
        grade_trace(twice, calls(&["search", "search", "fetch"])).verdict(),
        Verdict::Fail
    );
    assert_eq!(
        grade_trace(tools_called_in_order(["search", "search"]), calls(&["search", "fetch"])).verdict(),
        Verdict::Fail
    );
}

// ---- tool_call_count -----------------------------------------------------------------------

#[test]
fn tool_call_count_takes_any_range() {
    let events = calls(&["search", "search", "fetch"]);
    let verdict = |scorer| grade_trace(scorer, events.clone()).verdict();
    assert_eq!(verdict(tool_call_count("search", 1..=3)), Verdict::Pass);
    assert_eq!(verdict(tool_call_count("search", 2..)), Verdict::Pass);
    assert_eq!(verdict(tool_call_count("search", ..=1)), Verdict::Fail);
    assert_eq!(verdict(tool_call_count("search", 0..2)), Verdict::Fail);
    assert_eq!(verdict(tool_call_count("search", ..)), Verdict::Pass);
    assert_eq!(verdict(tool_call_count("delete", ..1)), Verdict::Pass);

    let too_many = grade_trace(tool_call_count("search", 0..=1), events);
    assert_eq!(too_many.key, "tool_call_count[search]");
    assert_eq!(
        comment(&too_many),
        "expected at most 1 call of `search`, saw 2; tools called: search ×2, fetch"
    );
}

// ---- no_tool_calls, no_tool_errors ---------------------------------------------------------

#[test]
fn no_tool_calls_fails_on_any_call() {
    let quiet = grade_trace(no_tool_calls(), vec![Event::model_response("hello")]);
    assert_eq!(quiet.key, "no_tool_calls");
    assert_eq!(quiet.verdict(), Verdict::Pass);
    let busy = grade_trace(no_tool_calls(), calls(&["search"]));
    assert_eq!(busy.verdict(), Verdict::Fail);
    assert_eq!(comment(&busy), "expected no tool calls; tools called: search");
}

#[test]
fn no_tool_errors_lists_the_errors() {
    let clean = grade_trace(
        no_tool_errors(),
        vec![call("lookup", json!({})), Event::tool_result("lookup", json!("ok"))],
    );
    assert_eq!(clean.key, "no_tool_errors");
    assert_eq!(clean.verdict(), Verdict::Pass);
    let failed = grade_trace(
        no_tool_errors(),
        vec![
            Event::tool_error("lookup", "not found"),
            Event::tool_error("search", "rate limited"),
        ],
    );
    assert_eq!(failed.verdict(), Verdict::Fail);
    assert_eq!(
        comment(&failed),
        "2 tool errors: lookup: not found; search: rate limited"
    );
}

// ---- final_answer_matches ------------------------------------------------------------------

fn answer_verdict(matcher: Matcher, reference: Value, outputs: Value) -> Verdict {
    grade_one(
        final_answer_matches("answer", matcher),
        &task(reference),
        outputs,
        &Trace::default(),
    )
    .verdict()
}

#[test]
fn final_answer_matchers() {
    let reference = json!({"answer": "Paris"});
    assert_eq!(
        answer_verdict(Matcher::Exact, reference.clone(), json!("Paris")),
        Verdict::Pass
    );
    assert_eq!(
        answer_verdict(Matcher::Exact, reference.clone(), json!("paris")),
        Verdict::Fail
    );
    assert_eq!(
        answer_verdict(Matcher::Casefold, reference.clone(), json!("PARIS")),
        Verdict::Pass
    );
    assert_eq!(
        answer_verdict(Matcher::Casefold, reference.clone(), json!("Paris.")),
        Verdict::Fail
    );
    assert_eq!(
        answer_verdict(Matcher::Contains, reference.clone(), json!("It is Paris.")),
        Verdict::Pass
    );
    assert_eq!(
        answer_verdict(Matcher::Contains, reference.clone(), json!("It is paris.")),
        Verdict::Fail
    );
    let digits = || Matcher::Regex(r"^ANS-\d+$".to_owned());
    assert_eq!(answer_verdict(digits(), Value::Null, json!("ANS-42")), Verdict::Pass);
    assert_eq!(answer_verdict(digits(), Value::Null, json!("ANS-42x")), Verdict::Fail);
    // Exact compares JSON values, numbers by value; the textual matchers compare text.
    assert_eq!(
        answer_verdict(Matcher::Exact, json!({"answer": 42}), json!(42.0)),
        Verdict::Pass
    );
    assert_eq!(
        answer_verdict(Matcher::Exact, json!({"answer": 42}), json!("42")),
        Verdict::Fail
    );
    assert_eq!(
        answer_verdict(Matcher::Casefold, json!({"answer": 42}), json!("42")),
        Verdict::Pass
    );
}

#[test]
fn final_answer_reads_the_field_then_the_output_then_the_final_response() {
    let scorer = || final_answer_matches("city", Matcher::Casefold);
    let paris = task(json!({"city": "Paris"}));
    let said_lyon = Trace::new(vec![Event::model_response("Lyon")], None, 5);

    let field = grade_one(scorer(), &paris, json!({"city": "paris", "temp_c": 21}), &said_lyon);
    assert_eq!(field.key, "final_answer_matches");
    assert_eq!(
        field.verdict(),
        Verdict::Pass,
        "the structured field wins over the response text"
    );

    let text = grade_one(scorer(), &paris, json!("PARIS"), &said_lyon);
    assert_eq!(text.verdict(), Verdict::Pass);

    let response = grade_one(scorer(), &paris, json!({"temp_c": 21}), &said_lyon);
    assert_eq!(response.verdict(), Verdict::Fail);
    assert_eq!(
        comment(&response),
        r#"expected "Paris" (casefold), got "Lyon" from the final model response"#
    );
    let detail = response.detail.unwrap();
    assert_eq!(
        detail,
        json!({"matcher": "casefold", "expected": "Paris", "actual": "Lyon", "source": "final_response"})
    );
}

#[test]
fn final_answer_without_reference_or_answer_fails_with_a_reason() {
    let scorer = || final_answer_matches("answer", Matcher::Exact);
    for reference in [Value::Null, json!({"city": "Paris"}), json!({"answer": null})] {
        let feedback = grade_one(scorer(), &task(reference), json!("Paris"), &Trace::default());
        assert_eq!(feedback.verdict(), Verdict::Fail);
        assert_eq!(
            comment(&feedback),
            r#"no reference to compare with: the task's reference_outputs has no "answer""#
        );
    }

    let crashed = Trace::new(vec![], Some(Exception::new("panic", "boom")), 3);
    let feedback = grade_one(scorer(), &task(json!({"answer": "Paris"})), Value::Null, &crashed);
    assert_eq!(feedback.verdict(), Verdict::Fail);
    assert_eq!(
        comment(&feedback),
        "the agent gave no answer: no output, and no model response with text (it failed: panic: boom)"
    );
}

#[test]
fn an_invalid_regex_is_ungradeable_not_a_panic() {
    let feedback = grade_one(
        final_answer_matches("answer", Matcher::Regex("ANS-(\\d+".to_owned())),
        &task(json!({"answer": "ANS-1"})),
        json!("ANS-1"),
        &Trace::default(),
    );
    assert_eq!(feedback.key, "final_answer_matches");
    assert_eq!(feedback.verdict(), Verdict::Ungradeable);
    let why = comment(&feedback);
    assert!(why.starts_with(r#"regex "ANS-(\\d+": invalid pattern: "#), "{why}");
    assert!(why.contains("unclosed group"), "{why}");
}

// ---- final_number_equals, final_number_matches ---------------------------------------------

#[test]
fn final_number_equals_reads_numbers_and_text() {
    let number = grade_one(
        final_number_equals(42.0, 0.0),
        &task(Value::Null),
        json!(42),
        &Trace::default(),
    );
    assert_eq!(number.key, "final_number_equals");
    assert_eq!(number.verdict(), Verdict::Pass);

    let said = |text: &str| Trace::new(vec![Event::model_response(text)], None, 5);
    let close = grade_one(
        final_number_equals(2.5, 0.01),
        &task(Value::Null),
        Value::Null,
        &said("It takes about 2.504 hours"),
    );
    assert_eq!(close.verdict(), Verdict::Pass);

    let off = grade_one(
        final_number_equals(10.0, 0.5),
        &task(Value::Null),
        json!("x = 10.6"),
        &Trace::default(),
    );
    assert_eq!(off.verdict(), Verdict::Fail);
    assert_eq!(comment(&off), "expected 10 ± 0.5, got 10.6 from the output");
    assert_eq!(
        off.detail,
        Some(json!({"expected": 10.0, "actual": 10.6, "tolerance": 0.5, "source": "outputs"}))
    );

    let wordy = grade_one(
        final_number_equals(1.0, 0.0),
        &task(Value::Null),
        Value::Null,
        &said("I cannot tell."),
    );
    assert_eq!(wordy.verdict(), Verdict::Fail);
    assert_eq!(
        comment(&wordy),
        r#"no number in the answer "I cannot tell." from the final model response"#
    );
}

#[test]
fn final_number_matches_reads_the_expected_number_per_task() {
    let scorer = || final_number_matches("answer", 0.001);
    let outputs = json!({"answer": 72, "work": "48 + 24"});
    let numeric = grade_one(
        scorer(),
        &task(json!({"answer": 72})),
        outputs.clone(),
        &Trace::default(),
    );
    assert_eq!(numeric.key, "final_number_matches[answer]");
    assert_eq!(numeric.verdict(), Verdict::Pass);
    let textual = grade_one(
        scorer(),
        &task(json!({"answer": "72"})),
        outputs.clone(),
        &Trace::default(),
    );
    assert_eq!(textual.verdict(), Verdict::Pass);
    let wrong = grade_one(
        scorer(),
        &task(json!({"answer": 70})),
        outputs.clone(),
        &Trace::default(),
    );
    assert_eq!(wrong.verdict(), Verdict::Fail);
    assert_eq!(comment(&wrong), r#"expected 70 ± 0.001, got 72 from outputs["answer"]"#);

    let missing = grade_one(scorer(), &task(json!({})), outputs.clone(), &Trace::default());
    assert_eq!(missing.verdict(), Verdict::Fail);
    assert_eq!(
        comment(&missing),
        r#"no reference to compare with: the task's reference_outputs has no "answer""#
    );
    let not_a_number = grade_one(scorer(), &task(json!({"answer": "many"})), outputs, &Trace::default());
    assert_eq!(
        comment(&not_a_number),
        r#"the task's reference_outputs["answer"] is not a number: "many""#
    );
}

// ---- token_budget, latency_under -----------------------------------------------------------

#[test]
fn token_budget_is_inclusive_and_ignores_cache_tokens() {
    let usage = Event::Usage(TokenUsage {
        input: 700,
        output: 300,
        cache_creation: 5_000,
        cache_read: 5_000,
    });
    let at_budget = grade_trace(token_budget(1_000), vec![usage.clone()]);
    assert_eq!(at_budget.key, "token_budget");
    assert_eq!(at_budget.verdict(), Verdict::Pass);
    assert_eq!(comment(&at_budget), "1000 tokens (700 in, 300 out), budget 1000");
    assert_eq!(grade_trace(token_budget(999), vec![usage]).verdict(), Verdict::Fail);
}

#[test]
fn latency_under_is_strict() {
    let took = |ms| Trace::new(vec![], None, ms);
    let quick = grade_one(latency_under(500), &task(Value::Null), Value::Null, &took(499));
    assert_eq!(quick.key, "latency_under");
    assert_eq!(quick.verdict(), Verdict::Pass);
    let exact = grade_one(latency_under(500), &task(Value::Null), Value::Null, &took(500));
    assert_eq!(exact.verdict(), Verdict::Fail);
    assert_eq!(comment(&exact), "took 500 ms, limit under 500 ms");
}

// ---- builders and suite types --------------------------------------------------------------

#[test]
fn every_builtin_can_be_renamed_and_made_advisory() {
    let renamed = tool_called_with("search", json!({"q": "rust"})).key("searched_rust");
    assert_eq!(renamed.spec().key, "searched_rust");
    assert_eq!(grade_trace(renamed, calls(&["search"])).key, "searched_rust");
    let advisory = latency_under(100).advisory();
    assert!(!advisory.spec().gates());
    assert_eq!(token_budget(1).spec(), &ScorerSpec::new("token_budget"));
}

#[derive(Debug, Serialize, Deserialize)]
struct CityReference {
    city: String,
}

#[derive(Debug, Serialize)]
struct Forecast {
    city: String,
}

fn fits_suite<I, R, O, S: Scorer<I, R, O>>(_: &S) {}

#[test]
fn builtins_fit_typed_suites() {
    // Trace-only scorers fit any suite; reference readers need a reference that serializes.
    fits_suite::<(), (), Forecast, _>(&tool_called("get_weather"));
    fits_suite::<(), (), Forecast, _>(&threshold(token_budget(10), 0.5));
    fits_suite::<Value, CityReference, Forecast, _>(&final_answer_matches("city", Matcher::Exact));
    fits_suite::<Value, CityReference, Forecast, _>(&final_number_matches("temp_c", 0.5));

    let task = Task::new(
        "paris",
        json!({"input": "Weather in Paris?"}),
        CityReference { city: "Paris".into() },
    );
    let forecast = Forecast { city: "Paris".into() };
    let outputs_json = serde_json::to_value(&forecast).unwrap();
    let trace = Trace::default();
    let input = ScoreInput::new(&task, Some(&forecast), &outputs_json, &trace);
    let scorer = final_answer_matches("city", Matcher::Exact);
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let feedback = runtime.block_on(scorer.score(&input));
    assert_eq!(feedback[0].verdict(), Verdict::Pass);
}

// ---- threshold, through the runner ---------------------------------------------------------

/// Tasks whose `inputs.grade` is what the `quality` scorer reports: a number, a label, a
/// boolean, or nothing (ungradeable).
fn graded_suite() -> Suite {
    let tasks = [
        ("high", json!(0.9)),
        ("low", json!(0.4)),
        ("edge", json!(0.7)),
        ("label", json!("good")),
        ("bool", json!(true)),
        ("broken", Value::Null),
    ];
    let values = tasks
        .into_iter()
        .map(|(id, grade)| json!({"task_id": id, "inputs": {"input": id, "grade": grade}}))
        .collect();
    Suite::from_values("graded", values).unwrap()
}

/// Reports `inputs.grade` as it is: number, label, boolean, or an error.
fn quality() -> impl Scorer<Value, Value, Value> + 'static {
    scorer_fn(ScorerSpec::new("quality"), |s: &ScoreInput<Value, Value, Value>| {
        let grade = &s.inputs()["grade"];
        let feedback = match grade {
            Value::Number(n) => Feedback::number("quality", n.as_f64().unwrap()),
            Value::String(label) => Feedback::label("quality", label),
            Value::Bool(b) => Feedback::pass_fail("quality", *b),
            _ => return Err("the judge gave no verdict"),
        };
        Ok(feedback)
    })
}

async fn run_graded(scorers: Scorers<Value, Value, Value>) -> RunResult {
    let agent = |task: Arc<Task>, _ctx: Ctx| async move { Ok::<_, String>(Value::String(task.input().to_owned())) };
    run(&graded_suite(), agent, scorers, RunOptions::default()).await
}

fn feedback<'a>(run: &'a RunResult, task: &str, key: &str) -> &'a Feedback {
    run.task(task).unwrap().feedback_for(key).unwrap()
}

#[tokio::test]
async fn threshold_through_the_runner_behaves_like_ag2() {
    let result = run_graded(vec![Arc::new(threshold(quality(), 0.7))]).await;
    assert_eq!(
        result.spec("quality").unwrap().threshold,
        Some(Threshold::at_least(0.7)),
        "the threshold is recorded with the run"
    );

    let high = feedback(&result, "high", "quality");
    assert_eq!(high.verdict(), Verdict::Pass);
    assert_eq!(
        high.detail,
        Some(json!({"score": 0.9, "at_least": 0.7, "at_most": null}))
    );
    assert_eq!(high.comment.as_deref(), Some("score 0.9 (pass: >= 0.7) → pass"));
    assert_eq!(
        feedback(&result, "edge", "quality").verdict(),
        Verdict::Pass,
        "bounds are inclusive"
    );
    let low = feedback(&result, "low", "quality");
    assert_eq!(low.verdict(), Verdict::Fail);
    assert_eq!(low.detail.as_ref().unwrap()["score"], json!(0.4));

    let broken = feedback(&result, "broken", "quality");
    assert_eq!(broken.verdict(), Verdict::Fail, "ungradeable becomes a fail");
    assert_eq!(
        broken.comment.as_deref(),
        Some("ungradeable (counts as a fail); scorer error: the judge gave no verdict")
    );
    assert_eq!(broken.detail.as_ref().unwrap()["score"], Value::Null);

    assert_eq!(feedback(&result, "label", "quality").verdict(), Verdict::Informational);
    assert_eq!(feedback(&result, "label", "quality").value.as_deref(), Some("good"));
    assert_eq!(feedback(&result, "bool", "quality").verdict(), Verdict::Pass);
    assert_eq!(
        feedback(&result, "bool", "quality").detail,
        None,
        "a boolean passes through"
    );
    assert_eq!(result.pass_rate("quality", None), Some(3.0 / 5.0));
}

#[tokio::test]
async fn threshold_takes_ranges_and_a_key() {
    let scorers: Scorers<Value, Value, Value> = vec![
        Arc::new(threshold(quality(), ..=0.5).key("cheap_enough")),
        Arc::new(threshold(quality(), 0.5..=0.8).key("middling")),
        Arc::new(threshold(quality(), 0.8..).key("excellent").advisory()),
    ];
    let result = run_graded(scorers).await;
    let verdicts = |key: &str| {
        ["high", "low", "edge"]
            .map(|task| feedback(&result, task, key).verdict() == Verdict::Pass)
            .to_vec()
    };
    assert_eq!(verdicts("cheap_enough"), [false, true, false]);
    assert_eq!(verdicts("middling"), [false, false, true]);
    assert_eq!(verdicts("excellent"), [true, false, false]);
    assert_eq!(
        result.spec("middling").unwrap().threshold,
        Some(Threshold {
            at_least: Some(0.5),
            at_most: Some(0.8)
        })
    );
    assert!(!result.spec("excellent").unwrap().gates());
    assert!(
        result.task("high").unwrap().feedback_for("quality").is_none(),
        "every key was renamed"
    );
}

// ---- every built-in in one suite -----------------------------------------------------------

#[tokio::test]
async fn a_suite_graded_by_every_builtin() {
    let suite: Suite = Suite::from_values(
        "weather",
        vec![
            json!({"task_id": "paris", "inputs": {"input": "Paris"}, "reference_outputs": {"city": "Paris", "temp_c": 21}}),
            json!({"task_id": "lyon", "inputs": {"input": "Lyon"}, "reference_outputs": {"city": "Lyon", "temp_c": 18}}),
        ],
    )
    .unwrap();
    // Paris goes well. Lyon: the lookup fails, the agent retries, then searches, answers with a
    // wrong temperature and spends too many tokens.
    let agent = |task: Arc<Task>, ctx: Ctx| async move {
        let city = task.input().to_owned();
        ctx.tool_call("get_weather", json!({"city": city, "units": "metric"}));
        if city == "Lyon" {
            ctx.tool_error("get_weather", "upstream timeout");
            ctx.tool_call("get_weather", json!({"city": city, "units": "metric"}));
            ctx.tool_call("search", json!({"q": "Lyon weather"}));
            ctx.usage(4_000, 1_000);
            ctx.model_response(format!("{city}: 25 °C"));
            return Ok::<_, String>(json!({"city": city, "temp_c": 25}));
        }
        ctx.usage(400, 100);
        ctx.model_response(format!("{city}: 21 °C"));
        Ok(json!({"city": city, "temp_c": 21}))
    };
    let scorers: Scorers<Value, Value, Value> = vec![
        Arc::new(tool_called("get_weather")),
        Arc::new(tool_called("get_weather").exactly(1).key("tool_called_once")),
        Arc::new(tool_called_with("get_weather", json!({"units": "metric"}))),
        Arc::new(tools_called_in_order(["get_weather", "search"])),
        Arc::new(tool_call_count("search", ..=0)),
        Arc::new(no_tool_calls()),
        Arc::new(no_tool_errors()),
        Arc::new(final_answer_matches("city", Matcher::Casefold)),
        Arc::new(final_number_equals(21.0, 0.5)),
        Arc::new(final_number_matches("temp_c", 0.5)),
        Arc::new(token_budget(1_000)),
        Arc::new(latency_under(60_000)),
        Arc::new(threshold(final_number_matches("temp_c", 0.0).key("temp_exact"), 0.5)),
    ];
    let result = run(&suite, agent, scorers, RunOptions::default()).await;

    let expected = [
        ("tool_called[get_weather]", Verdict::Pass, Verdict::Pass),
        ("tool_called_once", Verdict::Pass, Verdict::Fail),
        ("tool_called_with[get_weather]", Verdict::Pass, Verdict::Pass),
        ("tools_called_in_order", Verdict::Fail, Verdict::Pass),
        ("tool_call_count[search]", Verdict::Pass, Verdict::Fail),
        ("no_tool_calls", Verdict::Fail, Verdict::Fail),
        ("no_tool_errors", Verdict::Pass, Verdict::Fail),
        ("final_answer_matches", Verdict::Pass, Verdict::Pass),
        ("final_number_equals", Verdict::Pass, Verdict::Fail),
        ("final_number_matches[temp_c]", Verdict::Pass, Verdict::Fail),
        ("token_budget", Verdict::Pass, Verdict::Fail),
        ("latency_under", Verdict::Pass, Verdict::Pass),
        ("temp_exact", Verdict::Pass, Verdict::Fail),
    ];
    let keys: Vec<&str> = expected.iter().map(|(key, _, _)| *key).collect();
    assert_eq!(result.keys(), keys);
    for (key, paris, lyon) in expected {
        assert_eq!(result.task("paris").unwrap().verdict(key), Some(paris), "paris {key}");
        assert_eq!(result.task("lyon").unwrap().verdict(key), Some(lyon), "lyon {key}");
    }
    assert_eq!(
        comment(feedback(&result, "lyon", "no_tool_errors")),
        "1 tool error: get_weather: upstream timeout"
    );
    assert_eq!(
        comment(feedback(&result, "lyon", "token_budget")),
        "5000 tokens (4000 in, 1000 out), budget 1000"
    );
    assert_eq!(result.pass_rate("tool_called[get_weather]", None), Some(1.0));
    assert_eq!(result.pass_rate("no_tool_errors", None), Some(0.5));
}
