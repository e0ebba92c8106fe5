//! The libtest trials: one per selected (task, scorer) pair, each waiting for its task's graded
//! attempts and deciding its outcome once; plus the failing trials that report a suite that
//! cannot be loaded or a baseline that cannot be read.

use crate::board::TaskState;
use crate::outcome::{GateOutcome, PairOutcome};
use crate::output::IgnoredReasons;
use crate::plan::{Gate, Pair, SuitePlan};
use eval_engine::Verdict;
use eval_engine::gate::RegressionPolicy;
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

/// The suite-level test of one key: waits for every task the gate judges, then compares the
/// key's pass rate across them with the baseline's and with its minimum.
pub(crate) fn gate_trial(
    suite: &SuitePlan,
    gate: &Gate,
    policy: RegressionPolicy,
    ignored: &Arc<IgnoredReasons>,
) -> Trial {
    let board = suite.board.clone();
    let outcomes = suite.gate_outcomes.clone();
    let ignored = ignored.clone();
    let tasks = suite.gate_tasks.clone();
    // The baseline's counts of this key, by task, with the content they were graded on.
    let baseline: Vec<Option<(String, (u32, u32))>> = tasks
        .iter()
        .map(|task| {
            let entry = suite.baseline.as_ref()?.get(task, &gate.key)?;
            Some((entry.content_hash.clone(), entry.verdict.pass_count()?))
        })
        .collect();
    let (key, min, name) = (gate.key.clone(), gate.min_pass_rate, gate.name.clone());
    Trial::ignorable_test(gate.name.clone(), move || {
        let mut now = Vec::new();
        let mut paired = Vec::new();
        for (task, base) in tasks.iter().zip(&baseline) {
            let TaskState::Done(attempts) = board.wait(task) else {
                continue;
            };
            let verdicts: Vec<_> = attempts.iter().filter_map(|a| a.get(&key)).map(|f| f.verdict).collect();
            let graded = verdicts
                .iter()
                .filter(|v| **v == Verdict::Pass || v.fails_gate())
                .count() as u32;
            if graded == 0 {
                continue;
            }
            let counts = (verdicts.iter().filter(|v| **v == Verdict::Pass).count() as u32, graded);
            now.push(counts);
            let hash = attempts.first().map(|a| a.content_hash.as_str());
            if let Some((base_hash, base_counts)) = base
                && Some(base_hash.as_str()) == hash
            {
                paired.push((*base_counts, counts));
            }
        }
        let decided = GateOutcome::decide(&key, min, &now, &paired, policy);
        let result = decided.to_trial_result();
        if let Some(reason) = decided.ignored_reason() {
            ignored.record(&name, reason);
        }
        outcomes.lock().unwrap_or_else(PoisonError::into_inner).push(decided);
        result
    })
}

/// A test that fails with `message`/// A test that fails with `message`: how a suite's load or baseline error shows up.
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
