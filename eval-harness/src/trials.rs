//! The libtest trials: one per selected (task, scorer) pair, each waiting for its task's graded
//! attempts and deciding its outcome once; plus the failing trials that report a suite that
//! cannot be loaded or a baseline that cannot be read.

use crate::outcome::PairOutcome;
use crate::output::IgnoredReasons;
use crate::plan::{Pair, SuitePlan};
use eval_engine::RegressionPolicy;
use libtest_mimic::Trial;
use std::sync::{Arc, PoisonError};

/// The test of one pair. Its outcome is recorded for the scorecard and the summary.
pub(crate) fn pair_trial(
    suite: &SuitePlan,
    pair: &Pair,
    policy: RegressionPolicy,
    ignored: &Arc<IgnoredReasons>,
) -> Trial {
    let ignored = ignored.clone();
    let name = pair.name.clone();
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
        if let Some(reason) = decided.ignored_reason() {
            ignored.record(&name, reason);
        }
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

/// Stands for the pairs the command line did not select, so that libtest-mimic's closing line
/// counts them as filtered out: the selection itself is ours, made before anything runs. They
/// all share one name, which [`FILTERED_OUT`] as a `--skip` removes before anything prints.
pub(crate) fn filtered_out_trial() -> Trial {
    Trial::test(FILTERED_OUT, || Ok(()))
}

/// The name of [`filtered_out_trial`]s: no test name can contain a control character.
pub(crate) const FILTERED_OUT: &str = "\u{1}";
