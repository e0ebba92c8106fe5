//! Pairs two runs' answers task by task and asks every comparator about each pair.

use super::comparison::{Comparator, Pair, Side, answer_of};
use super::run::{PairwiseCase, PairwiseRun};
use crate::cassette::Cassettes;
use crate::record::TaskRecord;
use crate::result::RunResult;
use futures_util::StreamExt as _;
use std::collections::HashMap;
use std::time::Instant;
use thiserror::Error;

/// How a pairwise comparison runs.
#[derive(Debug, Clone, Default)]
pub struct PairwiseOptions {
    /// Where a judge's calls are recorded and replayed.
    pub cassettes: Option<Cassettes>,
    /// The two runs' names (default: as [`compare::run_names`](crate::compare::run_names) names them).
    pub names: Option<(String, String)>,
    /// A label for the comparison.
    pub label: Option<String>,
    /// How many pairs are compared at once (default 4).
    pub concurrency: Option<usize>,
}

/// Why two runs could not be compared pair by pair.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PairwiseError {
    /// They are runs of different suites.
    #[error("the runs are of different suites: `{0}` and `{1}`")]
    DifferentSuites(String, String),
    /// No task was answered by both.
    #[error("no task was answered by both runs")]
    NoSharedTask,
    /// No comparator was given, or two share a key.
    #[error("{0}")]
    Comparators(String),
}

/// The first attempt of every task of `run` that has an answer, by task id.
fn answered(run: &RunResult) -> HashMap<&str, &TaskRecord> {
    let mut by_task = HashMap::new();
    for record in run.tasks() {
        if record.trace.exception.is_none() {
            by_task.entry(record.base_id()).or_insert(record);
        }
    }
    by_task
}

/// Compares `a` and `b` (runs of one suite) on every task both answered without an error (with
/// repeats, each task's first answered attempt), asking each comparator about each pair; at
/// most `options.concurrency` pairs at once. Cases come out in `a`'s task order.
pub async fn evaluate_pairwise(
    a: &RunResult,
    b: &RunResult,
    comparators: &[&dyn Comparator],
    options: PairwiseOptions,
) -> Result<PairwiseRun, PairwiseError> {
    if a.meta.suite.name != b.meta.suite.name {
        return Err(PairwiseError::DifferentSuites(
            a.meta.suite.name.clone(),
            b.meta.suite.name.clone(),
        ));
    }
    if comparators.is_empty() {
        return Err(PairwiseError::Comparators("no comparator to ask".to_owned()));
    }
    let keys: Vec<String> = comparators.iter().map(|c| c.key().to_owned()).collect();
    if let Some(twice) = keys.iter().enumerate().find(|(i, key)| keys[..*i].contains(key)) {
        return Err(PairwiseError::Comparators(format!(
            "two comparators report under key `{}`; give each its own",
            twice.1
        )));
    }
    let started = Instant::now();
    let created_at = crate::result::now_rfc3339();
    let in_b = answered(b);
    let mut seen = std::collections::HashSet::new();
    let pairs: Vec<Pair<'_>> = a
        .tasks()
        .iter()
        .filter(|record| record.trace.exception.is_none() && seen.insert(record.base_id()))
        .filter_map(|record_a| {
            let record_b = in_b.get(record_a.base_id())?;
            Some(Pair {
                task_id: record_a.base_id(),
                inputs: &record_a.inputs,
                reference: &record_a.reference_outputs,
                a: Side {
                    outputs: answer_of(record_a),
                    trace: &record_a.trace,
                },
                b: Side {
                    outputs: answer_of(record_b),
                    trace: &record_b.trace,
                },
            })
        })
        .collect();
    if pairs.is_empty() {
        return Err(PairwiseError::NoSharedTask);
    }
    let cassettes = options.cassettes.as_ref();
    let concurrency = options.concurrency.unwrap_or(4).max(1);
    // A pair's comparators one after another; up to `concurrency` pairs at once, in order.
    let compared: Vec<Vec<PairwiseCase>> = futures_util::stream::iter(pairs.iter().map(|pair| async move {
        let mut out = Vec::with_capacity(comparators.len());
        for comparator in comparators {
            let comparison = comparator.compare(pair, cassettes).await;
            out.push(PairwiseCase {
                task_id: pair.task_id.to_owned(),
                key: comparator.key().to_owned(),
                winner: comparison.winner,
                reasoning: comparison.reasoning,
                detail: comparison.detail,
            });
        }
        out
    }))
    .buffered(concurrency)
    .collect()
    .await;
    let cases: Vec<PairwiseCase> = compared.into_iter().flatten().collect();
    let (variant_a, variant_b) = options.names.unwrap_or_else(|| {
        let mut names = crate::compare::run_names(&[a, b]).into_iter();
        (names.next().unwrap_or_default(), names.next().unwrap_or_default())
    });
    Ok(PairwiseRun {
        run_id: ulid::Ulid::new().to_string(),
        label: options.label,
        created_at,
        duration_ms: started.elapsed().as_millis() as u64,
        variant_a,
        variant_b,
        n_pairs: pairs.len(),
        keys,
        cases,
    })
}
