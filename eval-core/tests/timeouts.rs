//! Timeouts that hold for agents and scorers that never return: a thread blocked by
//! `std::thread::sleep`, a synchronous loop, a future that never completes. With a work
//! runtime the run watches them from threads they never run on, gives them up, and finishes.

use eval_engine::result::RunStatus;
use eval_engine::scorer::Threshold;
use eval_engine::trace::Exception;
use eval_engine::{
    Ctx, Feedback, RunOptions, RunResult, ScoreFuture, ScoreInput, Scorer, ScorerSpec, Scorers, Suite, Task, Verdict,
    decode_output, regrade, run, scorer_fn,
};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

type Input<'a> = ScoreInput<'a, Value, Value, String>;

/// How long a given-up agent or scorer may take on top of its limit on a loaded machine; still
/// far below how long the stuck ones would hold the run.
const MARGIN: Duration = Duration::from_secs(3);

fn suite(n: usize) -> Suite {
    let values = (0..n)
        .map(|i| json!({"task_id": format!("t{i:02}"), "inputs": {"input": format!("q{i}")}}))
        .collect();
    Suite::from_values("stuck", values).unwrap()
}

/// A runtime for agents and scorers, ended without waiting for the threads they block.
struct WorkRuntime(Option<tokio::runtime::Runtime>);

impl WorkRuntime {
    fn new(threads: usize) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
            .unwrap();
        WorkRuntime(Some(runtime))
    }

    fn handle(&self) -> tokio::runtime::Handle {
        self.0.as_ref().unwrap().handle().clone()
    }
}

impl Drop for WorkRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

fn answered() -> Arc<dyn Scorer<Value, Value, String>> {
    Arc::new(scorer_fn(ScorerSpec::new("answered"), |s: &Input| s.outputs.is_some()))
}

fn no_exception() -> Arc<dyn Scorer<Value, Value, String>> {
    Arc::new(scorer_fn(ScorerSpec::new("no_exception"), |s: &Input| {
        s.trace.succeeded()
    }))
}

fn feedback<'a>(run: &'a RunResult, task: &str, key: &str) -> &'a Feedback {
    run.task(task)
        .and_then(|t| t.feedback_for(key))
        .unwrap_or_else(|| panic!("no feedback {key} for {task}"))
}

#[tokio::test]
async fn an_agent_blocking_its_thread_times_out_and_the_other_tasks_complete() {
    let work = WorkRuntime::new(4);
    let agent = |task: Arc<Task>, ctx: Ctx| async move {
        ctx.tool_call("lookup", json!({"id": task.id()}));
        if task.id() == "t01" {
            // Blocks the thread: no future of the work runtime's can time this out.
            std::thread::sleep(Duration::from_secs(20));
        }
        Ok::<_, String>(task.input().to_owned())
    };
    let options = RunOptions::default()
        .concurrency(4)
        .timeout(Duration::from_millis(300))
        .work_runtime(work.handle());
    let started = Instant::now();
    // This test's own runtime has a single thread: were the agent on it, nothing would run.
    let result = run(&suite(4), agent, vec![answered(), no_exception()], options).await;
    let elapsed = started.elapsed();

    assert!(elapsed < Duration::from_millis(300) + MARGIN, "took {elapsed:?}");
    assert_eq!(result.meta.status, RunStatus::Completed);
    let stuck = result.task("t01").unwrap();
    assert_eq!(
        stuck.trace.exception,
        Some(Exception::new(
            Exception::TIMEOUT,
            "the agent did not finish within 300ms"
        ))
    );
    assert_eq!(
        stuck.trace.tool_calls().count(),
        1,
        "what the agent recorded before it blocked stays in its trace"
    );
    assert_eq!(stuck.outputs, Value::Null);
    assert_eq!(
        feedback(&result, "t01", "no_exception").verdict(),
        Verdict::Fail,
        "its scorers still grade the trace"
    );
    assert_eq!(feedback(&result, "t01", "answered").verdict(), Verdict::Fail);
    for id in ["t00", "t02", "t03"] {
        assert_eq!(result.task(id).unwrap().trace.exception, None, "{id}");
        assert_eq!(feedback(&result, id, "answered").verdict(), Verdict::Pass, "{id}");
    }
}

