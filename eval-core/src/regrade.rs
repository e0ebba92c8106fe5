//! Re-grading a stored run: no agent runs; every task's stored output and trace go through
//! today's scorers. For iterating on scorers (and reference outputs) without spending tokens.

use crate::aggregates::Aggregates;
use crate::cassette::Cassettes;
use crate::feedback::Feedback;
use crate::record::TaskRecord;
use crate::result::{Budgets, RunResult};
use crate::runner::{Done, Graded, RunOptions, RunTasks, Scoring, Watched, Work, schedule, start_meta};
use crate::scorer::Scorers;
use crate::suite::Suite;
use crate::task::Task;
use crate::trace::{Exception, Trace};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// Reads an output stored in a run back as the agent's output type (see [`decode_output`]).
pub type OutputDecoder<O> = fn(&Value) -> Result<O, String>;

/// The [`OutputDecoder`] of any output type that can be deserialized.
///
/// ```
/// use eval_engine::decode_output;
/// use eval_engine::regrade::OutputDecoder;
///
/// let decode: OutputDecoder<Vec<u8>> = decode_output;
/// assert_eq!(decode(&serde_json::json!([1, 2])), Ok(vec![1, 2]));
/// assert!(decode(&serde_json::json!("two")).is_err());
/// ```
pub fn decode_output<O: DeserializeOwned>(stored: &Value) -> Result<O, String> {
    O::deserialize(stored).map_err(|e| e.to_string())
}

/// Re-grades `stored` with `scorers`: no agent runs. The stored records move into the new run
/// rather than being copied. Each task attempt of `suite` takes the
/// output and trace of its record in `stored` (the same task id, and `#n` with repeats), and
/// is graded as the task stands today, so a fixed reference output counts too.
///
/// A task that cannot be re-graded is recorded with an exception of kind
/// [`Exception::NOT_REGRADED`] and every scorer's feedback ungradeable, saying why: it is not in
/// `stored`, its inputs changed since (the stored output answers other inputs), or its stored
/// output does not read back as `O`. The run records `regraded_from` (`replayed_from` in the run JSON); the agent's
/// timeout has no effect, and the cassettes serve the scorers that make calls of their own
/// (judges). Scorers run as in [`run`](crate::run), under the scorer timeout, on
/// [`RunOptions::work_runtime`] if given.
///
/// ```
/// use eval_engine::{decode_output, regrade, run, scorer_fn, Ctx, RunOptions, ScoreInput, ScorerSpec, Scorers, Suite, Task};
/// use serde_json::{json, Value};
/// use std::sync::Arc;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let suite: Suite = Suite::from_values("echo", vec![json!({"inputs": {"input": "hi"}})]).unwrap();
/// let agent = |task: Arc<Task>, _ctx: Ctx| async move { Ok::<_, String>(task.input().to_uppercase()) };
/// let stored = run(&suite, agent, Vec::new(), RunOptions::default()).await;
///
/// let shouts = scorer_fn(ScorerSpec::new("shouts"), |s: &ScoreInput<Value, Value, String>| {
///     s.outputs.map(|o| o == "HI")
/// });
/// let scorers: Scorers<Value, Value, String> = vec![Arc::new(shouts)];
/// let stored_id = stored.meta.run_id.clone();
/// let regraded = regrade(&suite, stored, decode_output, scorers, RunOptions::default()).await;
/// assert_eq!(regraded.pass_rate("shouts", None), Some(1.0));
/// assert_eq!(regraded.meta.regraded_from, Some(stored_id));
/// # }
/// ```
pub async fn regrade<I, R, O>(
    suite: &Suite<I, R>,
    stored: RunResult,
    decode: OutputDecoder<O>,
    scorers: Scorers<I, R, O>,
    options: RunOptions,
) -> RunResult
where
    I: Serialize + Send + Sync + 'static,
    R: Serialize + Send + Sync + 'static,
    O: Send + Sync + 'static,
{
    let started = Instant::now();
    let (stored_meta, stored_tasks) = stored.into_parts();
    // Adaptive repeats re-grade the attempts each task had: its verdict is asked of the
    // scorers again, not whether it needs more attempts, which only the agent could give.
    let options = options.settled_at(Aggregates::attempts_per_task(&stored_tasks));
    let target = options.target.clone().unwrap_or(stored_meta.target);
    let mut meta = start_meta(suite, &scorers, &options, target);
    meta.regraded_from = Some(stored_meta.run_id.clone());
    // A record of an earlier regrade that could not re-grade its task holds no output either.
    let mut records: HashMap<String, TaskRecord> = stored_tasks
        .into_iter()
        .filter(|record| {
            record
                .trace
                .exception
                .as_ref()
                .is_none_or(|e| e.kind != Exception::NOT_REGRADED)
        })
        .map(|record| (record.task_id.clone(), record))
        .collect();
    let scorers = Arc::new(scorers);
    let from = Arc::<str>::from(stored_meta.run_id);
    let stored_repeats = stored_meta.repeats;
    let repeated = options.repeats > 1;
    let work = options.work(None, !scorers.is_empty(), &meta);
    schedule(
        RunTasks::Borrowed(suite.tasks()),
        meta,
        &options,
        started,
        &work,
        |task, attempt, done| {
            let record_id = TaskRecord::id_of(task.id(), repeated.then_some(attempt));
            let job = Regrade {
                stored: records.remove(&record_id),
                record_id,
                attempt: repeated.then_some(attempt),
                task,
                decode,
                scorers: scorers.clone(),
                from: from.clone(),
                stored_repeats,
                repeats: options.repeats,
                budgets: options.budgets,
                cassettes: options.cassettes_in_use().cloned(),
            };
            job.start(&work, done);
        },
    )
    .await
}

