//! Where agents and scorers run, and the watch kept on them from outside.
//!
//! Nothing async can preempt a thread that an agent or a scorer blocks (a synchronous loop,
//! `std::thread::sleep`, a blocking call), so a deadline is only as good as the thread that
//! watches it. Each task attempt therefore runs its agent and then its scorers as one future on
//! the *work* runtime, while its job waits on the calling runtime with two deadlines: the
//! agent's timeout, and each scorer's. The work future records its progress (the agent's
//! result, which scorer runs since when, the feedback so far) in a [`Progress`] the job reads
//! when a deadline passes. A phase that overruns is given up: its future is aborted (a thread it
//! blocks is abandoned, never waited for) and what comes after it starts anew.
//!
//! A thread blocked for good is lost to the work runtime, and a runtime cannot grow more
//! workers. So, on a work runtime of the caller's, work futures that may hold a worker (running,
//! or given up without having ended) are counted: once there are as many as workers, the next
//! one runs on the runtime's blocking pool instead, a thread of its own, so that a run whose
//! agents all block still grades what they left and starts its other tasks.
//!
//! One spawn per attempt and no message per scorer keep the cost per pair small: the job is
//! woken once, when the attempt is graded, unless a deadline passes first.

use super::score_one;
use crate::feedback::Feedback;
use crate::panic::panic_message;
use crate::scorer::Scorers;
use crate::task::Task;
use crate::trace::{Exception, Trace};
use serde_json::Value;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::task::{JoinError, JoinHandle};
use tokio::time::Instant;

/// What the scorers of one attempt read: the agent's output, typed and as JSON, and the trace.
pub(crate) struct Graded<O> {
    pub(crate) outputs: Option<O>,
    pub(crate) outputs_json: Value,
    pub(crate) trace: Trace,
}

/// An attempt graded: its output as JSON, its trace, and the feedback of every scorer in order.
pub(crate) struct Watched {
    pub(crate) outputs_json: Value,
    pub(crate) trace: Trace,
    pub(crate) feedback: Vec<Feedback>,
}

/// How an attempt's agent runs: the future that runs it and yields what the scorers read, its
/// time limit, and what the scorers read instead when it is given up (given the exception).
pub(crate) struct AgentRun<F, G> {
    pub(crate) work: F,
    pub(crate) timeout: Option<Duration>,
    pub(crate) given_up: G,
}

/// Where the agents and scorers of a run execute, and how long a scorer may take.
#[derive(Clone)]
pub(crate) struct Work {
    runtime: Handle,
    scorer_timeout: Duration,
    /// The workers of a work runtime given by the caller; `None` on the calling runtime, where
    /// everything is spawned as usual.
    workers: Option<Arc<Workers>>,
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
    /// module's documentation), each scorer for at most `scorer_timeout`.
    pub(crate) fn new(runtime: Handle, dedicated: bool, scorer_timeout: Duration) -> Self {
        let workers = dedicated.then(|| {
            Arc::new(Workers {
                threads: runtime.metrics().num_workers(),
                held: AtomicUsize::new(0),
            })
        });
        Work {
            runtime,
            scorer_timeout,
            workers,
        }
    }

    /// Starts `future` on a worker of the work runtime, or on a thread of its blocking pool
    /// when every worker may be held.
    fn spawn(&self, future: impl Future<Output = ()> + Send + 'static) -> Running {
        let Some(workers) = &self.workers else {
            return Running(self.runtime.spawn(future));
        };
        if workers.held.fetch_add(1, Ordering::AcqRel) < workers.threads {
            let held = Held(workers.clone());
            return Running(self.runtime.spawn(async move {
                let _held = held;
                future.await
            }));
        }
        workers.held.fetch_sub(1, Ordering::AcqRel);
        let runtime = self.runtime.clone();
        Running(self.runtime.spawn_blocking(move || runtime.block_on(future)))
    }

