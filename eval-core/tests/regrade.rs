//! Re-grading a stored run: no agent runs, today's scorers see the stored outputs and traces,
//! and a task that cannot be re-graded says why instead of being graded on nothing.

use eval_engine::regrade::OutputDecoder;
use eval_engine::store::save_run;
use eval_engine::trace::Exception;
use eval_engine::{
    Agent, Ctx, Feedback, RunOptions, RunResult, ScoreInput, Scorer, ScorerSpec, Scorers, Suite, Task, Verdict,
    decode_output, load_run, regrade, run, scorer_fn,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, Serialize, Deserialize)]
struct Answer {
    city: String,
    temp_c: f64,
}

type Input<'a> = ScoreInput<'a, Value, Value, Answer>;

fn suite(lines: &[Value]) -> Suite {
    Suite::from_values("weather", lines.to_vec()).unwrap()
}

fn weather_suite() -> Suite {
    suite(&[
        json!({"task_id": "paris", "inputs": {"input": "Paris"}, "reference_outputs": {"city": "Paris", "temp_c": 18.0}}),
        json!({"task_id": "rome", "inputs": {"input": "Rome"}, "reference_outputs": {"city": "Rome", "temp_c": 25.0}}),
        json!({"task_id": "oslo", "inputs": {"input": "Oslo"}, "reference_outputs": {"city": "Oslo", "temp_c": 4.0}}),
    ])
}

/// An agent that looks the weather up, is 3 degrees off for Rome, fails on Oslo, and counts
/// its invocations.
fn counting_agent(calls: Arc<AtomicUsize>) -> impl Agent<Value, Value, Output = Answer, Error = String> {
    move |task: Arc<Task>, ctx: Ctx| {
        let calls = calls.clone();
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            let city = task.input().to_owned();
            ctx.tool_call("get_weather", json!({"city": city}));
            match city.as_str() {
                "Oslo" => Err("the weather service timed out".to_owned()),
                "Rome" => Ok(Answer { city, temp_c: 28.0 }),
                _ => Ok(Answer { city, temp_c: 18.0 }),
            }
        }
    }
}

/// Exact temperatures only: what the suite was first graded with.
fn exact_temperature() -> Arc<dyn Scorer<Value, Value, Answer>> {
    Arc::new(scorer_fn(ScorerSpec::new("temperature"), |s: &Input| {
        s.outputs.map(|o| s.reference_outputs()["temp_c"] == o.temp_c)
    }))
}

/// The same key, now tolerating 5 degrees: the scorer as changed since.
fn tolerant_temperature() -> Arc<dyn Scorer<Value, Value, Answer>> {
    Arc::new(scorer_fn(ScorerSpec::new("temperature"), |s: &Input| {
        s.outputs
            .map(|o| (s.reference_outputs()["temp_c"].as_f64().unwrap() - o.temp_c).abs() <= 5.0)
    }))
}

fn looked_up_once() -> Arc<dyn Scorer<Value, Value, Answer>> {
    Arc::new(scorer_fn(ScorerSpec::new("looked_up"), |s: &Input| {
        s.trace.tool_calls().count() == 1
    }))
}

fn agent_failed() -> Arc<dyn Scorer<Value, Value, Answer>> {
    Arc::new(scorer_fn(ScorerSpec::new("agent_failed"), |s: &Input| {
        s.trace.exception.as_ref().map(|e| e.message.clone())
    }))
}

fn verdict(run: &RunResult, task: &str, key: &str) -> Option<Verdict> {
    run.task(task).and_then(|t| t.verdict(key))
}

fn feedback<'a>(run: &'a RunResult, task: &str, key: &str) -> &'a Feedback {
    run.task(task).unwrap().feedback_for(key).unwrap()
}

async fn stored_run(calls: &Arc<AtomicUsize>) -> RunResult {
    let scorers: Scorers<Value, Value, Answer> = vec![exact_temperature(), looked_up_once()];
    run(
        &weather_suite(),
        counting_agent(calls.clone()),
        scorers,
        RunOptions::default(),
    )
    .await
}

