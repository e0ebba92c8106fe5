//! The history commands' answers as text: aligned tables and sparklines.

use eval_engine::history::{
    CaseRecord, FlakyPair, PairPoint, PromptVersion, RunRecord, RunSummary, SqlAnswer, TrendPoint,
};
use serde_json::Value;

/// Columns padded to their widest cell, two spaces apart; the last column is not padded.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut out = String::new();
        for (i, cell) in cells.enumerate() {
            if i + 1 == widths.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        out.trim_end().to_owned()
    };
    let mut out = line(&mut header.iter().copied());
    out.push('\n');
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
        out.push('\n');
    }
    out
}

fn or_dash(text: Option<&str>) -> String {
    text.filter(|t| !t.is_empty()).unwrap_or("-").to_owned()
}

fn seconds(ms: u64) -> String {
    format!("{:.1}s", ms as f64 / 1000.0)
}

fn rate(rate: Option<f64>) -> String {
    rate.map_or_else(|| "-".to_owned(), |r| format!("{:.0}%", r * 100.0))
}

fn number(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"))
}

/// `runs`: one line per run.
pub(crate) fn runs(runs: &[RunRecord]) -> String {
    if runs.is_empty() {
        return "no run matched".to_owned();
    }
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|run| {
            vec![
                run.run_id.clone(),
                run.suite.clone(),
                or_dash(run.label.as_deref()),
                run.status.name().to_owned(),
                run.created_at.clone(),
                run.cases.to_string(),
                seconds(run.duration_ms),
                run.models.join(","),
            ]
        })
        .collect();
    table(
        &[
            "RUN", "SUITE", "LABEL", "STATUS", "STARTED", "CASES", "DURATION", "MODELS",
        ],
        &rows,
    )
}

/// `latest`: the run, then one line per key.
pub(crate) fn summary(summary: &RunSummary) -> String {
    let run = &summary.run;
    let mut out = format!(
        "run {} of suite {}{}, started {}, {}\n",
        run.run_id,
        run.suite,
        run.label.as_ref().map(|l| format!(" (label {l})")).unwrap_or_default(),
        run.created_at,
        run.path.display()
    );
    out.push_str(&format!(
        "{} case(s), {} pass(es), {} fail(s), {} agent error(s); latency {} in all; tokens {} in, {} out\n\n",
        summary.cases,
        summary.passes,
        summary.fails,
        summary.errors,
        seconds(summary.total_duration_ms),
        summary.tokens_in,
        summary.tokens_out
    ));
    let rows: Vec<Vec<String>> = summary
        .keys
        .iter()
        .map(|k| {
            vec![
                k.key.clone(),
                k.n.to_string(),
                k.passes.to_string(),
                k.fails.to_string(),
                rate(k.pass_rate),
                number(k.mean),
            ]
        })
        .collect();
    out.push_str(&table(&["KEY", "N", "PASS", "FAIL", "PASS RATE", "MEAN"], &rows));
    out
}

/// `failing`: one line per failing score.
pub(crate) fn failing(run: &RunRecord, cases: &[CaseRecord]) -> String {
    if cases.is_empty() {
        return format!("run {} of suite {}: no failing case", run.run_id, run.suite);
    }
    let mut rows = Vec::new();
    for case in cases {
        for score in &case.scores {
            rows.push(vec![
                case.task_id.clone(),
                score.key.clone(),
                score.verdict.clone(),
                number(score.score),
                case.error
                    .as_ref()
                    .map(|(kind, message)| format!("{kind}: {message}"))
                    .or_else(|| score.comment.clone())
                    .unwrap_or_default(),
            ]);
        }
    }
    format!(
        "run {} of suite {}: {} failing case(s)\n{}",
        run.run_id,
        run.suite,
        cases.len(),
        table(&["TASK", "KEY", "VERDICT", "SCORE", "WHY"], &rows)
    )
}

/// Eight heights for values in `[low, high]`; a missing value is a space.
fn sparkline(values: &[Option<f64>], low: f64, high: f64) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    values
        .iter()
        .map(|value| match value {
            None => ' ',
            Some(v) if high <= low => BARS[if *v > 0.0 { 7 } else { 0 }],
            Some(v) => {
                let step = ((v - low) / (high - low) * 7.0).round().clamp(0.0, 7.0);
                BARS[step as usize]
            }
        })
        .collect()
}

