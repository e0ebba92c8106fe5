//! The page of a suite the harness ran, from the outcomes it decided, written beside its run
//! file when `EVAL_HTML_REPORT` asks for it.

use super::model::{KeyRate, Page, PairRow, RowStatus};
use crate::outcome::{PairOutcome, Shown, decision_name};
use crate::report::{Saved, SuiteReport, mean_scores, pass_rates};
use std::path::{Path, PathBuf};

/// The page of `report`: its pairs as their tests were reported.
pub(crate) fn page_of<'a>(report: &'a SuiteReport<'_>) -> Page<'a> {
    let plan = report.plan;
    let scores = mean_scores(&report.run);
    let pairs = report
        .outcomes
        .pairs
        .iter()
        .map(|outcome| {
            let (status, message) = match outcome.shown(&plan.baseline_display, plan.baseline_error.is_some()) {
                Shown::Failed(message) => (RowStatus::Failed, Some(message)),
                Shown::Skipped(reason) => (RowStatus::Skipped, Some(reason)),
                Shown::Passed => (RowStatus::Passed, None),
            };
            let baseline = plan
                .baseline
                .as_ref()
                .and_then(|card| card.get(&outcome.task_id, &outcome.key));
            PairRow {
                task_id: outcome.task_id.to_string(),
                key: outcome.key.to_string(),
                outcome: decision_name(outcome.outcome).to_owned(),
                status,
                verdict: outcome.entry.as_ref().map(|e| e.verdict.to_string()),
                baseline: baseline.map(|b| b.verdict.to_string()),
                score: scores.get(&(&*outcome.task_id, &*outcome.key)).copied(),
                comment: comment(outcome, status, message),
            }
        })
        .collect();
    let outcomes: Vec<&PairOutcome> = report.outcomes.pairs.iter().collect();
    let rates = pass_rates(report, &outcomes)
        .into_iter()
        .map(|rate| KeyRate {
            key: rate.key.to_owned(),
            passed: rate.passed,
            total: rate.total,
            baseline: rate.baseline,
            advisory: rate.advisory,
        })
        .collect();
    Page {
        run: &report.run,
        baseline: plan
            .baseline
            .as_ref()
            .map(|_| plan.baseline_display.display().to_string()),
        pairs,
        rates,
        trends: Vec::new(),
    }
}

/// A failing pair shows its test's message; any other its scorer's comment, or why it is skipped.
fn comment(outcome: &PairOutcome, status: RowStatus, message: Option<String>) -> Option<String> {
    match status {
        RowStatus::Failed => message,
        _ => outcome.detail.clone().or(message),
    }
}

/// Writes each saved run's page beside its run file (`<run id>.html`). A page that cannot be
/// written is an error naming it; the run is saved and gated all the same. Where each page
/// went is printed to stdout, or to stderr when stdout carries JSON.
pub(crate) fn write_html_reports(reports: &[SuiteReport<'_>], to_stderr: bool) {
    for report in reports {
        let Some(Saved::RunFile(run_file)) = &report.saved else {
            continue;
        };
        let path = run_file.with_extension("html");
        #[allow(unused_mut)]
        let mut page = page_of(report);
        #[cfg(feature = "history")]
        if let Some(store) = store_of(run_file) {
            page.trends = super::trends::trends_from_history(store, &report.run);
        }
        match eval_engine::__harness::replace_with(&path, page.render().as_bytes()) {
            Ok(()) if to_stderr => eprintln!("  report: {}", shown(&path).display()),
            Ok(()) => println!("  report: {}", shown(&path).display()),
            Err(e) => eprintln!(
                "error: cannot write the HTML report {}: {e}; the run itself is saved and gated",
                path.display()
            ),
        }
    }
}

/// The store a run file is in: `<store>/<suite>/<run id>.json`.
#[cfg(feature = "history")]
fn store_of(run_file: &Path) -> Option<&Path> {
    run_file.parent()?.parent()
}

fn shown(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|dir| path.strip_prefix(dir).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
}
