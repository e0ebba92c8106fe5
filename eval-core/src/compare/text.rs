//! The leaderboard as text, for people: aligned tables with the intervals, the paired tests'
//! verdicts and the tasks the runs disagree on.

use super::{KeyBoard, KeyKind, Leaderboard, PairedTest, TaskVerdict};
use std::fmt::Write as _;

/// Disagreeing tasks listed per key before the rest is only counted.
const DISAGREEMENTS_SHOWN: usize = 10;

impl Leaderboard {
    /// The leaderboard as text: a header, then per key its table, paired tests and
    /// disagreements (the first ten per key; the board itself holds them all).
    pub fn render(&self) -> String {
        text(self)
    }
}

fn text(board: &Leaderboard) -> String {
    let mut out = String::new();
    let runs: Vec<String> = board
        .runs
        .iter()
        .map(|run| match run.name.contains(&run.run_id) {
            true => run.name.clone(),
            false => format!("{} (run {})", run.name, run.run_id),
        })
        .collect();
    let _ = writeln!(
        out,
        "Comparing {} runs over {} task(s): {}",
        board.runs.len(),
        board.tasks.len(),
        runs.join(", ")
    );
    if !board.excluded.is_empty() {
        let _ = writeln!(out, "Left out (lenient):");
        for problem in board.excluded.problems() {
            let _ = writeln!(out, "  {problem}");
        }
    }
    if board.keys.is_empty() {
        let _ = writeln!(out, "\nNo pass/fail or numeric key to compare.");
    }
    for key in &board.keys {
        out.push('\n');
        key_section(&mut out, key);
    }
    out.trim_end().to_owned()
}

fn key_section(out: &mut String, key: &KeyBoard) {
    let (what, value_title) = match key.kind {
        KeyKind::PassFail => ("pass rate, Wilson 95% interval, n attempts", "rate"),
        KeyKind::Numeric => ("mean, Student's t 95% interval, n scores", "mean"),
    };
    let _ = writeln!(out, "{}  ({what})", key.key);
    let mut rows = vec![[
        "run".to_owned(),
        value_title.to_owned(),
        "95% interval".to_owned(),
        "n".to_owned(),
        String::new(),
    ]];
    for standing in &key.standings {
        let shown = |v: f64| match key.kind {
            KeyKind::PassFail => format!("{:.1}%", v * 100.0),
            KeyKind::Numeric => format!("{v:.3}"),
        };
        let interval = standing.interval.map_or_else(
            || "—".to_owned(),
            |(low, high)| format!("[{}, {}]", shown(low), shown(high)),
        );
        let mark = match (key.best.contains(&standing.run), key.is_tie()) {
            (true, false) => "best",
            (true, true) => "tie for best",
            (false, _) => "",
        };
        let value = if standing.n == 0 {
            "—".to_owned()
        } else {
            shown(standing.value)
        };
        rows.push([
            standing.run.clone(),
            value,
            interval,
            standing.n.to_string(),
            mark.to_owned(),
        ]);
    }
    let widths: Vec<usize> = (0..5)
        .map(|c| rows.iter().map(|row| row[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        let mut line = String::from("  ");
        for (c, cell) in row.iter().enumerate() {
            let pad = widths[c] - cell.chars().count();
            // Names and marks to the left, numbers to the right.
            if c == 0 || c == 4 {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            }
            line.push_str("  ");
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    for paired in &key.paired {
        let test = match paired.test {
            PairedTest::SignTest => "sign test",
            PairedTest::SignedRankExact => "Wilcoxon signed-rank, exact",
            PairedTest::SignedRankNormal => "Wilcoxon signed-rank, normal approximation",
        };
        let verdict = if paired.beyond_noise {
            "more than noise"
        } else {
            "within noise"
        };
        let _ = writeln!(
            out,
            "  {} vs {}: ahead on {}, behind on {} of {} task(s) ({test}), p = {} : {verdict}",
            paired.best,
            paired.other,
            paired.ahead,
            paired.behind,
            paired.tasks,
            p_value(paired.p_value)
        );
    }
    if !key.disagreements.is_empty() {
        let _ = writeln!(out, "  tasks where the runs disagree ({}):", key.disagreements.len());
        for disagreement in key.disagreements.iter().take(DISAGREEMENTS_SHOWN) {
            let verdicts: Vec<String> = disagreement
                .verdicts
                .iter()
                .map(|(run, verdict)| format!("{run} {}", task_verdict(verdict.as_ref())))
                .collect();
            let _ = writeln!(out, "    {}: {}", disagreement.task_id, verdicts.join(" · "));
        }
        if key.disagreements.len() > DISAGREEMENTS_SHOWN {
            let _ = writeln!(
                out,
                "    … and {} more (`cargo eval compare --json` lists them all)",
                key.disagreements.len() - DISAGREEMENTS_SHOWN
            );
        }
    }
}

fn task_verdict(verdict: Option<&TaskVerdict>) -> String {
    match verdict {
        None => "—".to_owned(),
        Some(v) if v.attempts == 1 && v.passed == 1 => "pass".to_owned(),
        Some(v) if v.attempts == 1 => "fail".to_owned(),
        Some(v) => format!("{}/{}", v.passed, v.attempts),
    }
}

/// Three decimals, or `< 0.001`.
fn p_value(p: f64) -> String {
    if p < 0.001 {
        "< 0.001".to_owned()
    } else {
        format!("{p:.3}")
    }
}
