//! Starting a suite's run: its agents and scorers on the work runtime, the run itself watched
//! from the control runtime, every graded attempt posted to the suite's board (which wakes its
//! trials) and journaled (so that a killed run can be resumed).

use crate::board::BoardObserver;
use crate::env::HarnessEnv;
use crate::inputs::RunInputs;
use crate::plan::SuitePlan;
use crate::running::SuiteRun;
use crate::runtimes::Runtimes;
use crate::selection::Selector;
use crate::sharing::{SharedWithNextest, share_with_nextest_processes};
use crate::suite_def::{Execution, RunSelection};
use eval_engine::__harness::{JournalHeader, JournalObserver, JournalWriter};
use eval_engine::observer::{FanOut, Observer};
use eval_engine::result::{Resumed, RunStatus};
use eval_engine::{RunResult, TaskRecord};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A suite's run, started.
pub(crate) struct StartedRun {
    /// Ends with the run (the resumed or nextest-shared tasks put back in), or why it failed.
    pub handle: JoinHandle<Result<RunResult, String>>,
    /// The journal the run writes: removed once the run is saved complete.
    pub journal_path: Option<PathBuf>,
    /// Under cargo-nextest, the directory the run is recorded in instead of a run JSON.
    pub nextest_dir: Option<PathBuf>,
}

/// Where and how runs start.
pub(crate) struct Launcher<'a> {
    pub runtimes: &'a Runtimes,
    pub selector: &'a Selector,
    pub env: &'a HarnessEnv,
    pub target_tmpdir: Option<&'a str>,
    /// Becomes `true` on an interrupt (or a closed stdout): no new task starts.
    pub stop_requested: &'a watch::Receiver<bool>,
}

impl Launcher<'_> {
    /// Starts `suite`'s run of its selected tasks: reused ones (a resume) and ones another
    /// nextest process ran are posted to the board at once, the others run.
    pub fn start(&self, suite: &SuiteRun, selection: RunSelection, mut inputs: RunInputs) -> StartedRun {
        let (plan, env) = (&*suite.plan, self.env);
        let board_observer: Arc<dyn Observer> = Arc::new(BoardObserver(suite.board.clone()));
        let mut observers = vec![board_observer.clone()];
        // Under nextest the shared cache, not a journal, keeps what finished; a regrade, which
        // runs no agent, loses nothing worth a journal.
        let journal = match (&env.nextest_run_id, &inputs.regrade, &inputs.traces) {
            (None, None, None) => open_journal(plan, &inputs, env, self.target_tmpdir),
            _ => None,
        };
        let journal_path = journal.as_ref().map(|writer| writer.path().to_owned());
        if let Some(writer) = journal {
            observers.push(Arc::new(JournalObserver::new(writer)));
        }
        let options = plan
            .run_options(self.selector, env)
            .observer(Arc::new(FanOut(observers)))
            .stop_when(self.stop_requested.clone(), env.grace)
            .work_runtime(self.runtimes.work().handle().clone());
        // The id is a ULID or was read from a journal whose file name it is.
        let options = options.clone().run_id(inputs.run_id.clone()).unwrap_or(options);

        // The run is told which tasks to run only when it runs part of the suite: a filtered
        // run, a resume, or one process of several under nextest. A whole run is told nothing,
        // and builds no set of every task's id.
        let partial = !plan.complete || inputs.resume.is_some() || env.nextest_run_id.is_some();
        let reused = inputs.resume.as_mut().map(|resume| std::mem::take(&mut resume.reused));
        let mut to_run: Option<HashSet<String>> = partial.then(|| {
            let reused_ids: HashSet<&str> = reused.iter().flatten().map(TaskRecord::base_id).collect();
            plan.selected_tasks
                .iter()
                .map(|&task| plan.task_id(task))
                .filter(|id| !reused_ids.contains(id))
                .map(str::to_owned)
                .collect()
        });
        let shared = env
            .nextest_run_id
            .as_deref()
            .zip(to_run.as_mut())
            .map(|(run_id, to_run)| {
                share_with_nextest_processes(plan, &suite.board, run_id, to_run, env, self.target_tmpdir)
            });
        let nextest_dir = shared.as_ref().map(|shared| shared.dir.clone());
        let resumed = inputs.resume.take().map(|resume| {
            let reused = reused.unwrap_or_default();
            // Reused tasks decide their trials at once.
            reused.iter().for_each(|task| board_observer.task_evaluated(task));
            let resumed = Resumed {
                from: resume.journal.header.run_id.clone(),
                reused: reused.len(),
            };
            (resumed, resume.journal.header.created_at, reused)
        });
        // Only records put together from several sources are put back in suite order.
        let suite_order: Option<HashMap<String, usize>> = (resumed.is_some() || shared.is_some()).then(|| {
            plan.outline
                .tasks
                .iter()
                .enumerate()
                .map(|(i, task)| (task.id.clone(), i))
                .collect()
        });
        let suite_size = plan.outline.tasks.len();
        let execution = match (inputs.regrade.take(), inputs.traces.take()) {
            (Some(stored), _) => Execution::Regrade(stored),
            (None, Some((traces, source))) => Execution::Traces(traces, source),
            (None, None) => Execution::RunAgents,
        };
        let future = selection(to_run, options, execution);
        let board = suite.board.clone();
        let attempts = plan.config.adaptive().map_or(plan.config.attempts(), |a| a.min)..=plan.config.attempts();
        let handle = self.runtimes.control().spawn(async move {
            // On its own task, so that even a panic of the run itself wakes the trials.
            let finished = tokio::spawn(future).await.map_err(|e| format!("the run failed: {e}"));
            let finished = finished.map(|run| match (resumed, &suite_order) {
                (Some(resumed), Some(order)) => with_reused_tasks(run, resumed, order),
                _ => run,
            });
            let finished = finished.map(|run| match (shared, &suite_order) {
                (Some(shared), Some(order)) => SharedWithNextest::conclude(shared, run, attempts.clone(), order),
                _ => run,
            });
            // The suite's size, not the run's: a filtered run, a shard or a resumed run ran
            // part of it, which its selection says; `cargo eval merge` tells from the size when
            // the parts make the whole suite.
            let finished = finished.map(|mut run| {
                run.meta.suite.size = suite_size;
                run
            });
            match &finished {
                Ok(run) if run.meta.status == RunStatus::Interrupted => board.close("interrupted: not run"),
                Ok(_) => board.close("the run ended without grading this task"),
                Err(why) => board.close(why),
            }
            finished
        });
        StartedRun {
            handle,
            journal_path,
            nextest_dir,
        }
    }
}

