//! JUnit XML of the decided outcomes (`EVAL_JUNIT=<path>`), for CI systems that show test
//! reports: a test suite per eval suite, a test case per pair and per suite-level gate, named as
//! the test. Regressions and new failures are failures with the test's message; known failures,
//! pairs the scorer had nothing to say about and flaky pairs are skipped with their reason. It
//! only reads outcomes already decided, as the summary does.
//!
//! The file keeps to the common JUnit XSD (Jenkins' `junit-10.xsd`), which has no properties on
//! a test case: a case's facts (task, key, outcome, verdict, the baseline's verdict, score,
//! comment) are `name: value` lines of its `system-out`, which CI systems show with the case.

use crate::outcome::{GateOutcome, PairOutcome, Shown, decision_name};
use crate::report::SuiteReport;
use crate::report::mean_scores;
use eval_engine::gate::Decision;
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, Writer};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// Writes the report of `reports` to `path`, whole (a temporary file renamed into place).
pub(crate) fn write_junit(reports: &[SuiteReport<'_>], path: &Path) -> Result<(), String> {
    let xml = junit_of(reports)
        .to_string()
        .map_err(|e| e.to_string())
        .and_then(|xml| conforming(&xml))
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
    let scores = mean_scores(&report.run);
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
    let status = match outcome.shown(&plan.baseline_display, plan.baseline_error.is_some()) {
        Shown::Failed(message) => failure(&message, kind_of(outcome.outcome)),
        Shown::Skipped(reason) => skipped(&reason),
        Shown::Passed => TestCaseStatus::success(),
    };
    let baseline = plan
        .baseline
        .as_ref()
        .and_then(|card| card.get(&outcome.task_id, &outcome.key));
    let facts = Facts::default()
        .with("task", Some(&*outcome.task_id))
        .with("key", Some(&*outcome.key))
        .with("outcome", Some(decision_name(outcome.outcome)))
        .with("verdict", outcome.entry.as_ref().map(|e| e.verdict))
        .with("baseline_verdict", baseline.map(|b| b.verdict))
        .with("score", score)
        .with("comment", outcome.detail.as_deref())
        .with("evidence", outcome.evidence.as_deref());
    let mut case = TestCase::new(name, status);
    case.set_classname(plan.path.as_str());
    case.set_system_out(facts.0);
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
    let facts = Facts::default()
        .with("key", Some(outcome.key.as_str()))
        .with("outcome", Some(decision_name(outcome.outcome)))
        .with("because", Some(outcome.because.as_str()));
    let mut case = TestCase::new(name, status);
    case.set_classname(suite);
    case.set_system_out(facts.0);
    case
}

/// A case's facts, a `name: value` line each; a value's further lines are indented by two
/// spaces, so every line that starts a fact starts with its name.
#[derive(Default)]
struct Facts(String);

impl Facts {
    fn with(mut self, name: &str, value: Option<impl std::fmt::Display>) -> Self {
        if let Some(value) = value {
            let value = value.to_string().replace('\n', "\n  ");
            let _ = writeln!(self.0, "{name}: {value}");
        }
        self
    }
}

/// quick-junit gives the root element a `skipped` count, which the JUnit XSD allows on each
/// test suite (where it stays) but not on the root: the root is written again without it.
fn conforming(xml: &str) -> Result<String, String> {
    let mut reader = Reader::from_str(xml);
    let mut writer = Writer::new(Vec::with_capacity(xml.len()));
    loop {
        let event = reader.read_event().map_err(|e| e.to_string())?;
        let written = match event {
            Event::Eof => break,
            Event::Start(root) if root.name().as_ref() == b"testsuites" => {
                let mut kept = BytesStart::new("testsuites");
                for attribute in root.attributes() {
                    let attribute = attribute.map_err(|e| e.to_string())?;
                    if attribute.key.as_ref() != b"skipped" {
                        kept.push_attribute(attribute);
                    }
                }
                writer.write_event(Event::Start(kept))
            }
            event => writer.write_event(event),
        };
        written.map_err(|e| e.to_string())?;
    }
    String::from_utf8(writer.into_inner()).map_err(|e| e.to_string())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_loses_its_skipped_count_and_nothing_else() {
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"evals\" tests=\"2\" failures=\"0\" errors=\"0\" skipped=\"1\">\n    <testsuite name=\"weather\" tests=\"2\" skipped=\"1\">\n        <testcase name=\"a &amp; b\"><system-out>task: &lt;x&gt;</system-out></testcase>\n    </testsuite>\n</testsuites>\n";
        let expected = xml.replacen(" skipped=\"1\"", "", 1);
        assert_eq!(conforming(xml).unwrap(), expected);
    }

    #[test]
    fn facts_are_a_line_each_and_absent_ones_are_left_out() {
        let facts = Facts::default()
            .with("task", Some("paris"))
            .with("score", None::<f64>)
            .with("comment", Some("two\nlines"));
        assert_eq!(facts.0, "task: paris\ncomment: two\n  lines\n");
    }
}
