//! What a run hands back: run metadata, the per-task records ([`TaskRecord`]s)
//! and their aggregates.

use crate::aggregates::Aggregates;
use crate::record::TaskRecord;
use crate::scorer::ScorerSpec;
use crate::trace::Trace;
use serde::{Deserialize, Serialize};

/// The schema version this crate writes (AG2's run JSON, schema 0.2).
pub const SCHEMA_VERSION: &str = "0.2";

/// A whole run: metadata, one record per task (per attempt with repeats), aggregates.
///
/// Aggregates are computed once from the task records; the records can only be replaced
/// together with them, so the two never disagree.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    /// Everything about the run that is not a task record.
    pub meta: RunMeta,
    tasks: Vec<TaskRecord>,
    aggregates: Aggregates,
}

impl RunResult {
    /// Assembles a run and computes its aggregates.
    pub fn new(meta: RunMeta, tasks: Vec<TaskRecord>) -> Self {
        let mut aggregates = Aggregates::compute(&tasks);
        if meta.fewest_repeats.is_some() {
            aggregates.attempts = Aggregates::attempts_per_task(&tasks);
        }
        RunResult {
            meta,
            tasks,
            aggregates,
        }
    }

    /// The run id.
    pub fn run_id(&self) -> &str {
        &self.meta.run_id
    }

    /// Per-task records, in suite order.
    pub fn tasks(&self) -> &[TaskRecord] {
        &self.tasks
    }

    /// The record of task `task_id` (for repeats, `<id>#<n>`).
    pub fn task(&self, task_id: &str) -> Option<&TaskRecord> {
        self.tasks.iter().find(|t| t.task_id == task_id)
    }

    /// Aggregates over every task.
    pub fn aggregates(&self) -> &Aggregates {
        &self.aggregates
    }

    /// Aggregates over the tasks carrying `tag`.
    pub fn aggregates_for_tag(&self, tag: &str) -> Aggregates {
        let tasks: Vec<&TaskRecord> = self.tasks.iter().filter(|t| t.has_tag(tag)).collect();
        Aggregates::compute_refs(&tasks)
    }

    /// Pass rate of `key` over all tasks, or over the tasks carrying `tag`.
    pub fn pass_rate(&self, key: &str, tag: Option<&str>) -> Option<f64> {
        match tag {
            None => self.aggregates.pass_rate.get(key).copied(),
            Some(tag) => self.aggregates_for_tag(tag).pass_rate.get(key).copied(),
        }
    }

    /// Every tag present across the run's tasks, sorted.
    pub fn tags(&self) -> Vec<&str> {
        let mut tags: Vec<&str> = self
            .tasks
            .iter()
            .flat_map(|t| t.tags.iter().map(String::as_str))
            .collect();
        tags.sort_unstable();
        tags.dedup();
        tags
    }

    /// Every feedback key of the run: declared scorers first, then keys seen only in feedback.
    pub fn keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self.meta.scorers.iter().map(|s| s.key.as_str()).collect();
        for task in &self.tasks {
            for fb in &task.feedback {
                if !keys.contains(&fb.key.as_str()) {
                    keys.push(&fb.key);
                }
            }
        }
        keys
    }

    /// The declared spec of `key`, if the run recorded its scorers.
    pub fn spec(&self, key: &str) -> Option<&ScorerSpec> {
        self.meta.scorers.iter().find(|s| s.key == key)
    }

    /// Splits the run back into its parts.
    pub fn into_parts(self) -> (RunMeta, Vec<TaskRecord>) {
        (self.meta, self.tasks)
    }
}

