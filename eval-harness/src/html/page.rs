//! The page rendered: summary, rates, trends and changes as HTML; the table and transcripts
//! as data for the page's script.

use super::chart::trend_svg;
use super::data::page_data;
use super::text::{escape, script_safe};
use crate::outcome::decision_name;
use crate::run_report::{PairRow, RowStatus, RunReport, Trend};
use eval_engine::gate::Decision;
use eval_engine::stats::wilson_interval;
use std::fmt::Write as _;

const STYLE: &str = include_str!("report.css");
const SCRIPT: &str = include_str!("report.js");
/// How many pairs whose verdict differs from the baseline's are listed; the table has them all.
const CHANGES_SHOWN: usize = 200;

/// The whole page of `report`.
pub fn page(report: &RunReport<'_>) -> String {
    let meta = &report.run.meta;
    let suite = escape(&meta.suite.name);
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{suite} · {run_id} · eval report</title>\n<link rel=\"icon\" href=\"data:,\">\n\
             <style>\n{STYLE}</style>\n</head>\n<body>\n",
        run_id = escape(&meta.run_id),
    );
    header(report, &mut out);
    summary(report, &mut out);
    trends(report, &mut out);
    changes(report, &mut out);
    out.push_str(PAIRS_SECTION);
    let data = serde_json::to_string(&page_data(report)).unwrap_or_else(|_| "{}".to_owned());
    let _ = write!(
        out,
        "<script type=\"application/json\" id=\"report-data\">{}</script>\n<script>\n{SCRIPT}</script>\n</body>\n</html>\n",
        script_safe(&data)
    );
    out
}

fn header(report: &RunReport<'_>, out: &mut String) {
    let meta = &report.run.meta;
    let _ = write!(
        out,
        "<header>\n<h1>Evals: <code>{}</code>{}</h1>\n<p class=\"meta\">run <code id=\"run-id\">{}</code>",
        escape(&meta.suite.name),
        meta.variant
            .as_ref()
            .map(|v| format!(" @ <code>{}</code>", escape(v.name())))
            .unwrap_or_default(),
        escape(&meta.run_id)
    );
    if let Some(label) = &meta.label {
        let _ = write!(out, " · label <code>{}</code>", escape(label));
    }
    if let Some(model) = &meta.model {
        let _ = write!(out, " · model <code>{}</code>", escape(model));
    }
    let tokens = &report.run.aggregates().tokens;
    let _ = write!(
        out,
        " · {} · {} · {} task record(s) · {:.1} s · {} tokens",
        escape(&meta.created_at),
        meta.status.name(),
        report.run.tasks().len(),
        meta.duration_ms as f64 / 1000.0,
        tokens.total
    );
    match &report.baseline {
        Some(baseline) => {
            let _ = write!(out, " · compared with <code>{}</code>", escape(baseline));
        }
        None => out.push_str(" · no baseline to compare with"),
    }
    out.push_str("</p>\n</header>\n");
}

