//! A key's pass rate over the store's runs, as an inline SVG line chart.

use super::text::escape;
use crate::run_report::Trend;
use std::fmt::Write as _;

const WIDTH: f64 = 520.0;
const HEIGHT: f64 = 140.0;
const LEFT: f64 = 40.0;
const RIGHT: f64 = 10.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 24.0;

/// The chart of `trend`, oldest run on the left; the newest point is the run reported.
pub(crate) fn trend_svg(trend: &Trend) -> String {
    let n = trend.points.len();
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |i: usize| {
        if n <= 1 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + plot_w * i as f64 / (n - 1) as f64
        }
    };
    let y = |rate: f64| TOP + plot_h * (1.0 - rate.clamp(0.0, 1.0));
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="trend" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" aria-label="pass rate of {key} over {n} run(s)">"#,
        key = escape(&trend.key)
    );
    for (rate, label) in [(1.0, "100%"), (0.5, "50%"), (0.0, "0%")] {
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{LEFT}" x2="{x2}" y1="{y0}" y2="{y0}"/><text class="axis" x="{tx}" y="{ty}" text-anchor="end">{label}</text>"#,
            x2 = WIDTH - RIGHT,
            y0 = y(rate),
            tx = LEFT - 4.0,
            ty = y(rate) + 4.0,
        );
    }
    let points: Vec<String> = trend
        .points
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.pass_rate)))
        .collect();
    let _ = write!(svg, r#"<polyline class="line" points="{}"/>"#, points.join(" "));
    for (i, point) in trend.points.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<circle class="point" cx="{:.1}" cy="{:.1}" r="3"><title>{} · {} · {:.1}%</title></circle>"#,
            x(i),
            y(point.pass_rate),
            escape(&point.run_id),
            escape(&point.created_at),
            point.pass_rate * 100.0
        );
    }
    if let (Some(first), Some(last)) = (trend.points.first(), trend.points.last()) {
        let day = |at: &str| escape(at.get(..10).unwrap_or(at));
        let _ = write!(
            svg,
            r#"<text class="axis" x="{LEFT}" y="{by}">{}</text><text class="axis" x="{rx}" y="{by}" text-anchor="end">{}</text>"#,
            day(&first.created_at),
            day(&last.created_at),
            by = HEIGHT - 6.0,
            rx = WIDTH - RIGHT,
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run_report::TrendPoint;

    #[test]
    fn every_run_is_a_point_with_its_rate_and_the_key_is_escaped() {
        let point = |run_id: &str, rate| TrendPoint {
            run_id: run_id.to_owned(),
            created_at: "2026-12-01T10:00:00Z".to_owned(),
            pass_rate: rate,
        };
        let svg = trend_svg(&Trend {
            key: "<b>".to_owned(),
            points: vec![point("a", 1.0), point("b", 0.5), point("c", 0.0)],
        });
        assert_eq!(svg.matches("<circle").count(), 3, "{svg}");
        assert!(svg.contains(r#"points="40.0,10.0 275.0,63.0 510.0,116.0""#), "{svg}");
        assert!(svg.contains("<title>b · 2026-12-01T10:00:00Z · 50.0%</title>"), "{svg}");
        assert!(
            svg.contains("aria-label=\"pass rate of &lt;b&gt; over 3 run(s)\""),
            "{svg}"
        );
    }
}