#[tokio::test]
async fn a_changed_scorer_regrades_the_stored_outputs_without_running_the_agent() {
    let calls = Arc::new(AtomicUsize::new(0));
    let stored = stored_run(&calls).await;
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(verdict(&stored, "rome", "temperature"), Some(Verdict::Fail));

    // Through the file, as a regrade reads it.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.json");
    save_run(&stored, &path).unwrap();
    let stored = load_run(&path).unwrap();

    let scorers: Scorers<Value, Value, Answer> = vec![tolerant_temperature(), looked_up_once(), agent_failed()];
    let regraded = regrade(
        &weather_suite(),
        stored.clone(),
        decode_output,
        scorers,
        RunOptions::default(),
    )
    .await;

    assert_eq!(calls.load(Ordering::SeqCst), 3, "no agent ran");
    assert_eq!(
        regraded.meta.regraded_from.as_deref(),
        Some(stored.meta.run_id.as_str())
    );
    assert_ne!(regraded.meta.run_id, stored.meta.run_id);
    assert_eq!(verdict(&regraded, "paris", "temperature"), Some(Verdict::Pass));
    assert_eq!(
        verdict(&regraded, "rome", "temperature"),
        Some(Verdict::Pass),
        "the new scorer's verdict"
    );
    assert_eq!(
        verdict(&regraded, "paris", "looked_up"),
        Some(Verdict::Pass),
        "the stored trace is graded"
    );
    // The failed agent stays failed: no output, the same exception, seen by a new scorer.
    assert_eq!(
        verdict(&regraded, "oslo", "temperature"),
        None,
        "not applicable without an output"
    );
    assert_eq!(
        feedback(&regraded, "oslo", "agent_failed").value.as_deref(),
        Some("the weather service timed out")
    );
    for (old, new) in stored.tasks().iter().zip(regraded.tasks()) {
        assert_eq!(old.task_id, new.task_id);
        assert_eq!(old.outputs, new.outputs, "task {}", old.task_id);
        assert_eq!(old.trace, new.trace, "task {}", old.task_id);
    }
}

#[tokio::test]
async fn a_fixed_reference_output_counts_in_the_regrade() {
    let calls = Arc::new(AtomicUsize::new(0));
    let stored = stored_run(&calls).await;
    let fixed = suite(&[
        json!({"task_id": "paris", "inputs": {"input": "Paris"}, "reference_outputs": {"city": "Paris", "temp_c": 18.0}}),
        json!({"task_id": "rome", "inputs": {"input": "Rome"}, "reference_outputs": {"city": "Rome", "temp_c": 28.0}}),
    ]);
    let scorers: Scorers<Value, Value, Answer> = vec![exact_temperature()];
    let regraded = regrade(&fixed, stored.clone(), decode_output, scorers, RunOptions::default()).await;
    assert_eq!(verdict(&regraded, "rome", "temperature"), Some(Verdict::Pass));
    assert_eq!(regraded.task("rome").unwrap().reference_outputs["temp_c"], 28.0);
    assert_eq!(
        regraded.task("rome").unwrap().content_hash,
        fixed.tasks()[1].content_hash().clone()
    );
    assert_eq!(regraded.tasks().len(), 2, "only today's tasks");
}

#[tokio::test]
async fn a_task_that_cannot_be_regraded_is_ungradeable_and_says_why() {
    let calls = Arc::new(AtomicUsize::new(0));
    let stored = stored_run(&calls).await;
    let today = suite(&[
        // Not in the stored run.
        json!({"task_id": "lima", "inputs": {"input": "Lima"}, "reference_outputs": {"city": "Lima", "temp_c": 20.0}}),
        // Asked differently since: the stored answer is to another question.
        json!({"task_id": "paris", "inputs": {"input": "Paris, Texas"}, "reference_outputs": {"city": "Paris", "temp_c": 18.0}}),
        json!({"task_id": "rome", "inputs": {"input": "Rome"}, "reference_outputs": {"city": "Rome", "temp_c": 25.0}}),
    ]);
    let scorers: Scorers<Value, Value, Answer> = vec![exact_temperature(), looked_up_once()];
    let regraded = regrade(&today, stored.clone(), decode_output, scorers, RunOptions::default()).await;
    let run_id = &stored.meta.run_id;

    let lima = regraded.task("lima").unwrap();
    let why = format!("not re-graded: run {run_id} has no record of this task");
    assert_eq!(
        lima.trace.exception,
        Some(Exception::new(Exception::NOT_REGRADED, &why))
    );
    for key in ["temperature", "looked_up"] {
        assert_eq!(lima.verdict(key), Some(Verdict::Ungradeable));
        assert_eq!(feedback(&regraded, "lima", key).comment.as_deref(), Some(why.as_str()));
    }
    let paris = feedback(&regraded, "paris", "temperature");
    assert_eq!(paris.verdict(), Verdict::Ungradeable);
    assert!(
        paris.comment.as_deref().unwrap().contains("inputs changed since run"),
        "{paris:?}"
    );
    assert_eq!(
        verdict(&regraded, "rome", "temperature"),
        Some(Verdict::Fail),
        "the rest is re-graded"
    );

    // Regrading the regrade: a record that was not re-graded holds no output to grade either.
    let scorers: Scorers<Value, Value, Answer> = vec![exact_temperature()];
    let again = regrade(&today, regraded.clone(), decode_output, scorers, RunOptions::default()).await;
    assert_eq!(verdict(&again, "lima", "temperature"), Some(Verdict::Ungradeable));
    assert_eq!(verdict(&again, "rome", "temperature"), Some(Verdict::Fail));
}

