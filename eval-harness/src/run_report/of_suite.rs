//! The report of a suite the harness ran, from the outcomes its tests reported.

use super::model::RunReport;
use super::rows::{BaselineShown, gate_row, mean_scores, pair_row};
use crate::outcome::PairOutcome;
use crate::report::{SuiteReport, pass_rates};
use std::collections::HashMap;

/// The report of `report`: its pairs and gates as their tests were reported.
pub(crate) fn of_suite<'a>(report: &'a SuiteReport<'_>) -> RunReport<'a> {
    let plan = report.plan;
    let scores = mean_scores(&report.run);
    let names: HashMap<(&str, &str), String> = plan
        .pairs
        .iter()
        .map(|pair| ((&*pair.task_id, &*pair.key), plan.pair_name(pair)))
        .collect();
    let at = BaselineShown {
        display: &plan.baseline_display,
        unreadable: plan.baseline_error.is_some(),
    };
    let pairs = report
        .outcomes
        .pairs
        .iter()
        .map(|outcome| {
            let pair = (&*outcome.task_id, &*outcome.key);
            let baseline = plan.baseline.as_ref().and_then(|card| card.get(pair.0, pair.1));
            let name = names.get(&pair).map_or("", String::as_str);
            pair_row(outcome, name, &at, baseline, scores.get(&pair).copied())
        })
        .collect();
    let gates = report
        .outcomes
        .gates
        .iter()
        .map(|outcome| {
            let name = plan
                .gates
                .iter()
                .find(|gate| gate.key == outcome.key)
                .map(|gate| gate.name.as_str())
                .unwrap_or_default();
            gate_row(outcome, name)
        })
        .collect();
    let outcomes: Vec<&PairOutcome> = report.outcomes.pairs.iter().collect();
    let rates = pass_rates(report, &outcomes);
    RunReport {
        run: &report.run,
        suite_path: plan.path.clone(),
        baseline: plan
            .baseline
            .as_ref()
            .map(|_| plan.baseline_display.display().to_string()),
        pairs,
        gates,
        rates,
        trends: Vec::new(),
    }
}
