//! The text summary of a run, in AG2's `RunResult.summary()` format.
//!
//! Only presentation lives here: every number shown is read from the run's metadata and its
//! [`Aggregates`], which decide what passed. AG2's sections come first and render exactly as
//! AG2 renders them; this crate's own sections follow only when they have something to show,
//! so a run of AG2's shape renders byte for byte as AG2 would.

use crate::aggregates::Aggregates;
use crate::result::{RunMeta, RunResult, RunStatus};
use std::fmt::Write as _;

impl RunResult {
    /// A human-readable summary: header, pass rates, score statistics, and (when present)
    /// label counts, ungradeable counts and a status that is not `completed`.
    ///
    /// ```
    /// use eval_engine::{Feedback, RunResult};
    /// # use eval_engine::{TaskRecord, Trace};
    /// # use eval_engine::result::{RunMeta, RunStatus, SuiteInfo, Budgets};
    /// # use eval_engine::task::ContentHash;
    /// # use serde_json::{json, Map, Value};
    /// # let meta = RunMeta {
    /// #     schema_version: "0.2".into(), run_id: "r1".into(), label: None,
    /// #     created_at: "2026-01-01T00:00:00Z".into(), duration_ms: 5,
    /// #     suite: SuiteInfo { name: "s".into(), size: 1, source: "inline".into() },
    /// #     target: "agent".into(), concurrency: 1, status: RunStatus::Completed,
    /// #     selection: None, repeats: 1, fewest_repeats: None, model: None, variant: None, budgets: Budgets::default(),
    /// #     producer: None,
    /// #     git: None, scorers: vec![], resumed: None, regraded_from: None,
    /// # };
    /// # let task = TaskRecord {
    /// #     task_id: "t".into(), inputs: json!({}), reference_outputs: Value::Null,
    /// #     tags: vec![], metadata: Map::new(), trace: Trace::default(),
    /// #     feedback: vec![Feedback::pass_fail("exact", true)], budget_violation: false, scorer_traces: Vec::new(),
    /// #     trace_ref: None, outputs: Value::Null, attempt: None,
    /// #     content_hash: ContentHash::of(&json!({}), &Value::Null),
    /// # };
    /// let run = RunResult::new(meta, vec![task]);
    /// assert!(run.summary().ends_with("Pass rates:\n  exact  100.0% (1/1)"));
    /// ```
    pub fn summary(&self) -> String {
        let mut out = String::new();
        write_header(&mut out, &self.meta, self.tasks().len(), self.aggregates());
        write_pass_rates(&mut out, self.aggregates());
        write_score_stats(&mut out, self.aggregates());
        write_value_counts(&mut out, self.aggregates());
        write_ungradeable(&mut out, self.aggregates());
        write_status(&mut out, self.meta.status);
        out
    }
}

// `write!` into a `String` cannot fail, hence the ignored results below.

fn write_header(out: &mut String, meta: &RunMeta, records: usize, aggs: &Aggregates) {
    let tokens = &aggs.tokens;
    let _ = write!(
        out,
        "Run {}\n  Schema:      {}\n  Created:     {}\n  Duration:    {}ms\n",
        meta.run_id, meta.schema_version, meta.created_at, meta.duration_ms
    );
    // AG2 shows the suite's size here and the number of task records (attempts) below.
    let _ = write!(
        out,
        "  Suite:       {} ({} tasks, source: {})\n  Runs:        {records}\n  Concurrency: {}\n",
        meta.suite.name, meta.suite.size, meta.suite.source, meta.concurrency
    );
    let _ = write!(
        out,
        "  Errors:      {}\n  Budget violations: {}\n  Tokens:      input={} output={} total={}",
        aggs.errors, aggs.budget_violations, tokens.input, tokens.output, tokens.total
    );
    // Apart from the agent's tokens: what the judges spent grading.
    for (key, cost) in &aggs.scorer_cost {
        let _ = write!(
            out,
            "\n  Judge cost:  {key}: {} call(s) over {} attempt(s), input={} output={} total={}, {}ms",
            cost.calls,
            cost.tasks,
            cost.input,
            cost.output,
            cost.input.saturating_add(cost.output),
            cost.duration_ms
        );
    }
}

fn write_pass_rates(out: &mut String, aggs: &Aggregates) {
    section(out, "Pass rates:", aggs.pass_rate.iter(), |out, key, &rate| {
        let counts = aggs.pass_counts.get(key).copied().unwrap_or_default();
        let _ = write!(
            out,
            "{}% ({}/{})",
            python_fixed(rate * 100.0, 5, 1),
            counts.passed,
            counts.total
        );
    });
}

fn write_score_stats(out: &mut String, aggs: &Aggregates) {
    section(out, "Score stats:", aggs.score_stats.iter(), |out, _, stats| {
        let _ = write!(
            out,
            "mean={} p50={} p95={} n={}",
            python_fixed(stats.mean, 0, 2),
            python_fixed(stats.p50, 0, 2),
            python_fixed(stats.p95, 0, 2),
            stats.n
        );
    });
}

fn write_value_counts(out: &mut String, aggs: &Aggregates) {
    section(out, "Value counts:", aggs.value_counts.iter(), |out, _, counts| {
        for (i, (label, count)) in counts.iter().enumerate() {
            let separator = if i == 0 { "" } else { ", " };
            let _ = write!(out, "{separator}{label}={count}");
        }
    });
}

fn write_ungradeable(out: &mut String, aggs: &Aggregates) {
    section(out, "Ungradeable:", aggs.ungradeable.iter(), |out, _, count| {
        let _ = write!(out, "{count}");
    });
}