    /// Runs `agent`, then every scorer on what it left, on the work runtime, and waits for them
    /// here under their deadlines.
    pub(crate) async fn attempt<I, R, O, F, G>(
        &self,
        task: Arc<Task<I, R>>,
        scorers: Arc<Scorers<I, R, O>>,
        agent: AgentRun<F, G>,
    ) -> Watched
    where
        I: Send + Sync + 'static,
        R: Send + Sync + 'static,
        O: Send + Sync + 'static,
        F: Future<Output = Graded<O>> + Send + 'static,
        G: FnOnce(Exception) -> Graded<O>,
    {
        let now = Instant::now();
        let progress = Progress::new(None, Vec::with_capacity(scorers.len()), 0, now);
        let scoring = Scoring {
            task,
            scorers,
            progress: progress.clone(),
        };
        let running = self.spawn(agent_then_scorers(agent.work, scoring.clone()));
        let watch = Watch {
            work: self,
            scoring,
            running,
            agent_deadline: agent.timeout.and_then(|limit| Some((now.checked_add(limit)?, limit))),
            given_up: Some(agent.given_up),
        };
        watch.until_graded().await
    }

    /// Runs every scorer on `graded` (no agent runs) on the work runtime, and waits for them
    /// here under their deadlines.
    pub(crate) async fn scorers_only<I, R, O>(
        &self,
        task: Arc<Task<I, R>>,
        scorers: Arc<Scorers<I, R, O>>,
        graded: Graded<O>,
    ) -> Watched
    where
        I: Send + Sync + 'static,
        R: Send + Sync + 'static,
        O: Send + Sync + 'static,
    {
        let graded = Arc::new(graded);
        if scorers.is_empty() {
            return watched(graded, Vec::new());
        }
        let feedback = Vec::with_capacity(scorers.len());
        let scoring = Scoring {
            task,
            scorers,
            progress: Progress::new(Some(graded.clone()), feedback, 0, Instant::now()),
        };
        let running = spawn_scorers(self, scoring.clone(), graded, 0);
        let watch = Watch {
            work: self,
            scoring,
            running,
            agent_deadline: None,
            given_up: None::<fn(Exception) -> Graded<O>>,
        };
        watch.until_graded().await
    }
}

/// What a work future shares with the job watching it. The lock is never held while an agent
/// or scorer runs.
struct Progress<O> {
    state: Mutex<State<O>>,
}

struct State<O> {
    /// What the agent left, once it finished (or was given up).
    graded: Option<Arc<Graded<O>>>,
    /// The feedback of the scorers graded so far, in order.
    feedback: Vec<Feedback>,
    /// The scorer running now (the number of scorers once all are graded).
    next: usize,
    /// When the running phase (the agent, or scorer `next`) started.
    since: Instant,
    /// Set by the job once it gives the work up: nothing the work does after counts.
    abandoned: bool,
}

