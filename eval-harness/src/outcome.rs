//! A pair's outcome, decided once, and what its test line says.

use crate::board::{GradedAttempt, TaskState};
use eval_engine::{Outcome, PairVerdict, RegressionPolicy, ScorecardEntry, decide};
use libtest_mimic::{Completion, Failed};
use std::path::Path;

/// Everything decided about one (task, scorer) pair. The test line, the summary, the exit
/// code and the scorecard all read this one record.
#[derive(Debug, Clone)]
pub(crate) struct PairOutcome {
    pub task_id: String,
    pub key: String,
    /// The scorecard entry of this run (`None` when the task was never graded).
    pub entry: Option<ScorecardEntry>,
    pub outcome: Outcome,
    /// The scorer's comment, or the agent's failure, for messages.
    pub detail: Option<String>,
    /// Why the pair could not be decided at all (the run failed before grading it).
    pub lost: Option<String>,
}

impl PairOutcome {
    /// Decides the outcome of (`task_id`, `key`) from the task's graded attempts.
    pub fn decide(
        task_id: &str,
        key: &str,
        advisory: bool,
        state: &TaskState,
        baseline: Option<&ScorecardEntry>,
        policy: RegressionPolicy,
    ) -> Self {
        let attempts = match state {
            TaskState::Done(attempts) => attempts,
            TaskState::Lost(why) => {
                return PairOutcome {
                    task_id: task_id.to_owned(),
                    key: key.to_owned(),
                    entry: None,
                    outcome: Outcome::NewFailure { content_changed: false },
                    detail: None,
                    lost: Some(why.clone()),
                };
            }
        };
        let entry = ScorecardEntry {
            content_hash: attempts.first().map(|a| a.content_hash.clone()).unwrap_or_default(),
            verdict: PairVerdict::from_attempts(attempts.iter().map(|a| a.get(key).map(|f| f.verdict))),
        };
        let outcome = decide(&entry, baseline, advisory, policy);
        PairOutcome {
            task_id: task_id.to_owned(),
            key: key.to_owned(),
            detail: detail(attempts, key),
            entry: Some(entry),
            outcome,
            lost: None,
        }
    }

    /// The test's result as libtest-mimic wants it. `baseline_unreadable`: the committed
    /// baseline exists but could not be read, which is why no entry was found.
    pub fn to_trial_result(&self, baseline_file: &Path, baseline_unreadable: bool) -> Result<Completion, Failed> {
        if let Some(why) = &self.lost {
            return Err(format!("the task was not graded: {why}").into());
        }
        let detail = self.detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default();
        let verdict = self.entry.as_ref().map(|e| e.verdict.to_string()).unwrap_or_default();
        match self.outcome {
            Outcome::Regression => Err(format!(
                "regression: `{key}` passed on task `{task}` in the baseline ({baseline}) and now gives {verdict}{detail}",
                key = self.key,
                task = self.task_id,
                baseline = baseline_file.display(),
            )
            .into()),
            Outcome::NewFailure { content_changed } => {
                let why = if baseline_unreadable {
                    "the baseline could not be read"
                } else if content_changed {
                    "the task's content changed since the baseline"
                } else {
                    "the baseline has no entry for it"
                };
                Err(format!(
                    "new failure: `{key}` gives {verdict} on task `{task}` and {why} ({baseline}){detail}\n\
                     if this is expected, accept it into the baseline to track it: `cargo insta review`",
                    key = self.key,
                    task = self.task_id,
                    baseline = baseline_file.display(),
                )
                .into())
            }
            Outcome::KnownFailure => Ok(Completion::ignored_with("known failure")),
            Outcome::NotApplicable => Ok(Completion::ignored_with("not applicable")),
            Outcome::Pass { .. } | Outcome::Flaky { .. } | Outcome::Informational | Outcome::AdvisoryFailure => {
                Ok(Completion::Completed)
            }
        }
    }
}

/// The first comment of `key` among failing attempts, else the agent's exception.
fn detail(attempts: &[GradedAttempt], key: &str) -> Option<String> {
    let graded: Vec<_> = attempts.iter().filter_map(|a| a.get(key)).collect();
    let comment = graded
        .iter()
        .find(|f| f.verdict.fails_gate())
        .and_then(|f| f.comment.clone())
        .or_else(|| graded.iter().find_map(|f| f.shown.clone()));
    let exception = attempts
        .iter()
        .find_map(|a| a.exception.as_ref())
        .map(|e| format!("the agent failed ({}: {})", e.kind, e.message));
    match (comment, exception) {
        (Some(c), Some(e)) if c.contains(&e) => Some(c),
        (Some(c), Some(e)) => Some(format!("{c}; {e}")),
        (c, e) => c.or(e),
    }
}
