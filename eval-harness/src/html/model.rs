//! What a report shows of a run: the model both the harness and `cargo eval report` fill.

use eval_engine::RunResult;

/// What a report shows of one run.
#[derive(Debug)]
pub struct Page<'a> {
    /// The run reported.
    pub run: &'a RunResult,
    /// What it was compared with (a baseline snapshot's path, a run id); `None` without one.
    pub baseline: Option<String>,
    /// Every (task, key) pair, decided.
    pub pairs: Vec<PairRow>,
    /// The pass rate of every pass/fail key.
    pub rates: Vec<KeyRate>,
    /// Each key's pass rate over the store's runs of the suite, oldest first.
    pub trends: Vec<Trend>,
}

/// One (task, key) pair as decided.
#[derive(Debug, Clone, PartialEq)]
pub struct PairRow {
    /// The task's id (without attempt suffix).
    pub task_id: String,
    /// The feedback key.
    pub key: String,
    /// The decision's name (`pass`, `regression`, `known_failure`, …).
    pub outcome: String,
    /// Whether it fails the run, is skipped, or passes.
    pub status: RowStatus,
    /// This run's verdict (`pass`, `fail`, `2/3 passed`, …), when graded.
    pub verdict: Option<String>,
    /// The baseline's verdict, when it has the pair.
    pub baseline: Option<String>,
    /// The mean score over attempts (a pass counts 1).
    pub score: Option<f64>,
    /// The scorer's comment, or what went wrong: the test's message for a failing pair.
    pub comment: Option<String>,
}

/// How a pair counts for the run.
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
    /// The name the page filters on.
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