/// Opens the suite's journal: the resumed one, else a new one under the run's id. A journal
/// that cannot be opened is reported and the run goes on without it.
fn open_journal(
    plan: &SuitePlan,
    inputs: &RunInputs,
    env: &HarnessEnv,
    target_tmpdir: Option<&str>,
) -> Option<JournalWriter> {
    let opened = match &inputs.resume {
        Some(resume) => JournalWriter::resume(&resume.journal_path, &resume.journal).map_err(|e| e.to_string()),
        None => plan
            .store(env, target_tmpdir)
            .journal_path(&plan.runs_dir(), &inputs.run_id)
            .map_err(|e| e.to_string())
            .and_then(|path| {
                let keys = plan.scorers.iter().map(|s| s.key.clone()).collect();
                let header = JournalHeader::new(inputs.run_id.clone(), plan.suite_name(), keys);
                JournalWriter::create(path, &header).map_err(|e| e.to_string())
            }),
    };
    match opened {
        Ok(writer) => Some(writer),
        Err(why) => {
            eprintln!(
                "warning: suite {}: {why}; the run goes on without a journal (it cannot be resumed if killed)",
                plan.path
            );
            None
        }
    }
}

/// The resumed run whole: the reused records and the new ones in suite order, under the
/// interrupted run's start time, recording what it was resumed from.
fn with_reused_tasks(
    run: RunResult,
    (resumed, created_at, reused): (Resumed, String, Vec<TaskRecord>),
    suite_order: &HashMap<String, usize>,
) -> RunResult {
    let (mut meta, mut tasks) = run.into_parts();
    tasks.extend(reused);
    tasks.sort_by_key(|task| (suite_order.get(task.base_id()).copied(), task.attempt));
    meta.created_at = created_at;
    meta.resumed = Some(resumed);
    RunResult::new(meta, tasks)
}

#[cfg(test)]
mod tests {
    use crate::board::TaskState;
    use crate::test_support::{Ran, crate_dir};
    use eval_engine::__harness::read_journal;

    const TASKS: &str = r#"{"task_id": "paris", "inputs": {"input": "weather in Paris"}}
{"task_id": "rome", "inputs": {"input": "weather in Rome"}}
{"task_id": "oslo", "inputs": {"input": "weather in Oslo"}}
"#;

    #[test]
    fn a_run_posts_every_selected_task_to_the_board_and_journals_it() {
        let (dir, store) = (crate_dir(TASKS, None), tempfile::tempdir().unwrap());
        let Ran {
            suite,
            started,
            run: finished,
            ..
        } = Ran::start(dir.path(), store.path(), &["evals"], &[]);
        let ids: Vec<&str> = finished.tasks().iter().map(|task| task.task_id.as_str()).collect();
        assert_eq!(ids, ["paris", "rome", "oslo"], "the run keeps the suite's order");
        assert_eq!(finished.meta.suite.size, 3);
        for position in 0..3 {
            let TaskState::Done(attempts) = suite.board.wait(position) else {
                panic!("task {position} is not on the board");
            };
            let passed = attempts[0].get("city").unwrap().verdict == eval_engine::Verdict::Pass;
            assert_eq!(passed, position != 1, "only rome fails");
        }
        let journal = started
            .journal_path
            .clone()
            .expect("a run that runs agents is journaled");
        assert!(
            journal.starts_with(store.path().join("weather")),
            "{}",
            journal.display()
        );
        let journaled: Vec<String> = read_journal(&journal)
            .unwrap()
            .tasks
            .into_iter()
            .map(|t| t.task_id)
            .collect();
        assert_eq!(journaled.len(), 3);
        assert_eq!(started.nextest_dir, None);
    }

    #[test]
    fn a_filtered_run_runs_only_the_selected_tasks_and_loses_the_others() {
        let (dir, store) = (crate_dir(TASKS, None), tempfile::tempdir().unwrap());
        let Ran {
            suite, run: finished, ..
        } = Ran::start(
            dir.path(),
            store.path(),
            &["evals", "--exact", "weather::rome::city"],
            &[],
        );
        let ids: Vec<&str> = finished.tasks().iter().map(|task| task.task_id.as_str()).collect();
        assert_eq!(ids, ["rome"]);
        assert_eq!(finished.meta.suite.size, 3, "the suite's size, not the run's");
        assert!(matches!(suite.board.wait(1), TaskState::Done(_)));
        assert!(
            matches!(suite.board.wait(0), TaskState::Lost(_)),
            "a task that does not run never blocks a trial"
        );
    }
}