/// On task `t02` returns a future that never completes; with `spins`, on task `t01` loops
/// without returning (until `released`, once the test is over: for the run, forever). Grades
/// every other task.
struct Stuck {
    spec: ScorerSpec,
    spins: bool,
    released: Arc<AtomicBool>,
}

impl Stuck {
    fn scorer(spec: ScorerSpec, spins: bool) -> (Arc<dyn Scorer<Value, Value, String>>, Arc<AtomicBool>) {
        let released = Arc::new(AtomicBool::new(false));
        let scorer = Stuck {
            spec,
            spins,
            released: released.clone(),
        };
        (Arc::new(scorer), released)
    }
}

impl Scorer<Value, Value, String> for Stuck {
    fn spec(&self) -> &ScorerSpec {
        &self.spec
    }

    fn score<'a>(&'a self, input: &'a Input<'a>) -> ScoreFuture<'a> {
        if self.spins && input.task.id() == "t01" {
            while !self.released.load(Ordering::Relaxed) {
                std::hint::spin_loop();
            }
        }
        let pending = input.task.id() == "t02";
        Box::pin(async move {
            if pending {
                std::future::pending::<()>().await;
            }
            vec![Feedback::number(self.spec.key.clone(), 1.0)]
        })
    }
}

#[tokio::test]
async fn a_scorer_that_never_returns_is_ungradeable_and_everything_else_is_graded() {
    let work = WorkRuntime::new(4);
    let agent = |task: Arc<Task>, _ctx: Ctx| async move { Ok::<_, String>(task.input().to_owned()) };
    // First the stuck scorer, gating with a threshold; then one that grades every task.
    let (stuck, released) = Stuck::scorer(ScorerSpec::new("stuck").with_threshold(Threshold::at_least(0.5)), true);
    let scorers: Scorers<Value, Value, String> = vec![stuck, answered()];
    let options = RunOptions::default()
        .concurrency(4)
        .scorer_timeout(Duration::from_millis(300))
        .work_runtime(work.handle());
    let started = Instant::now();
    let result = run(&suite(4), agent, scorers, options).await;
    let elapsed = started.elapsed();
    released.store(true, Ordering::Relaxed);

    assert!(elapsed < Duration::from_millis(300) + MARGIN, "took {elapsed:?}");
    assert_eq!(result.meta.status, RunStatus::Completed);
    for id in ["t01", "t02"] {
        let given_up = feedback(&result, id, "stuck");
        assert_eq!(given_up.verdict(), Verdict::Fail, "{id}: the threshold still applies");
        assert_eq!(
            given_up.comment.as_deref(),
            Some("ungradeable (counts as a fail); the scorer did not finish within 300ms"),
            "{id}"
        );
        assert_eq!(
            feedback(&result, id, "answered").verdict(),
            Verdict::Pass,
            "{id}: the scorers after it still grade"
        );
        assert_eq!(result.task(id).unwrap().outputs, json!(format!("q{}", &id[2..])));
    }
    for id in ["t00", "t03"] {
        assert_eq!(feedback(&result, id, "stuck").verdict(), Verdict::Pass, "{id}");
        assert_eq!(feedback(&result, id, "answered").verdict(), Verdict::Pass, "{id}");
    }
    let keys: Vec<&str> = result
        .task("t01")
        .unwrap()
        .feedback
        .iter()
        .map(|f| f.key.as_str())
        .collect();
    assert_eq!(keys, ["stuck", "answered"], "feedback stays in scorer order");
}

/// Grades after sleeping `0.6 ×` the scorer timeout: slow, but each within its own limit.
struct Slow(ScorerSpec, Duration);

impl Scorer<Value, Value, String> for Slow {
    fn spec(&self) -> &ScorerSpec {
        &self.0
    }

    fn score<'a>(&'a self, _input: &'a Input<'a>) -> ScoreFuture<'a> {
        Box::pin(async move {
            tokio::time::sleep(self.1).await;
            vec![Feedback::pass_fail(self.0.key.clone(), true)]
        })
    }
}

