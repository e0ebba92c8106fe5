//! Lifecycle events of a run, for progress displays and streaming consumers.

use crate::record::TaskRecord;
use crate::result::RunResult;

/// Told what happens during a run. Every method has an empty default; implement what you need.
///
/// `task_evaluated` is called from the runtime's worker threads as tasks finish, in completion
/// order, so implementations must be cheap and thread-safe.
pub trait Observer: Send + Sync {
    /// The run is about to start its first task.
    fn run_started(&self, _run: &RunStarted<'_>) {}
    /// A task (one attempt) has been run and graded.
    fn task_evaluated(&self, _task: &TaskRecord) {}
    /// With adaptive repeats ([`crate::RunOptions::adaptive_repeats`]): task `task_id` is
    /// decided after `attempts` attempts and gets no more.
    fn task_settled(&self, _task_id: &str, _attempts: u32) {}
    /// Every task has been graded; `run` is what `run()` returns.
    fn run_completed(&self, _run: &RunResult) {}
}

/// What is known when a run starts.
#[derive(Debug, Clone, Copy)]
pub struct RunStarted<'a> {
    /// The run's id.
    pub run_id: &'a str,
    /// The suite's name.
    pub suite: &'a str,
    /// Task records to produce (tasks × repeats).
    pub records: usize,
    /// How many tasks run at once.
    pub concurrency: usize,
}

/// Tells every one of several observers, in order.
pub struct FanOut(pub Vec<std::sync::Arc<dyn Observer>>);

impl Observer for FanOut {
    fn run_started(&self, run: &RunStarted<'_>) {
        self.0.iter().for_each(|o| o.run_started(run));
    }

    fn task_evaluated(&self, task: &TaskRecord) {
        self.0.iter().for_each(|o| o.task_evaluated(task));
    }

    fn task_settled(&self, task_id: &str, attempts: u32) {
        self.0.iter().for_each(|o| o.task_settled(task_id, attempts));
    }

    fn run_completed(&self, run: &RunResult) {
        self.0.iter().for_each(|o| o.run_completed(run));
    }
}
