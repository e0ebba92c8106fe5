//! The page of a stored run (`cargo eval report`): each pair decided against a baseline run by
//! the gate's own rule, as a run of the harness against that baseline would decide it.

use super::model::{KeyRate, Page, PairRow, RowStatus};
use crate::outcome::decision_name;
use crate::report::mean_scores;
use eval_engine::RunResult;
use eval_engine::gate::{Decision, RegressionPolicy, decide};
use eval_engine::scorecard::Scorecard;
use eval_engine::tally::sum_pair_counts;

impl<'a> Page<'a> {
    /// The page of `run`, each pair decided against `baseline` (another run of the suite), or as
    /// a first run when there is none: without a baseline every failing pair is new.
    pub fn of_runs(run: &'a RunResult, baseline: Option<&RunResult>) -> Page<'a> {
        let now = Scorecard::from_run(run);
        let before = baseline.map(Scorecard::from_run);
        let advisory = |key: &str| run.meta.scorers.iter().any(|s| s.key == key && s.advisory);
        let scores = mean_scores(run);
        let pairs = now
            .entries
            .iter()
            .map(|((task_id, key), entry)| {
                let base = before.as_ref().and_then(|card| card.get(task_id, key));
                let decision = decide(entry, base, advisory(key), RegressionPolicy::default());
                PairRow {
                    task_id: task_id.clone(),
                    key: key.clone(),
                    outcome: decision_name(decision).to_owned(),
                    status: status_of(decision),
                    verdict: Some(entry.verdict.to_string()),
                    baseline: base.map(|b| b.verdict.to_string()),
                    score: scores.get(&(task_id.as_str(), key.as_str())).copied(),
                    comment: comment_of(run, task_id, key),
                }
            })
            .collect();
        let counts = sum_pair_counts(
            now.entries
                .iter()
                .filter_map(|((_, key), entry)| Some((key.as_str(), entry.verdict.pass_count()?))),
        );
        let before_counts = before.as_ref().map(|card| {
            sum_pair_counts(
                now.entries
                    .keys()
                    .filter_map(|(task_id, key)| Some((key.as_str(), card.get(task_id, key)?.verdict.pass_count()?))),
            )
        });
        let rates = counts
            .into_iter()
            .map(|(key, (passed, total))| KeyRate {
                key: key.to_owned(),
                passed,
                total,
                baseline: before_counts.as_ref().and_then(|c| c.get(key).copied()),
                advisory: advisory(key),
            })
            .collect();
        Page {
            run,
            baseline: baseline.map(|b| format!("run {}", b.meta.run_id)),
            pairs,
            rates,
            trends: Vec::new(),
        }
    }
}

/// How a decision counts for the run, as the harness reports the pair's test.
pub(crate) fn status_of(decision: Decision) -> RowStatus {
    match decision {
        Decision::Regression | Decision::NewFailure { .. } => RowStatus::Failed,
        Decision::KnownFailure | Decision::NotApplicable | Decision::Flaky { .. } => RowStatus::Skipped,
        Decision::Pass { .. } | Decision::Informational | Decision::AdvisoryFailure => RowStatus::Passed,
    }
}

/// The first comment any attempt's feedback of `key` carries, else the agent's error.
fn comment_of(run: &RunResult, task_id: &str, key: &str) -> Option<String> {
    let attempts = || run.tasks().iter().filter(|t| t.base_id() == task_id);
    attempts()
        .flat_map(|t| t.feedback.iter())
        .find_map(|f| (f.key == key).then(|| f.comment.clone()).flatten())
        .or_else(|| {
            attempts()
                .find_map(|t| t.trace.exception.as_ref())
                .map(|e| format!("{}: {}", e.kind, e.message))
        })
}
