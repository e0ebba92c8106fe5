//! Run-level rollups computed from task records.

use crate::feedback::Score;
use crate::record::TaskRecord;
use crate::stats::PassAtK;
use crate::tally::{PassCount, Tally};
use crate::trace::{Event, Trace};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Pass rates, numeric statistics, label counts, tokens, errors and budget violations.
///
/// Which keys have a pass rate and how it is counted (an ungradeable feedback is a fail) is
/// the [`tally`](crate::tally)'s rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Aggregates {
    /// Pass rate per pass/fail key: passed over graded, ungradeable feedback counted as failed.
    pub pass_rate: BTreeMap<String, f64>,
    /// Statistics of every key with numeric scores.
    pub score_stats: BTreeMap<String, ScoreStats>,
    /// How often each label was given, per key.
    pub value_counts: BTreeMap<String, BTreeMap<String, u64>>,
    /// Tokens summed over every task.
    pub tokens: TokenTotals,
    /// Tasks whose agent failed (an exception on the trace).
    pub errors: u64,
    /// Tasks that went over a budget.
    pub budget_violations: u64,
    /// Passed and graded counts behind each pass rate.
    #[serde(default)]
    pub pass_counts: BTreeMap<String, PassCount>,
    /// Feedback that could not be graded, per key.
    #[serde(default)]
    pub ungradeable: BTreeMap<String, u64>,
    /// With repeats, per pass/fail key: pass@k and pass^k for k attempts.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pass_at_k: BTreeMap<String, PassAtK>,
    /// With adaptive repeats: the attempts each task had, by task id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attempts: BTreeMap<String, u32>,
    /// What the scorers that make calls of their own (judges) spent, per scorer key, apart
    /// from the agent's `tokens`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scorer_cost: BTreeMap<String, ScorerCost>,
}

/// What one scorer's own calls cost over a run: summed from its traces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScorerCost {
    /// Task attempts it recorded calls for.
    pub tasks: u64,
    /// Model responses it recorded (one per model call).
    pub calls: u64,
    /// Input tokens.
    pub input: u64,
    /// Output tokens.
    pub output: u64,
    /// Time spent grading, summed over its attempts, in milliseconds.
    pub duration_ms: u64,
}

impl ScorerCost {
    fn add(&mut self, trace: &Trace) {
        let calls = trace
            .events
            .iter()
            .filter(|event| matches!(event, Event::ModelResponse(_)))
            .count();
        self.tasks = self.tasks.saturating_add(1);
        self.calls = self.calls.saturating_add(calls as u64);
        self.input = self.input.saturating_add(trace.tokens.input);
        self.output = self.output.saturating_add(trace.tokens.output);
        self.duration_ms = self.duration_ms.saturating_add(trace.duration_ms);
    }
}

/// Mean and linear-interpolated percentiles of a numeric key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ScoreStats {
    /// The mean.
    pub mean: f64,
    /// The median.
    pub p50: f64,
    /// The 95th percentile.
    pub p95: f64,
    /// How many numbers.
    pub n: u64,
}

/// Input, output and total tokens of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenTotals {
    /// Input tokens.
    pub input: u64,
    /// Output tokens.
    pub output: u64,
    /// Input plus output.
    pub total: u64,
}

/// One key's verdicts, and its numbers for the statistics.
#[derive(Default)]
struct KeyFeedback {
    tally: Tally,
    numbers: Vec<f64>,
}

impl Aggregates {
    /// Computes the aggregates of `tasks`.
    pub fn compute(tasks: &[TaskRecord]) -> Self {
        let refs: Vec<&TaskRecord> = tasks.iter().collect();
        Self::compute_refs(&refs)
    }

    /// [`Aggregates::compute`] over borrowed records (a tag slice, say).
    pub fn compute_refs(tasks: &[&TaskRecord]) -> Self {
        let mut keys: BTreeMap<&str, KeyFeedback> = BTreeMap::new();
        let mut value_counts: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        let mut agg = Aggregates::default();
        let mut input = 0;
        let mut output = 0;
        for task in tasks {
            // Counts read from a file can be anything: they saturate rather than overflow.
            input = task.trace.tokens.input.saturating_add(input);
            output = task.trace.tokens.output.saturating_add(output);
            agg.errors += u64::from(task.trace.exception.is_some());
            agg.budget_violations += u64::from(task.budget_violation);
            for scorer in &task.scorer_traces {
                agg.scorer_cost
                    .entry(scorer.scorer.clone())
                    .or_default()
                    .add(&scorer.trace);
            }
            for fb in &task.feedback {
                let key = keys.entry(&fb.key).or_default();
                key.tally.add(fb.verdict());
                if let Some(n) = fb.as_number() {
                    key.numbers.push(n);
                }
                if let Some(label) = &fb.value {
                    *value_counts
                        .entry(fb.key.clone())
                        .or_default()
                        .entry(label.clone())
                        .or_default() += 1;
                }
            }
        }
        for (key, KeyFeedback { tally, numbers }) in keys {
            if tally.is_pass_fail() {
                let count = tally.pass_count();
                agg.pass_rate.insert(key.to_owned(), count.rate());
                agg.pass_counts.insert(key.to_owned(), count);
            }
            if !numbers.is_empty() {
                agg.score_stats.insert(key.to_owned(), ScoreStats::of(numbers));
            }
            if tally.ungradeable > 0 {
                agg.ungradeable.insert(key.to_owned(), tally.ungradeable);
            }
        }
        agg.pass_at_k = pass_at_k(tasks, &agg.pass_counts);
        agg.value_counts = value_counts;
        agg.tokens = TokenTotals {
            input,
            output,
            total: input.saturating_add(output),
        };
        agg
    }
}