/// One task attempt to re-grade from its stored record.
struct Regrade<I, R, O> {
    task: Arc<Task<I, R>>,
    record_id: String,
    attempt: Option<u32>,
    stored: Option<TaskRecord>,
    decode: OutputDecoder<O>,
    scorers: Arc<Scorers<I, R, O>>,
    from: Arc<str>,
    stored_repeats: u32,
    repeats: u32,
    budgets: Budgets,
    /// What the scorers that make calls of their own replay them through.
    cassettes: Option<Cassettes>,
}

impl<I, R, O> Regrade<I, R, O>
where
    I: Serialize + Send + Sync + 'static,
    R: Serialize + Send + Sync + 'static,
    O: Send + Sync + 'static,
{
    /// Starts re-grading on `work`, or hands the record of an attempt that cannot be re-graded
    /// to `done` at once.
    fn start(mut self, work: &Arc<Work>, done: Done) {
        let inputs = self.task.inputs_json();
        match self.stored.take_if(|stored| stored.inputs == inputs) {
            Some(stored) => self.regrade(stored, inputs, work, done),
            None => {
                let why = match &self.stored {
                    Some(_) => format!(
                        "not re-graded: the task's inputs changed since run {}, whose output answers other inputs",
                        self.from
                    ),
                    None if self.stored_repeats != self.repeats => format!(
                        "not re-graded: run {} has no record `{}` (it was made with repeats = {}, the suite now has {})",
                        self.from, self.record_id, self.stored_repeats, self.repeats
                    ),
                    None => format!("not re-graded: run {} has no record of this task", self.from),
                };
                done.send(self.not_regraded(inputs, Value::Null, Trace::new(Vec::new(), None, 0), &why));
            }
        }
    }

    /// Grades the stored output and trace as the task stands today.
    fn regrade(self, stored: TaskRecord, inputs: Value, work: &Arc<Work>, done: Done) {
        // A run stores `null` both for an agent that failed (its trace holds the exception)
        // and for an output that is `null` itself (`()`, `None`): only the first has none.
        let outputs = if stored.trace.exception.is_some() {
            None
        } else {
            match (self.decode)(&stored.outputs) {
                Ok(outputs) => Some(outputs),
                // No output was recorded: AG2's runs and traces recorded elsewhere keep the
                // answer in the trace. The scorers that need a typed output say they have none.
                Err(_) if stored.outputs.is_null() => None,
                Err(e) => {
                    let why = format!(
                        "not re-graded: the output stored in run {} does not read as `{}`: {e}",
                        self.from,
                        std::any::type_name::<O>()
                    );
                    return done.send(self.not_regraded(inputs, stored.outputs, stored.trace, &why));
                }
            }
        };
        let budget_violation = self.budgets.exceeded_by(&stored.trace);
        let trace_ref = stored.trace_ref;
        let graded = Graded {
            outputs,
            outputs_json: stored.outputs,
            trace: stored.trace,
        };
        let (task, scorers) = (self.task.clone(), self.scorers.clone());
        let scoring = Scoring::new(self.cassettes.clone(), self.attempt.unwrap_or(1));
        work.scorers_only(task, scorers, scoring, graded, move |watched| {
            let Watched {
                task: _,
                outputs_json,
                trace,
                feedback,
                scorer_traces,
            } = watched;
            done.send(TaskRecord {
                feedback,
                scorer_traces,
                budget_violation,
                trace,
                trace_ref,
                outputs: outputs_json,
                ..self.record(inputs)
            });
        });
    }

    /// The record of an attempt that cannot be re-graded: every scorer ungradeable, saying why.
    fn not_regraded(&self, inputs: Value, outputs: Value, trace: Trace, why: &str) -> TaskRecord {
        let trace = Trace {
            exception: Some(Exception::new(Exception::NOT_REGRADED, why)),
            ..trace
        };
        TaskRecord {
            feedback: self
                .scorers
                .iter()
                .map(|scorer| Feedback::ungradeable(&scorer.spec().key, why))
                .collect(),
            trace,
            outputs,
            ..self.record(inputs)
        }
    }

    /// The attempt's record as the task stands today, without trace, output or feedback.
    fn record(&self, inputs: Value) -> TaskRecord {
        let task = &self.task;
        TaskRecord {
            task_id: self.record_id.clone(),
            inputs,
            reference_outputs: task.reference_outputs_json(),
            tags: task.tags().to_vec(),
            metadata: task.metadata().clone(),
            trace: Trace::new(Vec::new(), None, 0),
            feedback: Vec::new(),
            budget_violation: false,
            scorer_traces: Vec::new(),
            trace_ref: None,
            outputs: Value::Null,
            attempt: self.attempt,
            content_hash: task.content_hash().clone(),
        }
    }
}
