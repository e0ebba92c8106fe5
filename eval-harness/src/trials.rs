//! The libtest trials: one per selected (task, scorer) pair, each waiting for its task's graded
//! attempts and deciding its outcome once; plus the failing trials that report a suite that
//! cannot be loaded or a baseline that cannot be read.

use crate::outcome::PairOutcome;
use crate::plan::{Pair, SuitePlan};
use eval_engine::RegressionPolicy;
use libtest_mimic::Trial;
use std::sync::PoisonError;

/// The test of one pair. Its outcome is recorded for the scorecard and the summary.
pub(crate) fn pair_trial(suite: &SuitePlan, pair: &Pair, policy: RegressionPolicy) -> Trial {
    let board = suite.board.clone();
    let outcomes = suite.outcomes.clone();
    let baseline = suite
        .baseline
        .as_ref()
        .and_then(|card| card.get(&pair.task_id, &pair.key).cloned());
    let baseline_path = suite.baseline_display.clone();
    let baseline_unreadable = suite.baseline_error.is_some();
    let (task_id, key, advisory) = (pair.task_id.clone(), pair.key.clone(), pair.advisory);
    Trial::ignorable_test(pair.name.clone(), move || {
        let state = board.wait(&task_id);
        let decided = PairOutcome::decide(&task_id, &key, advisory, &state, baseline.as_ref(), policy);
        let result = decided.to_trial_result(&baseline_path, baseline_unreadable);
        outcomes.lock().unwrap_or_else(PoisonError::into_inner).push(decided);
        result
    })
}

/// A test that fails with `message`: how a suite's load or baseline error shows up.
pub(crate) fn failing_trial(name: String, message: String) -> Trial {
    Trial::test(name, move || Err(message.into()))
}

/// A test that is only listed (`--list` starts no agent).
pub(crate) fn listed_trial(name: String) -> Trial {
    Trial::test(name, || Ok(()))
}
