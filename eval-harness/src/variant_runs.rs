//! What the variants of a suite ran, together: the small file that groups their runs, and the
//! leaderboard of the variants printed after the summary.

use crate::report::{Saved, SuiteReport};
use eval_engine::DiffMode;
use eval_engine::RunResult;
use eval_engine::Store;
use eval_engine::compare::compare;
use eval_engine::variant::{GROUP_SCHEMA_VERSION, GroupedRun, VariantGroup};
use std::io::Write as _;
use std::path::Path;

/// The reports of one suite's variants, in plan order.
struct Group<'r, 'p> {
    suite: &'r str,
    group: &'r str,
    reports: Vec<&'r SuiteReport<'p>>,
}

/// The reports of every suite that ran variants, one group per suite.
fn groups<'r, 'p>(reports: &'r [SuiteReport<'p>]) -> Vec<Group<'r, 'p>> {
    let mut groups: Vec<Group<'r, 'p>> = Vec::new();
    for report in reports {
        let Some(group) = report.plan.variant.as_ref().and_then(|v| v.group()) else {
            continue;
        };
        let suite = report.run.meta.suite.name.as_str();
        match groups.iter_mut().find(|g| g.suite == suite && g.group == group) {
            Some(existing) => existing.reports.push(report),
            None => groups.push(Group {
                suite,
                group,
                reports: vec![report],
            }),
        }
    }
    groups
}

/// Saves, for each suite that ran variants, the file grouping their saved runs in `store`.
/// A file that cannot be written is a warning: every run is saved and gated on its own.
pub(crate) fn save_groups(reports: &[SuiteReport<'_>], store_of: impl Fn(&SuiteReport<'_>) -> Store) {
    for group in groups(reports) {
        let Some(first) = group.reports.first() else { continue };
        let store = store_of(first);
        let runs: Vec<GroupedRun> = group
            .reports
            .iter()
            .filter_map(|report| {
                let Some(Saved::RunFile(path)) = &report.saved else {
                    return None;
                };
                let variant = report.run.meta.variant.as_ref()?;
                Some(GroupedRun {
                    variant: variant.name().to_owned(),
                    config: variant.config().clone(),
                    run_id: report.run.meta.run_id.clone(),
                    file: relative(path, store.root()),
                })
            })
            .collect();
        if runs.is_empty() {
            continue;
        }
        let created_at = group
            .reports
            .iter()
            .map(|report| report.run.meta.created_at.as_str())
            .min()
            .unwrap_or_default()
            .to_owned();
        let file = VariantGroup {
            schema_version: GROUP_SCHEMA_VERSION.to_owned(),
            group: group.group.to_owned(),
            suite: group.suite.to_owned(),
            created_at,
            runs,
        };
        if let Err(why) = store.save_variant_group(&file) {
            eprintln!(
                "warning: suite {}: cannot save the file grouping its variants' runs: {why}; each run is saved",
                group.suite
            );
        }
    }
}

/// `path` relative to `root` when it is under it, else whole.
fn relative(path: &Path, root: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).to_string_lossy().into_owned()
}

/// Prints the leaderboard of every suite that ran two variants or more: to stdout, or to
/// stderr when stdout carries JSON.
pub(crate) fn print_leaderboards(reports: &[SuiteReport<'_>], to_stderr: bool) {
    let mut text = String::new();
    for group in groups(reports) {
        let runs: Vec<&RunResult> = group.reports.iter().map(|report| &report.run).collect();
        if runs.len() < 2 {
            continue;
        }
        text.push_str(&leaderboard(group.suite, &runs));
    }
    if text.is_empty() {
        return;
    }
    let _ = match to_stderr {
        true => std::io::stderr().write_all(text.as_bytes()),
        false => std::io::stdout().write_all(text.as_bytes()),
    };
}

/// The leaderboard of one suite's variants, indented under a heading. The variants ran the
/// same tasks, so a strict comparison holds; a filtered or resumed variant may not have, so
/// whatever they do not share is left out and said.
fn leaderboard(suite: &str, runs: &[&RunResult]) -> String {
    let board = compare(runs, DiffMode::Strict).or_else(|_| compare(runs, DiffMode::Lenient));
    let body = match board {
        Ok(board) => board.render(),
        Err(why) => format!("cannot compare the variants: {why}"),
    };
    let mut out = format!("\nvariants of {suite}: leaderboard (`cargo eval compare` on their run files)\n");
    for line in body.lines() {
        out.push_str(if line.is_empty() { "" } else { "  " });
        out.push_str(line);
        out.push('\n');
    }
    out
}
