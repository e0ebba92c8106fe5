//! The record: a run, its decided pairs and gates, its pass rates and trends.

use eval_engine::RunResult;
use eval_engine::gate::Decision;

/// What the reports show of one run.
#[derive(Debug)]
pub struct RunReport<'a> {
    /// The run reported.
    pub run: &'a RunResult,
    /// The suite's test path (`weather`, `travel::paris`, `weather::cheap` for a variant): the
    /// prefix of its test names.
    pub suite_path: String,
    /// What it was compared with (a baseline snapshot's path, `run <id>`); `None` without one.
    pub baseline: Option<String>,
    /// Every (task, key) pair, decided.
    pub pairs: Vec<PairRow>,
    /// The suite-level gates, decided (only a run of the harness has them).
    pub gates: Vec<GateRow>,
    /// The pass rate of every pass/fail key.
    pub rates: Vec<KeyRate>,
    /// Each key's pass rate over the store's runs of the suite, oldest first (filled for the
    /// HTML page).
    pub trends: Vec<Trend>,
}

/// One (task, key) pair as decided.
#[derive(Debug, Clone, PartialEq)]
pub struct PairRow {
    /// Its test's name (`weather::paris::city_matches`).
    pub name: String,
    /// The task's id (without attempt suffix).
    pub task_id: String,
    /// The feedback key.
    pub key: String,
    /// What was decided.
    pub outcome: Decision,
    /// Whether it fails the run, is skipped, or passes.
    pub status: RowStatus,
    /// For a failing pair its test's message; for a skipped one why.
    pub message: Option<String>,
    /// This run's verdict (`pass`, `fail`, `2/3`, …), when graded.
    pub verdict: Option<String>,
    /// The baseline's verdict, when it has the pair.
    pub baseline: Option<String>,
    /// The mean score over attempts (a pass counts 1).
    pub score: Option<f64>,
    /// The scorer's comment, or what went wrong with the task.
    pub comment: Option<String>,
    /// For a repeated pair that regressed, the numbers that decided it.
    pub evidence: Option<String>,
}

/// A suite-level gate (`<suite>::gate::<key>`) as decided.
#[derive(Debug, Clone, PartialEq)]
pub struct GateRow {
    /// Its test's name.
    pub name: String,
    /// The feedback key it gates.
    pub key: String,
    /// What was decided.
    pub outcome: Decision,
    /// Whether it fails the run, is skipped, or passes.
    pub status: RowStatus,
    /// For a failing gate its test's message; for a skipped one why.
    pub message: Option<String>,
    /// One line saying what the numbers were.
    pub because: String,
}

/// How a pair or gate counts for the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowStatus {
    /// It fails the run (a regression, a new failure).
    Failed,
    /// Neither fails nor shows the pair works (a known failure, flaky, not applicable).
    Skipped,
    /// It passes (or informs, or is advisory).
    Passed,
}

impl RowStatus {
    /// Its name in reports (`failed`, `skipped`, `passed`).
    pub fn name(self) -> &'static str {
        match self {
            RowStatus::Failed => "failed",
            RowStatus::Skipped => "skipped",
            RowStatus::Passed => "passed",
        }
    }
}

/// One key's pass rate, and the baseline's over the same pairs.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRate {
    /// The feedback key.
    pub key: String,
    /// Passes over every attempt of every pair of the key.
    pub passed: u32,
    /// Attempts graded (ungradeable ones count as fails).
    pub total: u32,
    /// The baseline's (passed, total) over those pairs.
    pub baseline: Option<(u32, u32)>,
    /// The key cannot fail the run.
    pub advisory: bool,
}

impl KeyRate {
    /// The rate in percent.
    pub fn percent(&self) -> f64 {
        percent(self.passed, self.total)
    }

    /// The change in points against the baseline, when it has the key.
    pub fn delta(&self) -> Option<f64> {
        self.baseline
            .filter(|(_, total)| *total > 0)
            .map(|(passed, total)| self.percent() - percent(passed, total))
    }
}

fn percent(passed: u32, total: u32) -> f64 {
    if total == 0 {
        0.0
    } else {
        f64::from(passed) * 100.0 / f64::from(total)
    }
}

/// A key's pass rate over runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Trend {
    /// The feedback key.
    pub key: String,
    /// Oldest first.
    pub points: Vec<TrendPoint>,
}

/// A key's pass rate in one run.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendPoint {
    /// The run's id.
    pub run_id: String,
    /// When the run started (RFC 3339).
    pub created_at: String,
    /// Between 0 and 1.
    pub pass_rate: f64,
}
