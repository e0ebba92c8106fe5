//! The closing summary: pass rates with deltas against the baseline, regressions, new
//! failures, improvements, flaky and advisory pairs, where the run JSON is, what to review.
//! It only reads outcomes already decided.

use crate::baseline::BaselineUpdate;
use crate::outcome::{GateOutcome, PairOutcome};
use crate::plan::SuitePlan;
use crate::run_report::model::KeyRate;
use crate::running::SuiteOutcomes;
use eval_engine::RunResult;
use eval_engine::calibration::Assessment;
use eval_engine::gate::Decision;
use eval_engine::stats::{attempts_to_show_drop, wilson_interval};
use eval_engine::tally::sum_pair_counts;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

/// What the summary needs of one suite.
pub(crate) struct SuiteReport<'a> {
    pub plan: &'a SuitePlan,
    pub run: RunResult,
    pub outcomes: SuiteOutcomes,
    /// Where the run went: its run JSON, or a nextest run's shared directory; `None` when it
    /// could not be saved.
    pub saved: Option<Saved>,
    pub update: BaselineUpdate,
    /// How the new scorecard differs from the baseline: the first few changes, and how many
    /// there are in all.
    pub changes: (Vec<String>, usize),
    /// Whether the new scorecard leaves out the pairs of the baseline whose task or scorer is
    /// no longer in the suite. A run of the whole suite replaces the baseline's scorecard, so
    /// it does; a run of part of it keeps the pairs it did not run.
    pub vanished_dropped: bool,
    /// The significance level of the repeats gate.
    pub alpha: f64,
}

/// Where a suite's run was saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Saved {
    /// Its run JSON.
    RunFile(PathBuf),
    /// The nextest run's shared directory, where the run's processes assemble it.
    Nextest(PathBuf),
}

/// How many scorecard changes the summary lists; a review shows them all.
pub(crate) const CHANGES_SHOWN: usize = 10;

