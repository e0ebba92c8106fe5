//! A decided pair or gate as a report row: its status and message as its test reported them,
//! and its mean score.

use super::model::{GateRow, PairRow, RowStatus};
use crate::outcome::{GateOutcome, PairOutcome, Shown};
use eval_engine::scorecard::ScorecardEntry;
use eval_engine::{RunResult, Score};
use std::collections::HashMap;
use std::path::Path;

/// Where a pair's baseline is, for its message.
pub(crate) struct BaselineShown<'a> {
    /// Its path, or what names it (`run 01J…`).
    pub display: &'a Path,
    /// The baseline could not be read.
    pub unreadable: bool,
}

/// The row of a decided pair, `baseline` its baseline entry and `score` its mean score.
pub(crate) fn pair_row(
    outcome: &PairOutcome,
    name: &str,
    at: &BaselineShown<'_>,
    baseline: Option<&ScorecardEntry>,
    score: Option<f64>,
) -> PairRow {
    let (status, message) = match outcome.shown(at.display, at.unreadable) {
        Shown::Failed(message) => (RowStatus::Failed, Some(message)),
        Shown::Skipped(reason) => (RowStatus::Skipped, Some(reason)),
        Shown::Passed => (RowStatus::Passed, None),
    };
    PairRow {
        name: name.to_owned(),
        task_id: outcome.task_id.to_string(),
        key: outcome.key.to_string(),
        outcome: outcome.outcome,
        status,
        message,
        verdict: outcome.entry.as_ref().map(|e| e.verdict.to_string()),
        baseline: baseline.map(|b| b.verdict.to_string()),
        score,
        comment: outcome.detail().or(outcome.lost()).map(str::to_owned),
        evidence: outcome.evidence().map(str::to_owned),
    }
}

/// The row of a decided suite-level gate.
pub(crate) fn gate_row(outcome: &GateOutcome, name: &str) -> GateRow {
    let (status, message) = match outcome.to_trial_result() {
        Err(failed) => (RowStatus::Failed, Some(failed.message().unwrap_or_default().to_owned())),
        Ok(_) => match outcome.ignored_reason() {
            Some(reason) => (RowStatus::Skipped, Some(reason.to_owned())),
            None => (RowStatus::Passed, None),
        },
    };
    GateRow {
        name: name.to_owned(),
        key: outcome.key.clone(),
        outcome: outcome.outcome,
        status,
        message,
        because: outcome.because.clone(),
    }
}

/// The mean numeric score of every (task, key) over its attempts (a bool counts as 1 or 0).
pub(crate) fn mean_scores(run: &RunResult) -> HashMap<(&str, &str), f64> {
    let mut sums: HashMap<(&str, &str), (f64, u32)> = HashMap::new();
    for task in run.tasks() {
        for feedback in &task.feedback {
            let value = match feedback.score {
                Some(Score::Number(n)) => n,
                Some(Score::Bool(b)) => f64::from(u8::from(b)),
                None => continue,
            };
            let sum = sums.entry((task.base_id(), feedback.key.as_str())).or_default();
            sum.0 += value;
            sum.1 += 1;
        }
    }
    sums.into_iter()
        .map(|(pair, (sum, n))| (pair, sum / f64::from(n)))
        .collect()
}