fn write_status(out: &mut String, status: RunStatus) {
    let name = match status {
        RunStatus::Completed => return,
        RunStatus::Interrupted => "interrupted",
        RunStatus::Failed => "failed",
    };
    let _ = write!(out, "\n\nStatus:      {name}");
}

/// A titled block of `  <key padded to the longest key>  <row>` lines, after a blank line;
/// nothing at all when there are no rows. Keys come sorted by code point (as Python sorts).
fn section<'a, T: 'a>(
    out: &mut String,
    title: &str,
    rows: impl Iterator<Item = (&'a String, &'a T)> + Clone,
    mut write_row: impl FnMut(&mut String, &str, &T),
) {
    // Python pads by characters, not bytes.
    let Some(width) = rows.clone().map(|(key, _)| key.chars().count()).max() else {
        return;
    };
    let _ = write!(out, "\n\n{title}");
    for (key, row) in rows {
        let _ = write!(out, "\n  {key:<width$}  ");
        write_row(out, key, row);
    }
}

/// `value` as Python's `f"{value:{width}.{precision}f}"`: the same rounding as Rust's, but
/// non-finite values are spelled `nan`, `inf` and `-inf`.
fn python_fixed(value: f64, width: usize, precision: usize) -> String {
    if value.is_nan() {
        format!("{:>width$}", "nan")
    } else if value.is_infinite() {
        format!("{:>width$}", if value > 0.0 { "inf" } else { "-inf" })
    } else {
        format!("{value:>width$.precision$}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feedback::Feedback;
    use crate::record::TaskRecord;
    use crate::result::SuiteInfo;
    use crate::task::ContentHash;
    use crate::trace::{Exception, TokenUsage, Trace};
    use serde_json::{Map, Value, json};

    fn meta(status: RunStatus) -> RunMeta {
        RunMeta {
            schema_version: "0.2".to_owned(),
            created_at: "2026-11-22T08:19:58Z".to_owned(),
            duration_ms: 42,
            suite: SuiteInfo {
                name: "météo".to_owned(),
                size: 3,
                source: "tests/data/weather.jsonl".to_owned(),
            },
            concurrency: 8,
            status,
            ..crate::fixtures::run_meta("01JD")
        }
    }

    fn task(id: &str, feedback: Vec<Feedback>, failed: bool) -> TaskRecord {
        let inputs = json!({"input": id});
        TaskRecord {
            task_id: id.to_owned(),
            content_hash: ContentHash::of(&inputs, &Value::Null),
            inputs,
            reference_outputs: Value::Null,
            tags: Vec::new(),
            metadata: Map::new(),
            trace: Trace {
                events: Vec::new(),
                exception: failed.then(|| Exception::new(Exception::PANIC, "boom")),
                duration_ms: 1,
                tokens: TokenUsage {
                    input: 10,
                    output: 5,
                    cache_creation: 0,
                    cache_read: 0,
                },
            },
            feedback,
            budget_violation: failed,
            scorer_traces: Vec::new(),
            trace_ref: None,
            outputs: Value::Null,
            attempt: None,
        }
    }

    #[test]
    fn our_sections_follow_ag2s_only_when_they_have_content() {
        let tasks = vec![
            task(
                "a",
                vec![
                    Feedback::pass_fail("exact", true),
                    Feedback::label("tone", "friendly"),
                    Feedback::ungradeable("judge", "timed out"),
                ],
                false,
            ),
            task(
                "b",
                vec![
                    Feedback::pass_fail("exact", false),
                    Feedback::label("tone", "curt"),
                    Feedback::number("overlap", 0.5),
                ],
                true,
            ),
        ];
        let run = RunResult::new(meta(RunStatus::Interrupted), tasks);
        let expected = "\
Run 01JD
  Schema:      0.2
  Created:     2026-11-22T08:19:58Z
  Duration:    42ms
  Suite:       météo (3 tasks, source: tests/data/weather.jsonl)
  Runs:        2
  Concurrency: 8
  Errors:      1
  Budget violations: 1
  Tokens:      input=20 output=10 total=30

Pass rates:
  exact   50.0% (1/2)
  judge    0.0% (0/1)

Score stats:
  overlap  mean=0.50 p50=0.50 p95=0.50 n=1

Value counts:
  tone  curt=1, friendly=1

Ungradeable:
  judge  1

Status:      interrupted";
        assert_eq!(run.summary(), expected);
    }

    #[test]
    fn a_run_without_feedback_shows_only_the_header() {
        let run = RunResult::new(meta(RunStatus::Completed), vec![task("a", Vec::new(), false)]);
        let summary = run.summary();
        assert!(
            summary.ends_with("  Tokens:      input=10 output=5 total=15"),
            "{summary}"
        );
        assert_eq!(summary.lines().count(), 10);
    }

    #[test]
    fn keys_are_padded_by_characters() {
        let tasks = vec![task(
            "a",
            vec![Feedback::pass_fail("é", true), Feedback::pass_fail("abc", true)],
            false,
        )];
        let summary = RunResult::new(meta(RunStatus::Completed), tasks).summary();
        assert!(
            summary.ends_with("  abc  100.0% (1/1)\n  é    100.0% (1/1)"),
            "{summary}"
        );
    }

    #[test]
    fn numbers_are_formatted_as_python_formats_them() {
        assert_eq!(python_fixed(80.0, 5, 1), " 80.0");
        assert_eq!(python_fixed(100.0, 5, 1), "100.0");
        assert_eq!(python_fixed(0.125, 0, 2), "0.12");
        assert_eq!(python_fixed(0.965, 0, 2), "0.96");
        assert_eq!(python_fixed(f64::NAN, 5, 1), "  nan");
        assert_eq!(python_fixed(f64::NEG_INFINITY, 0, 2), "-inf");
    }
}
