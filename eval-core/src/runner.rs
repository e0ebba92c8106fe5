//! Running a suite: every task through the agent (bounded concurrency, timeouts, panics caught),
//! then through every scorer.

mod grade;
mod work;

pub(crate) use grade::Scoring;
pub use grade::grade;

pub(crate) use work::{Done, Graded, Watched, Work};

use crate::agent::{Agent, short_type_name};
use crate::capture::TaskSpan;
use crate::cassette::Cassettes;
use crate::ctx::Ctx;
use crate::file_name::{InvalidName, check_file_name};
use crate::observer::{Observer, RunStarted};
use crate::panic::catch_panic;
use crate::record::TaskRecord;
use crate::result::{
    Budgets, GitInfo, Producer, RunMeta, RunResult, RunStatus, SCHEMA_VERSION, Selection, SuiteInfo, now_rfc3339,
};
use crate::scorer::Scorers;
use crate::suite::Suite;
use crate::task::Task;
use crate::trace::{Exception, Trace};
use crate::variant::Variant;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Handle;
use tokio::sync::{Semaphore, mpsc, watch};
use work::AgentRun;

/// How to run a suite. Built with chained setters:
///
/// ```
/// use eval_engine::RunOptions;
/// use std::time::Duration;
///
/// let options = RunOptions::default()
///     .concurrency(16)
///     .timeout(Duration::from_secs(60))
///     .repeats(3)
///     .label("nightly")
///     .unwrap();
/// assert_eq!(options.concurrency_limit(), 16);
/// ```
#[derive(Clone)]
pub struct RunOptions {
    concurrency: usize,
    timeout: Option<Duration>,
    scorer_timeout: Duration,
    work_runtime: Option<Handle>,
    pub(crate) repeats: u32,
    adaptive: Option<Adaptive>,
    pub(crate) budgets: Budgets,
    run_id: Option<String>,
    label: Option<String>,
    model: Option<String>,
    pub(crate) target: Option<String>,
    selection: Option<Selection>,
    git: Option<GitInfo>,
    pub(crate) observer: Option<Arc<dyn Observer>>,
    cassettes: Option<Cassettes>,
    stop: Option<StopRequest>,
    variant: Option<Arc<Variant>>,
    spans: bool,
}

/// Says whether a task needs no more attempts, given those it had (adaptive repeats).
pub trait Settle: Send + Sync {
    /// Whether `attempts` (the records of one task, in attempt order) decide every pair of
    /// task `task_id`.
    fn settled(&self, task_id: &str, attempts: &[&TaskRecord]) -> bool;
}

/// Settles each task at the attempts it has here.
struct SettledAt(std::collections::BTreeMap<String, u32>);

impl Settle for SettledAt {
    fn settled(&self, task_id: &str, attempts: &[&TaskRecord]) -> bool {
        attempts.len() as u32 >= self.0.get(task_id).copied().unwrap_or(0)
    }
}

/// Adaptive repeats: the fewest attempts, and what decides a task.
#[derive(Clone)]
struct Adaptive {
    min: u32,
    settle: Arc<dyn Settle>,
}

/// A request to stop a run early: no new task starts once `requested` turns true, and tasks
/// still running `grace` later are abandoned.
#[derive(Clone)]
struct StopRequest {
    requested: watch::Receiver<bool>,
    grace: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            concurrency: 8,
            timeout: None,
            scorer_timeout: RunOptions::DEFAULT_SCORER_TIMEOUT,
            work_runtime: None,
            repeats: 1,
            adaptive: None,
            budgets: Budgets::default(),
            run_id: None,
            label: None,
            model: None,
            target: None,
            selection: None,
            git: None,
            observer: None,
            cassettes: None,
            stop: None,
            variant: None,
            spans: false,
        }
    }
}

impl RunOptions {
    /// How long a scorer may grade one task unless [`RunOptions::scorer_timeout`] says
    /// otherwise: a minute, well above what a scorer asking a model for a verdict takes, and
    /// short enough that a scorer stuck in a loop costs a minute rather than the whole run.
    pub const DEFAULT_SCORER_TIMEOUT: Duration = Duration::from_secs(60);

    /// At most `n` tasks run at once (at least 1). Default 8.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// The concurrency bound in force.
    pub fn concurrency_limit(&self) -> usize {
        self.concurrency
    }

    /// An agent still running after `limit` is given up: its task is recorded with a
    /// [`Exception::TIMEOUT`] exception and the trace it recorded so far, which its scorers
    /// still grade. Needs a tokio runtime with timers enabled; an agent that blocks its thread
    /// is only timed out with a [`RunOptions::work_runtime`].
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    /// A scorer still grading a task after `limit` is given up: its feedback is ungradeable
    /// (`the scorer did not finish within …`), the task's later scorers still grade, and the
    /// other tasks are not concerned. Default [`RunOptions::DEFAULT_SCORER_TIMEOUT`]. Like the
    /// agent's timeout, it holds for a scorer that blocks its thread only with a
    /// [`RunOptions::work_runtime`].
    pub fn scorer_timeout(mut self, limit: Duration) -> Self {
        self.scorer_timeout = limit;
        self
    }