impl<O> Progress<O> {
    fn new(graded: Option<Arc<Graded<O>>>, feedback: Vec<Feedback>, next: usize, since: Instant) -> Arc<Self> {
        Arc::new(Progress {
            state: Mutex::new(State {
                graded,
                feedback,
                next,
                since,
                abandoned: false,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State<O>> {
        // Only this module's own short sections hold the lock, none of which panics.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records the agent's result; `false` when the job gave the agent up meanwhile.
    fn agent_finished(&self, graded: &Arc<Graded<O>>) -> bool {
        let now = Instant::now();
        let mut state = self.lock();
        if state.abandoned {
            return false;
        }
        state.graded = Some(graded.clone());
        state.since = now;
        true
    }

    /// Records the running scorer's feedback; `false` when the job gave it up meanwhile.
    fn scored(&self, feedback: Vec<Feedback>) -> bool {
        let now = Instant::now();
        let mut state = self.lock();
        if state.abandoned {
            return false;
        }
        state.feedback.extend(feedback);
        state.next += 1;
        state.since = now;
        true
    }
}

/// The scorers of one attempt, and where their progress goes.
struct Scoring<I, R, O> {
    task: Arc<Task<I, R>>,
    scorers: Arc<Scorers<I, R, O>>,
    progress: Arc<Progress<O>>,
}

impl<I, R, O> Clone for Scoring<I, R, O> {
    fn clone(&self) -> Self {
        Scoring {
            task: self.task.clone(),
            scorers: self.scorers.clone(),
            progress: self.progress.clone(),
        }
    }
}

impl<I, R, O> Scoring<I, R, O> {
    /// The same scorers with a fresh progress: scorer `from` starts now on `graded`.
    fn restarted(&self, graded: Arc<Graded<O>>, feedback: Vec<Feedback>, from: usize) -> Self {
        Scoring {
            task: self.task.clone(),
            scorers: self.scorers.clone(),
            progress: Progress::new(Some(graded), feedback, from, Instant::now()),
        }
    }

    /// Grades `graded` with the scorers from `from` on, in order, recording each one's feedback.
    async fn score_from(&self, graded: &Graded<O>, from: usize) {
        let input = crate::scorer::ScoreInput {
            task: &self.task,
            outputs: graded.outputs.as_ref(),
            outputs_json: &graded.outputs_json,
            trace: &graded.trace,
        };
        for scorer in self.scorers.iter().skip(from) {
            let feedback = score_one(scorer.as_ref(), &input).await;
            if !self.progress.scored(feedback) {
                return;
            }
        }
    }
}

/// The work future of an attempt: the agent, then its scorers.
async fn agent_then_scorers<I, R, O, F>(agent: F, scoring: Scoring<I, R, O>)
where
    F: Future<Output = Graded<O>>,
{
    let graded = Arc::new(agent.await);
    if scoring.progress.agent_finished(&graded) {
        scoring.score_from(&graded, 0).await;
    }
    // `graded` is dropped before the job learns that this future ended, so that the job then
    // holds the only reference and takes the trace without copying it.
}

/// A work future, aborted when its job no longer waits for it: a job abandoned at the end of a
/// stop request's grace period takes its agent and scorers along (unless they block a thread of
/// the blocking pool, which cannot be aborted: it is abandoned too).
struct Running(JoinHandle<()>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The job's side of one attempt.
struct Watch<'w, I, R, O, G> {
    work: &'w Work,
    /// The scorers, and the progress of the work running now.
    scoring: Scoring<I, R, O>,
    running: Running,
    /// When the agent must have finished, and its time limit.
    agent_deadline: Option<(Instant, Duration)>,
    /// What the scorers read when the agent is given up; `None` once it finished or was.
    given_up: Option<G>,
}

impl<I, R, O, G> Watch<'_, I, R, O, G>
where
    I: Send + Sync + 'static,
    R: Send + Sync + 'static,
    O: Send + Sync + 'static,
    G: FnOnce(Exception) -> Graded<O>,
{
    async fn until_graded(mut self) -> Watched {
        loop {
            // Every way out of `ended` either returns the result or replaces the finished
            // handle, so a handle is never polled after it completed.
            let done = match self.next_deadline() {
                Some(deadline) => tokio::select! {
                    biased;
                    ended = &mut self.running.0 => self.ended(ended),
                    () = tokio::time::sleep_until(deadline) => self.deadline_passed(),
                },
                None => {
                    let ended = (&mut self.running.0).await;
                    self.ended(ended)
                }
            };
            if let Some(watched) = done {
                return watched;
            }
        }
    }

    /// When to look at the progress again. While the agent runs (and its timeout, if any, is
    /// further away) that is one scorer timeout from now: a scorer that starts later has its
    /// deadline later still, so none is missed, and the job is not woken per scorer. `None`
    /// when there is nothing to time: no scorers, and an agent without a timeout or finished.
    fn next_deadline(&self) -> Option<Instant> {
        let limit = self.work.scorer_timeout;
        let state = self.scoring.progress.lock();
        let agent_deadline = self.agent_deadline.map(|(at, _)| at);
        if self.scoring.scorers.is_empty() {
            return agent_deadline.filter(|_| state.graded.is_none());
        }
        if state.graded.is_none() {
            let check = Instant::now().checked_add(limit).unwrap_or_else(far_future);
            return Some(agent_deadline.map_or(check, |at| at.min(check)));
        }
        Some(state.since.checked_add(limit).unwrap_or_else(far_future))
    }

    /// A deadline may have passed: gives up the agent or the running scorer if it did.
    fn deadline_passed(&mut self) -> Option<Watched> {
        let now = Instant::now();
        let limit = self.work.scorer_timeout;
        let mut state = self.scoring.progress.lock();
        if state.graded.is_none() {
            let (at, agent_limit) = self.agent_deadline?;
            if now < at {
                return None;
            }
            state.abandoned = true;
            drop(state);
            let exception = Exception::new(
                Exception::TIMEOUT,
                format!("the agent did not finish within {agent_limit:?}"),
            );
            return self.agent_given_up(exception);
        }
        let running = state.next;
        let Some(scorer) = self.scoring.scorers.get(running) else {
            return None;
        };
        if state.since.checked_add(limit).is_none_or(|at| now < at) {
            return None;
        }
        state.abandoned = true;
        let graded = state.graded.take()?;
        let mut feedback = std::mem::take(&mut state.feedback);
        drop(state);
        let spec = scorer.spec();
        let why = format!("the scorer did not finish within {limit:?}");
        feedback.extend(super::sanitised(spec, vec![Feedback::ungradeable(&spec.key, why)]));
        // The scorers after it may well be fine: they grade on a fresh future, since the one
        // that ran them may be stuck on its thread for good.
        self.score_anew(graded, feedback, running + 1)
    }

    /// The work future ended: the attempt is graded, or it ended early (a panic outside the
    /// agent's and scorers' code, which catch their own, or the work runtime shutting down).
    fn ended(&mut self, ended: Result<(), JoinError>) -> Option<Watched> {
        let mut state = self.scoring.progress.lock();
        let count = self.scoring.scorers.len();
        if ended.is_ok()
            && state.next >= count
            && let Some(graded) = state.graded.take()
        {
            let feedback = std::mem::take(&mut state.feedback);
            return Some(watched(graded, feedback));
        }
        let why = match ended {
            Err(e) if e.is_panic() => format!("it panicked: {}", panic_message(e.into_panic().as_ref())),
            Err(e) => e.to_string(),
            Ok(()) => "it stopped before the end".to_owned(),
        };
        let Some(graded) = state.graded.clone() else {
            drop(state);
            return self.agent_given_up(Exception::new(
                Exception::PANIC,
                format!("the agent's work ended without a result: {why}"),
            ));
        };
        // Not tried again: what ended this work would end the next one too.
        let mut feedback = std::mem::take(&mut state.feedback);
        let from = state.next;
        drop(state);
        for scorer in self.scoring.scorers.iter().skip(from) {
            let spec = scorer.spec();
            let why = format!("the scorer's work ended before it graded: {why}");
            feedback.extend(super::sanitised(spec, vec![Feedback::ungradeable(&spec.key, why)]));
        }
        Some(watched(graded, feedback))
    }

    /// The agent is given up with `exception`: its scorers grade the trace it left.
    fn agent_given_up(&mut self, exception: Exception) -> Option<Watched> {
        let graded = match self.given_up.take() {
            Some(given_up) => given_up(exception),
            // Only an attempt whose agent still runs has no result yet.
            None => Graded {
                outputs: None,
                outputs_json: Value::Null,
                trace: Trace::new(Vec::new(), Some(exception), 0),
            },
        };
        self.agent_deadline = None;
        let capacity = self.scoring.scorers.len();
        self.score_anew(Arc::new(graded), Vec::with_capacity(capacity), 0)
    }

    /// Starts the scorers from `from` on a new work future (the previous one is aborted); the
    /// result at once when there are none left.
    fn score_anew(&mut self, graded: Arc<Graded<O>>, feedback: Vec<Feedback>, from: usize) -> Option<Watched> {
        if from >= self.scoring.scorers.len() {
            return Some(watched(graded, feedback));
        }
        self.scoring = self.scoring.restarted(graded.clone(), feedback, from);
        self.running = spawn_scorers(self.work, self.scoring.clone(), graded, from);
        None
    }
}

/// Runs the scorers from `from` on `graded`, on the work runtime.
fn spawn_scorers<I, R, O>(work: &Work, scoring: Scoring<I, R, O>, graded: Arc<Graded<O>>, from: usize) -> Running
where
    I: Send + Sync + 'static,
    R: Send + Sync + 'static,
    O: Send + Sync + 'static,
{
    work.spawn(async move { scoring.score_from(&graded, from).await })
}

/// The result, taking the trace out of `graded` (a copy only when a given-up scorer still
/// holds it).
fn watched<O>(graded: Arc<Graded<O>>, feedback: Vec<Feedback>) -> Watched {
    let (outputs_json, trace) = match Arc::try_unwrap(graded) {
        Ok(graded) => (graded.outputs_json, graded.trace),
        Err(shared) => (shared.outputs_json.clone(), shared.trace.clone()),
    };
    Watched {
        outputs_json,
        trace,
        feedback,
    }
}

/// A deadline that never comes (about 30 years on), for limits too large to add.
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86400 * 365 * 30)
}
