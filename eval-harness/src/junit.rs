//! JUnit XML of the decided outcomes (`EVAL_JUNIT=<path>`, `cargo eval junit`), for CI systems
//! that show test reports: a test suite per eval suite, a test case per pair and per suite-level
//! gate, named as the test. Regressions and new failures are failures with the test's message;
//! known failures, pairs the scorer had nothing to say about and flaky pairs are skipped with
//! their reason. It reads a [`RunReport`], as every report does.
//!
//! The file keeps to the common JUnit XSD (Jenkins' `junit-10.xsd`), which has no properties on
//! a test case: a case's facts (task, key, outcome, verdict, the baseline's verdict, score,
//! comment) are `name: value` lines of its `system-out`, which CI systems show with the case.

use crate::outcome::decision_name;
use crate::run_report::{GateRow, PairRow, RowStatus, RunReport};
use eval_engine::gate::Decision;
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, Writer};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// Writes the JUnit report of `reports` to `path`, whole (a temporary file renamed into place).
pub(crate) fn write_junit(reports: &[RunReport<'_>], path: &Path) -> Result<(), String> {
    let xml = junit_xml(reports).map_err(|e| format!("cannot write the JUnit report {}: {e}", path.display()))?;
    eval_engine::__harness::replace_with(path, xml.as_bytes())
        .map_err(|e| format!("cannot write the JUnit report {}: {e}", path.display()))
}

/// The JUnit XML of `reports`, a test suite each.
pub fn junit_xml(reports: &[RunReport<'_>]) -> Result<String, String> {
    let mut junit = Report::new("evals");
    for report in reports {
        junit.add_test_suite(test_suite(report));
    }
    let xml = junit.to_string().map_err(|e| e.to_string())?;
    conforming(&xml)
}

fn test_suite(report: &RunReport<'_>) -> TestSuite {
    let mut suite = TestSuite::new(report.suite_path.as_str());
    suite.set_time(Duration::from_millis(report.run.meta.duration_ms));
    suite.add_property(Property::new("run_id", report.run.meta.run_id.as_str()));
    if let Some(label) = &report.run.meta.label {
        suite.add_property(Property::new("label", label.as_str()));
    }
    for pair in &report.pairs {
        suite.add_test_case(pair_case(&report.suite_path, pair));
    }
    for gate in &report.gates {
        suite.add_test_case(gate_case(&report.suite_path, gate));
    }
    suite
}

fn pair_case(suite: &str, pair: &PairRow) -> TestCase {
    let facts = Facts::default()
        .with("task", Some(&pair.task_id))
        .with("key", Some(&pair.key))
        .with("outcome", Some(decision_name(pair.outcome)))
        .with("verdict", pair.verdict.as_deref())
        .with("baseline_verdict", pair.baseline.as_deref())
        .with("score", pair.score)
        .with("comment", pair.comment.as_deref())
        .with("evidence", pair.evidence.as_deref());
    let mut case = TestCase::new(
        pair.name.as_str(),
        status(pair.status, pair.message.as_deref(), pair.outcome),
    );
    case.set_classname(suite);
    case.set_system_out(facts.0);
    case
}

fn gate_case(suite: &str, gate: &GateRow) -> TestCase {
    let facts = Facts::default()
        .with("key", Some(&gate.key))
        .with("outcome", Some(decision_name(gate.outcome)))
        .with("because", Some(&gate.because));
    let mut case = TestCase::new(
        gate.name.as_str(),
        status(gate.status, gate.message.as_deref(), gate.outcome),
    );
    case.set_classname(suite);
    case.set_system_out(facts.0);
    case
}

fn status(status: RowStatus, message: Option<&str>, outcome: Decision) -> TestCaseStatus {
    let message = message.unwrap_or_default();
    match status {
        RowStatus::Failed => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            // The first line is the message CI systems show in a list; the whole text is the body.
            status.set_message(message.lines().next().unwrap_or_default());
            status.set_type(match outcome {
                Decision::Regression => "regression",
                _ => "new failure",
            });
            status.set_description(message);
            status
        }
        RowStatus::Skipped => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(message);
            status
        }
        RowStatus::Passed => TestCaseStatus::success(),
    }
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
