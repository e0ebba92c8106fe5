//! The runner: bounded concurrency, faults recorded per task while the others go on, repeats,
//! budgets, thresholds and lifecycle events.

use eval_engine::observer::{Observer, RunStarted};
use eval_engine::result::Budgets;
use eval_engine::scorer::Threshold;
use eval_engine::trace::Exception;
use eval_engine::{
    Ctx, Feedback, RunOptions, RunResult, ScoreInput, Scorer, ScorerSpec, Scorers, Suite, Task, TaskRecord, Verdict,
    run, scorer_fn,
};
use serde::Serialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

type Input<'a, O> = ScoreInput<'a, Value, Value, O>;

fn suite(n: usize) -> Suite {
    let values = (0..n)
        .map(|i| json!({"task_id": format!("t{i:02}"), "inputs": {"input": format!("q{i}"), "n": i}, "reference_outputs": {"answer": i * 2}}))
        .collect();
    Suite::from_values("numbers", values).unwrap()
}

fn doubled_correct() -> Arc<dyn Scorer<Value, Value, u64>> {
    Arc::new(scorer_fn(ScorerSpec::new("correct"), |s: &Input<u64>| {
        s.outputs.map(|o| s.reference_outputs()["answer"] == *o)
    }))
}

fn ran_without_error<O>() -> Arc<dyn Scorer<Value, Value, O>> {
    Arc::new(scorer_fn(ScorerSpec::new("no_exception"), |s: &Input<O>| {
        s.trace.succeeded()
    }))
}

fn feedback<'a>(run: &'a RunResult, task: &str, key: &str) -> &'a Feedback {
    run.task(task).unwrap().feedback_for(key).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_bound_is_reached_and_never_exceeded() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let calls = Arc::new(AtomicUsize::new(0));
    let agent = {
        let (in_flight, peak, calls) = (in_flight.clone(), peak.clone(), calls.clone());
        move |task: Arc<Task>, _ctx: Ctx| {
            let (in_flight, peak, calls) = (in_flight.clone(), peak.clone(), calls.clone());
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(15)).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                Ok::<u64, String>(task.inputs()["n"].as_u64().unwrap() * 2)
            }
        }
    };
    let result = run(
        &suite(40),
        agent,
        vec![doubled_correct()],
        RunOptions::default().concurrency(8),
    )
    .await;
    assert_eq!(
        peak.load(Ordering::SeqCst),
        8,
        "the bound is reached and never exceeded"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 40, "each task runs once");
    assert_eq!(result.tasks().len(), 40);
    assert_eq!(result.pass_rate("correct", None), Some(1.0));
    let ids: Vec<&str> = result.tasks().iter().map(|t| t.task_id.as_str()).collect();
    let expected: Vec<String> = (0..40).map(|i| format!("t{i:02}")).collect();
    assert_eq!(
        ids, expected,
        "records are in suite order, whatever the completion order"
    );
    assert_eq!(result.meta.concurrency, 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_panic_and_error_are_recorded_and_the_other_tasks_go_on() {
    let agent = |task: Arc<Task>, ctx: Ctx| async move {
        ctx.tool_call("lookup", json!({"id": task.id()}));
        match task.id() {
            "t01" => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                Ok(0)
            }
            "t02" => panic!("the model returned garbage"),
            "t03" => Err(format!("rate limited on {}", task.id())),
            _ => Ok(task.inputs()["n"].as_u64().unwrap() * 2),
        }
    };
    let scorers = vec![doubled_correct(), ran_without_error()];
    // The limit runs while the agent does, panic hook included: the backtrace a debug build
    // prints for `t02` (with RUST_BACKTRACE) takes a while on a busy machine.
    let options = RunOptions::default().concurrency(4).timeout(Duration::from_secs(2));
    let result = run(&suite(6), agent, scorers, options).await;

    let exception = |id: &str| result.task(id).unwrap().trace.exception.clone();
    let timeout = exception("t01").unwrap();
    assert_eq!(timeout.kind, Exception::TIMEOUT);
    assert_eq!(timeout.message, "the agent did not finish within 2s");
    assert_eq!(
        exception("t02"),
        Some(Exception::new(Exception::PANIC, "the model returned garbage"))
    );
    assert_eq!(exception("t03"), Some(Exception::new("String", "rate limited on t03")));
    for id in ["t00", "t04", "t05"] {
        assert_eq!(exception(id), None);
        assert_eq!(feedback(&result, id, "correct").verdict(), Verdict::Pass);
    }
    for id in ["t01", "t02", "t03"] {
        let task = result.task(id).unwrap();
        assert_eq!(task.outputs, Value::Null);
        assert_eq!(
            task.trace.tool_calls().count(),
            1,
            "the trace recorded before the failure is kept"
        );
        assert_eq!(
            task.feedback_for("correct"),
            None,
            "a scorer that needs outputs says not applicable"
        );
        assert_eq!(
            feedback(&result, id, "no_exception").verdict(),
            Verdict::Fail,
            "scorers still run on the trace"
        );
    }
    assert_eq!(result.aggregates().errors, 3);
}