/// Prints the summary of every suite: to stdout, or to stderr when stdout carries JSON.
pub(crate) fn print_summary(reports: &[SuiteReport<'_>], to_stderr: bool) {
    if reports.is_empty() {
        return;
    }
    let mut text = String::from("\neval summary\n");
    for report in reports {
        render(report, &mut text);
    }
    if to_stderr {
        let _ = std::io::stderr().write_all(text.as_bytes());
    } else {
        let _ = std::io::stdout().write_all(text.as_bytes());
    }
}

fn render(report: &SuiteReport<'_>, out: &mut String) {
    let mut outcomes: Vec<&PairOutcome> = report.outcomes.pairs.iter().collect();
    outcomes.sort_by(|a, b| (&a.task_id, &a.key).cmp(&(&b.task_id, &b.key)));
    let count = |pred: fn(&Decision) -> bool| outcomes.iter().filter(|o| pred(&o.outcome)).count();
    // Sorted by task: a task's pairs are next to each other.
    let tasks = outcomes.chunk_by(|a, b| a.task_id == b.task_id).count();
    let _ = writeln!(
        out,
        "{}: {} task(s) × {} scorer(s): {} passed, {} regression(s), {} new failure(s), {} known failure(s), {} flaky, {} informational",
        report.plan.path,
        tasks,
        report.plan.scorers.len(),
        count(|o| matches!(o, Decision::Pass { .. })),
        count(|o| matches!(o, Decision::Regression)),
        count(|o| matches!(o, Decision::NewFailure { .. })),
        count(|o| matches!(o, Decision::KnownFailure)),
        count(|o| matches!(o, Decision::Flaky { .. })),
        count(|o| matches!(o, Decision::Informational)),
    );

    let meta = &report.run.meta;
    if let Some(from) = &meta.regraded_from {
        let _ = writeln!(
            out,
            "  regrade of run {from}: no agent ran; its outputs and traces were graded again"
        );
    }
    if let Some(resumed) = &meta.resumed {
        let _ = writeln!(
            out,
            "  resumed run {}: {} task record(s) reused from its journal",
            resumed.from, resumed.reused
        );
    }
    render_attempts(report, out);
    render_pass_rates(report, &outcomes, out);
    render_informational(report, out);
    render_judge_cost(report, out);
    render_agreements(report, out);

    let list = |out: &mut String, title: &str, pred: &dyn Fn(&Decision) -> bool, show_detail: bool| {
        let picked: Vec<&&PairOutcome> = outcomes.iter().filter(|o| pred(&o.outcome)).collect();
        if picked.is_empty() {
            return;
        }
        let _ = writeln!(out, "  {title}:");
        for o in picked {
            let verdict = o
                .entry
                .as_ref()
                .map(|e| e.verdict.to_string())
                .unwrap_or_else(|| "not graded".into());
            let was = report
                .plan
                .baseline
                .as_ref()
                .and_then(|b| b.get(&o.task_id, &o.key))
                .map(|e| format!("{} → ", e.verdict))
                .unwrap_or_default();
            let _ = write!(out, "    {} · {}: {was}{verdict}", o.task_id, o.key);
            if show_detail && let Some(detail) = o.detail().or(o.lost()) {
                let _ = write!(out, " — {}", one_line(detail));
            }
            out.push('\n');
        }
    };
    list(out, "regressions", &|o| matches!(o, Decision::Regression), true);
    list(out, "new failures", &|o| matches!(o, Decision::NewFailure { .. }), true);
    list(
        out,
        "improvements",
        &|o| matches!(o, Decision::Pass { improvement: true }),
        false,
    );
    list(
        out,
        "flaky (reported, not failed)",
        &|o| matches!(o, Decision::Flaky { .. }),
        false,
    );
    render_settling(report, &outcomes, out);
    render_gates(report, out);
    list(
        out,
        "advisory failures (never failing)",
        &|o| matches!(o, Decision::AdvisoryFailure),
        true,
    );

    render_vanished(&report.plan.vanished, report.vanished_dropped, out);

    match &report.saved {
        Some(Saved::Nextest(dir)) => {
            let _ = writeln!(
                out,
                "  nextest results: {} (`cargo eval assemble` on it writes the run JSON)",
                dir.display()
            );
        }
        Some(Saved::RunFile(file)) => {
            let _ = writeln!(out, "  run: {}", file.display());
        }
        None => {}
    }
    let (shown, total) = &report.changes;
    if !shown.is_empty() {
        let _ = writeln!(out, "  scorecard changes ({total}):");
        for change in shown {
            let _ = writeln!(out, "    {change}");
        }
        if *total > shown.len() {
            let _ = writeln!(out, "    … and {} more", total - shown.len());
        }
    }
    let baseline = report.plan.baseline_display.display();
    let _ = match &report.update {
        BaselineUpdate::Unchanged => writeln!(out, "  baseline: {baseline} (unchanged)"),
        BaselineUpdate::Pending(pending) => writeln!(
            out,
            "  baseline: the scorecard changed; review {} with `cargo insta review`",
            pending.display()
        ),
        BaselineUpdate::Written => writeln!(out, "  baseline: the scorecard changed; {baseline} updated"),
        BaselineUpdate::NotWritten(why) => writeln!(
            out,
            "  baseline: the scorecard differs from {baseline}; not written: {why}"
        ),
        BaselineUpdate::Failed(why) => writeln!(
            out,
            "  baseline: error: the scorecard changed but {baseline} could not be updated (it is left as it was): {why}"
        ),
    };
}

/// `gone since the baseline`: the first few vanished pairs, how many there are, and what
/// becomes of them.
fn render_vanished(pairs: &[(String, String)], dropped: bool, out: &mut String) {
    if pairs.is_empty() {
        return;
    }
    let fate = if dropped {
        "the new scorecard drops them"
    } else {
        "a run of part of the suite keeps them in the scorecard; a run of all of it drops them"
    };
    let _ = writeln!(
        out,
        "  gone since the baseline ({}; their task or scorer is no longer in the suite; {fate}):",
        pairs.len()
    );
    for (task, key) in pairs.iter().take(CHANGES_SHOWN) {
        let _ = writeln!(out, "    {task} · {key}");
    }
    if pairs.len() > CHANGES_SHOWN {
        let _ = writeln!(out, "    … and {} more", pairs.len() - CHANGES_SHOWN);
    }
}

/// The pass rate of every pass/fail key among `outcomes`, by key.
pub(crate) fn pass_rates(report: &SuiteReport<'_>, outcomes: &[&PairOutcome]) -> Vec<KeyRate> {
    let now = sum_pair_counts(outcomes.iter().filter_map(|o| {
        let count = o.entry.as_ref()?.verdict.pass_count()?;
        Some((&*o.key, count))
    }));
    let before = sum_pair_counts(outcomes.iter().filter_map(|o| {
        let entry = report.plan.baseline.as_ref()?.get(&o.task_id, &o.key)?;
        Some((&*o.key, entry.verdict.pass_count()?))
    }));
    now.into_iter()
        .map(|(key, (passed, total))| KeyRate {
            key: key.to_owned(),
            passed,
            total,
            baseline: before.get(key).copied(),
            advisory: report.plan.scorers.iter().any(|s| s.key == key && s.advisory),
        })
        .collect()
}

fn render_pass_rates(report: &SuiteReport<'_>, outcomes: &[&PairOutcome], out: &mut String) {
    let rates = pass_rates(report, outcomes);
    if rates.is_empty() {
        return;
    }
    let width = rates.iter().map(|r| r.key.chars().count()).max().unwrap_or(0);
    let _ = writeln!(out, "  pass rates:");
    for rate in &rates {
        let (key, passed, total) = (&rate.key, rate.passed, rate.total);
        let delta = match rate.delta() {
            Some(delta) => format!("{delta:+6.1} vs baseline"),
            None => "   new".to_owned(),
        };
        let advisory = if rate.advisory { "  (advisory)" } else { "" };
        let (low, high) = wilson_interval(u64::from(passed), u64::from(total));
        let interval = format!("[{:.0}–{:.0}%]", low * 100.0, high * 100.0);
        let _ = writeln!(
            out,
            "    {key:<width$}  {:5.1}% ({passed}/{total}) {interval:<10}  {delta}{advisory}",
            rate.percent()
        );
    }
    let pass_at_k = &report.run.aggregates().pass_at_k;
    for (key, estimate) in pass_at_k.iter().filter(|(key, _)| rates.iter().any(|r| r.key == **key)) {
        let k = estimate.k;
        let _ = writeln!(
            out,
            "    {key:<width$}  pass@{k} {:5.1}%  pass^{k} {:5.1}%",
            estimate.pass_at_k * 100.0,
            estimate.pass_all_k * 100.0
        );
    }
}

/// With adaptive repeats: the attempts the run made, against always making the most.
fn render_attempts(report: &SuiteReport<'_>, out: &mut String) {
    let meta = &report.run.meta;
    let Some(fewest) = meta.fewest_repeats else { return };
    let per_task = &report.run.aggregates().attempts;
    let made: u64 = per_task.values().map(|n| u64::from(*n)).sum();
    let most = per_task.len() as u64 * u64::from(meta.repeats);
    let at_most = per_task.values().filter(|n| **n >= meta.repeats).count();
    let saved = if most == 0 {
        0.0
    } else {
        (most - made.min(most)) as f64 / most as f64 * 100.0
    };
    let _ = writeln!(
        out,
        "  adaptive repeats {fewest}..={}: {made} attempt(s) of {most} at most ({saved:.0}% saved); {at_most} task(s) took all {}",
        meta.repeats, meta.repeats
    );
}

/// The suite-level gates: each key's rate across the suite and what was decided.
fn render_gates(report: &SuiteReport<'_>, out: &mut String) {
    if report.outcomes.gates.is_empty() {
        return;
    }
    let mut gates: Vec<&GateOutcome> = report.outcomes.gates.iter().collect();
    gates.sort_by(|a, b| a.key.cmp(&b.key));
    let _ = writeln!(out, "  suite gates:");
    for gate in gates {
        let decided = match gate.outcome {
            Decision::Regression => "REGRESSION",
            Decision::NewFailure { .. } => "FAILED (below its minimum)",
            Decision::KnownFailure => "known failure",
            Decision::NotApplicable => "not a pass/fail key",
            _ => "ok",
        };
        let _ = writeln!(out, "    {}: {decided} — {}", gate.key, gate.because);
    }
}

/// For flaky pairs with a baseline: how many attempts at today's rate would show whether it
/// really dropped.
fn render_settling(report: &SuiteReport<'_>, outcomes: &[&PairOutcome], out: &mut String) {
    let alpha = report.alpha;
    let mut lines = Vec::new();
    for o in outcomes {
        let Decision::Flaky { passed, attempts } = o.outcome else {
            continue;
        };
        let Some((base_passed, base_attempts)) = report
            .plan
            .baseline
            .as_ref()
            .and_then(|b| b.get(&o.task_id, &o.key))
            .and_then(|e| e.verdict.pass_count())
        else {
            continue;
        };
        let rate = f64::from(passed) / f64::from(attempts.max(1));
        if let Some(needed) = attempts_to_show_drop(base_passed, base_attempts, rate, alpha) {
            lines.push(format!(
                "    {} · {}: {passed}/{attempts} vs {base_passed}/{base_attempts} in the baseline; about {needed} attempts at this rate would show the drop (EVAL_REPEATS={needed})",
                o.task_id, o.key
            ));
        }
    }
    if !lines.is_empty() {
        let _ = writeln!(out, "  to settle the flaky pairs:");
        for line in lines {
            let _ = writeln!(out, "{line}");
        }
    }
}

/// Numeric scorers without threshold and labels: shown, never gating.
fn render_informational(report: &SuiteReport<'_>, out: &mut String) {
    let aggregates = report.run.aggregates();
    let stats: Vec<_> = aggregates.score_stats.iter().collect();
    if stats.is_empty() && aggregates.value_counts.is_empty() {
        return;
    }
    let _ = writeln!(out, "  informational:");
    for (key, s) in stats {
        let _ = writeln!(
            out,
            "    {key}  mean={:.2} p50={:.2} p95={:.2} n={}",
            s.mean, s.p50, s.p95, s.n
        );
    }
    for (key, counts) in &aggregates.value_counts {
        let labels: Vec<String> = counts.iter().map(|(label, n)| format!("{label}={n}")).collect();
        let _ = writeln!(out, "    {key}  {}", labels.join(", "));
    }
}

/// The judges that must agree with people to gate, and whether they do.
fn render_agreements(report: &SuiteReport<'_>, out: &mut String) {
    if report.plan.agreements.is_empty() {
        return;
    }
    let _ = writeln!(out, "  judges against people's labels:");
    for (key, assessment) in &report.plan.agreements {
        let _ = match assessment {
            Assessment::Meets { kappa, compared } => {
                writeln!(
                    out,
                    "    {key}: gates — κ = {kappa:.2} over {compared} labelled task(s)"
                )
            }
            Assessment::Falls(why) => writeln!(out, "    {key}: advisory, it cannot fail — {why}"),
        };
    }
}

/// What the judges spent, apart from the agent's tokens: calls, tokens and time per judge.
fn render_judge_cost(report: &SuiteReport<'_>, out: &mut String) {
    let aggregates = report.run.aggregates();
    if aggregates.scorer_cost.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "  judge cost (apart from the agent's {} tokens):",
        aggregates.tokens.total
    );
    for (key, cost) in &aggregates.scorer_cost {
        let _ = writeln!(
            out,
            "    {key}  {} call(s) over {} attempt(s), {} tokens ({} in, {} out), {:.1}s",
            cost.calls,
            cost.tasks,
            cost.input.saturating_add(cost.output),
            cost.input,
            cost.output,
            cost.duration_ms as f64 / 1000.0
        );
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{Ran, crate_dir};
    use eval_engine::{ScoreInput, ScorerSpec, scorer_fn};
    use serde_json::Value;

    #[test]
    fn the_summary_counts_the_tasks_and_scorers_of_the_pairs_that_ran() {
        let tasks = ["paris", "rome", "oslo"]
            .map(|id| format!(r#"{{"task_id": "{id}", "inputs": {{"input": "weather in {id}"}}}}"#))
            .join("\n");
        let (dir, store) = (crate_dir(&tasks, None), tempfile::tempdir().unwrap());
        let ran = Ran::start_with(dir.path(), store.path(), &["evals"], &[], |suite| {
            suite.scorer(scorer_fn(
                ScorerSpec::new("always"),
                |_: &ScoreInput<'_, Value, Value, i32>| true,
            ))
        });
        let plan = ran.suite.plan.clone();
        let report = SuiteReport {
            plan: &plan,
            run: ran.run,
            outcomes: ran.suite.take_outcomes(),
            saved: None,
            update: BaselineUpdate::Unchanged,
            changes: (Vec::new(), 0),
            vanished_dropped: true,
            alpha: 0.05,
        };
        let mut out = String::new();
        render(&report, &mut out);
        // `city` fails rome.
        assert!(out.contains(": 3 task(s) × 2 scorer(s): 5 passed, "), "{out}");
    }

    fn vanished(count: usize, dropped: bool) -> String {
        let pairs: Vec<_> = (0..count).map(|i| (format!("t{i:02}"), "city".to_owned())).collect();
        let mut out = String::new();
        render_vanished(&pairs, dropped, &mut out);
        out
    }

    #[test]
    fn vanished_pairs_are_listed_with_their_fate() {
        assert_eq!(vanished(0, true), "");
        assert_eq!(
            vanished(2, true),
            "  gone since the baseline (2; their task or scorer is no longer in the suite; the new scorecard drops them):\n\
             \x20   t00 · city\n\
             \x20   t01 · city\n"
        );
        assert!(
            vanished(1, false).contains("a run of part of the suite keeps them in the scorecard"),
            "{}",
            vanished(1, false)
        );
    }

    #[test]
    fn a_long_list_of_vanished_pairs_is_cut_with_a_count() {
        let text = vanished(CHANGES_SHOWN + 3, true);
        assert!(
            text.starts_with(&format!("  gone since the baseline ({};", CHANGES_SHOWN + 3)),
            "{text}"
        );
        assert_eq!(
            text.lines().filter(|line| line.ends_with(" · city")).count(),
            CHANGES_SHOWN
        );
        assert!(text.ends_with("    … and 3 more\n"), "{text}");
    }
}
