//! Where agents and scorers run, and the watch kept on them from outside.
//!
//! Nothing async can preempt a thread that an agent or a scorer blocks (a synchronous loop,
//! `std::thread::sleep`, a blocking call), so a deadline is only as good as the thread that
//! watches it. Each task attempt therefore runs as one future on the *work* runtime: its agent,
//! then its scorers, then its record, recording its progress (the agent's result, which scorer
//! runs since when, the feedback so far) in its [`Attempt`]. A [`Watchdog`] on the calling
//! runtime looks at the attempts in flight when a deadline may have passed: the agent's
//! timeout, or the running scorer's. What overran is given up: its future is aborted (a thread
//! it blocks is abandoned, never waited for) and what comes after it starts anew on a fresh
//! future. A *generation* tells the current future from the given-up ones, whose progress no
//! longer counts.
//!
//! The watchdog is one task per run, not one per attempt: an attempt that finishes in time
//! costs a spawn and a few uncontended locks, and wakes nothing on the calling runtime but the
//! scheduler waiting for its record.
//!
//! A thread blocked for good is lost to the work runtime, which cannot grow more workers. So,
//! on a work runtime of the caller's, the futures that may hold a worker (running, or given up
//! without having ended) are counted: once there are as many as workers, the next one runs on
//! the runtime's blocking pool instead, a thread of its own, so that a run whose agents all
//! block still grades what they left and starts its other tasks.

use super::grade::{Scoring, sanitised, score_one};
use crate::feedback::Feedback;
use crate::observer::Observer;
use crate::panic::catch_panic;
use crate::record::TaskRecord;
use crate::score_ctx::ScorerTrace;
use crate::scorer::{ScoreInput, Scorers};
use crate::task::Task;
use crate::trace::{Exception, Trace};
use serde_json::Value;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio::task::AbortHandle;
use tokio::time::Instant;
use tracing::{Instrument, Span};

/// What the scorers of one attempt read: the agent's output, typed and as JSON, and the trace.
pub(crate) struct Graded<O> {
    pub(crate) outputs: Option<O>,
    pub(crate) outputs_json: Value,
    pub(crate) trace: Trace,
}

/// An attempt graded: its task, its output as JSON, its trace, the feedback of every scorer in
/// order, and the traces of the scorers that recorded calls of their own.
pub(crate) struct Watched<I, R> {
    /// The attempt's reference to its task, the last one when nothing else needs the task any
    /// more: the record may then take the task's content rather than copy it.
    pub(crate) task: Arc<Task<I, R>>,
    pub(crate) outputs_json: Value,
    pub(crate) trace: Trace,
    pub(crate) feedback: Vec<Feedback>,
    pub(crate) scorer_traces: Vec<ScorerTrace>,
}

/// Where an attempt's record goes: to the observer, then to the scheduler waiting for it, as
/// the `position`th record of its round. The attempt's slot under the concurrency bound is freed
/// with it. One dropped without sending tells the scheduler nothing: it counts the records it
/// got once every sender of the round is gone.
pub(crate) struct Done {
    pub(crate) sender: mpsc::UnboundedSender<(usize, TaskRecord)>,
    pub(crate) position: usize,
    pub(crate) permit: OwnedSemaphorePermit,
    pub(crate) observer: Option<Arc<dyn Observer>>,
}

impl Done {
    /// Hands the attempt's record over.
    pub(crate) fn send(self, result: TaskRecord) {
        if let Some(observer) = &self.observer {
            observer.task_evaluated(&result);
        }
        // A scheduler that stopped waiting (its grace is over) no longer wants it.
        let _ = self.sender.send((self.position, result));
        drop(self.permit);
    }
}

/// How an attempt's agent runs: the future that runs it and yields what the scorers read, its
/// time limit, and what the scorers read instead when it is given up (given the exception).
pub(crate) struct AgentRun<F, G> {
    pub(crate) work: F,
    pub(crate) timeout: Option<Duration>,
    pub(crate) given_up: G,
}