impl Aggregates {
    /// How many records each task has (its attempts), by task id.
    pub fn attempts_per_task(tasks: &[TaskRecord]) -> BTreeMap<String, u32> {
        let mut attempts: BTreeMap<String, u32> = BTreeMap::new();
        for task in tasks {
            match attempts.get_mut(task.base_id()) {
                Some(count) => *count += 1,
                None => {
                    attempts.insert(task.base_id().to_owned(), 1);
                }
            }
        }
        attempts
    }
}

/// pass@k and pass^k of every pass/fail key, when tasks were attempted more than once: each
/// task's passes and attempts of the key (an ungradeable attempt counts as a failed one), for k
/// the fewest attempts any task had.
fn pass_at_k(tasks: &[&TaskRecord], pass_fail: &BTreeMap<String, PassCount>) -> BTreeMap<String, PassAtK> {
    if !tasks.iter().any(|task| task.attempt.is_some_and(|n| n > 1)) {
        return BTreeMap::new();
    }
    let mut by_key: BTreeMap<&str, BTreeMap<&str, (u32, u32)>> = BTreeMap::new();
    for task in tasks {
        for key in pass_fail.keys() {
            let Some(feedback) = task.feedback.iter().find(|f| &f.key == key) else {
                continue;
            };
            let counts = by_key.entry(key).or_default().entry(task.base_id()).or_default();
            counts.0 += u32::from(feedback.score == Some(Score::Bool(true)));
            counts.1 += 1;
        }
    }
    by_key
        .into_iter()
        .filter_map(|(key, per_task)| {
            let counts: Vec<(u32, u32)> = per_task.into_values().collect();
            let k = counts.iter().map(|(_, attempts)| *attempts).min()?;
            let estimate = PassAtK::estimate(&counts, k).filter(|_| k > 1)?;
            Some((key.to_owned(), estimate))
        })
        .collect()
}

impl ScoreStats {
    /// Statistics of `values` (which need not be sorted).
    pub fn of(mut values: Vec<f64>) -> Self {
        values.sort_unstable_by(f64::total_cmp);
        let n = values.len();
        let mean = if n == 0 {
            0.0
        } else {
            values.iter().sum::<f64>() / n as f64
        };
        ScoreStats {
            mean,
            p50: percentile(&values, 0.50),
            p95: percentile(&values, 0.95),
            n: n as u64,
        }
    }
}

/// Linear-interpolated percentile of sorted values (numpy's default, as AG2 uses).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    match sorted.len() {
        0 => 0.0,
        1 => sorted[0],
        len => {
            let rank = p * (len - 1) as f64;
            let lower = rank.floor() as usize;
            let upper = (lower + 1).min(len - 1);
            let fraction = rank - lower as f64;
            sorted[lower] + fraction * (sorted[upper] - sorted[lower])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_linearly() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&v, 0.5), 2.5);
        assert!((percentile(&v, 0.95) - 3.85).abs() < 1e-12);
        assert_eq!(percentile(&[7.0], 0.95), 7.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
        let stats = ScoreStats::of(vec![1.0, 0.8, 1.0, 1.0, 1.0]);
        assert!((stats.mean - 0.96).abs() < 1e-12);
        assert_eq!((stats.p50, stats.p95, stats.n), (1.0, 1.0, 5));
    }

    #[test]
    fn repeated_tasks_get_pass_at_k() {
        use crate::feedback::Feedback;
        use crate::task::ContentHash;
        use crate::trace::Trace;
        use serde_json::{Map, Value, json};
        let record = |id: &str, attempt: u32, passed: bool| {
            let inputs = json!({"input": id});
            TaskRecord {
                task_id: format!("{id}#{attempt}"),
                content_hash: ContentHash::of(&inputs, &Value::Null),
                inputs,
                reference_outputs: Value::Null,
                tags: Vec::new(),
                metadata: Map::new(),
                trace: Trace::default(),
                feedback: vec![Feedback::pass_fail("exact", passed)],
                budget_violation: false,
                scorer_traces: Vec::new(),
                trace_ref: None,
                outputs: Value::Null,
                attempt: Some(attempt),
            }
        };
        let tasks = vec![
            record("a", 1, true),
            record("a", 2, false),
            record("b", 1, true),
            record("b", 2, true),
        ];
        let agg = Aggregates::compute(&tasks);
        let estimate = agg.pass_at_k["exact"];
        assert_eq!(estimate.k, 2);
        assert!((estimate.pass_at_k - 1.0).abs() < 1e-12);
        assert!((estimate.pass_all_k - 0.5).abs() < 1e-12);
        assert!(
            Aggregates::compute(&tasks[..1]).pass_at_k.is_empty(),
            "one attempt: none"
        );
    }
}
