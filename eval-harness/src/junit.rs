//! JUnit XML of the decided outcomes (`EVAL_JUNIT=<path>`), for CI systems that show test
//! reports: a test suite per eval suite, a test case per pair and per suite-level gate, named as
//! the test. Regressions and new failures are failures with the test's message; known failures,
//! pairs the scorer had nothing to say about and flaky pairs are skipped with their reason; the
//! verdict, the baseline's verdict, the score and the comment are properties. It only reads
//! outcomes already decided, as the summary does.

use crate::outcome::{GateOutcome, PairOutcome, decision_name};
use crate::report::SuiteReport;
use eval_engine::Score;
use eval_engine::gate::Decision;
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

/// Writes the report of `reports` to `path`, whole (a temporary file renamed into place).
pub(crate) fn write_junit(reports: &[SuiteReport<'_>], path: &Path) -> Result<(), String> {
    let xml = junit_of(reports)
        .to_string()
        .map_err(|e| format!("cannot write the JUnit report {}: {e}", path.display()))?;
    eval_engine::__harness::replace_with(path, xml.as_bytes())
        .map_err(|e| format!("cannot write the JUnit report {}: {e}", path.display()))
}

fn junit_of(reports: &[SuiteReport<'_>]) -> Report {
    let mut report = Report::new("evals");
    for suite in reports {
        report.add_test_suite(test_suite(suite));
    }
    report
}

fn test_suite(report: &SuiteReport<'_>) -> TestSuite {
    let plan = report.plan;
    let mut suite = TestSuite::new(plan.path.as_str());
    suite.set_time(Duration::from_millis(report.run.meta.duration_ms));
    suite.add_property(Property::new("run_id", report.run.meta.run_id.as_str()));
    if let Some(label) = &report.run.meta.label {
        suite.add_property(Property::new("label", label.as_str()));
    }
    let names: HashMap<(&str, &str), &str> = plan
        .pairs
        .iter()
        .map(|pair| ((&*pair.task_id, &*pair.key), pair.name.as_str()))
        .collect();
    let scores = mean_scores(report);
    for outcome in &report.outcomes.pairs {
        let name = names
            .get(&(&*outcome.task_id, &*outcome.key))
            .copied()
            .unwrap_or_default();
        let score = scores.get(&(&*outcome.task_id, &*outcome.key)).copied();
        suite.add_test_case(pair_case(report, outcome, name, score));
    }
    for outcome in &report.outcomes.gates {
        let name = plan
            .gates
            .iter()
            .find(|gate| gate.key == outcome.key)
            .map(|gate| gate.name.as_str())
            .unwrap_or_default();
        suite.add_test_case(gate_case(plan.path.as_str(), outcome, name));
    }
    suite
}

fn pair_case(report: &SuiteReport<'_>, outcome: &PairOutcome, name: &str, score: Option<f64>) -> TestCase {
    let plan = report.plan;
    let status = match outcome.to_trial_result(&plan.baseline_display, plan.baseline_error.is_some()) {
        Err(failed) => failure(failed.message().unwrap_or_default(), kind_of(outcome.outcome)),
        Ok(_) => match (outcome.ignored_reason(), outcome.outcome) {
            (Some(reason), _) => skipped(reason),
            (None, Decision::Flaky { passed, attempts }) => skipped(&format!(
                "flaky: {passed}/{attempts} attempts passed, not enough evidence of a drop"
            )),
            _ => TestCaseStatus::success(),
        },
    };
    let mut case = TestCase::new(name, status);
    case.set_classname(plan.path.as_str());
    case.add_property(Property::new("task", &*outcome.task_id));
    case.add_property(Property::new("key", &*outcome.key));
    case.add_property(Property::new("outcome", decision_name(outcome.outcome)));
    if let Some(entry) = &outcome.entry {
        case.add_property(Property::new("verdict", entry.verdict.to_string()));
    }
    let baseline = plan
        .baseline
        .as_ref()
        .and_then(|card| card.get(&outcome.task_id, &outcome.key));
    if let Some(baseline) = baseline {
        case.add_property(Property::new("baseline_verdict", baseline.verdict.to_string()));
    }
    if let Some(score) = score {
        case.add_property(Property::new("score", score.to_string()));
    }
    if let Some(comment) = &outcome.detail {
        case.add_property(Property::new("comment", comment.as_str()));
    }
    if let Some(evidence) = &outcome.evidence {
        case.add_property(Property::new("evidence", evidence.as_str()));
    }
    case
}

fn gate_case(suite: &str, outcome: &GateOutcome, name: &str) -> TestCase {
    let status = match outcome.to_trial_result() {
        Err(failed) => failure(failed.message().unwrap_or_default(), kind_of(outcome.outcome)),
        Ok(_) => match outcome.ignored_reason() {
            Some(reason) => skipped(reason),
            None => TestCaseStatus::success(),
        },
    };
    let mut case = TestCase::new(name, status);
    case.set_classname(suite);
    case.add_property(Property::new("key", outcome.key.as_str()));
    case.add_property(Property::new("outcome", decision_name(outcome.outcome)));
    case.add_property(Property::new("because", outcome.because.as_str()));
    case
}

fn failure(message: &str, kind: &str) -> TestCaseStatus {
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
    // The first line is the message CI systems show in a list; the whole text is the body.
    status.set_message(message.lines().next().unwrap_or_default());
    status.set_type(kind);
    status.set_description(message);
    status
}

fn skipped(reason: &str) -> TestCaseStatus {
    let mut status = TestCaseStatus::skipped();
    status.set_message(reason);
    status
}

fn kind_of(decision: Decision) -> &'static str {
    match decision {
        Decision::Regression => "regression",
        _ => "new failure",
    }
}

/// The mean numeric score of every (task, key) over its attempts (a bool counts as 1 or 0).
fn mean_scores<'a>(report: &'a SuiteReport<'_>) -> HashMap<(&'a str, &'a str), f64> {
    let mut sums: HashMap<(&str, &str), (f64, u32)> = HashMap::new();
    for task in report.run.tasks() {
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