#[tokio::test]
async fn scorer_panics_errors_and_nan_are_ungradeable_and_count_as_fails() {
    let agent = |task: Arc<Task>, _ctx: Ctx| async move { Ok::<_, String>(task.inputs()["n"].as_u64().unwrap() * 2) };
    let panicking: Arc<dyn Scorer<Value, Value, u64>> =
        Arc::new(scorer_fn(ScorerSpec::new("judge"), |s: &Input<u64>| {
            if s.task.id() == "t01" {
                panic!("index out of bounds");
            }
            true
        }));
    let erroring: Arc<dyn Scorer<Value, Value, u64>> = Arc::new(scorer_fn(
        ScorerSpec::new("api"),
        |s: &Input<u64>| -> Result<bool, String> {
            if s.task.id() == "t00" {
                Err("judge unreachable".into())
            } else {
                Ok(true)
            }
        },
    ));
    let nan: Arc<dyn Scorer<Value, Value, u64>> = Arc::new(scorer_fn(ScorerSpec::new("ratio"), |s: &Input<u64>| {
        if s.task.id() == "t00" { f64::NAN } else { 0.5 }
    }));
    let result = run(
        &suite(2),
        agent,
        vec![panicking, erroring, nan, doubled_correct()],
        RunOptions::default(),
    )
    .await;

    let judge = feedback(&result, "t01", "judge");
    assert_eq!(judge.verdict(), Verdict::Ungradeable);
    assert_eq!(judge.comment.as_deref(), Some("scorer panicked: index out of bounds"));
    let api = feedback(&result, "t00", "api");
    assert_eq!(api.verdict(), Verdict::Ungradeable);
    assert_eq!(api.comment.as_deref(), Some("scorer error: judge unreachable"));
    let ratio = feedback(&result, "t00", "ratio");
    assert_eq!(ratio.verdict(), Verdict::Ungradeable);
    assert!(ratio.comment.as_deref().unwrap().contains("NaN"));
    assert_eq!(
        feedback(&result, "t01", "correct").verdict(),
        Verdict::Pass,
        "the task's other scorers ran"
    );

    let agg = result.aggregates();
    assert_eq!(agg.pass_rate["judge"], 0.5, "an ungradeable gate counts as a fail");
    assert_eq!(agg.pass_rate["api"], 0.5);
    assert_eq!(agg.pass_counts["judge"].total, 2);
    assert_eq!(agg.score_stats["ratio"].n, 1);
    assert_eq!(agg.ungradeable["ratio"], 1);
}

/// A scorer written by hand, not through `IntoFeedback`: its score is NaN on `t00`, and its
/// feedback carries no key.
struct HandWritten {
    spec: ScorerSpec,
}