    /// Runs every agent and scorer on `runtime`, leaving the runtime that calls [`run`] only
    /// to schedule tasks and watch their deadlines.
    ///
    /// Nothing async can interrupt a thread that an agent or scorer blocks (a synchronous loop,
    /// `std::thread::sleep`, a blocking call). Watched from threads they never run on, a
    /// timeout holds for them too: the agent or scorer is given up, its future aborted and the
    /// thread it blocks abandoned (never waited for) while the run goes on. An abandoned thread
    /// is lost to `runtime`; while as many work futures as it has worker threads are running or
    /// stuck, the next ones run on its blocking pool, a thread each. Give it as many worker
    /// threads as the concurrency, so that only stuck work overflows.
    ///
    /// Without it, agents and scorers run on the calling runtime as tasks of their own, and a
    /// timeout holds only for futures that yield, or while that runtime has a thread left to
    /// notice (never on a current-thread runtime).
    ///
    /// ```
    /// use eval_engine::RunOptions;
    /// use std::time::Duration;
    ///
    /// let work = tokio::runtime::Builder::new_multi_thread().worker_threads(8).enable_all().build().unwrap();
    /// let options = RunOptions::default()
    ///     .concurrency(8)
    ///     .timeout(Duration::from_secs(30))
    ///     .work_runtime(work.handle().clone());
    /// # drop(options);
    /// // Never a plain drop, which would wait for a thread an agent blocks for good.
    /// work.shutdown_background();
    /// ```
    pub fn work_runtime(mut self, runtime: Handle) -> Self {
        self.work_runtime = Some(runtime);
        self
    }

    /// Runs each task `k` times (at least 1); attempts are recorded as `<id>#1` … `<id>#k`.
    pub fn repeats(mut self, k: u32) -> Self {
        self.repeats = k.max(1);
        self.adaptive = None;
        self
    }

    /// Runs each task `attempts.start()` times, then one more attempt at a time while `settle`
    /// says it is undecided, up to `attempts.end()` (recorded as `<id>#1` … like
    /// [`RunOptions::repeats`], and as `repeats` = the most in the run's metadata).
    /// [`crate::gate::SettleAgainst`] is the rule that decides against a baseline.
    ///
    /// Attempts beyond the fewest go in rounds: every undecided task gets its next attempt,
    /// then each is asked again once the round is over.
    pub fn adaptive_repeats(mut self, attempts: std::ops::RangeInclusive<u32>, settle: Arc<dyn Settle>) -> Self {
        let min = (*attempts.start()).max(1);
        let max = (*attempts.end()).max(min);
        self.repeats = max;
        self.adaptive = Some(Adaptive { min, settle });
        self
    }

    /// With adaptive repeats: each task settled at the attempts `attempts` gives it (by task
    /// id), as when re-grading a stored run.
    pub(crate) fn settled_at(mut self, attempts: std::collections::BTreeMap<String, u32>) -> Self {
        if let Some(adaptive) = &mut self.adaptive {
            adaptive.settle = Arc::new(SettledAt(attempts));
        }
        self
    }

    /// The fewest attempts of a task: the `repeats`, or the start of the adaptive range.
    pub fn fewest_attempts(&self) -> u32 {
        self.adaptive.as_ref().map_or(self.repeats, |a| a.min)
    }

    /// Per-task token and time budgets, recorded as violations (never aborting a task).
    pub fn budgets(mut self, budgets: Budgets) -> Self {
        self.budgets = budgets;
        self
    }

    /// Uses `run_id` instead of a fresh ULID. It must be a plain file name.
    pub fn run_id(mut self, run_id: impl Into<String>) -> Result<Self, InvalidName> {
        let run_id = run_id.into();
        check_file_name("run id", &run_id)?;
        self.run_id = Some(run_id);
        Ok(self)
    }

    /// A label grouping runs of the same evaluation. It must be a plain file name.
    pub fn label(mut self, label: impl Into<String>) -> Result<Self, InvalidName> {
        let label = label.into();
        check_file_name("label", &label)?;
        self.label = Some(label);
        Ok(self)
    }

    /// The model the run evaluates, recorded in the run JSON (`model`) and in the history, where
    /// runs can be filtered by it (besides the models the traces' responses name).
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// The variant of the suite this run evaluates: every attempt's [`Ctx::variant`] gives it
    /// to the agent, and the run JSON records it (`variant`).
    ///
    /// ```
    /// use eval_engine::RunOptions;
    /// use eval_engine::variant::Variant;
    ///
    /// let cheap = Variant::new("cheap", serde_json::json!({"model": "gpt-4o-mini"})).unwrap();
    /// let options = RunOptions::default().variant(cheap);
    /// # let _ = options;
    /// ```
    pub fn variant(mut self, variant: Variant) -> Self {
        self.variant = Some(Arc::new(variant));
        self
    }