#[tokio::test(start_paused = true)]
async fn each_scorer_has_the_whole_timeout_whatever_the_agent_and_the_scorers_before_it_took() {
    let limit = Duration::from_secs(10);
    // The agent takes five scorer timeouts (it has no timeout of its own), each scorer six
    // tenths of one: together far beyond one limit, none beyond its own.
    let agent = |task: Arc<Task>, _ctx: Ctx| async move {
        tokio::time::sleep(Duration::from_secs(50)).await;
        Ok::<_, String>(task.input().to_owned())
    };
    let slow =
        |key: &str| -> Arc<dyn Scorer<Value, Value, String>> { Arc::new(Slow(ScorerSpec::new(key), limit * 6 / 10)) };
    let scorers = vec![slow("first"), slow("second"), slow("third")];
    let result = run(&suite(2), agent, scorers, RunOptions::default().scorer_timeout(limit)).await;
    for id in ["t00", "t01"] {
        for key in ["first", "second", "third"] {
            assert_eq!(feedback(&result, id, key).verdict(), Verdict::Pass, "{id} {key}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn without_a_work_runtime_timeouts_hold_for_futures_that_yield() {
    let agent = |task: Arc<Task>, ctx: Ctx| async move {
        ctx.tool_call("lookup", json!({}));
        if task.id() == "t00" {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Ok::<_, String>(task.input().to_owned())
    };
    // On this single thread only a scorer whose future pends can be given up.
    let (pending, _) = Stuck::scorer(ScorerSpec::new("stuck"), false);
    let options = RunOptions::default()
        .timeout(Duration::from_secs(2))
        .scorer_timeout(Duration::from_secs(5));
    let result = run(&suite(3), agent, vec![pending, answered()], options).await;

    let timed_out = result.task("t00").unwrap();
    assert_eq!(timed_out.trace.exception.as_ref().unwrap().kind, Exception::TIMEOUT);
    assert_eq!(timed_out.trace.tool_calls().count(), 1);
    let given_up = feedback(&result, "t02", "stuck");
    assert_eq!(given_up.verdict(), Verdict::Ungradeable);
    assert_eq!(given_up.comment.as_deref(), Some("the scorer did not finish within 5s"));
    assert_eq!(feedback(&result, "t02", "answered").verdict(), Verdict::Pass);
    assert_eq!(feedback(&result, "t01", "stuck").verdict(), Verdict::Informational);
}

#[tokio::test]
async fn a_stop_request_is_acted_on_while_every_agent_blocks_its_thread() {
    let work = WorkRuntime::new(2);
    let agent = |task: Arc<Task>, _ctx: Ctx| async move {
        std::thread::sleep(Duration::from_secs(20));
        Ok::<_, String>(task.input().to_owned())
    };
    let (stop, requested) = tokio::sync::watch::channel(false);
    let options = RunOptions::default()
        .concurrency(2)
        .work_runtime(work.handle())
        .stop_when(requested, Duration::from_millis(200));
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop.send_replace(true);
    });
    let started = Instant::now();
    let result = run(&suite(4), agent, vec![answered()], options).await;
    let elapsed = started.elapsed();

    assert!(elapsed < Duration::from_millis(300) + MARGIN, "took {elapsed:?}");
    assert_eq!(result.meta.status, RunStatus::Interrupted);
    assert!(result.tasks().is_empty(), "no task finished");
}

#[tokio::test]
async fn a_regrade_gives_up_a_scorer_that_never_returns() {
    let work = WorkRuntime::new(2);
    let agent = |task: Arc<Task>, _ctx: Ctx| async move { Ok::<_, String>(task.input().to_owned()) };
    let stored = run(&suite(3), agent, vec![answered()], RunOptions::default()).await;

    let (stuck, released) = Stuck::scorer(ScorerSpec::new("stuck"), true);
    let options = RunOptions::default()
        .scorer_timeout(Duration::from_millis(200))
        .work_runtime(work.handle());
    let started = Instant::now();
    let regraded = regrade(&suite(3), stored, decode_output, vec![stuck, answered()], options).await;
    let elapsed = started.elapsed();
    released.store(true, Ordering::Relaxed);

    assert!(elapsed < Duration::from_millis(200) + MARGIN, "took {elapsed:?}");
    for id in ["t01", "t02"] {
        let given_up = feedback(&regraded, id, "stuck");
        assert_eq!(given_up.verdict(), Verdict::Ungradeable, "{id}");
        assert_eq!(
            given_up.comment.as_deref(),
            Some("the scorer did not finish within 200ms"),
            "{id}"
        );
        assert_eq!(feedback(&regraded, id, "answered").verdict(), Verdict::Pass, "{id}");
        assert_eq!(regraded.task(id).unwrap().outputs, json!(format!("q{}", &id[2..])));
    }
    assert_eq!(feedback(&regraded, "t00", "stuck").verdict(), Verdict::Informational);
}

#[tokio::test]
async fn when_every_worker_is_stuck_the_rest_still_runs_and_is_graded() {
    // Two workers, and every agent blocks its thread: the first two take both for good.
    let work = WorkRuntime::new(2);
    let agent = |task: Arc<Task>, ctx: Ctx| async move {
        ctx.tool_call("lookup", json!({"id": task.id()}));
        std::thread::sleep(Duration::from_secs(10));
        Ok::<_, String>(task.input().to_owned())
    };
    let options = RunOptions::default()
        .concurrency(2)
        .timeout(Duration::from_millis(200))
        .scorer_timeout(Duration::from_secs(1))
        .work_runtime(work.handle());
    let started = Instant::now();
    let result = run(&suite(6), agent, vec![no_exception(), answered()], options).await;
    let elapsed = started.elapsed();

    // Three rounds of two agents timed out, with nothing waiting for a stuck worker.
    assert!(elapsed < Duration::from_millis(600) + MARGIN, "took {elapsed:?}");
    assert_eq!(result.tasks().len(), 6);
    for task in result.tasks() {
        let id = &task.task_id;
        assert_eq!(
            task.trace.exception.as_ref().map(|e| e.message.as_str()),
            Some("the agent did not finish within 200ms"),
            "{id}"
        );
        assert_eq!(task.trace.tool_calls().count(), 1, "{id}: every agent started");
        for key in ["no_exception", "answered"] {
            let graded = feedback(&result, id, key);
            assert_eq!(graded.verdict(), Verdict::Fail, "{id} {key}: graded, not given up");
            assert_eq!(graded.comment, None, "{id} {key}");
        }
    }
}

/// An output whose `Serialize` panics on task `t01`.
struct Answer(String);

impl serde::Serialize for Answer {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0 == "q1" {
            panic!("cannot write this answer");
        }
        serializer.serialize_str(&self.0)
    }
}

#[tokio::test]
async fn an_attempt_whose_own_work_panics_is_recorded_and_the_run_goes_on() {
    let work = WorkRuntime::new(2);
    let agent = |task: Arc<Task>, _ctx: Ctx| async move { Ok::<_, String>(Answer(task.input().to_owned())) };
    let succeeded: Arc<dyn Scorer<Value, Value, Answer>> = Arc::new(scorer_fn(
        ScorerSpec::new("succeeded"),
        |s: &ScoreInput<Value, Value, Answer>| s.trace.succeeded(),
    ));
    let options = RunOptions::default().work_runtime(work.handle());
    let result = run(&suite(3), agent, vec![succeeded], options).await;

    assert_eq!(result.meta.status, RunStatus::Completed);
    let broken = result.task("t01").unwrap();
    let exception = broken.trace.exception.as_ref().unwrap();
    assert_eq!(exception.kind, Exception::PANIC);
    assert_eq!(
        exception.message,
        "the agent's work ended without a result: it panicked: cannot write this answer"
    );
    assert_eq!(feedback(&result, "t01", "succeeded").verdict(), Verdict::Fail);
    for id in ["t00", "t02"] {
        assert_eq!(feedback(&result, id, "succeeded").verdict(), Verdict::Pass, "{id}");
        assert_eq!(result.task(id).unwrap().outputs, json!(format!("q{}", &id[2..])));
    }
}
