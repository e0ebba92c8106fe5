//! What `cargo eval show` and `cargo eval diff` print for people. The library's
//! `RunResult::summary` and `RunDiff::summary` stay AG2's text; these add what a person reading
//! one run or one comparison asks next: what kind of run it was, and which pairs failed or
//! moved, with the scorers' comments.

use eval_engine::diff::{Flip, Mismatches, RunsNotComparable};
use eval_engine::result::RunStatus;
use eval_engine::{RunDiff, RunResult, Verdict};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write as _;

/// A run: AG2's summary, then what kind of run it was and every failing pair.
pub(crate) fn show(run: &RunResult) -> String {
    let mut out = run.summary();
    out.push_str("\n\nKind:");
    let kinds = kinds(run);
    if kinds.len() == 1 {
        let _ = write!(out, "        {}", kinds[0]);
    } else {
        for kind in kinds {
            let _ = write!(out, "\n  {kind}");
        }
    }
    let failing = failing_pairs(run);
    if failing.is_empty() {
        out.push_str("\n\nFailing pairs: none");
    } else {
        let _ = write!(out, "\n\nFailing pairs ({}):", failing.len());
        for pair in failing {
            let _ = write!(out, "\n  {pair}");
        }
    }
    out
}

/// What tasks ran and how it ended, then whether no agent ran (a regrade) or a journal was
/// carried on (resumed): one line each.
fn kinds(run: &RunResult) -> Vec<String> {
    let meta = &run.meta;
    let mut kinds = Vec::new();
    match meta.status {
        RunStatus::Completed => {}
        RunStatus::Interrupted => kinds.push(format!(
            "interrupted: not every selected task ran (resume with EVAL_RESUME={})",
            meta.run_id
        )),
        RunStatus::Failed => kinds.push("failed: the run itself failed".to_owned()),
        // A status of a newer engine: shown as the run file writes it.
        other => kinds.push(format!("{other:?}").to_lowercase()),
    }
    match &meta.selection {
        Some(selection) if !selection.complete => {
            let tasks: BTreeSet<&str> = run.tasks().iter().map(|t| t.base_id()).collect();
            let filter = match &selection.filter {
                Some(filter) => format!("filter `{filter}`"),
                None => "a filter".to_owned(),
            };
            kinds.push(format!(
                "partial: {filter} selected {} of the suite's {} task(s)",
                tasks.len(),
                meta.suite.size.max(tasks.len())
            ));
        }
        Some(_) if meta.status == RunStatus::Completed => {
            kinds.push("complete: every task of the suite ran".to_owned());
        }
        None if meta.status == RunStatus::Completed => {
            kinds.push("completed (the file does not record which tasks were selected)".to_owned());
        }
        _ => {}
    }
    if let Some(from) = &meta.regraded_from {
        kinds.push(format!(
            "regrade of run {from}: no agent ran; its stored outputs were graded again"
        ));
    }
    if let Some(resumed) = &meta.resumed {
        kinds.push(format!(
            "resumed: {} task record(s) reused from the journal of run {}",
            resumed.reused, resumed.from
        ));
    }
    kinds
}

/// `task · key: comment` for every feedback that fails a gate, in the run's order; advisory
/// keys are marked, as they fail no test.
fn failing_pairs(run: &RunResult) -> Vec<String> {
    let mut pairs = Vec::new();
    for task in run.tasks() {
        for feedback in &task.feedback {
            let verdict = feedback.verdict();
            if !verdict.fails_gate() {
                continue;
            }
            let mut marks = Vec::new();
            if verdict == Verdict::Ungradeable {
                marks.push("ungradeable");
            }
            if run.spec(&feedback.key).is_some_and(|spec| spec.advisory) {
                marks.push("advisory");
            }
            let marks = if marks.is_empty() {
                String::new()
            } else {
                format!(" ({})", marks.join(", "))
            };
            let comment = comment_suffix(feedback.comment.as_deref());
            pairs.push(format!("{} · {}{marks}{comment}", task.task_id, feedback.key));
        }
    }
    pairs
}

fn comment_suffix(comment: Option<&str>) -> String {
    match comment.map(str::trim).filter(|c| !c.is_empty()) {
        // A long judge rationale stays on one line.
        Some(comment) => format!(": {}", comment.split_whitespace().collect::<Vec<_>>().join(" ")),
        None => String::new(),
    }
}

