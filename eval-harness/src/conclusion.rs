//! After the trials, for each suite that ran: save its run, remove the journal it no longer
//! needs, work out its next scorecard (a filtered run keeps the pairs it did not run), have it
//! written for review when it changed, and gather what the summary shows.

use crate::baseline::{BaselineUpdate, SnapshotWrite};
use crate::env::HarnessEnv;
use crate::nextest;
use crate::outcome::PairOutcome;
use crate::plan::SuitePlan;
use crate::report::{CHANGES_SHOWN, Saved, SuiteReport};
use crate::running::SuiteOutcomes;
use eval_engine::result::RunStatus;
use eval_engine::scorecard::Scorecard;
use eval_engine::{RunResult, ScorerSpec, Store};
use std::path::{Path, PathBuf};

/// Where a suite's run goes, and what it leaves behind.
pub(crate) struct Destination {
    pub store: Store,
    /// The journal the run wrote: removed once the run is saved, unless it can be resumed.
    pub journal_path: Option<PathBuf>,
    /// Under cargo-nextest, the directory the run is recorded in instead of a run JSON.
    pub nextest_dir: Option<PathBuf>,
}

/// Concludes `plan`'s run. The run is saved on a thread of its own while the scorecard is
/// worked out: for a large suite, both take a while.
pub(crate) fn conclude<'p>(
    plan: &'p SuitePlan,
    mut run: RunResult,
    outcomes: SuiteOutcomes,
    destination: Destination,
    env: &HarnessEnv,
    write_snapshot: &dyn Fn(&SnapshotWrite<'_>),
) -> SuiteReport<'p> {
    advisory_as_planned(&plan.scorers, &mut run.meta.scorers);
    let interrupted = run.meta.status == RunStatus::Interrupted;
    let (saved, (update, changes, vanished_dropped)) = std::thread::scope(|scope| {
        let saving = std::thread::Builder::new()
            .name("eval-save".to_owned())
            .spawn_scoped(scope, || save(plan, &run, &outcomes.pairs, &destination));
        let scorecard = next_scorecard(plan, &outcomes.pairs, interrupted, env, write_snapshot);
        let saved = match saving {
            Ok(saving) => saving
                .join()
                .unwrap_or_else(|_| Err("saving the run panicked".to_owned())),
            // No thread to be had: save here.
            Err(_) => save(plan, &run, &outcomes.pairs, &destination),
        };
        (saved, scorecard)
    });
    SuiteReport {
        plan,
        run,
        outcomes,
        saved: saved.ok(),
        update,
        changes,
        vanished_dropped,
        alpha: env.policy.alpha,
    }
}

/// Saves the run (a resumed run replaces the file its interrupted predecessor left under the
/// same id; under nextest, the pairs' fragments go to the shared directory), then removes its
/// journal unless it can still be resumed, and what the run superseded.
/// Marks advisory the run's scorers the plan made advisory (a judge that does not agree with
/// people enough), so that the run file says so and `cargo eval diff` of it agrees.
fn advisory_as_planned(planned: &[ScorerSpec], recorded: &mut [ScorerSpec]) {
    for spec in recorded {
        if planned.iter().any(|p| p.key == spec.key && p.advisory) {
            spec.advisory = true;
        }
    }
}