impl Scorer<Value, Value, u64> for HandWritten {
    fn spec(&self) -> &ScorerSpec {
        &self.spec
    }

    fn score<'a>(&'a self, input: &'a Input<'a, u64>) -> eval_engine::ScoreFuture<'a> {
        let n = if input.task.id() == "t00" { f64::NAN } else { 0.75 };
        Box::pin(std::future::ready(vec![Feedback::number("", n)]))
    }
}

#[tokio::test]
async fn a_hand_written_scorer_gets_its_feedback_sanitised_too() {
    let agent = |task: Arc<Task>, _ctx: Ctx| async move { Ok::<_, String>(task.inputs()["n"].as_u64().unwrap()) };
    let plain: Arc<dyn Scorer<Value, Value, u64>> = Arc::new(HandWritten {
        spec: ScorerSpec::new("ratio"),
    });
    // With a threshold, a NaN is found ungradeable before it is judged, as a scorer's NaN is
    // through `IntoFeedback`: a fail that says so, not a score below the threshold.
    let gated: Arc<dyn Scorer<Value, Value, u64>> = Arc::new(HandWritten {
        spec: ScorerSpec::new("gated").with_threshold(Threshold::at_least(0.5)),
    });
    let result = run(&suite(2), agent, vec![plain, gated], RunOptions::default()).await;

    for (key, verdict) in [("ratio", Verdict::Ungradeable), ("gated", Verdict::Fail)] {
        let nan = feedback(&result, "t00", key);
        assert_eq!(nan.key, key, "an empty key becomes the scorer's");
        assert_eq!(nan.verdict(), verdict, "{key}");
        assert!(
            nan.comment.as_deref().unwrap().contains("scorer returned NaN"),
            "{nan:?}"
        );
    }
    let gated = feedback(&result, "t00", "gated").comment.as_deref().unwrap();
    assert!(gated.starts_with("ungradeable (counts as a fail)"), "{gated}");
    assert_eq!(feedback(&result, "t01", "ratio").as_number(), Some(0.75));
    assert_eq!(feedback(&result, "t01", "gated").verdict(), Verdict::Pass);
    let agg = result.aggregates();
    assert_eq!(agg.ungradeable["ratio"], 1);
    assert_eq!(agg.score_stats["ratio"].n, 1);
    assert_eq!(agg.pass_rate["gated"], 0.5, "the ungradeable attempt counts as a fail");
}

#[tokio::test]
async fn threshold_and_advisory_come_from_the_spec() {
    let agent = |task: Arc<Task>, _ctx: Ctx| async move { Ok::<_, String>(task.inputs()["n"].as_u64().unwrap()) };
    let quality: Arc<dyn Scorer<Value, Value, u64>> = Arc::new(scorer_fn(
        ScorerSpec::new("quality").with_threshold(Threshold::at_least(0.5)),
        |s: &Input<u64>| s.outputs.map(|o| *o as f64 / 4.0),
    ));
    let style: Arc<dyn Scorer<Value, Value, u64>> =
        Arc::new(scorer_fn(ScorerSpec::new("style").advisory(), |_: &Input<u64>| false));
    let result = run(&suite(4), agent, vec![quality, style], RunOptions::default()).await;
    let low = feedback(&result, "t01", "quality");
    assert_eq!(low.verdict(), Verdict::Fail);
    assert_eq!(low.detail.as_ref().unwrap()["score"], 0.25);
    assert_eq!(feedback(&result, "t03", "quality").verdict(), Verdict::Pass);
    assert_eq!(result.pass_rate("quality", None), Some(0.5));
    assert!(result.spec("style").unwrap().advisory);
    assert!(result.spec("quality").unwrap().threshold.is_some());
}

