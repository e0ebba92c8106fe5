//! What a suite's run starts from besides its plan: the id it is saved under, the interrupted
//! run it carries on (`EVAL_RESUME`), or the stored run it re-grades instead of running agents
//! (`EVAL_REGRADE`).

use crate::env::{HarnessEnv, RunRef};
use crate::last::{self, Lookup};
use crate::plan::SuitePlan;
use eval_engine::__harness::{JournalContents, read_journal};
use eval_engine::gate::RegressionPolicy;
use eval_engine::otlp::{TaskKey, TaskTrace};
use eval_engine::runner::Settle;
use eval_engine::{RunResult, TaskRecord};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What one suite's run starts from.
pub(crate) struct RunInputs {
    /// The id this run is saved under: fresh, or the resumed run's.
    pub run_id: String,
    /// The journal this run carries on, when it is resumed.
    pub resume: Option<ResumePoint>,
    /// The stored run this run re-grades instead of running agents.
    pub regrade: Option<Box<RunResult>>,
    /// The traces recorded elsewhere this run grades instead of running agents, and where
    /// they came from (`EVAL_TRACES`).
    pub traces: Option<(Vec<TaskTrace>, String)>,
}

impl RunInputs {
    /// A fresh run: a new id, nothing to carry on.
    pub fn fresh() -> Self {
        RunInputs {
            run_id: ulid::Ulid::new().to_string(),
            resume: None,
            regrade: None,
            traces: None,
        }
    }
}

/// An interrupted run to carry on: its journal and the records it already holds that are
/// still valid.
pub(crate) struct ResumePoint {
    pub journal_path: PathBuf,
    pub journal: JournalContents,
    /// The journaled records reused instead of being run again, in suite order.
    pub reused: Vec<TaskRecord>,
}

impl ResumePoint {
    /// Reads the journal at `journal_path` and keeps every journaled record of a selected task
    /// whose content is unchanged and whose feedback covers every current scorer (for repeats,
    /// only when all the task's attempts are journaled).
    pub fn read(plan: &SuitePlan, journal_path: PathBuf, policy: RegressionPolicy) -> Result<ResumePoint, String> {
        let journal = read_journal(&journal_path).map_err(|e| e.to_string())?;
        // A task journaled twice (an earlier resume ran it again) counts by its last record.
        let mut latest: HashMap<&str, &TaskRecord> = HashMap::new();
        for task in &journal.tasks {
            latest.insert(task.task_id.as_str(), task);
        }
        let repeats = plan.config.attempts();
        let settle = plan.settle(policy);
        let mut reused = Vec::new();
        for &position in &plan.selected_tasks {
            let task = &plan.outline.tasks[position];
            let records: Vec<&TaskRecord> = if repeats > 1 {
                // The attempts journaled one after another from the first.
                (1..=repeats)
                    .map_while(|n| latest.get(TaskRecord::id_of(&task.id, Some(n)).as_str()).copied())
                    .collect()
            } else {
                latest.get(task.id.as_str()).copied().into_iter().collect()
            };
            let in_full = match &settle {
                // Adaptive repeats: the attempts the task had when it settled, or its most.
                Some(settle) => {
                    let had = records.len() as u32;
                    had == repeats || (had >= settle.repeats.min && settle.settled(&task.id, &records))
                }
                None => records.len() as u32 == repeats,
            };
            let still_valid = records.iter().all(|record| {
                record.content_hash == task.content_hash
                    && plan.scorers.iter().all(|spec| record.feedback_for(&spec.key).is_some())
            });
            if in_full && still_valid {
                reused.extend(records.into_iter().cloned());
            }
        }
        Ok(ResumePoint {
            journal_path,
            journal,
            reused,
        })
    }
}

/// The inputs of every suite's run, in plan order: fresh, unless `EVAL_RESUME` or
/// `EVAL_REGRADE` names stored runs to start from.
pub(crate) fn run_inputs(
    plans: &[Arc<SuitePlan>],
    env: &HarnessEnv,
    target_tmpdir: Option<&str>,
) -> Result<Vec<RunInputs>, String> {
    let mut inputs: Vec<RunInputs> = plans.iter().map(|_| RunInputs::fresh()).collect();
    if let Some(resume) = &env.resume {
        find_runs_to_resume(plans, &mut inputs, resume, env, target_tmpdir)?;
    }
    if let Some(regrade) = &env.regrade {
        find_runs_to_regrade(plans, &mut inputs, regrade, env, target_tmpdir)?;
    }
    if let Some(path) = &env.traces {
        hand_out_traces(plans, &mut inputs, path, env)?;
    }
    Ok(inputs)
}