    /// Opens a `tracing` span for the run (`eval_run`: `suite`, `run_id`, `variant`), one for
    /// each attempt inside it (`eval_attempt`: `task_id`, `attempt`), which holds the agent's
    /// `eval_task` span and an `eval_scorer` span per scorer (`scorer`, and its `verdict` once
    /// graded): what a layer exporting spans (OpenTelemetry's) shows as one trace per run.
    /// Off by default: every span costs, and only judges need one to grade.
    ///
    /// ```
    /// use eval_engine::RunOptions;
    /// let options = RunOptions::default().spans(true);
    /// # let _ = options;
    /// ```
    pub fn spans(mut self, on: bool) -> Self {
        self.spans = on;
        self
    }

    /// What is being evaluated, as recorded in the run JSON (default: the agent's type name).
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    /// Records which part of the suite this run covers.
    pub fn selection(mut self, selection: Selection) -> Self {
        self.selection = Some(selection);
        self
    }

    /// Records the commit the run was made at.
    pub fn git(mut self, git: GitInfo) -> Self {
        self.git = Some(git);
        self
    }

    /// Tells `observer` about the run's progress.
    pub fn observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Gives every task's [`Ctx`] these cassettes, so that its [`Ctx::replay`] calls are
    /// recorded and replayed (without them, `replay` just makes the call).
    ///
    /// ```
    /// use eval_engine::{CassetteMode, Cassettes, RunOptions};
    ///
    /// let mode = CassetteMode::from_env().unwrap_or(CassetteMode::Strict);
    /// let options = RunOptions::default().cassettes(Cassettes::new("tests/cassettes/weather", mode));
    /// assert!(options.cassettes_in_use().is_some());
    /// ```
    pub fn cassettes(mut self, cassettes: Cassettes) -> Self {
        self.cassettes = Some(cassettes);
        self
    }

    /// Stops the run early once `requested` holds `true`: no new task starts, the running ones
    /// get `grace` to finish (the rest are abandoned and left out), and the run is recorded as
    /// [`RunStatus::Interrupted`] with what finished. How a harness handles Ctrl-C.
    ///
    /// ```
    /// use eval_engine::RunOptions;
    /// use std::time::Duration;
    ///
    /// let (stop, requested) = tokio::sync::watch::channel(false);
    /// let options = RunOptions::default().stop_when(requested, Duration::from_secs(10));
    /// stop.send_replace(true);
    /// # drop(options);
    /// ```
    pub fn stop_when(mut self, requested: watch::Receiver<bool>, grace: Duration) -> Self {
        self.stop = Some(StopRequest { requested, grace });
        self
    }

    /// The cassettes given to every task, if any.
    pub fn cassettes_in_use(&self) -> Option<&Cassettes> {
        self.cassettes.as_ref()
    }

    /// Where the attempts of a run have their agents (timed by `agent_timeout`) and scorers
    /// (if `scoring`) run. Called within the run's runtime, the default home of both.
    pub(crate) fn work(&self, agent_timeout: Option<Duration>, scoring: bool, meta: &RunMeta) -> Arc<Work> {
        let (runtime, dedicated) = match &self.work_runtime {
            Some(runtime) => (runtime.clone(), true),
            None => (Handle::current(), false),
        };
        let run_span = if self.spans {
            tracing::info_span!(
                "eval_run",
                suite = meta.suite.name.as_str(),
                run_id = meta.run_id.as_str(),
                variant = meta.variant.as_ref().map(|v| v.name()),
            )
        } else {
            tracing::Span::none()
        };
        Work::new(
            runtime,
            dedicated,
            agent_timeout,
            self.scorer_timeout,
            scoring,
            run_span,
        )
    }
}