fn summary(report: &RunReport<'_>, out: &mut String) {
    let count = |pick: fn(&Decision) -> bool| report.pairs.iter().filter(|p| pick(&p.outcome)).count();
    let failing = report.pairs.iter().filter(|p| p.status == RowStatus::Failed).count();
    let mark = if failing > 0 { "failed" } else { "passed" };
    let _ = write!(
        out,
        "<section id=\"summary\">\n<h2>Summary</h2>\n<p class=\"verdict {mark}\">{failing} of {} pair(s) fail the run: \
             {} regression(s), {} new failure(s); {} known failure(s), {} flaky, {} improvement(s).</p>\n",
        report.pairs.len(),
        count(|d| matches!(d, Decision::Regression)),
        count(|d| matches!(d, Decision::NewFailure { .. })),
        count(|d| matches!(d, Decision::KnownFailure)),
        count(|d| matches!(d, Decision::Flaky { .. })),
        count(|d| matches!(d, Decision::Pass { improvement: true })),
    );
    if !report.rates.is_empty() {
        out.push_str(
                "<table id=\"rates\">\n<thead><tr><th>key</th><th>pass rate</th><th>95% interval</th><th>vs baseline</th></tr></thead>\n<tbody>\n",
            );
        for rate in &report.rates {
            let (low, high) = wilson_interval(u64::from(rate.passed), u64::from(rate.total));
            let delta = match rate.delta() {
                Some(delta) => {
                    let class = if delta < 0.0 {
                        "down"
                    } else if delta > 0.0 {
                        "up"
                    } else {
                        "same"
                    };
                    format!("<span class=\"{class}\">{delta:+.1}</span>")
                }
                None => "new".to_owned(),
            };
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code>{}</td><td>{:.1}% ({}/{})</td><td>{:.0}–{:.0}%</td><td>{delta}</td></tr>",
                escape(&rate.key),
                if rate.advisory {
                    " <span class=\"tag\">advisory</span>"
                } else {
                    ""
                },
                rate.percent(),
                rate.passed,
                rate.total,
                low * 100.0,
                high * 100.0,
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    let stats = &report.run.aggregates().score_stats;
    if !stats.is_empty() {
        out.push_str(
                "<table id=\"scores\">\n<thead><tr><th>key</th><th>mean</th><th>median</th><th>p95</th><th>n</th></tr></thead>\n<tbody>\n",
            );
        for (key, stat) in stats {
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code></td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td><td>{}</td></tr>",
                escape(key),
                stat.mean,
                stat.p50,
                stat.p95,
                stat.n
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str("</section>\n");
}

fn trends(report: &RunReport<'_>, out: &mut String) {
    let shown: Vec<&Trend> = report.trends.iter().filter(|t| t.points.len() >= 2).collect();
    if shown.is_empty() {
        return;
    }
    out.push_str("<section id=\"trends\">\n<h2>Trend</h2>\n");
    for trend in shown {
        let _ = writeln!(
            out,
            "<figure><figcaption><code>{}</code> over the last {} run(s)</figcaption>{}</figure>",
            escape(&trend.key),
            trend.points.len(),
            trend_svg(trend)
        );
    }
    out.push_str("</section>\n");
}

fn changes(report: &RunReport<'_>, out: &mut String) {
    let Some(baseline) = &report.baseline else {
        return;
    };
    let changed: Vec<&PairRow> = report
        .pairs
        .iter()
        .filter(|p| p.baseline.is_some() && p.baseline != p.verdict)
        .collect();
    let _ = write!(
        out,
        "<section id=\"changes\">\n<h2>Against the baseline</h2>\n<p>{} pair(s) changed verdict since <code>{}</code>.</p>\n",
        changed.len(),
        escape(baseline)
    );
    if !changed.is_empty() {
        out.push_str("<table>\n<thead><tr><th>task</th><th>key</th><th>baseline</th><th>now</th><th>outcome</th></tr></thead>\n<tbody>\n");
        for pair in changed.iter().take(CHANGES_SHOWN) {
            let _ = writeln!(
                out,
                "<tr class=\"{}\"><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                pair.status.name(),
                escape(&pair.task_id),
                escape(&pair.key),
                escape(pair.baseline.as_deref().unwrap_or_default()),
                escape(pair.verdict.as_deref().unwrap_or("not graded")),
                escape(&decision_name(pair.outcome).replace('_', " ")),
            );
        }
        out.push_str("</tbody>\n</table>\n");
        if changed.len() > CHANGES_SHOWN {
            let _ = writeln!(
                out,
                "<p>… and {} more: filter the table by “changed”.</p>",
                changed.len() - CHANGES_SHOWN
            );
        }
    }
    out.push_str("</section>\n");
}

/// The table and the transcript panel; the page's script fills both from the data.
const PAIRS_SECTION: &str = r#"<section id="pairs">
<h2>Pairs</h2>
<div class="controls">
<input id="filter" type="search" placeholder="filter by task, key, outcome or comment" aria-label="filter">
<select id="status" aria-label="which pairs">
<option value="all">all</option>
<option value="failed">failing the run</option>
<option value="changed">changed since the baseline</option>
<option value="skipped">skipped</option>
<option value="passed">passing</option>
</select>
<span id="shown"></span>
</div>
<table id="pair-table">
<thead><tr><th data-sort="task">task</th><th data-sort="key">key</th><th data-sort="outcome">outcome</th><th data-sort="verdict">verdict</th><th data-sort="baseline">baseline</th><th data-sort="score">score</th><th>comment</th></tr></thead>
<tbody></tbody>
</table>
<p id="more"></p>
<noscript><p>The table of pairs and the transcripts need JavaScript.</p></noscript>
</section>
<section id="transcript" hidden>
<h2>Transcript of <code id="transcript-task"></code></h2>
<div id="transcript-body"></div>
</section>
"#;