#[tokio::test]
async fn repeats_record_each_attempt() {
    let agent = |_task: Arc<Task>, ctx: Ctx| async move { Ok::<_, String>(u64::from(ctx.attempt())) };
    let result = run(&suite(2), agent, vec![], RunOptions::default().repeats(3)).await;
    let ids: Vec<&str> = result.tasks().iter().map(|t| t.task_id.as_str()).collect();
    assert_eq!(ids, ["t00#1", "t00#2", "t00#3", "t01#1", "t01#2", "t01#3"]);
    let second = result.task("t01#2").unwrap();
    assert_eq!(second.attempt, Some(2));
    assert_eq!(second.base_id(), "t01");
    assert_eq!(second.outputs, json!(2));
    assert_eq!(result.meta.repeats, 3);
}

#[tokio::test]
async fn budgets_are_recorded_never_aborting() {
    let agent = |task: Arc<Task>, ctx: Ctx| async move {
        let n = task.inputs()["n"].as_u64().unwrap();
        ctx.usage(100 * n, 10);
        ctx.usage(1, 1);
        Ok::<_, String>(n)
    };
    let budgets = Budgets {
        max_tokens: Some(150),
        max_seconds: None,
    };
    let result = run(&suite(3), agent, vec![], RunOptions::default().budgets(budgets)).await;
    let violations: Vec<bool> = result.tasks().iter().map(|t| t.budget_violation).collect();
    assert_eq!(violations, [false, false, true]);
    assert_eq!(result.task("t02").unwrap().outputs, json!(2), "the task still finished");
    assert_eq!(result.task("t02").unwrap().trace.tokens.total(), 212);
    assert_eq!(result.aggregates().budget_violations, 1);
    assert_eq!(result.aggregates().tokens.total, 12 + 112 + 212);
}

#[derive(Default)]
struct Counting {
    started: AtomicUsize,
    evaluated: AtomicUsize,
    completed: AtomicUsize,
}