/// Runs every task of `suite` through `agent`, grades it with every scorer, and returns the
/// results. Nothing is asserted and nothing is written.
///
/// Must be called within a tokio runtime with timers enabled (they time the scorers, and the
/// agent when it has a timeout). At most `options.concurrency` tasks are in flight;
/// an agent that errors, panics or overruns its timeout is recorded as the task's exception
/// and its scorers still run on the trace it left, while the other tasks go on. A scorer that
/// panics, errors or overruns the scorer timeout is ungradeable. Agents and scorers run on
/// [`RunOptions::work_runtime`] if given (see there for what a timeout can stop).
///
/// ```
/// use eval_engine::{run, scorer_fn, Ctx, RunOptions, ScoreInput, ScorerSpec, Scorers, Suite, Task};
/// use serde_json::{json, Value};
/// use std::sync::Arc;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let suite: Suite = Suite::from_values("echo", vec![json!({"inputs": {"input": "hi"}, "reference_outputs": {"answer": "HI"}})]).unwrap();
/// let agent = |task: Arc<Task>, _ctx: Ctx| async move { Ok::<_, String>(task.input().to_uppercase()) };
/// let exact = scorer_fn(ScorerSpec::new("exact"), |s: &ScoreInput<Value, Value, String>| {
///     s.outputs.map(|o| s.reference_outputs()["answer"] == o.as_str())
/// });
/// let scorers: Scorers<Value, Value, String> = vec![Arc::new(exact)];
/// let result = run(&suite, agent, scorers, RunOptions::default()).await;
/// assert_eq!(result.pass_rate("exact", None), Some(1.0));
/// # }
/// ```
pub async fn run<I, R, A>(
    suite: &Suite<I, R>,
    agent: A,
    scorers: Scorers<I, R, A::Output>,
    options: RunOptions,
) -> RunResult
where
    I: Serialize + Send + Sync + 'static,
    R: Serialize + Send + Sync + 'static,
    A: Agent<I, R>,
{
    let meta = start_meta(suite, &scorers, &options, target_of::<A>(&options));
    run_tasks(RunTasks::Borrowed(suite.tasks()), meta, agent, scorers, options).await
}

/// Like [`run`], for a suite the run may have: each task is let go of once its last attempt
/// has started (its record keeps what the run file needs), so that a large suite's memory is
/// given back as it runs instead of being held until the end. Tasks of a run with adaptive
/// repeats are kept: a later round may need them.
///
/// ```
/// use eval_engine::{run_owned, Ctx, RunOptions, Scorers, Suite, Task};
/// use serde_json::{json, Value};
/// use std::sync::Arc;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let suite: Suite = Suite::from_values("echo", vec![json!({"inputs": {"input": "hi"}})]).unwrap();
/// let agent = |task: Arc<Task>, _ctx: Ctx| async move { Ok::<_, String>(task.input().to_uppercase()) };
/// let result = run_owned(suite, agent, Scorers::<Value, Value, String>::new(), RunOptions::default()).await;
/// assert_eq!(result.tasks()[0].outputs, json!("HI"));
/// # }
/// ```
pub async fn run_owned<I, R, A>(
    suite: Suite<I, R>,
    agent: A,
    scorers: Scorers<I, R, A::Output>,
    options: RunOptions,
) -> RunResult
where
    I: Serialize + Send + Sync + 'static,
    R: Serialize + Send + Sync + 'static,
    A: Agent<I, R>,
{
    let meta = start_meta(&suite, &scorers, &options, target_of::<A>(&options));
    let tasks = suite.into_tasks().into_iter().map(Some).collect();
    run_tasks(RunTasks::Owned(tasks), meta, agent, scorers, options).await
}

/// What a run says it evaluates: the option, else the agent's type.
fn target_of<A>(options: &RunOptions) -> String {
    options
        .target
        .clone()
        .unwrap_or_else(|| std::any::type_name::<A>().to_owned())
}

/// [`run`] and [`run_owned`], once the run's metadata is made.
async fn run_tasks<I, R, A>(
    tasks: RunTasks<'_, I, R>,
    meta: RunMeta,
    agent: A,
    scorers: Scorers<I, R, A::Output>,
    options: RunOptions,
) -> RunResult
where
    I: Serialize + Send + Sync + 'static,
    R: Serialize + Send + Sync + 'static,
    A: Agent<I, R>,
{
    let started = Instant::now();
    let agent = Arc::new(agent);
    let scorers = Arc::new(scorers);
    let repeated = options.repeats > 1;
    let work = options.work(options.timeout, !scorers.is_empty(), &meta);
    schedule(tasks, meta, &options, started, &work, |task, attempt, done| {
        let job = Job {
            task,
            attempt: repeated.then_some(attempt),
            agent: agent.clone(),
            scorers: scorers.clone(),
            timeout: options.timeout,
            budgets: options.budgets,
            cassettes: options.cassettes.clone(),
            variant: options.variant.clone(),
        };
        job.start(&work, done);
    })
    .await
}

/// The tasks a run starts attempts of, in suite order: a suite's own, or the run's, which lets
/// go of each once its last attempt has started.
pub(crate) enum RunTasks<'a, I, R> {
    Borrowed(&'a [Arc<Task<I, R>>]),
    Owned(Vec<Option<Arc<Task<I, R>>>>),
}

impl<I, R> RunTasks<'_, I, R> {
    fn len(&self) -> usize {
        match self {
            RunTasks::Borrowed(tasks) => tasks.len(),
            RunTasks::Owned(tasks) => tasks.len(),
        }
    }

    /// The id of the task at `position`, while the run still has it.
    fn id(&self, position: usize) -> Option<&str> {
        match self {
            RunTasks::Borrowed(tasks) => Some(tasks[position].id()),
            RunTasks::Owned(tasks) => tasks[position].as_deref().map(Task::id),
        }
    }

    /// The task at `position`, for an attempt; `last` when no attempt of it starts after this
    /// one, which lets an owned task go. `None` once it has gone.
    fn for_attempt(&mut self, position: usize, last: bool) -> Option<Arc<Task<I, R>>> {
        match self {
            RunTasks::Borrowed(tasks) => Some(tasks[position].clone()),
            RunTasks::Owned(tasks) if last => tasks[position].take(),
            RunTasks::Owned(tasks) => tasks[position].clone(),
        }
    }
}

