//! The report of a stored run (`cargo eval junit`, `comment`, `report`): each pair decided
//! against a baseline run by the gate's own rule, and worded as its test would be.

use super::model::{KeyRate, RunReport};
use super::rows::{BaselineShown, mean_scores, pair_row};
use crate::baseline::BaselineFile;
use crate::names::ident_segment;
use crate::outcome::{Notes, PairOutcome};
use eval_engine::gate::{RegressionPolicy, decide};
use eval_engine::scorecard::Scorecard;
use eval_engine::tally::sum_pair_counts;
use eval_engine::{RunResult, TaskRecord};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

impl<'a> RunReport<'a> {
    /// The report of `run`, each pair decided against `baseline` (another run of the suite, or
    /// the suite's baseline snapshot), or as a first run when there is none: without a baseline
    /// every failing pair is new.
    /// Repeated pairs are decided as the harness decides them with fixed repeats.
    ///
    /// Test names are `<suite>::<task>::<key>` made of [`ident_segment`]s (a suite's test
    /// names may differ where the harness had to tell two segments apart, or where a scorer's
    /// function name differs from its key).
    pub fn of_runs(run: &'a RunResult, baseline: Option<&Baseline>) -> RunReport<'a> {
        let now = Scorecard::from_run(run);
        let before = baseline.map(|b| &b.card);
        let advisory = |key: &str| run.meta.scorers.iter().any(|s| s.key == key && s.advisory);
        let scores = mean_scores(run);
        let mut attempts: HashMap<&str, Vec<&TaskRecord>> = HashMap::new();
        for record in run.tasks() {
            attempts.entry(record.base_id()).or_default().push(record);
        }
        let suite_path = suite_path(run);
        let display = PathBuf::from(baseline.map_or("no baseline", |b| b.shown.as_str()));
        let at = BaselineShown {
            display: &display,
            unreadable: false,
        };
        let pairs = now
            .entries
            .iter()
            .map(|((task_id, key), entry)| {
                let base = before.and_then(|card| card.get(task_id, key));
                let outcome = PairOutcome {
                    task_id: Arc::from(task_id.as_str()),
                    key: Arc::from(key.as_str()),
                    entry: Some(entry.clone()),
                    outcome: decide(entry, base, advisory(key), RegressionPolicy::default()),
                    notes: Notes::of(
                        attempts.get(task_id.as_str()).and_then(|a| comment_of(a, key)),
                        None,
                        None,
                    ),
                };
                let name = format!("{suite_path}::{}::{}", ident_segment(task_id), ident_segment(key));
                let score = scores.get(&(task_id.as_str(), key.as_str())).copied();
                pair_row(&outcome, &name, &at, base, score)
            })
            .collect();
        let counts = sum_pair_counts(
            now.entries
                .iter()
                .filter_map(|((_, key), entry)| Some((key.as_str(), entry.verdict.pass_count()?))),
        );
        let before_counts = before.map(|card| {
            sum_pair_counts(
                now.entries
                    .keys()
                    .filter_map(|(task_id, key)| Some((key.as_str(), card.get(task_id, key)?.verdict.pass_count()?))),
            )
        });
        let rates = counts
            .into_iter()
            .map(|(key, (passed, total))| KeyRate {
                key: key.to_owned(),
                passed,
                total,
                baseline: before_counts.as_ref().and_then(|c| c.get(key).copied()),
                advisory: advisory(key),
            })
            .collect();
        RunReport {
            run,
            suite_path,
            baseline: baseline.map(|b| b.shown.clone()),
            pairs,
            gates: Vec::new(),
            rates,
            trends: Vec::new(),
        }
    }
}

/// What a stored run is decided against: another run of its suite, or the suite's baseline
/// snapshot (the reviewed scorecard the harness gates on).
#[derive(Debug, Clone)]
pub struct Baseline {
    card: Scorecard,
    /// How messages name it: `run <id>`, or the snapshot's path.
    shown: String,
}

impl Baseline {
    /// The scorecard of `run`.
    pub fn of_run(run: &RunResult) -> Baseline {
        Baseline {
            card: Scorecard::from_run(run),
            shown: format!("run {}", run.meta.run_id),
        }
    }

    /// The baseline snapshot at `path` of the suite `run` is a run of, read as the harness
    /// reads it (an error names the file and the line, and a snapshot of another suite is
    /// refused).
    pub fn snapshot(path: &Path, run: &RunResult) -> Result<Baseline, String> {
        let file = BaselineFile::at(path, &suite_path(run));
        match file.read()? {
            Some(card) => Ok(Baseline {
                card,
                shown: file.display_path().display().to_string(),
            }),
            None => Err(format!("no baseline snapshot at {}", path.display())),
        }
    }
}

/// The suite's test path: its name with `::` for `.`, then its variant's segment.
fn suite_path(run: &RunResult) -> String {
    let path = run.meta.suite.name.replace('.', "::");
    match &run.meta.variant {
        Some(variant) => format!("{path}::{}", ident_segment(variant.name())),
        None => path,
    }
}

/// The first comment any attempt's feedback of `key` carries, else the agent's error.
fn comment_of(attempts: &[&TaskRecord], key: &str) -> Option<String> {
    attempts
        .iter()
        .flat_map(|t| t.feedback.iter())
        .find_map(|f| (f.key == key).then(|| f.comment.clone()).flatten())
        .or_else(|| {
            attempts
                .iter()
                .find_map(|t| t.trace.exception.as_ref())
                .map(|e| format!("{}: {}", e.kind, e.message))
        })
}