#[tokio::test]
async fn an_output_that_no_longer_reads_as_the_output_type_is_ungradeable() {
    let calls = Arc::new(AtomicUsize::new(0));
    let stored = stored_run(&calls).await;
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Renamed {
        town: String,
    }
    let scorer: Arc<dyn Scorer<Value, Value, Renamed>> = Arc::new(scorer_fn(
        ScorerSpec::new("answered"),
        |s: &ScoreInput<Value, Value, Renamed>| s.outputs.is_some(),
    ));
    let decode: OutputDecoder<Renamed> = decode_output;
    let regraded = regrade(
        &weather_suite(),
        stored.clone(),
        decode,
        vec![scorer],
        RunOptions::default(),
    )
    .await;
    let paris = regraded.task("paris").unwrap();
    let comment = paris.feedback_for("answered").unwrap().comment.as_deref().unwrap();
    assert!(comment.contains("does not read as `regrade::"), "{comment}");
    assert!(comment.contains("Renamed`: missing field `town`"), "{comment}");
    assert_eq!(
        paris.outputs,
        stored.task("paris").unwrap().outputs,
        "the stored output is kept"
    );
    // Oslo's agent failed: there is no output to read, and the scorer grades its absence.
    assert_eq!(verdict(&regraded, "oslo", "answered"), Some(Verdict::Fail));
}

#[tokio::test]
async fn repeats_regrade_every_attempt_and_a_different_count_is_explained() {
    let calls = Arc::new(AtomicUsize::new(0));
    let scorers: Scorers<Value, Value, Answer> = vec![exact_temperature()];
    let options = RunOptions::default().repeats(2);
    let stored = run(
        &weather_suite(),
        counting_agent(calls.clone()),
        scorers,
        options.clone(),
    )
    .await;
    assert_eq!(calls.load(Ordering::SeqCst), 6);

    let scorers: Scorers<Value, Value, Answer> = vec![tolerant_temperature()];
    let regraded = regrade(&weather_suite(), stored.clone(), decode_output, scorers, options).await;
    let ids: Vec<&str> = regraded.tasks().iter().map(|t| t.task_id.as_str()).collect();
    assert_eq!(ids, ["paris#1", "paris#2", "rome#1", "rome#2", "oslo#1", "oslo#2"]);
    assert_eq!(verdict(&regraded, "rome#2", "temperature"), Some(Verdict::Pass));
    assert_eq!(regraded.meta.repeats, 2);

    let scorers: Scorers<Value, Value, Answer> = vec![tolerant_temperature()];
    let three = regrade(
        &weather_suite(),
        stored.clone(),
        decode_output,
        scorers,
        RunOptions::default().repeats(3),
    )
    .await;
    assert_eq!(verdict(&three, "rome#2", "temperature"), Some(Verdict::Pass));
    let comment = feedback(&three, "rome#3", "temperature").comment.clone().unwrap();
    assert!(
        comment.ends_with("has no record `rome#3` (it was made with repeats = 2, the suite now has 3)"),
        "{comment}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 6, "no agent ran");
}
