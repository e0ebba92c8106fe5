//! What `EVAL_RESUME` and `EVAL_REGRADE` name in each suite's store, and for `last` the one
//! line (on stderr) that says which run was chosen and why.
//!
//! `last` is resolved per use (see [`eval_engine::store::RunKind`]): a regrade re-grades the
//! latest completed run of every task, passing over newer partial, interrupted and regrade
//! runs; a resume takes the newest journal written after that run started.

use crate::env::RunRef;
use eval_engine::Store;
use eval_engine::store::{PassedOver, RegradeChoice, ResumeChoice};
use std::path::PathBuf;

/// What a lookup found in one suite.
pub(crate) enum Lookup {
    /// The file to resume from or re-grade.
    Found(PathBuf),
    /// Nothing: why, naming the suite's directory.
    Missing(String),
}

/// The journal `resume` names in `suite`. A journal a running process is writing is an error:
/// two runs appending to one journal would tangle it.
pub(crate) fn journal_to_resume(store: &Store, suite: &str, resume: &RunRef) -> Result<Lookup, String> {
    let dir = store.root().join(suite);
    let what = resume.describe("EVAL_RESUME");
    match resume {
        RunRef::Run(run_id) => {
            let path = store.journal_path(suite, run_id).map_err(|e| e.to_string())?;
            // As `last` passes a link over, a named run is never resumed through one: its
            // target may be anywhere outside the store.
            if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(format!(
                    "{what}: journal {} is a symbolic link, and a run never writes through a link in the store: remove the link, or move the journal it points to into its place",
                    path.display()
                ));
            }
            if !path.is_file() {
                return Ok(Lookup::Missing(format!(
                    "run `{run_id}` has no journal in {} (a run that completed leaves none)",
                    dir.display()
                )));
            }
            if eval_engine::__harness::is_in_use(&path).unwrap_or(false) {
                return Err(format!(
                    "{what}: journal {} is being written by a running process; resume it once that run has ended",
                    path.display()
                ));
            }
            Ok(Lookup::Found(path))
        }
        RunRef::Last => {
            let choice = store.last_to_resume(suite).map_err(|e| e.to_string())?;
            match &choice.chosen {
                Some(journal) => {
                    eprintln!("{what}: {}", resume_line(suite, &choice, &journal.run_id));
                    Ok(Lookup::Found(journal.path.clone()))
                }
                None => Ok(Lookup::Missing(format!(
                    "suite `{suite}` has {} in {}",
                    nothing_to_resume(&choice),
                    dir.display()
                ))),
            }
        }
    }
}

/// `resuming run 01J… of suite weather (the newest journal, written after complete run 01H…
/// started; passed over 1 abandoned)`.
fn resume_line(suite: &str, choice: &ResumeChoice, run_id: &str) -> String {
    let after = match &choice.latest_complete {
        Some(complete) => format!(", written after the latest complete run {} started", complete.run_id),
        None => "; the suite has no complete run".to_owned(),
    };
    format!(
        "resuming run {run_id} of suite {suite} (the newest journal{after}{})",
        passed_over_journals(choice)
    )
}

/// Why there is nothing to resume, e.g. `no journal of an interrupted run newer than its latest
/// complete run 01H… (passed over 1 abandoned: 01G…)`.
fn nothing_to_resume(choice: &ResumeChoice) -> String {
    let mut why = "no journal of an interrupted run".to_owned();
    if let Some(complete) = &choice.latest_complete {
        why.push_str(&format!(" newer than its latest complete run {}", complete.run_id));
    }
    if choice.abandoned.is_empty() && choice.in_use.is_empty() {
        why.push_str(" (a run that completed leaves none)");
        return why;
    }
    let mut passed = Vec::new();
    if !choice.abandoned.is_empty() {
        let ids: Vec<&str> = choice.abandoned.iter().map(|(j, _)| j.run_id.as_str()).collect();
        passed.push(format!("{} abandoned: {}", ids.len(), ids.join(", ")));
    }
    if !choice.in_use.is_empty() {
        let ids: Vec<&str> = choice.in_use.iter().map(|j| j.run_id.as_str()).collect();
        passed.push(format!("{} in use by a running process: {}", ids.len(), ids.join(", ")));
    }
    format!("{why} (passed over {})", passed.join("; "))
}

/// `; passed over 1 abandoned, 1 in use` (empty when nothing was).
fn passed_over_journals(choice: &ResumeChoice) -> String {
    let mut counts = Vec::new();
    if !choice.abandoned.is_empty() {
        counts.push(format!("{} abandoned", choice.abandoned.len()));
    }
    if !choice.in_use.is_empty() {
        counts.push(format!("{} in use", choice.in_use.len()));
    }
    if counts.is_empty() {
        String::new()
    } else {
        format!("; passed over {}", counts.join(", "))
    }
}

/// The run `regrade` names in `suite`.
pub(crate) fn run_to_regrade(store: &Store, suite: &str, regrade: &RunRef, variable: &str) -> Result<Lookup, String> {
    match regrade {
        RunRef::Run(run_id) => {
            let path = store.run_path(suite, run_id).map_err(|e| e.to_string())?;
            Ok(if path.is_file() {
                Lookup::Found(path)
            } else {
                Lookup::Missing(format!("no run `{run_id}`"))
            })
        }
        RunRef::Last => {
            let choice = store.last_to_regrade(suite).map_err(|e| e.to_string())?;
            for passed in &choice.passed_over {
                if let PassedOver::Unreadable(error) = passed {
                    eprintln!("warning: {variable}=last: passed over a file that is not a run: {error}");
                }
            }
            match &choice.chosen {
                Some(run) => {
                    eprintln!("{variable}=last: {}", regrade_line(suite, &choice, &run.run_id));
                    Ok(Lookup::Found(run.path.clone()))
                }
                None if choice.passed_over.is_empty() => Ok(Lookup::Missing("no saved run".to_owned())),
                None => Ok(Lookup::Missing(format!(
                    "no completed run of every task (passed over {}; name one with {variable}=<run_id> to re-grade it)",
                    choice.passed_over_counts()
                ))),
            }
        }
    }
}

/// `regrading run 01J… of suite weather (the latest completed run of every task; passed over 2
/// newer: 1 partial, 1 regrade)`.
fn regrade_line(suite: &str, choice: &RegradeChoice, run_id: &str) -> String {
    let passed = if choice.passed_over.is_empty() {
        String::new()
    } else {
        format!(
            "; passed over {} newer: {}",
            choice.passed_over.len(),
            choice.passed_over_counts()
        )
    };
    format!("regrading run {run_id} of suite {suite} (the latest completed run of every task{passed})")
}
