//! The libtest trials: one per selected (task, scorer) pair, each waiting for its task's graded
//! attempts and deciding its outcome once; plus the failing trials that report a suite that
//! cannot be loaded or a baseline that cannot be read.

use crate::board::TaskState;
use crate::outcome::{GateOutcome, PairOutcome};
use crate::output::IgnoredReasons;
use crate::running::SuiteRun;
use eval_engine::Verdict;
use eval_engine::gate::RegressionPolicy;
use libtest_mimic::Trial;
use std::sync::Arc;

/// What every trial of a run reads besides its suite.
pub(crate) struct TrialContext {
    pub policy: RegressionPolicy,
    /// Filled with the reason of every ignored trial, for the JSON output.
    pub ignored: Arc<IgnoredReasons>,
}

/// The test of pair `index` of the suite: it waits for the task's graded attempts, decides
/// the outcome and hands it back to the suite's run.
pub(crate) fn pair_trial(run: &Arc<SuiteRun>, index: usize, context: &Arc<TrialContext>) -> Trial {
    let (run, context) = (run.clone(), context.clone());
    let name = run.plan.pair_name(&run.plan.pairs[index]);
    Trial::ignorable_test(name, move || {
        let plan = &run.plan;
        let pair = &plan.pairs[index];
        let state = run.board.wait(pair.task);
        let baseline = plan
            .baseline
            .as_ref()
            .and_then(|card| card.get(&pair.task_id, &pair.key));
        let decided = PairOutcome::decide(pair, &state, baseline, context.policy, plan.config.adaptive());
        let result = decided.to_trial_result(&plan.baseline_display, plan.baseline_error.is_some());
        if let Some(reason) = decided.ignored_reason() {
            context.ignored.record(&plan.pair_name(pair), reason);
        }
        run.record_pair(index, decided);
        result
    })
}

/// The suite-level test of gate `index`: waits for every task the gate judges, then compares
/// the key's pass rate across them with the baseline's and with its minimum.
pub(crate) fn gate_trial(run: &Arc<SuiteRun>, index: usize, context: &Arc<TrialContext>) -> Trial {
    let (run, context) = (run.clone(), context.clone());
    let name = run.plan.gates[index].name.clone();
    Trial::ignorable_test(name, move || {
        let plan = &run.plan;
        let gate = &plan.gates[index];
        let mut now = Vec::new();
        let mut paired = Vec::new();
        for &task in &plan.gate_tasks {
            let TaskState::Done(attempts) = run.board.wait(task) else {
                continue;
            };
            let verdicts: Vec<_> = attempts
                .iter()
                .filter_map(|a| a.get(&gate.key))
                .map(|f| f.verdict)
                .collect();
            let graded = verdicts
                .iter()
                .filter(|v| **v == Verdict::Pass || v.fails_gate())
                .count() as u32;
            if graded == 0 {
                continue;
            }
            let counts = (verdicts.iter().filter(|v| **v == Verdict::Pass).count() as u32, graded);
            now.push(counts);
            // The baseline's counts of this key count only when graded on the same content.
            let hash = attempts.first().map(|a| a.content_hash.as_str());
            if let Some(entry) = plan
                .baseline
                .as_ref()
                .and_then(|card| card.get(plan.task_id(task), &gate.key))
                && Some(entry.content_hash.as_str()) == hash
                && let Some(base_counts) = entry.verdict.pass_count()
            {
                paired.push((base_counts, counts));
            }
        }
        let decided = GateOutcome::decide(&gate.key, gate.min_pass_rate, &now, &paired, context.policy);
        let result = decided.to_trial_result();
        if let Some(reason) = decided.ignored_reason() {
            context.ignored.record(&gate.name, reason);
        }
        run.record_gate(index, decided);
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