/// Run-level metadata. Field order is the run JSON's: AG2's fields, then ours.
#[derive(Debug, Clone, PartialEq)]
pub struct RunMeta {
    /// The run JSON's schema version ([`SCHEMA_VERSION`] for runs this crate makes).
    pub schema_version: String,
    /// The run's id (a ULID for runs this crate makes).
    pub run_id: String,
    /// A label the user gave the run.
    pub label: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// How long the run took.
    pub duration_ms: u64,
    /// The suite that ran.
    pub suite: SuiteInfo,
    /// What was evaluated (the agent's name or path).
    pub target: String,
    /// How many tasks ran at once.
    pub concurrency: usize,
    /// How the run ended.
    pub status: RunStatus,
    /// Which part of the suite ran; `None` when it is not known (AG2 files).
    pub selection: Option<Selection>,
    /// Attempts per task; with adaptive repeats, the most a task may get.
    pub repeats: u32,
    /// With adaptive repeats, the fewest attempts a task gets (each task's records say how
    /// many it had).
    pub fewest_repeats: Option<u32>,
    /// The model the run evaluated, as the suite names it (the models its traces' responses
    /// name are found there too).
    pub model: Option<String>,
    /// The variant of the suite the run evaluated, when the suite has variants.
    pub variant: Option<crate::variant::Variant>,
    /// The per-task limits the run checked.
    pub budgets: Budgets,
    /// The program that wrote the run.
    pub producer: Option<Producer>,
    /// The commit the run was made at, when known.
    pub git: Option<GitInfo>,
    /// The scorers that graded the run (empty for AG2 files, which do not record them).
    pub scorers: Vec<ScorerSpec>,
    /// Set when the run was resumed from the journal of an interrupted run.
    pub resumed: Option<Resumed>,
    /// Set when no agent ran: the run re-graded the outputs and traces stored in this run
    /// (`replayed_from` in the run JSON).
    pub regraded_from: Option<String>,
}

/// The current time as RFC 3339 UTC.
pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl RunMeta {
    /// The metadata of a completed run `run_id` of `suite` made now, with nothing else set:
    /// code that builds runs of its own sets the fields it knows with `RunMeta { …, ..RunMeta::new(…) }`.
    ///
    /// ```
    /// use eval_engine::result::{RunMeta, SuiteInfo};
    ///
    /// let suite = SuiteInfo { name: "weather".into(), size: 3, source: "inline".into() };
    /// let meta = RunMeta { label: Some("nightly".into()), ..RunMeta::new("01J", suite) };
    /// assert_eq!((meta.run_id.as_str(), meta.repeats), ("01J", 1));
    /// ```
    pub fn new(run_id: impl Into<String>, suite: SuiteInfo) -> RunMeta {
        RunMeta {
            schema_version: SCHEMA_VERSION.to_owned(),
            run_id: run_id.into(),
            label: None,
            created_at: now_rfc3339(),
            duration_ms: 0,
            suite,
            target: String::new(),
            concurrency: 1,
            status: RunStatus::Completed,
            selection: None,
            repeats: 1,
            fewest_repeats: None,
            model: None,
            variant: None,
            budgets: Budgets::default(),
            producer: None,
            git: None,
            scorers: Vec::new(),
            resumed: None,
            regraded_from: None,
        }
    }
}

/// Where a resumed run came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resumed {
    /// The run id whose journal was resumed (the resumed run keeps it).
    pub from: String,
    /// How many task records were taken from the journal instead of being run again.
    pub reused: usize,
}

/// Name, size and source of the suite that ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuiteInfo {
    /// The suite's name.
    pub name: String,
    /// How many tasks the suite has.
    pub size: usize,
    /// Where its tasks came from (a dataset path, or `inline`).
    pub source: String,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum RunStatus {
    /// Every selected task ran.
    Completed,
    /// Stopped before every selected task ran.
    Interrupted,
    /// The run itself failed.
    Failed,
}

impl RunStatus {
    /// Its name in the run JSON (`completed`, `interrupted`, `failed`).
    pub fn name(self) -> &'static str {
        match self {
            RunStatus::Completed => "completed",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Failed => "failed",
        }
    }
}

/// Which tasks a run covered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// The filter that chose the tasks, as the user gave it.
    pub filter: Option<String>,
    /// Whether every task of the suite ran.
    pub complete: bool,
}

/// Per-task limits. Recorded as violations, never aborting a task.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Budgets {
    /// Most tokens a task may use.
    #[serde(default)]
    pub max_tokens: Option<u64>,
    /// Most seconds a task may take.
    #[serde(default)]
    pub max_seconds: Option<f64>,
}

impl Budgets {
    /// Whether `trace` goes over any limit.
    pub fn exceeded_by(&self, trace: &Trace) -> bool {
        self.max_tokens.is_some_and(|max| trace.tokens.total() > max)
            || self
                .max_seconds
                .is_some_and(|max| trace.duration_ms as f64 / 1000.0 > max)
    }
}

/// The program that wrote the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Producer {
    /// The program's name.
    pub name: String,
    /// Its version.
    pub version: String,
}

impl Producer {
    /// This crate.
    pub fn this_crate() -> Self {
        Producer {
            name: env!("CARGO_PKG_NAME").to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

/// The commit the run was made at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitInfo {
    /// The commit id.
    pub commit: String,
    /// Whether the work tree had uncommitted changes.
    pub dirty: bool,
}