/// `trend`: per key, a sparkline of its pass rate (or, for numbers, its mean) over the runs,
/// then the first and last values.
pub(crate) fn trends(suite: &str, trends: &[(String, Vec<TrendPoint>)]) -> String {
    let runs = trends.iter().map(|(_, points)| points.len()).max().unwrap_or(0);
    let mut out = format!("suite {suite}: last {runs} completed run(s), oldest first\n");
    let rows: Vec<Vec<String>> = trends
        .iter()
        .map(|(key, points)| {
            let rates: Vec<Option<f64>> = points.iter().map(|p| p.pass_rate).collect();
            // Pass/fail keys show their pass rate on a 0–100% scale; numeric keys their mean,
            // scaled to the range it moved in.
            let (values, line, is_rate) = if rates.iter().any(Option::is_some) {
                let line = sparkline(&rates, 0.0, 1.0);
                (rates, line, true)
            } else {
                let means: Vec<Option<f64>> = points.iter().map(|p| p.mean).collect();
                let present = means.iter().flatten();
                let low = present.clone().copied().fold(f64::INFINITY, f64::min);
                let high = present.copied().fold(f64::NEG_INFINITY, f64::max);
                let line = sparkline(&means, low, high);
                (means, line, false)
            };
            let shown = |value: Option<f64>| if is_rate { rate(value) } else { number(value) };
            let first = values.first().copied().flatten();
            let last = values.last().copied().flatten();
            vec![
                key.clone(),
                line,
                format!("{} → {}", shown(first), shown(last)),
                points.len().to_string(),
            ]
        })
        .collect();
    out.push_str(&table(&["KEY", "TREND", "FIRST → LAST", "RUNS"], &rows));
    out
}

/// `pair`: one line per run.
pub(crate) fn pair(suite: &str, task: &str, key: &str, points: &[PairPoint]) -> String {
    let rows: Vec<Vec<String>> = points
        .iter()
        .map(|p| {
            vec![
                p.run_id.clone(),
                p.created_at.clone(),
                p.verdicts.join(","),
                p.scores.iter().map(|s| number(*s)).collect::<Vec<_>>().join(","),
                p.content_hash.clone(),
            ]
        })
        .collect();
    format!(
        "suite {suite}, task {task}, key {key}: {} completed run(s)\n{}",
        points.len(),
        table(&["RUN", "STARTED", "VERDICT", "SCORE", "CONTENT"], &rows)
    )
}

/// `flaky`: one line per pair.
pub(crate) fn flaky(pairs: &[FlakyPair]) -> String {
    if pairs.is_empty() {
        return "no pair changed its verdict between runs".to_owned();
    }
    let rows: Vec<Vec<String>> = pairs
        .iter()
        .map(|p| {
            vec![
                p.task_id.clone(),
                p.key.clone(),
                p.flips.to_string(),
                p.runs.to_string(),
            ]
        })
        .collect();
    table(&["TASK", "KEY", "FLIPS", "RUNS"], &rows)
}

/// `prompts`: one line per version, its keys' pass rates (or means) last.
pub(crate) fn prompts(versions: &[PromptVersion]) -> String {
    if versions.is_empty() {
        return "no prompt was named in this suite's runs".to_owned();
    }
    let rows: Vec<Vec<String>> = versions
        .iter()
        .map(|v| {
            let keys: Vec<String> = v
                .keys
                .iter()
                .map(|k| match k.pass_rate {
                    Some(r) => format!("{} {}", k.key, rate(Some(r))),
                    None => format!("{} {}", k.key, number(k.mean)),
                })
                .collect();
            vec![
                v.name.clone(),
                v.version.to_string(),
                v.hash.clone(),
                v.first_run.clone(),
                v.runs.to_string(),
                v.cases.to_string(),
                keys.join(", "),
            ]
        })
        .collect();
    table(
        &["PROMPT", "VERSION", "HASH", "FIRST RUN", "RUNS", "CASES", "KEYS"],
        &rows,
    )
}

/// `sql`: the columns and rows as they came.
pub(crate) fn sql(answer: &SqlAnswer) -> String {
    let rows: Vec<Vec<String>> = answer
        .rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|value| match value {
                    Value::Null => "NULL".to_owned(),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect();
    let header: Vec<&str> = answer.columns.iter().map(String::as_str).collect();
    let mut out = table(&header, &rows);
    out.push_str(&format!("({} row(s))", rows.len()));
    out
}

/// `import`: one line per file.
pub(crate) fn imported(imported: &[eval_engine::history::import::Imported]) -> String {
    imported
        .iter()
        .map(|i| match &i.stored {
            Some(stored) => format!("{}: {} ({})\n", i.source.display(), i.outcome, stored.display()),
            None => format!("{}: {}\n", i.source.display(), i.outcome),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_scale_to_their_range_and_leave_gaps() {
        assert_eq!(sparkline(&[Some(0.0), Some(0.5), Some(1.0), None], 0.0, 1.0), "▁▅█ ");
        assert_eq!(sparkline(&[Some(2.0), Some(2.0)], 2.0, 2.0), "██");
    }

    #[test]
    fn tables_align_their_columns() {
        let text = table(&["A", "BB"], &[vec!["long".to_owned(), "x".to_owned()]]);
        assert_eq!(text, "A     BB\nlong  x\n");
    }
}