/// Where the agents and scorers of a run execute, how long a scorer may take, and the watchdog
/// of the run's attempts.
pub(crate) struct Work {
    runtime: Handle,
    scorer_timeout: Duration,
    /// How often the watchdog must look, at least: the shortest limit in force.
    watch_every: Option<Duration>,
    /// The workers of a work runtime given by the caller; `None` on the calling runtime, where
    /// everything is spawned as usual.
    workers: Option<Arc<Workers>>,
    watchdog: Watchdog,
    /// The run's span, when the run opens spans (`RunOptions::spans`): its attempts' parent.
    run_span: Span,
}

/// A work runtime's worker threads, and how many work futures of this run may hold one now
/// (runs that share a work runtime count their own: a bound per run, not per runtime).
struct Workers {
    threads: usize,
    held: AtomicUsize,
}

/// One work future counted in [`Workers::held`] until it is dropped: when it ends, or when it
/// is aborted while it waits. One stuck in a blocking call is never dropped, and stays counted.
struct Held(Arc<Workers>);

impl Drop for Held {
    fn drop(&mut self) {
        self.0.held.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Work {
    /// Agents and scorers run on `runtime` (its workers counted when `dedicated`, see the
    /// module's documentation), an agent for at most `agent_timeout`, each scorer for at most
    /// `scorer_timeout`; `scoring` says whether there are scorers to time.
    pub(crate) fn new(
        runtime: Handle,
        dedicated: bool,
        agent_timeout: Option<Duration>,
        scorer_timeout: Duration,
        scoring: bool,
        run_span: Span,
    ) -> Arc<Self> {
        let workers = dedicated.then(|| {
            Arc::new(Workers {
                threads: runtime.metrics().num_workers(),
                held: AtomicUsize::new(0),
            })
        });
        let limits = [agent_timeout, scoring.then_some(scorer_timeout)];
        // Never a busy loop, whatever the limits.
        let watch_every = limits
            .into_iter()
            .flatten()
            .min()
            .map(|d| d.max(Duration::from_millis(1)));
        Arc::new(Work {
            runtime,
            scorer_timeout,
            watch_every,
            workers,
            watchdog: Watchdog::default(),
            run_span,
        })
    }

    /// `scoring` with the attempt's span, a child of the run's, when the run opens spans.
    fn in_span(&self, scoring: Scoring, task_id: &str) -> Scoring {
        if self.run_span.is_none() {
            return scoring;
        }
        let span = tracing::info_span!(parent: &self.run_span, "eval_attempt", task_id, attempt = scoring.attempt);
        scoring.with_span(span)
    }

    /// Starts `future` on a worker of the work runtime, or on a thread of its blocking pool
    /// when every worker may be held.
    fn spawn(&self, future: impl Future<Output = ()> + Send + 'static) -> AbortHandle {
        // A runtime task's cell is cache-line aligned, and an aligned allocation as large as an
        // attempt's future is slow to make: the cell holds a pointer to it instead.
        let future: std::pin::Pin<Box<dyn Future<Output = ()> + Send>> = Box::pin(future);
        let Some(workers) = &self.workers else {
            return self.runtime.spawn(future).abort_handle();
        };
        if workers.held.fetch_add(1, Ordering::AcqRel) < workers.threads {
            let held = Held(workers.clone());
            let future = async move {
                let _held = held;
                future.await
            };
            return self.runtime.spawn(future).abort_handle();
        }
        workers.held.fetch_sub(1, Ordering::AcqRel);
        let runtime = self.runtime.clone();
        self.runtime
            .spawn_blocking(move || runtime.block_on(future))
            .abort_handle()
    }

    /// Starts an attempt: `agent`, then every scorer on what it left, then `finish` with the
    /// result, on the work runtime, under the watchdog.
    pub(crate) fn attempt<I, R, O, F, G, Fin>(
        self: &Arc<Self>,
        task: Arc<Task<I, R>>,
        scorers: Arc<Scorers<I, R, O>>,
        scoring: Scoring,
        agent: AgentRun<F, G>,
        finish: Fin,
    ) where
        I: Send + Sync + 'static,
        R: Send + Sync + 'static,
        O: Send + Sync + 'static,
        F: Future<Output = Graded<O>> + Send + 'static,
        G: FnOnce(Exception) -> Graded<O> + Send + 'static,
        Fin: FnOnce(Watched<I, R>) + Send + 'static,
    {
        let scoring = self.in_span(scoring, task.id());
        let attempt = Attempt::start(
            self.clone(),
            task,
            scorers,
            scoring,
            Some((agent.timeout, agent.given_up)),
            finish,
        );
        let work = agent.work;
        let ours = attempt.clone();
        let future = guarded(attempt.clone(), 0, async move {
            let graded = Arc::new(work.await);
            if ours.agent_finished(0, &graded) {
                ours.score_from(0, graded, 0).await;
            }
        });
        // Spawned under the lock: the future waits for it before it records anything.
        let mut state = attempt.lock();
        state.running = Some(self.spawn(future.instrument(attempt.scoring.span.clone())));
        drop(state);
        self.watchdog.watch(attempt);
    }

    /// Starts every scorer on `graded` (no agent runs), then `finish` with the result, on the
    /// work runtime, under the watchdog.
    pub(crate) fn scorers_only<I, R, O, Fin>(
        self: &Arc<Self>,
        task: Arc<Task<I, R>>,
        scorers: Arc<Scorers<I, R, O>>,
        scoring: Scoring,
        graded: Graded<O>,
        finish: Fin,
    ) where
        I: Send + Sync + 'static,
        R: Send + Sync + 'static,
        O: Send + Sync + 'static,
        Fin: FnOnce(Watched<I, R>) + Send + 'static,
    {
        let scoring = self.in_span(scoring, task.id());
        let attempt = Attempt::start(
            self.clone(),
            task,
            scorers,
            scoring,
            None::<(_, fn(Exception) -> Graded<O>)>,
            finish,
        );
        let feedback = std::mem::take(&mut attempt.lock().feedback);
        attempt.score_anew(0, Arc::new(graded), feedback, 0);
        self.watchdog.watch(attempt);
    }

    /// Looks after the run's attempts until `over` resolves (the run is gathered): gives up
    /// what overruns. Then lets go of them, which hold this `Work` in turn.
    pub(crate) async fn watch_until(&self, over: impl Future<Output = ()>) {
        match self.watch_every {
            Some(every) => {
                let mut over = std::pin::pin!(over);
                loop {
                    let next = self.watchdog.check(Instant::now(), every);
                    tokio::select! {
                        () = &mut over => break,
                        () = tokio::time::sleep_until(next) => {}
                    }
                }
            }
            // Nothing has a deadline.
            None => over.await,
        }
        let attempts = std::mem::take(&mut self.watchdog.lock().list);
        drop(attempts);
    }

    /// Stops every attempt still running for good: a stop's grace is over.
    pub(crate) fn abandon_all(&self) {
        for attempt in self.watchdog.attempts() {
            attempt.abandon();
        }
    }
}

/// The attempts in flight of a run, as the watchdog sees them.
#[derive(Default)]
struct Watchdog {
    attempts: Mutex<Watched_>,
}

/// The attempts registered since finished ones were last left out, and when to leave them out
/// next: the list grows to twice what was left, so that this costs little per attempt.
#[derive(Default)]
struct Watched_ {
    list: Vec<Arc<dyn Watchable>>,
    prune_at: usize,
}

impl Watchdog {
    fn lock(&self) -> MutexGuard<'_, Watched_> {
        self.attempts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn watch(&self, attempt: Arc<dyn Watchable>) {
        let mut attempts = self.lock();
        if attempts.list.len() >= attempts.prune_at {
            attempts.list.retain(|a| !a.finished());
            attempts.prune_at = (attempts.list.len() * 2).max(64);
        }
        attempts.list.push(attempt);
    }

    fn attempts(&self) -> Vec<Arc<dyn Watchable>> {
        self.lock().list.clone()
    }

    /// Gives up what overran at `now`, and says when to look again: at the earliest deadline
    /// known, and at the latest `every` (the shortest limit) from now. A phase that starts
    /// later has its deadline later than that, so none is missed.
    fn check(&self, now: Instant, every: Duration) -> Instant {
        let attempts = {
            let mut attempts = self.lock();
            attempts.list.retain(|a| !a.finished());
            attempts.prune_at = (attempts.list.len() * 2).max(64);
            attempts.list.clone()
        };
        let mut next = now.checked_add(every).unwrap_or_else(far_future);
        for attempt in attempts {
            if let Some(at) = attempt.check(now) {
                next = next.min(at);
            }
        }
        next
    }
}

/// An attempt as the watchdog and the scheduler see it, whatever its types.
trait Watchable: Send + Sync {
    /// Whether its record was handed over (or it was abandoned).
    fn finished(&self) -> bool;
    /// Gives up the agent or the running scorer if it overran at `now`; the phase's deadline
    /// if it still runs.
    fn check(self: Arc<Self>, now: Instant) -> Option<Instant>;
    /// Stops it for good, its record never handed over.
    fn abandon(&self);
}

/// One task attempt: what it grades with, and its progress.
struct Attempt<I, R, O, G, Fin> {
    work: Arc<Work>,
    scorers: Arc<Scorers<I, R, O>>,
    /// What the scoring contexts of the scorers that use one are made from.
    scoring: Scoring,
    finished: AtomicBool,
    state: Mutex<State<I, R, O, G, Fin>>,
}

/// An attempt's progress. The lock is never held while an agent or scorer runs.
struct State<I, R, O, G, Fin> {
    /// The task; handed over with the record, so that the record holds the last reference
    /// but a given-up future's.
    task: Option<Arc<Task<I, R>>>,
    /// The work future whose progress counts; the given-up ones have older generations.
    generation: u64,
    /// What the agent left, once it finished (or was given up).
    graded: Option<Arc<Graded<O>>>,
    /// The feedback of the scorers graded so far, in order.
    feedback: Vec<Feedback>,
    /// The traces of the scorers graded so far that recorded calls of their own.
    scorer_traces: Vec<ScorerTrace>,
    /// The scorer running now (the number of scorers once all are graded).
    next: usize,
    /// When the running phase (the agent, or scorer `next`) started.
    since: Instant,
    /// When the agent must have finished, and its time limit.
    agent_deadline: Option<(Instant, Duration)>,
    /// The current work future.
    running: Option<AbortHandle>,
    /// What the scorers read when the agent is given up; taken once it finished or was.
    given_up: Option<G>,
    /// Hands the record over; taken once it was, or when the attempt is abandoned.
    finish: Option<Fin>,
}

impl<I, R, O, G, Fin> Attempt<I, R, O, G, Fin>
where
    I: Send + Sync + 'static,
    R: Send + Sync + 'static,
    O: Send + Sync + 'static,
    G: FnOnce(Exception) -> Graded<O> + Send + 'static,
    Fin: FnOnce(Watched<I, R>) + Send + 'static,
{
    /// A fresh attempt, starting now: nothing graded yet. `agent` is the agent's time limit and
    /// what the scorers read if it is given up; `None` when no agent runs (a regrade).
    fn start(
        work: Arc<Work>,
        task: Arc<Task<I, R>>,
        scorers: Arc<Scorers<I, R, O>>,
        scoring: Scoring,
        agent: Option<(Option<Duration>, G)>,
        finish: Fin,
    ) -> Arc<Self> {
        let now = Instant::now();
        let (limit, given_up) = match agent {
            Some((limit, given_up)) => (limit, Some(given_up)),
            None => (None, None),
        };
        let state = State {
            task: Some(task),
            generation: 0,
            graded: None,
            // Made where the first scorer is graded, on the work runtime, not here on the
            // scheduler's: see [`Attempt::scored`].
            feedback: Vec::new(),
            scorer_traces: Vec::new(),
            next: 0,
            since: now,
            agent_deadline: limit.and_then(|limit| Some((now.checked_add(limit)?, limit))),
            running: None,
            given_up,
            finish: Some(finish),
        };
        Arc::new(Attempt {
            work,
            scorers,
            scoring,
            finished: AtomicBool::new(false),
            state: Mutex::new(state),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State<I, R, O, G, Fin>> {
        // Only this module's own short sections hold the lock, none of which panics.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records the agent's result; `false` when the agent was given up meanwhile.
    fn agent_finished(&self, generation: u64, graded: &Arc<Graded<O>>) -> bool {
        let now = Instant::now();
        let mut state = self.lock();
        if state.generation != generation || state.finish.is_none() {
            return false;
        }
        state.graded = Some(graded.clone());
        state.given_up = None;
        state.since = now;
        true
    }

    /// Grades `graded` with the scorers from `from` on, recording each one's feedback, then
    /// hands the record over; stops as soon as this work is given up.
    async fn score_from(&self, generation: u64, graded: Arc<Graded<O>>, from: usize) {
        {
            // A reference of this future's, let go before the record is made.
            let Some(task) = self.lock().task.clone() else {
                return;
            };
            let input = ScoreInput::new(&task, graded.outputs.as_ref(), &graded.outputs_json, &graded.trace);
            for scorer in self.scorers.iter().skip(from) {
                let (feedback, trace) = score_one(scorer.as_ref(), &input, &self.scoring).await;
                if !self.scored(generation, feedback, trace) {
                    return;
                }
            }
        }
        self.complete(generation, graded);
    }

    /// Records the running scorer's feedback; `false` when it was given up meanwhile.
    fn scored(&self, generation: u64, feedback: Vec<Feedback>, trace: Option<ScorerTrace>) -> bool {
        let now = Instant::now();
        let mut state = self.lock();
        if state.generation != generation || state.finish.is_none() {
            return false;
        }
        if state.feedback.capacity() == 0 {
            // The record keeps this list: made on the thread that grades, among the record's
            // other parts, rather than among the scheduler's short-lived allocations.
            state.feedback.reserve_exact(self.scorers.len().max(feedback.len()));
        }
        state.feedback.extend(feedback);
        state.scorer_traces.extend(trace);
        state.next += 1;
        state.since = now;
        true
    }

    /// Hands the record over, once every scorer is graded. `graded` is the caller's reference,
    /// the last one but a given-up future's: the trace is moved out, not copied.
    fn complete(&self, generation: u64, graded: Arc<Graded<O>>) {
        let mut state = self.lock();
        if state.generation != generation {
            return;
        }
        let (Some(finish), Some(task)) = (state.finish.take(), state.task.take()) else {
            return;
        };
        let ours = state.graded.take();
        let feedback = std::mem::take(&mut state.feedback);
        let scorer_traces = std::mem::take(&mut state.scorer_traces);
        state.running = None;
        drop(state);
        drop(ours);
        self.finished.store(true, Ordering::Release);
        finish(watched(task, graded, feedback, scorer_traces));
    }

    /// Scorer `from` and the ones after it grade `graded` on a fresh work future, as
    /// `generation`; the record is handed over at once when none is left.
    fn score_anew(self: &Arc<Self>, generation: u64, graded: Arc<Graded<O>>, feedback: Vec<Feedback>, from: usize) {
        let mut state = self.lock();
        if state.generation != generation || state.finish.is_none() {
            return;
        }
        state.graded = Some(graded.clone());
        state.feedback = feedback;
        state.next = from;
        state.since = Instant::now();
        if from >= self.scorers.len() {
            drop(state);
            return self.complete(generation, graded);
        }
        let ours = self.clone();
        let future = guarded(self.clone(), generation, async move {
            ours.score_from(generation, graded, from).await;
        });
        // Spawned under the lock: the new future waits for it before it records anything.
        state.running = Some(self.work.spawn(future.instrument(self.scoring.span.clone())));
    }

    /// Gives the agent up with `exception` if `generation` still runs it: its scorers grade
    /// what it left on a fresh future.
    fn give_up_agent(self: &Arc<Self>, generation: u64, exception: Exception) {
        let given_up = {
            let mut state = self.lock();
            if state.generation != generation || state.finish.is_none() || state.graded.is_some() {
                return;
            }
            state.generation += 1;
            if let Some(running) = state.running.take() {
                running.abort();
            }
            state.given_up.take()
        };
        let graded = match given_up {
            Some(given_up) => given_up(exception),
            None => Graded {
                outputs: None,
                outputs_json: Value::Null,
                trace: Trace::new(Vec::new(), Some(exception), 0),
            },
        };
        let feedback = Vec::with_capacity(self.scorers.len());
        self.score_anew(generation + 1, Arc::new(graded), feedback, 0);
    }

    /// Gives scorer `running` up as ungradeable, saying `why`, if `generation` still runs it;
    /// the scorers after it grade on a fresh future, since the one that ran them may be stuck
    /// on its thread for good.
    fn give_up_scorer(self: &Arc<Self>, generation: u64, running: usize, why: &str) {
        let (graded, mut feedback) = {
            let mut state = self.lock();
            if state.generation != generation || state.finish.is_none() || state.next != running {
                return;
            }
            let Some(graded) = state.graded.clone() else {
                return;
            };
            state.generation += 1;
            if let Some(running) = state.running.take() {
                running.abort();
            }
            (graded, std::mem::take(&mut state.feedback))
        };
        if let Some(scorer) = self.scorers.get(running) {
            let spec = scorer.spec();
            feedback.extend(sanitised(spec, vec![Feedback::ungradeable(&spec.key, why)]));
        }
        self.score_anew(generation + 1, graded, feedback, running + 1);
    }

    /// The work future of `generation` ended before it handed the record over: it panicked
    /// outside the agent's and scorers' code (which catch their own panics), or the work runtime
    /// dropped it. The agent is given up, or the scorers left are ungradeable; nothing is tried
    /// again on the same work, which would end the same way.
    fn ended_early(self: &Arc<Self>, generation: u64, why: &str) {
        let (graded, mut feedback, next) = {
            let mut state = self.lock();
            if state.generation != generation || state.finish.is_none() {
                return;
            }
            let Some(graded) = state.graded.clone() else {
                drop(state);
                let why = format!("the agent's work ended without a result: {why}");
                return self.give_up_agent(generation, Exception::new(Exception::PANIC, why));
            };
            state.generation += 1;
            state.running = None;
            (graded, std::mem::take(&mut state.feedback), state.next)
        };
        let why = format!("the scorer's work ended before it graded: {why}");
        for scorer in self.scorers.iter().skip(next) {
            let spec = scorer.spec();
            feedback.extend(sanitised(spec, vec![Feedback::ungradeable(&spec.key, &why)]));
        }
        self.score_anew(generation + 1, graded, feedback, self.scorers.len());
    }
}

impl<I, R, O, G, Fin> Watchable for Attempt<I, R, O, G, Fin>
where
    I: Send + Sync + 'static,
    R: Send + Sync + 'static,
    O: Send + Sync + 'static,
    G: FnOnce(Exception) -> Graded<O> + Send + 'static,
    Fin: FnOnce(Watched<I, R>) + Send + 'static,
{
    fn finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    fn check(self: Arc<Self>, now: Instant) -> Option<Instant> {
        let limit = self.work.scorer_timeout;
        let state = self.lock();
        // Nothing to watch once the record is handed over.
        state.finish.as_ref()?;
        let generation = state.generation;
        if state.graded.is_none() {
            let (at, agent_limit) = state.agent_deadline?;
            if now < at {
                return Some(at);
            }
            drop(state);
            let why = format!("the agent did not finish within {agent_limit:?}");
            self.give_up_agent(generation, Exception::new(Exception::TIMEOUT, why));
            // The scorers start now: their deadline is no sooner than the next look.
            return None;
        }
        if state.next >= self.scorers.len() {
            return None;
        }
        let at = state.since.checked_add(limit).unwrap_or_else(far_future);
        if now < at {
            return Some(at);
        }
        let running = state.next;
        drop(state);
        let why = format!("the scorer did not finish within {limit:?}");
        self.give_up_scorer(generation, running, &why);
        None
    }

    fn abandon(&self) {
        let finish = {
            let mut state = self.lock();
            state.generation += 1;
            if let Some(running) = state.running.take() {
                running.abort();
            }
            state.finish.take()
        };
        self.finished.store(true, Ordering::Release);
        // Dropped outside the lock: it frees the attempt's slot and its record's channel.
        drop(finish);
    }
}

/// `body` as the work future of `generation`, which tells the attempt if it ends without
/// handing the record over (a panic of its own, or dropped by a runtime shutting down).
async fn guarded(attempt: Arc<dyn EndsEarly>, generation: u64, body: impl Future<Output = ()> + Send + 'static) {
    let mut guard = Guard {
        attempt: Some(attempt),
        generation,
    };
    let outcome = catch_panic(body).await;
    let attempt = guard.attempt.take();
    if let (Err(panic), Some(attempt)) = (outcome, attempt) {
        attempt.ended_early_dyn(generation, &format!("it panicked: {panic}"));
    }
}

/// What [`guarded`] needs of an attempt, whatever its types.
trait EndsEarly: Send + Sync + 'static {
    fn ended_early_dyn(self: Arc<Self>, generation: u64, why: &str);
}

impl<I, R, O, G, Fin> EndsEarly for Attempt<I, R, O, G, Fin>
where
    I: Send + Sync + 'static,
    R: Send + Sync + 'static,
    O: Send + Sync + 'static,
    G: FnOnce(Exception) -> Graded<O> + Send + 'static,
    Fin: FnOnce(Watched<I, R>) + Send + 'static,
{
    fn ended_early_dyn(self: Arc<Self>, generation: u64, why: &str) {
        self.ended_early(generation, why);
    }
}

/// Tells the attempt when its work future is dropped before its end. A future aborted because
/// it was given up or abandoned is of an old generation by then, and tells nothing.
struct Guard {
    attempt: Option<Arc<dyn EndsEarly>>,
    generation: u64,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(attempt) = self.attempt.take() {
            attempt.ended_early_dyn(self.generation, "the work runtime dropped it");
        }
    }
}

/// The result, taking the trace out of `graded` (a copy only when a given-up future still
/// holds it).
fn watched<I, R, O>(
    task: Arc<Task<I, R>>,
    graded: Arc<Graded<O>>,
    feedback: Vec<Feedback>,
    scorer_traces: Vec<ScorerTrace>,
) -> Watched<I, R> {
    let (outputs_json, trace) = match Arc::try_unwrap(graded) {
        Ok(graded) => (graded.outputs_json, graded.trace),
        Err(shared) => (shared.outputs_json.clone(), shared.trace.clone()),
    };
    Watched {
        task,
        outputs_json,
        trace,
        feedback,
        scorer_traces,
    }
}

/// A deadline that never comes (about 30 years on), for limits too large to add.
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86400 * 365 * 30)
}