fn save(
    plan: &SuitePlan,
    run: &RunResult,
    outcomes: &[PairOutcome],
    destination: &Destination,
) -> Result<Saved, String> {
    let store = &destination.store;
    let saved = if let Some(dir) = &destination.nextest_dir {
        record_fragments(dir, outcomes).map(|()| Saved::Nextest(dir.clone()))
    } else if run.meta.resumed.is_some() {
        store.save_replacing(run).map(Saved::RunFile).map_err(|e| e.to_string())
    } else {
        store.save(run).map(Saved::RunFile).map_err(|e| e.to_string())
    };
    let interrupted = run.meta.status == RunStatus::Interrupted;
    match (&saved, &destination.journal_path) {
        (Err(e), _) => eprintln!("error: suite {}: the run could not be saved: {e}", plan.path),
        // The journal stays while the run can still be resumed.
        (Ok(_), Some(journal)) if !interrupted => {
            if let Err(e) = std::fs::remove_file(journal) {
                eprintln!(
                    "warning: suite {}: cannot remove journal {}: {e}",
                    plan.path,
                    journal.display()
                );
            }
        }
        (Ok(_), _) => {}
    }
    // The history index is not written here: every query brings it up to date with the files
    // first, and indexing a large run at the end of every test run would cost the run itself
    // (≈0.15 s for 10,000 tasks).
    if saved.is_ok() {
        // What this run supersedes goes now, so that abandoned journals and nextest
        // directories do not pile up.
        crate::cleanup::after_run(store, &plan.runs_dir());
    }
    saved
}

