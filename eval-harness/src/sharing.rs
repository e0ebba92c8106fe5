//! Under cargo-nextest, each test runs in a process of its own: the processes of one nextest
//! run share every task's records through the run's directory, so that each task's agent runs
//! once (see [`crate::nextest`]).

use crate::board::{Board, BoardObserver};
use crate::env::HarnessEnv;
use crate::nextest::{self, CachedTask, Claimed, TaskClaim};
use crate::plan::SuitePlan;
use eval_engine::RunResult;
use eval_engine::observer::Observer as _;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

/// What this process shares with the other processes of a nextest run for one suite: the
/// tasks it locked and runs, and the results it read from the cache instead of running.
pub(crate) struct SharedWithNextest {
    /// The run's shared directory for this suite: the run is recorded there rather than saved
    /// as a run JSON.
    pub dir: PathBuf,
    nextest_run_id: String,
    claims: Vec<TaskClaim>,
    cached: Vec<eval_engine::TaskRecord>,
}

/// Locks each task to run in the nextest run's shared directory (one at a time, in a fixed
/// order, so two processes never wait on each other): a task another process already ran is
/// taken from the cache, posted to the board and removed from `to_run`.
pub(crate) fn share_with_nextest_processes(
    plan: &SuitePlan,
    board: &Arc<Board>,
    nextest_run_id: &str,
    to_run: &mut HashSet<String>,
    env: &HarnessEnv,
    target_tmpdir: Option<&str>,
) -> SharedWithNextest {
    let dir = nextest::run_dir(&plan.store_root(env, target_tmpdir), &plan.runs_dir(), nextest_run_id);
    let mut task_ids: Vec<String> = to_run.iter().cloned().collect();
    task_ids.sort();
    let mut shared = SharedWithNextest {
        dir: dir.clone(),
        nextest_run_id: nextest_run_id.to_owned(),
        claims: Vec::new(),
        cached: Vec::new(),
    };
    for task_id in task_ids {
        match nextest::claim(&dir, &task_id) {
            Ok(Claimed::ToRun(claim)) => shared.claims.push(claim),
            Ok(Claimed::Cached(records)) => {
                to_run.remove(&task_id);
                let observer = BoardObserver(board.clone());
                for record in &records {
                    observer.task_evaluated(record);
                }
                shared.cached.extend(records);
            }
            Err(why) => {
                to_run.remove(&task_id);
                board.lose(&task_id, &why);
            }
        }
    }
    shared
}

impl SharedWithNextest {
    /// Caches the records of every task this process ran (releasing its lock) and returns the
    /// run with the cached tasks added, in suite order. A task not graded in full is not
    /// cached: the next process to lock it runs it. With adaptive repeats (`attempts` a range)
    /// a task is in full once the run completed, whatever attempts it settled at.
    pub fn conclude(
        self,
        run: RunResult,
        attempts: std::ops::RangeInclusive<u32>,
        suite_order: &HashMap<String, usize>,
    ) -> RunResult {
        let completed = run.meta.status == eval_engine::result::RunStatus::Completed;
        for claim in self.claims {
            let records: Vec<eval_engine::TaskRecord> = run
                .tasks()
                .iter()
                .filter(|task| task.base_id() == claim.task_id)
                .cloned()
                .collect();
            let count = records.len() as u32;
            let in_full = match attempts.start() == attempts.end() {
                true => count == *attempts.end(),
                false => completed && attempts.contains(&count),
            };
            if !in_full {
                continue;
            }
            let meta = &run.meta;
            let entry = CachedTask {
                nextest_run_id: self.nextest_run_id.clone(),
                task_id: claim.task_id.clone(),
                position: suite_order.get(&claim.task_id).copied().unwrap_or(usize::MAX),
                suite: eval_engine::result::SuiteInfo {
                    size: suite_order.len(),
                    ..meta.suite.clone()
                },
                target: meta.target.clone(),
                repeats: meta.repeats,
                fewest_repeats: meta.fewest_repeats,
                model: meta.model.clone(),
                budgets: meta.budgets,
                created_at: meta.created_at.clone(),
                scorers: meta.scorers.clone(),
            };
            if let Err(why) = claim.cache(&entry, &records) {
                eprintln!("error: {why}; the other processes of this nextest run will run the task again");
            }
        }
        if self.cached.is_empty() {
            return run;
        }
        let (meta, mut tasks) = run.into_parts();
        tasks.extend(self.cached);
        tasks.sort_by_key(|task| (suite_order.get(task.base_id()).copied(), task.attempt));
        RunResult::new(meta, tasks)
    }
}