impl Observer for Counting {
    fn run_started(&self, run: &RunStarted<'_>) {
        assert_eq!(run.records, 5);
        self.started.fetch_add(1, Ordering::SeqCst);
    }
    fn task_evaluated(&self, task: &TaskRecord) {
        assert!(!task.feedback.is_empty(), "tasks are reported once graded");
        self.evaluated.fetch_add(1, Ordering::SeqCst);
    }
    fn run_completed(&self, run: &RunResult) {
        assert_eq!(run.tasks().len(), 5);
        self.completed.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn observer_sees_the_lifecycle() {
    let observer = Arc::new(Counting::default());
    let agent = |task: Arc<Task>, _ctx: Ctx| async move { Ok::<_, String>(task.inputs()["n"].as_u64().unwrap() * 2) };
    let options = RunOptions::default().observer(observer.clone());
    run(&suite(5), agent, vec![doubled_correct()], options).await;
    assert_eq!(observer.started.load(Ordering::SeqCst), 1);
    assert_eq!(observer.evaluated.load(Ordering::SeqCst), 5);
    assert_eq!(observer.completed.load(Ordering::SeqCst), 1);
}

#[derive(Serialize)]
struct Forecast {
    city: String,
    temp_c: f64,
}

#[tokio::test]
async fn typed_outputs_reach_scorers_typed_and_are_stored_as_json() {
    let agent = |task: Arc<Task>, _ctx: Ctx| async move {
        Ok::<_, std::io::Error>(Forecast {
            city: task.input().to_owned(),
            temp_c: 18.5,
        })
    };
    let city: Arc<dyn Scorer<Value, Value, Forecast>> =
        Arc::new(scorer_fn(ScorerSpec::new("city"), |s: &Input<Forecast>| {
            s.outputs.map(|f| f.city == "q0")
        }));
    let scorers: Scorers<Value, Value, Forecast> = vec![city];
    let result = run(
        &suite(1),
        agent,
        scorers,
        RunOptions::default().label("nightly").unwrap(),
    )
    .await;
    assert_eq!(feedback(&result, "t00", "city").verdict(), Verdict::Pass);
    assert_eq!(
        result.task("t00").unwrap().outputs,
        json!({"city": "q0", "temp_c": 18.5})
    );
    assert_eq!(result.meta.label.as_deref(), Some("nightly"));
    assert_eq!(result.meta.run_id.len(), 26, "a ULID");
}

#[test]
fn run_ids_and_labels_must_be_plain_file_names() {
    let err = RunOptions::default().run_id("../escape").err().unwrap();
    assert_eq!(
        err.to_string(),
        "run id `../escape` is not a plain file name: it contains a path separator"
    );
    assert!(RunOptions::default().label("a/b").is_err());
    assert!(RunOptions::default().run_id("2026-11-24.nightly").is_ok());
}

/// Settles a task once it has as many attempts as its number says (t00 at once, t01 after one
/// more...), never beyond the range.
struct SettleAtNumber;

impl eval_engine::runner::Settle for SettleAtNumber {
    fn settled(&self, _task_id: &str, attempts: &[&TaskRecord]) -> bool {
        attempts.len() as u64 >= attempts[0].inputs["n"].as_u64().unwrap() + 2
    }
}

#[derive(Default)]
struct Settled(std::sync::Mutex<Vec<(String, u32)>>);

impl Observer for Settled {
    fn task_settled(&self, task_id: &str, attempts: u32) {
        self.0.lock().unwrap().push((task_id.to_owned(), attempts));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adaptive_repeats_add_attempts_only_to_undecided_tasks() {
    let calls = Arc::new(AtomicUsize::new(0));
    let agent = {
        let calls = calls.clone();
        move |task: Arc<Task>, ctx: Ctx| {
            calls.fetch_add(1, Ordering::SeqCst);
            let attempt = ctx.attempt();
            async move {
                // Later attempts finish first: records still come back in attempt order.
                tokio::time::sleep(Duration::from_millis(u64::from(10 - attempt.min(10)))).await;
                Ok::<u64, String>(task.inputs()["n"].as_u64().unwrap() * 2)
            }
        }
    };
    let settled = Arc::new(Settled::default());
    let options = RunOptions::default()
        .concurrency(3)
        .adaptive_repeats(2..=5, Arc::new(SettleAtNumber))
        .observer(settled.clone());
    assert_eq!(options.fewest_attempts(), 2);
    let options = options.model("gpt-x");
    let result = run(&suite(5), agent, vec![doubled_correct()], options).await;
    // t00 settles at 2, t01 at 3, t02 at 4, t03 and t04 run out of attempts at 5.
    let ids: Vec<&str> = result.tasks().iter().map(|t| t.task_id.as_str()).collect();
    let expected: Vec<String> = [2, 3, 4, 5, 5]
        .iter()
        .enumerate()
        .flat_map(|(task, attempts)| (1..=*attempts).map(move |a| format!("t{task:02}#{a}")))
        .collect();
    assert_eq!(ids, expected);
    assert_eq!(calls.load(Ordering::SeqCst), 19);
    assert_eq!(result.meta.repeats, 5, "the most attempts a task may get");
    assert_eq!(result.meta.fewest_repeats, Some(2));
    assert_eq!(result.meta.model.as_deref(), Some("gpt-x"));
    let mut told = settled.0.lock().unwrap().clone();
    told.sort();
    assert_eq!(
        told,
        [("t00", 2), ("t01", 3), ("t02", 4), ("t03", 5), ("t04", 5)].map(|(t, n)| (t.to_owned(), n))
    );
    assert!(result.tasks().iter().all(|t| t.attempt.is_some()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adaptive_repeats_against_a_baseline_go_on_only_where_the_gate_is_undecided() {
    use eval_engine::gate::{AdaptiveRepeats, RegressionPolicy, SettleAgainst};
    use eval_engine::scorecard::Scorecard;
    // The baseline: every task passed 20 of 20 attempts.
    let baseline_run = {
        let agent =
            |task: Arc<Task>, _ctx: Ctx| async move { Ok::<u64, String>(task.inputs()["n"].as_u64().unwrap() * 2) };
        run(
            &suite(3),
            agent,
            vec![doubled_correct()],
            RunOptions::default().repeats(20),
        )
        .await
    };
    let baseline = Scorecard::from_run(&baseline_run);
    // Now t00 always passes, t01 fails every attempt, t02 fails every other one.
    let agent = |task: Arc<Task>, ctx: Ctx| async move {
        let n = task.inputs()["n"].as_u64().unwrap();
        let right = match n {
            0 => true,
            1 => false,
            _ => ctx.attempt().is_multiple_of(2),
        };
        Ok::<u64, String>(if right { n * 2 } else { 999 })
    };
    let settle = SettleAgainst {
        repeats: AdaptiveRepeats { min: 3, max: 10 },
        baseline,
        keys: vec!["correct".to_owned()],
        policy: RegressionPolicy::default(),
    };
    let options = RunOptions::default().adaptive_repeats(3..=10, Arc::new(settle));
    let result = run(&suite(3), agent, vec![doubled_correct()], options).await;
    let attempts = |task: &str| result.tasks().iter().filter(|t| t.base_id() == task).count();
    // 0/3 against 20/20 regressed at once; alternating fails reach a regression early too; the
    // perfect one goes on until a drop is ruled out.
    assert_eq!(attempts("t01"), 3);
    assert!(attempts("t02") < 10, "{}", attempts("t02"));
    assert!((4..=10).contains(&attempts("t00")), "{}", attempts("t00"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_reads_its_variant_and_the_run_file_records_it() {
    // The agent answers with the factor its variant configures; without one it doubles.
    let agent = |task: Arc<Task>, ctx: Ctx| async move {
        let factor = ctx.variant().and_then(|v| v.config()["factor"].as_u64()).unwrap_or(2);
        Ok::<_, std::io::Error>(task.inputs()["n"].as_u64().unwrap_or(0) * factor)
    };
    let tripled = eval_engine::variant::Variant::new("tripled", json!({"factor": 3}))
        .unwrap()
        .in_group("01GROUP");
    let tasks = suite(3);
    let plain = run(&tasks, agent, vec![doubled_correct()], RunOptions::default()).await;
    let varied = run(
        &tasks,
        agent,
        vec![doubled_correct()],
        RunOptions::default().variant(tripled.clone()),
    )
    .await;
    assert_eq!(plain.meta.variant, None);
    assert_eq!(feedback(&plain, "t01", "correct").verdict(), Verdict::Pass);
    assert_eq!(
        feedback(&varied, "t01", "correct").verdict(),
        Verdict::Fail,
        "3 × 1 is not 2"
    );
    assert_eq!(varied.task("t01").unwrap().outputs, json!(3));
    assert_eq!(varied.meta.variant.as_ref(), Some(&tripled));

    let dir = tempfile::tempdir().unwrap();
    let (plain_path, varied_path) = (dir.path().join("plain.json"), dir.path().join("varied.json"));
    eval_engine::store::save_run(&plain, &plain_path).unwrap();
    eval_engine::store::save_run(&varied, &varied_path).unwrap();
    let written: Value = serde_json::from_slice(&std::fs::read(&varied_path).unwrap()).unwrap();
    assert_eq!(
        written["variant"],
        json!({"name": "tripled", "config": {"factor": 3}, "group": "01GROUP"})
    );
    let without: Value = serde_json::from_slice(&std::fs::read(&plain_path).unwrap()).unwrap();
    assert!(
        without.get("variant").is_none(),
        "a run without variants writes no `variant`"
    );
    assert_eq!(eval_engine::load_run(&varied_path).unwrap().meta.variant, Some(tripled));
}
