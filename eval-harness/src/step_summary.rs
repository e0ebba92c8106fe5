//! The Markdown summary GitHub Actions shows on a run's page: appended to the file
//! `GITHUB_STEP_SUMMARY` names, when it is set. Per suite: what was decided, pass rates with
//! their change against the baseline, regressions and new failures with their messages, known
//! failures and flaky pairs folded. It reads a [`RunReport`], as every report does; `cargo eval
//! comment` prints the same text as a pull-request comment's body.

use crate::run_report::{PairRow, RowStatus, RunReport};
use eval_engine::gate::Decision;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

/// How many pairs a folded list shows; the rest are counted.
const FOLDED_SHOWN: usize = 50;

/// Appends the summary of `reports` to `path`.
pub(crate) fn append_step_summary(reports: &[RunReport<'_>], path: &Path) -> Result<(), String> {
    let text = markdown(reports);
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .map_err(|e| format!("cannot append the step summary to {}: {e}", path.display()))
}

/// The Markdown of `reports`: the step summary's text, and the body of a pull-request comment
/// (`cargo eval comment`).
pub fn markdown(reports: &[RunReport<'_>]) -> String {
    let mut out = String::from("## Evals\n\n");
    for report in reports {
        suite(report, &mut out);
    }
    out
}

fn suite(report: &RunReport<'_>, out: &mut String) {
    let count = |pred: fn(&Decision) -> bool| report.pairs.iter().filter(|p| pred(&p.outcome)).count();
    let regressions = count(|o| matches!(o, Decision::Regression));
    let new_failures = count(|o| matches!(o, Decision::NewFailure { .. }));
    let gate_failures = report.gates.iter().filter(|g| g.status == RowStatus::Failed).count();
    let mark = if regressions + new_failures + gate_failures > 0 {
        "❌"
    } else {
        "✅"
    };
    let _ = writeln!(
        out,
        "### {mark} `{}`: {} passed, {regressions} regression(s), {new_failures} new failure(s), {} known failure(s), {} flaky\n",
        report.suite_path,
        count(|o| matches!(o, Decision::Pass { .. })),
        count(|o| matches!(o, Decision::KnownFailure)),
        count(|o| matches!(o, Decision::Flaky { .. })),
    );

    if !report.rates.is_empty() {
        out.push_str("| key | pass rate | vs baseline |\n|---|---:|---:|\n");
        for rate in &report.rates {
            let delta = rate.delta().map_or("new".to_owned(), |d| format!("{d:+.1}"));
            let advisory = if rate.advisory { " (advisory)" } else { "" };
            let _ = writeln!(
                out,
                "| `{}`{advisory} | {:.1}% ({}/{}) | {delta} |",
                code(&rate.key),
                rate.percent(),
                rate.passed,
                rate.total
            );
        }
        out.push('\n');
    }

    let first_line = |message: &Option<String>| {
        plain(
            message
                .as_deref()
                .unwrap_or_default()
                .lines()
                .next()
                .unwrap_or_default(),
        )
    };
    let failing: Vec<String> = report
        .pairs
        .iter()
        .filter(|p| p.status == RowStatus::Failed)
        .map(|p| {
            format!(
                "- **`{}` · `{}`**: {}",
                code(&p.task_id),
                code(&p.key),
                first_line(&p.message)
            )
        })
        .chain(report.gates.iter().filter(|g| g.status == RowStatus::Failed).map(|g| {
            format!(
                "- **suite gate `{}`**: {}",
                code(&g.key),
                plain(g.message.as_deref().unwrap_or_default())
            )
        }))
        .collect();
    if !failing.is_empty() {
        out.push_str("**Failing**\n\n");
        for line in &failing {
            out.push_str(line);
            out.push('\n');
        }
        out.push('\n');
    }
    folded(out, "Known failures", &report.pairs, |o| {
        matches!(o, Decision::KnownFailure)
    });
    folded(out, "Flaky (reported, not failed)", &report.pairs, |o| {
        matches!(o, Decision::Flaky { .. })
    });
    if let Some(fewest) = report.run.meta.fewest_repeats {
        let made = report.run.tasks().len();
        let _ = writeln!(
            out,
            "Adaptive repeats {fewest}..={}: {made} attempt(s).\n",
            report.run.meta.repeats
        );
    }
    let _ = writeln!(out, "Run `{}`.\n", report.run.meta.run_id);
}

/// A `<details>` list of the pairs `pred` picks, with their verdicts.
fn folded(out: &mut String, title: &str, pairs: &[PairRow], pred: fn(&Decision) -> bool) {
    let picked: Vec<&PairRow> = pairs.iter().filter(|p| pred(&p.outcome)).collect();
    if picked.is_empty() {
        return;
    }
    let _ = writeln!(out, "<details><summary>{title} ({})</summary>\n", picked.len());
    for p in picked.iter().take(FOLDED_SHOWN) {
        let verdict = p.verdict.as_deref().unwrap_or_default();
        let _ = writeln!(out, "- `{}` · `{}`: {verdict}", code(&p.task_id), code(&p.key));
    }
    if picked.len() > FOLDED_SHOWN {
        let _ = writeln!(out, "- … and {} more", picked.len() - FOLDED_SHOWN);
    }
    out.push_str("\n</details>\n\n");
}

/// Text for inside a code span (a task id, a key): one line, no backtick that would end the
/// span, no table separator. Markdown reads nothing else inside a code span.
fn code(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' | '\r' => " ".to_owned(),
            '|' => "\\|".to_owned(),
            '`' => "'".to_owned(),
            other => other.to_string(),
        })
        .collect()
}

/// Plain text from a message: one line, and neither HTML nor table separators.
fn plain(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' | '\r' => " ".to_owned(),
            '|' => "\\|".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            other => other.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{code, plain};

    #[test]
    fn hostile_text_stays_inside_its_span_or_cell() {
        assert_eq!(code("a|b\n`c`<x>"), "a\\|b 'c'<x>");
        assert_eq!(plain("a|b\n<script>&"), "a\\|b &lt;script&gt;&amp;");
    }
}