/// Reads the traces `EVAL_TRACES` names and gives each suite with selected tasks the traces of
/// its tasks. Spans without a task are reported and left out; a file that is not OTLP, or
/// traces of no selected task, stop the run before anything is graded.
fn hand_out_traces(
    plans: &[Arc<SuitePlan>],
    inputs: &mut [RunInputs],
    path: &Path,
    env: &HarnessEnv,
) -> Result<(), String> {
    let spans = eval_engine::otlp::read_spans(path).map_err(|e| format!("EVAL_TRACES: {e}"))?;
    let key = match &env.traces_mapping {
        Some(mapping) => TaskKey::Mapping(read_mapping(mapping)?),
        None => TaskKey::default(),
    };
    let imported = eval_engine::otlp::import_traces(spans, &key);
    const SHOWN: usize = 10;
    for skipped in imported.skipped.iter().take(SHOWN) {
        eprintln!("warning: EVAL_TRACES: {skipped}; left out");
    }
    if imported.skipped.len() > SHOWN {
        eprintln!(
            "warning: EVAL_TRACES: … and {} more left out",
            imported.skipped.len() - SHOWN
        );
    }
    let source = format!(
        "otlp:{}",
        path.file_name().unwrap_or(path.as_os_str()).to_string_lossy()
    );
    let by_task: HashMap<String, TaskTrace> = imported
        .tasks
        .into_iter()
        .map(|trace| (trace.task_id.clone(), trace))
        .collect();
    let mut graded_any = false;
    for (plan, input) in plans
        .iter()
        .zip(inputs)
        .filter(|(plan, _)| !plan.selected_tasks.is_empty())
    {
        let traces: Vec<TaskTrace> = plan
            .selected_tasks
            .iter()
            .filter_map(|&task| by_task.get(plan.task_id(task)).cloned())
            .collect();
        graded_any |= !traces.is_empty();
        input.traces = Some((traces, source.clone()));
    }
    let selected: std::collections::HashSet<&str> = plans
        .iter()
        .flat_map(|plan| plan.selected_tasks.iter().map(|&task| plan.task_id(task)))
        .collect();
    for trace in by_task
        .values()
        .filter(|trace| !selected.contains(trace.task_id.as_str()))
    {
        eprintln!(
            "warning: EVAL_TRACES: trace {} is of task `{}`, which no selected suite has; left out",
            trace.trace_id, trace.task_id
        );
    }
    if !graded_any {
        return Err(format!(
            "EVAL_TRACES={}: no trace is of a selected task (a trace's task is its `{}` attribute{})",
            path.display(),
            eval_engine::otlp::TASK_ID_ATTRIBUTE,
            if env.traces_mapping.is_some() {
                ", here the mapping's"
            } else {
                ""
            }
        ));
    }
    Ok(())
}

/// `EVAL_TRACES_MAPPING`: a JSON object from trace id to task id.
fn read_mapping(path: &Path) -> Result<HashMap<String, String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("EVAL_TRACES_MAPPING: cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        format!(
            "EVAL_TRACES_MAPPING: {} is not a JSON object from trace id to task id: {e}",
            path.display()
        )
    })
}

/// Finds the journal each suite resumes from. Resuming nothing is an error: the user asked to
/// carry on a run that is not there.
fn find_runs_to_resume(
    plans: &[Arc<SuitePlan>],
    inputs: &mut [RunInputs],
    resume: &RunRef,
    env: &HarnessEnv,
    target_tmpdir: Option<&str>,
) -> Result<(), String> {
    let what = resume.describe("EVAL_RESUME");
    let mut resumed_any = false;
    let mut missing = Vec::new();
    for (plan, input) in plans
        .iter()
        .zip(inputs)
        .filter(|(plan, _)| !plan.selected_tasks.is_empty())
    {
        let store = plan.store(env, target_tmpdir);
        match last::journal_to_resume(&store, &plan.runs_dir(), resume)? {
            Lookup::Found(path) => {
                let point = ResumePoint::read(plan, path, env.policy)?;
                input.run_id = point.journal.header.run_id.clone();
                input.resume = Some(point);
                resumed_any = true;
            }
            Lookup::Missing(why) => missing.push(why),
        }
    }
    if !resumed_any {
        return Err(format!("{what}: {}", missing.join("; ")));
    }
    for why in missing {
        eprintln!("{what}: {why}; its tasks run from the start");
    }
    Ok(())
}

/// Loads the stored run each suite with selected tasks re-grades. Every such suite must have
/// it: a suite left out would have to run its agent, which a regrade never does.
fn find_runs_to_regrade(
    plans: &[Arc<SuitePlan>],
    inputs: &mut [RunInputs],
    regrade: &RunRef,
    env: &HarnessEnv,
    target_tmpdir: Option<&str>,
) -> Result<(), String> {
    let what = regrade.describe(env.regrade_variable());
    for (plan, input) in plans
        .iter()
        .zip(inputs)
        .filter(|(plan, _)| !plan.selected_tasks.is_empty())
    {
        let store = plan.store(env, target_tmpdir);
        let suite = plan.runs_dir();
        let path = match last::run_to_regrade(&store, &suite, regrade, env.regrade_variable())? {
            Lookup::Found(path) => path,
            Lookup::Missing(missing) => {
                return Err(format!(
                    "{what}: suite `{}` has {missing} in {} (a regrade runs no agent: select only the suites that have it, \
                     e.g. `cargo test --test {} -- <suite>`)",
                    plan.path,
                    store.root().join(&suite).display(),
                    plan.site.crate_name(),
                ));
            }
        };
        input.regrade = Some(stored_run_to_regrade(plan, &path).map_err(|e| format!("{what}: {e}"))?);
    }
    Ok(())
}

/// The run stored at `path`, to re-grade instead of running agents: refused (before anything
/// runs) when the agent's output cannot be read back.
fn stored_run_to_regrade(plan: &SuitePlan, path: &Path) -> Result<Box<RunResult>, String> {
    if !plan.outline.regradable {
        return Err(format!(
            "suite `{}` cannot be regraded: its agent's output type `{}` cannot be read back from a run JSON; \
             derive `serde::Deserialize` for it",
            plan.path, plan.outline.output_type
        ));
    }
    let stored = eval_engine::load_run(path).map_err(|e| e.to_string())?;
    Ok(Box::new(stored))
}