/// The scorecard after this run, written for review when it changed (and may be written):
/// what happened to the baseline, the changes the summary lists, and whether the pairs that
/// left the suite are dropped from it.
fn next_scorecard(
    plan: &SuitePlan,
    outcomes: &[PairOutcome],
    interrupted: bool,
    env: &HarnessEnv,
    write_snapshot: &dyn Fn(&SnapshotWrite<'_>),
) -> (BaselineUpdate, (Vec<String>, usize), bool) {
    let this_run = scorecard_of(outcomes);
    let next = match (&plan.baseline, plan.complete) {
        (Some(baseline), false) => baseline.merged_with(&this_run),
        _ => this_run,
    };
    let unchanged = plan.baseline.as_ref() == Some(&next);
    let changes = match &plan.baseline {
        _ if unchanged => (Vec::new(), 0),
        baseline => {
            let empty = Scorecard::default();
            let changes = next.changes_from(baseline.as_ref().unwrap_or(&empty));
            let shown = changes.iter().take(CHANGES_SHOWN).map(ToString::to_string).collect();
            (shown, changes.len())
        }
    };
    let update = if interrupted {
        BaselineUpdate::NotWritten("the run was interrupted")
    } else if unchanged {
        if env.writes_baselines() {
            plan.baseline_file.discard_stale_pending();
        }
        BaselineUpdate::Unchanged
    } else if !env.writes_baselines() {
        BaselineUpdate::NotWritten("nothing is written next to the sources in CI or under nextest")
    } else if plan.baseline_error.is_some() && !plan.complete {
        // The pairs that did not run would be lost from a baseline that may still hold them.
        BaselineUpdate::NotWritten(
            "the baseline could not be read and this run covers only part of the suite: run the whole suite to record a new one",
        )
    } else {
        plan.baseline_file.write(&next, write_snapshot)
    };
    let vanished_dropped = !plan.vanished.iter().any(|(task, key)| next.get(task, key).is_some());
    (update, changes, vanished_dropped)
}

/// Records each pair's outcome as its fragment in the nextest run's directory.
fn record_fragments(dir: &Path, outcomes: &[PairOutcome]) -> Result<(), String> {
    outcomes
        .iter()
        .try_for_each(|outcome| nextest::write_fragment(dir, outcome))
}

/// The scorecard entries of the pairs that ran.
fn scorecard_of(outcomes: &[PairOutcome]) -> Scorecard {
    // Collected rather than inserted one by one: the map is then built from the sorted pairs at
    // once, and the outcomes come mostly sorted already.
    let entries = outcomes
        .iter()
        .filter_map(|outcome| {
            let entry = outcome.entry.clone()?;
            Some(((outcome.task_id.to_string(), outcome.key.to_string()), entry))
        })
        .collect();
    Scorecard { entries }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{Ran, crate_dir};
    use eval_engine::gate::Decision;
    use std::cell::RefCell;

    const TASKS: &str = r#"{"task_id": "paris", "inputs": {"input": "weather in Paris"}}
{"task_id": "rome", "inputs": {"input": "weather in Rome"}}
"#;

    /// Runs suite `weather` and concludes it; returns what the snapshot writer was handed.
    fn concluded(baseline: Option<&str>, vars: &[(&str, &str)]) -> (tempfile::TempDir, Vec<String>, String) {
        let (dir, store) = (crate_dir(TASKS, baseline), tempfile::tempdir().unwrap());
        let Ran {
            env,
            suite,
            started,
            run,
            log,
        } = Ran::start(dir.path(), store.path(), &["evals"], vars);
        let journal = started.journal_path.clone().unwrap();
        assert!(journal.exists());
        let plan = suite.plan.clone();
        let destination = Destination {
            store: plan.store(&env, None),
            journal_path: started.journal_path.clone(),
            nextest_dir: None,
        };
        let written = RefCell::new(Vec::new());
        let writer = |write: &SnapshotWrite<'_>| written.borrow_mut().push(write.body.to_owned());
        let report = conclude(&plan, run, suite.take_outcomes(), destination, &env, &writer);
        assert!(!journal.exists(), "the journal of a saved run goes");
        let Some(Saved::RunFile(file)) = &report.saved else {
            panic!("not saved: {:?}", report.saved)
        };
        assert!(file.starts_with(store.path().join("weather")), "{}", file.display());
        let saved = eval_engine::load_run(file).unwrap();
        assert_eq!(saved.tasks().len(), 2);
        let outcomes: Vec<(&str, Decision)> = report.outcomes.pairs.iter().map(|o| (&*o.task_id, o.outcome)).collect();
        let summary = format!("{log}\n{:?} {:?} {:?}", outcomes, report.update, report.changes);
        drop(report);
        (store, written.into_inner(), summary)
    }

    #[test]
    fn a_scorer_the_plan_made_advisory_is_recorded_as_advisory() {
        let planned = [ScorerSpec::new("judge").advisory(), ScorerSpec::new("city")];
        let mut recorded = [ScorerSpec::new("city"), ScorerSpec::new("judge")];
        advisory_as_planned(&planned, &mut recorded);
        assert_eq!((recorded[0].advisory, recorded[1].advisory), (false, true));
    }

    #[test]
    fn a_run_in_ci_is_saved_and_its_scorecard_never_written() {
        let (_store, written, summary) = concluded(None, &[("CI", "true")]);
        assert!(written.is_empty(), "{summary}");
        assert!(
            summary.contains("NotWritten(\"nothing is written next to the sources"),
            "{summary}"
        );
        assert!(summary.contains("(\"rome\", NewFailure"), "{summary}");
        assert!(summary.contains("(\"paris\", Pass"), "{summary}");
    }

    #[test]
    fn a_changed_scorecard_is_handed_to_the_writer_with_its_changes_counted() {
        let (_store, written, summary) = concluded(None, &[]);
        let [body] = &written[..] else {
            panic!("{written:?}\n{summary}")
        };
        assert!(body.contains("rome") && body.contains("paris"), "{body}");
        assert!(summary.ends_with(", 2)"), "two new pairs: {summary}");
    }

    #[test]
    fn an_unchanged_scorecard_is_not_written_again() {
        let hash = |id: &str| {
            let inputs = serde_json::json!({"input": format!("weather in {id}")});
            eval_engine::task::ContentHash::of(&inputs, &serde_json::Value::Null).to_string()
        };
        let baseline = format!("paris {} city pass\nrome {} city fail\n", hash("Paris"), hash("Rome"));
        let (_store, written, summary) = concluded(Some(&baseline), &[]);
        assert!(written.is_empty(), "{written:?}\n{summary}");
        assert!(summary.contains("Unchanged"), "{summary}");
        assert!(summary.contains("(\"rome\", KnownFailure)"), "{summary}");
    }
}
