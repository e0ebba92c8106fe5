//! What the history's answers are made of: runs, cases, scores and the summaries and trends
//! built from them, and the filter that picks runs.

use serde::Serialize;
use serde_json::Value;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

/// How a run stands, as the history knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    /// A journal a process is writing now.
    Running,
    /// Every selected task ran and the run was saved.
    Completed,
    /// Stopped before every selected task ran (a run file, or a journal nobody writes).
    Interrupted,
    /// The run itself failed.
    Failed,
}

impl RunState {
    /// The state as the index writes it: `running`, `completed`, `interrupted`, `failed`.
    pub fn name(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Completed => "completed",
            RunState::Interrupted => "interrupted",
            RunState::Failed => "failed",
        }
    }

    /// Reads a state's name.
    pub fn parse(name: &str) -> Option<RunState> {
        [
            RunState::Running,
            RunState::Completed,
            RunState::Interrupted,
            RunState::Failed,
        ]
        .into_iter()
        .find(|state| state.name() == name)
    }
}

/// Which runs a query is about. Every field left `None` matches every run.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    /// Runs of this suite.
    pub suite: Option<String>,
    /// Runs under this label.
    pub label: Option<String>,
    /// A model one of the run's tasks used.
    pub model: Option<String>,
    /// Runs of this variant.
    pub variant: Option<String>,
    /// Runs in this state.
    pub status: Option<RunState>,
    /// Started at or after.
    pub since: Option<SystemTime>,
    /// Started before.
    pub until: Option<SystemTime>,
}

impl RunFilter {
    /// The runs of `suite`.
    pub fn suite(suite: impl Into<String>) -> RunFilter {
        RunFilter {
            suite: Some(suite.into()),
            ..RunFilter::default()
        }
    }

    /// The SQL condition on `runs r JOIN suites s` and its parameters.
    pub(super) fn condition(&self) -> (String, Vec<rusqlite::types::Value>) {
        use rusqlite::types::Value as P;
        let mut clauses = vec!["1".to_owned()];
        let mut params = Vec::new();
        let mut add = |clause: &str, value: P| {
            params.push(value);
            clauses.push(clause.replace('?', &format!("?{}", params.len())));
        };
        if let Some(suite) = &self.suite {
            add("s.name = ?", P::Text(suite.clone()));
        }
        if let Some(label) = &self.label {
            add("r.label = ?", P::Text(label.clone()));
        }
        if let Some(model) = &self.model {
            add(
                "EXISTS (SELECT 1 FROM run_models m WHERE m.run = r.id AND m.model = ?)",
                P::Text(model.clone()),
            );
        }
        if let Some(variant) = &self.variant {
            add("r.variant = ?", P::Text(variant.clone()));
        }
        if let Some(status) = self.status {
            add("r.status = ?", P::Text(status.name().to_owned()));
        }
        if let Some(since) = self.since {
            add("r.created_ms >= ?", P::Integer(unix_ms(since)));
        }
        if let Some(until) = self.until {
            add("r.created_ms < ?", P::Integer(unix_ms(until)));
        }
        (clauses.join(" AND "), params)
    }
}

/// One run as the history lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRecord {
    /// The run's id.
    pub run_id: String,
    /// The suite it ran.
    pub suite: String,
    /// The label it was saved under.
    pub label: Option<String>,
    /// The variant it ran, if any.
    pub variant: Option<String>,
    /// How it stands.
    pub status: RunState,
    /// RFC 3339, as the run file records it.
    pub created_at: String,
    /// How long it took.
    pub duration_ms: u64,
    /// Whether every task of the suite ran (`None` when the file does not say: AG2's).
    pub selection_complete: Option<bool>,
    /// The interrupted run it carried on.
    pub resumed_from: Option<String>,
    /// The stored run it graded again.
    pub regraded_from: Option<String>,
    /// The commit it ran on.
    pub git_commit: Option<String>,
    /// The models its tasks used (from the captured GenAI spans).
    pub models: Vec<String>,
    /// Target, concurrency, repeats, budgets, scorers, producer, schema version.
    pub config: Value,
    /// The run file (or journal) it was read from.
    pub path: PathBuf,
    /// How many task attempts it holds.
    pub cases: u64,
}

/// One score of a case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreRecord {
    /// The feedback key.
    pub key: String,
    /// The grade: a number, or 1/0 for a pass/fail score.
    pub score: Option<f64>,
    /// `bool` or `number` (what `score` was in the run file).
    pub kind: Option<String>,
    /// A label, for a categorical score.
    pub value: Option<String>,
    /// `pass`, `fail`, `informational` or `ungradeable`.
    pub verdict: String,
    /// The scorer's comment.
    pub comment: Option<String>,
}