/// Has `start` start every attempt of every task of `suite` (on `work`, or handing its record
/// to [`Done`] at once), at most `options.concurrency` at once, watches their deadlines, and
/// gathers the records in suite order into the run. A stop request starts nothing more;
/// attempts still running when its grace is over are abandoned and the run is recorded as
/// interrupted. Shared by running agents and re-grading a stored run.
pub(crate) async fn schedule<I, R, F>(
    tasks: RunTasks<'_, I, R>,
    meta: RunMeta,
    options: &RunOptions,
    started: Instant,
    work: &Arc<Work>,
    start: F,
) -> RunResult
where
    F: FnMut(Arc<Task<I, R>>, u32, Done),
{
    let (over, run_over) = tokio::sync::oneshot::channel::<()>();
    // A task of its own, so that the scheduler's many wake-ups do not poll it too.
    let watchdog = tokio::spawn({
        let work = work.clone();
        async move {
            work.watch_until(async {
                // Resolves when `over` is dropped, with the run gathered.
                let _ = run_over.await;
            })
            .await
        }
    });
    let result = gather(tasks, meta, options, started, work, start).await;
    drop(over);
    // It lets go of the attempts once it sees the run is over; a join error means the runtime
    // is shutting down, which lets go of them all the same.
    let _ = watchdog.await;
    result
}

/// The scheduling and gathering of [`schedule`], while the watchdog looks after the attempts.
async fn gather<I, R, F>(
    mut tasks: RunTasks<'_, I, R>,
    mut meta: RunMeta,
    options: &RunOptions,
    started: Instant,
    work: &Work,
    mut start: F,
) -> RunResult
where
    F: FnMut(Arc<Task<I, R>>, u32, Done),
{
    let fewest = options.fewest_attempts();
    let records = tasks.len() * fewest as usize;
    if let Some(observer) = &options.observer {
        observer.run_started(&RunStarted {
            run_id: &meta.run_id,
            suite: &meta.suite.name,
            records,
            concurrency: options.concurrency,
        });
    }

    let limit = Arc::new(Semaphore::new(options.concurrency));
    let mut rounds = Rounds {
        options,
        work,
        limit: &limit,
        stopped: false,
        abandoned: false,
        lost: false,
    };
    let first: Vec<(usize, u32)> = (0..tasks.len())
        .flat_map(|task| (1..=fewest).map(move |attempt| (task, attempt)))
        .collect();
    let ran = rounds.run(&mut tasks, &first, &mut start).await;
    let records = match &options.adaptive {
        // The first round holds every attempt, in suite order: its records are the run's.
        None => present(ran),
        Some(adaptive) => {
            let mut by_task: Vec<Vec<TaskRecord>> =
                (0..tasks.len()).map(|_| Vec::with_capacity(fewest as usize)).collect();
            let (mut round, mut ran) = (first, ran);
            loop {
                for (&(task, _), record) in round.iter().zip(ran) {
                    if let Some(record) = record {
                        by_task[task].push(record);
                    }
                }
                round = match rounds.over() {
                    false => next_round(&tasks, &round, &by_task, adaptive, options),
                    true => Vec::new(),
                };
                if round.is_empty() {
                    break;
                }
                ran = rounds.run(&mut tasks, &round, &mut start).await;
            }
            by_task.into_iter().flatten().collect()
        }
    };

    // A stop requested once every task had started, all of them finishing within the grace
    // period, leaves a complete run: nothing is missing from it.
    if rounds.over() {
        meta.status = RunStatus::Interrupted;
    }
    meta.duration_ms = started.elapsed().as_millis() as u64;
    let result = RunResult::new(meta, records);
    if let Some(observer) = &options.observer {
        observer.run_completed(&result);
    }
    result
}

/// The records that are there, in their order, in the list that held them: `filter_map` is
/// collected in place, where `flatten` would copy every record into a second, growing list (at
/// the end of a large run, twice its records' size more at the peak).
#[allow(clippy::filter_map_identity, reason = "`flatten` is not collected in place")]
fn present(records: Vec<Option<TaskRecord>>) -> Vec<TaskRecord> {
    records.into_iter().filter_map(std::convert::identity).collect()
}