/// A comparison: pass rates and means per key, then regressions and improvements one pair per
/// line with the current run's comment, then what lenient mode left out.
pub(crate) fn diff(diff: &RunDiff, current: &RunResult) -> String {
    let mut out = format!(
        "Run {} against {}: {} comparable task(s)",
        diff.current_run_id,
        diff.baseline_run_id,
        diff.comparable_tasks.len()
    );
    let width = diff
        .pass_rate_deltas
        .keys()
        .chain(diff.mean_deltas.keys())
        .map(|key| key.chars().count() + if diff.is_advisory(key) { 11 } else { 0 })
        .max()
        .unwrap_or(0);
    if !diff.pass_rate_deltas.is_empty() {
        out.push_str("\n\nPass rates:");
        for (key, delta) in &diff.pass_rate_deltas {
            let change = delta.change() * 100.0;
            let note = match (change < 0.0, diff.is_advisory(key)) {
                _ if change.abs() < 0.05 => "",
                (true, false) => "  lower",
                (true, true) => "  lower (advisory: fails nothing)",
                (false, _) => "  higher",
            };
            let _ = write!(
                out,
                "\n  {:<width$}  {:5.1}% -> {:5.1}%  {:+6.1} points{note}",
                key_label(diff, key),
                delta.baseline * 100.0,
                delta.current * 100.0,
                change
            );
        }
    }
    if !diff.mean_deltas.is_empty() {
        out.push_str("\n\nMeans:");
        for (key, delta) in &diff.mean_deltas {
            let _ = write!(
                out,
                "\n  {:<width$}  {:.2} -> {:.2}  {:+.2}",
                key_label(diff, key),
                delta.baseline,
                delta.current,
                delta.change()
            );
        }
    }
    let regressions: Vec<&Flip> = diff.regressions().collect();
    let advisory: Vec<&Flip> = diff
        .flipped_to_fail
        .iter()
        .filter(|f| diff.is_advisory(&f.key))
        .collect();
    let improvements: Vec<&Flip> = diff.flipped_to_pass.iter().collect();
    if regressions.is_empty() {
        out.push_str("\n\nRegressions: none");
    } else {
        flips(&mut out, "Regressions", &regressions, current);
    }
    flips(&mut out, "Advisory pairs now failing", &advisory, current);
    flips(&mut out, "Improvements", &improvements, current);
    if !diff.excluded.is_empty() {
        out.push_str("\n\nLeft out of the comparison (lenient mode):");
        out.push_str(&mismatch_lines(&diff.excluded));
    }
    out
}

/// Why two runs could not be compared strictly, one kind of mismatch per line.
pub(crate) fn not_comparable(error: &RunsNotComparable) -> String {
    format!(
        "runs {} and {} did not grade the same eval:{}\n\
         Diff with --lenient to compare only the tasks and scorers both runs share.",
        error.current_run_id,
        error.baseline_run_id,
        mismatch_lines(&error.mismatches)
    )
}

/// `\n  <what>: a, b` for each kind of mismatch there is.
fn mismatch_lines(mismatches: &Mismatches) -> String {
    let mut out = String::new();
    for (title, ids) in [
        ("content changed", &mismatches.content_changed),
        ("tasks only in the current run", &mismatches.only_in_current),
        ("tasks only in the baseline", &mismatches.only_in_baseline),
        ("scorers only in the current run", &mismatches.scorers_only_in_current),
        ("scorers only in the baseline", &mismatches.scorers_only_in_baseline),
    ] {
        if !ids.is_empty() {
            let _ = write!(out, "\n  {title}: {}", ids.join(", "));
        }
    }
    out
}

fn key_label(diff: &RunDiff, key: &str) -> String {
    if diff.is_advisory(key) {
        format!("{key} (advisory)")
    } else {
        key.to_owned()
    }
}

/// A titled list of flips, `task · key: comment` each (nothing when empty).
fn flips(out: &mut String, title: &str, flips: &[&Flip], current: &RunResult) {
    if flips.is_empty() {
        return;
    }
    let _ = write!(out, "\n\n{title} ({}):", flips.len());
    for flip in flips {
        let _ = write!(out, "\n  {}", flip_line(flip, current));
    }
}

/// `task · key`, with the comment the current run's scorer gave, if any.
pub(crate) fn flip_line(flip: &Flip, current: &RunResult) -> String {
    let comment = current
        .task(&flip.task_id)
        .and_then(|task| task.feedback_for(&flip.key))
        .and_then(|feedback| feedback.comment.as_deref());
    format!("{} · {}{}", flip.task_id, flip.key, comment_suffix(comment))
}

/// Prints to stdout; a closed pipe (`cargo eval show run.json | head -1`) is not an error.
pub(crate) fn print_out(text: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}