/// One task attempt of a run, with its scores.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseRecord {
    /// As recorded: `<id>#<n>` for an attempt of a repeated task.
    pub task_id: String,
    /// Without the attempt suffix.
    pub base_id: String,
    /// The attempt number, for a repeated task.
    pub attempt: Option<u32>,
    /// The hash of the task's inputs and reference.
    pub content_hash: String,
    /// The task's inputs.
    pub inputs: Value,
    /// What the agent answered.
    pub outputs: Value,
    /// The expected answer.
    pub reference_outputs: Value,
    /// How long the attempt took.
    pub duration_ms: u64,
    /// Input tokens the agent spent.
    pub tokens_in: u64,
    /// Output tokens the agent spent.
    pub tokens_out: u64,
    /// The exception's type and message, when the agent failed.
    pub error: Option<(String, String)>,
    /// Its scores, one per feedback.
    pub scores: Vec<ScoreRecord>,
}

/// One key's numbers in a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeySummary {
    /// The feedback key.
    pub key: String,
    /// How many cases carry the key.
    pub n: u64,
    /// Cases that passed.
    pub passes: u64,
    /// Fails and ungradeables.
    pub fails: u64,
    /// Passes over pass/fail scores (`None` without any).
    pub pass_rate: Option<f64>,
    /// Mean of the numeric scores (`None` without any).
    pub mean: Option<f64>,
}

/// What a run amounts to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    /// The run.
    pub run: RunRecord,
    /// Task attempts.
    pub cases: u64,
    /// Pairs (case × key) that passed.
    pub passes: u64,
    /// Pairs that failed or could not be graded.
    pub fails: u64,
    /// Attempts whose agent failed.
    pub errors: u64,
    /// Per key, in key order.
    pub keys: Vec<KeySummary>,
    /// Sum of the attempts' durations.
    pub total_duration_ms: u64,
    /// Input tokens over every attempt.
    pub tokens_in: u64,
    /// Output tokens over every attempt.
    pub tokens_out: u64,
}

/// One run's point of a key's trend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendPoint {
    /// The run.
    pub run_id: String,
    /// When it started (RFC 3339).
    pub created_at: String,
    /// The feedback key.
    pub key: String,
    /// How many cases carry the key.
    pub n: u64,
    /// Cases that passed.
    pub passes: u64,
    /// Passes over pass/fail scores (`None` without any).
    pub pass_rate: Option<f64>,
    /// Mean of the numeric scores (`None` without any).
    pub mean: Option<f64>,
}

/// One run's verdicts of a (task, key) pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairPoint {
    /// The run.
    pub run_id: String,
    /// When it started (RFC 3339).
    pub created_at: String,
    /// The task's content hash in that run.
    pub content_hash: String,
    /// Every attempt's verdict, in attempt order.
    pub verdicts: Vec<String>,
    /// How many attempts passed.
    pub passes: u64,
    /// The scores, in attempt order.
    pub scores: Vec<Option<f64>>,
}

/// A (task, key) pair whose verdict changed between consecutive runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlakyPair {
    /// The task.
    pub task_id: String,
    /// The feedback key.
    pub key: String,
    /// How often its class (pass, fail, mixed) changed from one run to the next.
    pub flips: u64,
    /// In how many runs it was graded.
    pub runs: u64,
}

/// One version of a named prompt in a suite's runs: a distinct text, numbered by when it
/// first appeared, with the pass rates of the cases that used it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromptVersion {
    /// The prompt's name.
    pub name: String,
    /// 1 for the first text seen under the name, 2 for the next, …
    pub version: u32,
    /// The text's hash, as [`crate::Ctx::prompt`] recorded it.
    pub hash: String,
    /// The run it first appeared in.
    pub first_run: String,
    /// How many runs used it.
    pub runs: u64,
    /// How many cases used it.
    pub cases: u64,
    /// Per key, over the cases of completed runs that used it.
    pub keys: Vec<KeySummary>,
}

/// The answer to [`History::sql`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SqlAnswer {
    /// The result's column names.
    pub columns: Vec<String>,
    /// The rows, as JSON values.
    pub rows: Vec<Vec<Value>>,
}

pub(super) fn unix_ms(at: SystemTime) -> i64 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_millis()).unwrap_or(i64::MAX),
    }
}