/// The next attempt of every task of `round` that is still undecided after its attempts so
/// far (a settled task is told to the observer, once).
fn next_round<I, R>(
    tasks: &RunTasks<'_, I, R>,
    round: &[(usize, u32)],
    by_task: &[Vec<TaskRecord>],
    adaptive: &Adaptive,
    options: &RunOptions,
) -> Vec<(usize, u32)> {
    let mut next = Vec::new();
    let mut asked = usize::MAX;
    for &(position, _) in round {
        // A round holds a task's attempts one after another: each task is asked once.
        if position == asked {
            continue;
        }
        asked = position;
        // Tasks of an adaptive run are never let go of (see `Rounds::run`).
        let Some(id) = tasks.id(position) else { continue };
        let attempts: Vec<&TaskRecord> = by_task[position].iter().collect();
        let had = attempts.len() as u32;
        if had < options.repeats && !adaptive.settle.settled(id, &attempts) {
            next.push((position, had + 1));
        } else if let Some(observer) = &options.observer {
            observer.task_settled(id, had);
        }
    }
    next
}

/// Starts and gathers the attempts of a run, round after round, and remembers whether a stop
/// left any out.
struct Rounds<'a> {
    options: &'a RunOptions,
    work: &'a Work,
    limit: &'a Arc<Semaphore>,
    /// A stop request started nothing more.
    stopped: bool,
    /// The grace after a stop ran out: attempts still running were abandoned.
    abandoned: bool,
    /// An attempt never handed its record over (its work runtime gone).
    lost: bool,
}

impl Rounds<'_> {
    /// Whether attempts are missing from the run: nothing more is started.
    fn over(&self) -> bool {
        self.stopped || self.abandoned || self.lost
    }

    /// Starts every (task position, attempt) of `round` in order, at most `concurrency` at
    /// once, and returns their records in the same order (`None` for one that did not run or
    /// was abandoned).
    async fn run<I, R, F>(
        &mut self,
        tasks: &mut RunTasks<'_, I, R>,
        round: &[(usize, u32)],
        start: &mut F,
    ) -> Vec<Option<TaskRecord>>
    where
        F: FnMut(Arc<Task<I, R>>, u32, Done),
    {
        let options = self.options;
        // Without adaptive repeats, no round follows this one: a task's last attempt is its
        // `fewest`th.
        let last_attempt = match options.adaptive {
            None => options.fewest_attempts(),
            Some(_) => u32::MAX,
        };
        // Records arrive in the order attempts finish and are put in their place at once: one
        // record's memory per attempt, wherever it is on its way.
        let mut records: Vec<Option<TaskRecord>> = Vec::new();
        records.resize_with(round.len(), || None);
        let (sender, mut arrivals) = mpsc::unbounded_channel::<(usize, TaskRecord)>();
        let mut started = 0;
        let mut received = 0;
        let mut stop_before_start = std::pin::pin!(stop_requested(options.stop.as_ref()));
        'starting: for (position, &(task, attempt)) in round.iter().enumerate() {
            // Acquired before starting so that at most `concurrency` attempts run at once; a
            // stop request while waiting for a slot starts nothing more. Records that arrive
            // meanwhile are put away, which is what frees the slots.
            let permit = loop {
                tokio::select! {
                    biased;
                    () = &mut stop_before_start => {
                        self.stopped = true;
                        break 'starting;
                    }
                    Some((at, record)) = arrivals.recv() => {
                        records[at] = Some(record);
                        received += 1;
                    }
                    permit = self.limit.clone().acquire_owned() => break permit,
                }
            };
            let Ok(permit) = permit else {
                unreachable!("the semaphore is never closed")
            };
            let done = Done {
                sender: sender.clone(),
                position,
                permit,
                observer: options.observer.clone(),
            };
            let Some(task) = tasks.for_attempt(task, attempt == last_attempt) else {
                // Never: a task is let go of at its last attempt only.
                self.lost = true;
                continue;
            };
            start(task, attempt, done);
            started += 1;
        }
        // The channel closes once every attempt has sent its record or dropped its sender.
        drop(sender);

        // A fresh wait: the one above may have completed already.
        let grace_over = async {
            stop_requested(options.stop.as_ref()).await;
            if let Some(stop) = &options.stop {
                tokio::time::sleep(stop.grace).await;
            }
        };
        let mut grace_over = std::pin::pin!(grace_over);
        while received < started {
            tokio::select! {
                arrival = arrivals.recv() => match arrival {
                    Some((at, record)) => {
                        records[at] = Some(record);
                        received += 1;
                    }
                    // Every attempt hands its record over unless abandoned; one that could not
                    // (its work runtime gone) is missing from the run, like an abandoned one.
                    None => {
                        self.lost = true;
                        break;
                    }
                },
                () = &mut grace_over => {
                    self.abandoned = true;
                    self.work.abandon_all();
                    // Abandoned: only what was handed over before counts.
                    while let Ok((at, record)) = arrivals.try_recv() {
                        records[at] = Some(record);
                    }
                    break;
                }
            }
        }
        records
    }
}

/// The metadata of a run starting now; `target` is what it evaluates.
pub(crate) fn start_meta<I, R, O>(
    suite: &Suite<I, R>,
    scorers: &Scorers<I, R, O>,
    options: &RunOptions,
    target: String,
) -> RunMeta {
    RunMeta {
        schema_version: SCHEMA_VERSION.to_owned(),
        run_id: options.run_id.clone().unwrap_or_else(|| ulid::Ulid::new().to_string()),
        label: options.label.clone(),
        created_at: now_rfc3339(),
        duration_ms: 0,
        suite: SuiteInfo {
            name: suite.name().to_owned(),
            size: suite.len(),
            source: suite.source().to_owned(),
        },
        target,
        concurrency: options.concurrency,
        status: RunStatus::Completed,
        selection: options.selection.clone(),
        repeats: options.repeats,
        fewest_repeats: options.adaptive.as_ref().map(|a| a.min),
        model: options.model.clone(),
        variant: options.variant.as_deref().cloned(),
        budgets: options.budgets,
        producer: Some(Producer::this_crate()),
        git: options.git.clone(),
        scorers: scorers.iter().map(|s| s.spec().clone()).collect(),
        resumed: None,
        regraded_from: None,
    }
}

/// Resolves once a stop is requested; never without a stop request (or once its sender is gone
/// without having asked).
async fn stop_requested(stop: Option<&StopRequest>) {
    let Some(stop) = stop else {
        return std::future::pending().await;
    };
    let mut requested = stop.requested.clone();
    if requested.wait_for(|requested| *requested).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// One task attempt: run the agent, then grade.
struct Job<I, R, A: Agent<I, R>> {
    task: Arc<Task<I, R>>,
    attempt: Option<u32>,
    agent: Arc<A>,
    scorers: Arc<Scorers<I, R, A::Output>>,
    timeout: Option<Duration>,
    budgets: Budgets,
    cassettes: Option<Cassettes>,
    variant: Option<Arc<Variant>>,
}

impl<I, R, A> Job<I, R, A>
where
    I: Serialize + Send + Sync + 'static,
    R: Serialize + Send + Sync + 'static,
    A: Agent<I, R>,
{
    /// Starts the attempt on `work`; its record goes to `done`.
    fn start(self, work: &Arc<Work>, done: Done) {
        let Job {
            task,
            attempt,
            agent,
            scorers,
            timeout,
            budgets,
            cassettes,
            variant,
        } = self;
        let ctx = Ctx::new(task.id(), attempt.unwrap_or(1));
        let ctx = match &cassettes {
            Some(cassettes) => ctx.with_cassettes(cassettes.clone()),
            None => ctx,
        };
        let ctx = match variant {
            Some(variant) => ctx.with_variant(variant),
            None => ctx,
        };
        let started = Instant::now();
        let agent = AgentRun {
            work: run_agent(agent, task.clone(), ctx.clone(), started),
            timeout,
            // What the agent recorded before it was given up stays in its trace.
            given_up: move |exception| Graded {
                outputs: None,
                outputs_json: Value::Null,
                trace: Trace::new(ctx.take_events(), Some(exception), started.elapsed().as_millis() as u64),
            },
        };
        let scoring = Scoring::new(cassettes, attempt.unwrap_or(1));
        // The closure holds no reference to the task: the record gets the attempt's.
        work.attempt(task, scorers, scoring, agent, move |watched| {
            done.send(record(watched, attempt, budgets))
        });
    }
}

/// The record of an attempt: it takes the task's content when it holds the task's last
/// reference (a run that owns its tasks, at the task's last attempt), else copies it.
fn record<I, R>(watched: Watched<I, R>, attempt: Option<u32>, budgets: Budgets) -> TaskRecord
where
    I: Serialize + 'static,
    R: Serialize + 'static,
{
    let Watched {
        task,
        outputs_json,
        trace,
        feedback,
        scorer_traces,
    } = watched;
    let budget_violation = budgets.exceeded_by(&trace);
    let content = match Arc::try_unwrap(task) {
        Ok(task) => task.into_record_content(),
        Err(task) => task.record_content(),
    };
    TaskRecord {
        task_id: match attempt {
            None => content.id,
            Some(_) => TaskRecord::id_of(&content.id, attempt),
        },
        inputs: content.inputs,
        reference_outputs: content.reference_outputs,
        tags: content.tags,
        metadata: content.metadata,
        budget_violation,
        scorer_traces,
        trace,
        feedback,
        trace_ref: None,
        outputs: outputs_json,
        attempt,
        content_hash: content.content_hash,
    }
}

/// One attempt's agent, run inside the task's span; what it leaves for the scorers.
async fn run_agent<I, R, A>(agent: Arc<A>, task: Arc<Task<I, R>>, ctx: Ctx, started: Instant) -> Graded<A::Output>
where
    A: Agent<I, R>,
{
    // Whatever the agent emits through `tracing` inside this span lands in its trace.
    let task_span = TaskSpan::open(&ctx);
    let finished = catch_panic(task_span.instrument(|| agent.run(task, ctx.clone()))).await;
    let duration_ms = started.elapsed().as_millis() as u64;
    let (outputs, mut exception) = match finished {
        Ok(Ok(outputs)) => (Some(outputs), None),
        Ok(Err(error)) => (
            None,
            Some(Exception::new(short_type_name::<A::Error>(), error.to_string())),
        ),
        Err(panic) => (None, Some(Exception::new(Exception::PANIC, panic))),
    };
    let outputs_json = match outputs.as_ref().map(serde_json::to_value) {
        None => Value::Null,
        Some(Ok(json)) => json,
        Some(Err(e)) => {
            exception.get_or_insert_with(|| {
                Exception::new(
                    "serialize",
                    format!("the agent's output cannot be written as JSON: {e}"),
                )
            });
            Value::Null
        }
    };
    let trace = Trace::new(ctx.take_events(), exception, duration_ms);
    drop(task_span);
    Graded {
        outputs,
        outputs_json,
        trace,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feedback::Feedback;
    use crate::scorer::{ScoreInput, ScorerSpec, scorer_fn};
    use serde_json::json;

    /// Asks the run to stop as soon as the first task is graded.
    struct StopAfterFirst(watch::Sender<bool>);

    impl Observer for StopAfterFirst {
        fn task_evaluated(&self, _task: &TaskRecord) {
            self.0.send_replace(true);
        }
    }

    fn suite(n: usize) -> Suite<Value, Value> {
        let tasks = (0..n).map(|i| json!({"task_id": format!("t{i}"), "inputs": {"input": "x"}}));
        Suite::from_values("stoppable", tasks.collect()).unwrap()
    }

    fn scorers() -> Scorers<Value, Value, String> {
        vec![Arc::new(scorer_fn(
            ScorerSpec::new("ok"),
            |_: &ScoreInput<Value, Value, String>| Feedback::pass_fail("ok", true),
        ))]
    }

    #[tokio::test]
    async fn a_stop_request_starts_no_new_task() {
        let (stop, requested) = watch::channel(false);
        let agent = |_task: Arc<Task>, _ctx: Ctx| async move { Ok::<_, String>("done".to_owned()) };
        let options = RunOptions::default()
            .concurrency(1)
            .observer(Arc::new(StopAfterFirst(stop)))
            .stop_when(requested, Duration::from_secs(10));
        let run = run(&suite(3), agent, scorers(), options).await;
        assert_eq!(run.meta.status, RunStatus::Interrupted);
        let ids: Vec<&str> = run.tasks().iter().map(|t| t.task_id.as_str()).collect();
        assert_eq!(ids, ["t0"]);
    }

    #[tokio::test(start_paused = true)]
    async fn tasks_still_running_after_the_grace_period_are_left_out() {
        let (stop, requested) = watch::channel(false);
        // `t0` finishes at once; `t1` would take an hour.
        let agent = |task: Arc<Task>, _ctx: Ctx| async move {
            if task.id() == "t1" {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
            Ok::<_, String>("done".to_owned())
        };
        let options = RunOptions::default()
            .concurrency(2)
            .observer(Arc::new(StopAfterFirst(stop)))
            .stop_when(requested, Duration::from_secs(1));
        let run = run(&suite(2), agent, scorers(), options).await;
        assert_eq!(run.meta.status, RunStatus::Interrupted);
        let ids: Vec<&str> = run.tasks().iter().map(|t| t.task_id.as_str()).collect();
        assert_eq!(ids, ["t0"]);
    }

    #[tokio::test]
    async fn a_stop_after_every_task_started_that_all_finish_in_time_completes() {
        let (stop, requested) = watch::channel(false);
        let agent = |task: Arc<Task>, _ctx: Ctx| async move {
            if task.id() != "t0" {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Ok::<_, String>("done".to_owned())
        };
        let options = RunOptions::default()
            .concurrency(3)
            .observer(Arc::new(StopAfterFirst(stop)))
            .stop_when(requested.clone(), Duration::from_secs(10));
        let run = run(&suite(3), agent, scorers(), options).await;
        assert!(*requested.borrow(), "the stop was requested during the run");
        assert_eq!(run.meta.status, RunStatus::Completed);
        assert_eq!(run.tasks().len(), 3);
    }

    #[tokio::test]
    async fn a_run_never_asked_to_stop_completes() {
        let (_stop, requested) = watch::channel(false);
        let agent = |_task: Arc<Task>, _ctx: Ctx| async move { Ok::<_, String>("done".to_owned()) };
        let options = RunOptions::default().stop_when(requested, Duration::from_secs(1));
        let run = run(&suite(3), agent, scorers(), options).await;
        assert_eq!(run.meta.status, RunStatus::Completed);
        assert_eq!(run.tasks().len(), 3);
    }
}
