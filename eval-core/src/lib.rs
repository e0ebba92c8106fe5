//! The engine of agent evals: load a suite, run an agent over it, grade every task, and get the
//! results back in memory. Nothing is asserted and nothing is written unless asked.
//!
//! Data flows one way: dataset → [`Suite`] of [`Task`]s → [`Agent`] runs (recording a
//! [`Trace`] through [`Ctx`]) → [`Scorer`]s → [`Feedback`] → [`RunResult`] → store and diff.

mod agent;
mod aggregates;
mod atomic_file;
pub mod canonical;
pub mod capture;
pub mod cassette;
mod ctx;
mod dataset;
mod diff;
mod drop_test;
mod estimate;
mod feedback;
mod gate;
#[cfg(feature = "history")]
pub mod history;
pub mod journal;
mod name;
mod observer;
mod panic;
mod replay;
mod result;
mod runner;
mod scorecard;
mod scorer;
pub mod scorers;
pub mod store;
mod suite;
mod summary;
mod task;
mod trace;
mod wire;

pub use agent::Agent;
pub use aggregates::{Aggregates, PassCount, ScoreStats, TokenTotals, percentile};
pub use cassette::{CassetteError, CassetteMode, Cassettes};
pub use ctx::{Ctx, PROMPT_EVENT};
pub use dataset::DatasetError;
pub use diff::{DiffMode, Flip, MeanDelta, Mismatches, RateDelta, RunDiff, RunsNotComparable, diff};
pub use drop_test::{Attempts, SuiteDrop, attempts_to_show_drop, drop_p_value, suite_drop};
pub use estimate::{PassAtK, wilson_interval};
pub use feedback::{Feedback, Score, Verdict};
pub use gate::{DropEvidence, Outcome, RegressionPolicy, binomial_cdf, decide, drop_evidence, is_significant_drop};
pub use name::{InvalidName, check_file_name};
pub use observer::{FanOut, Observer, RunStarted};
pub use replay::{OutputDecoder, decode_output, regrade};
pub use result::{
    Budgets, GitInfo, Producer, Resumed, RunMeta, RunResult, RunStatus, SCHEMA_VERSION, Selection, SuiteInfo,
    TaskResult,
};
pub use runner::{RunOptions, grade, run};
pub use scorecard::{PairClass, PairVerdict, Scorecard, ScorecardChange, ScorecardEntry, ScorecardError};
pub use scorer::{FnScorer, IntoFeedback, ScoreFuture, ScoreInput, Scorer, ScorerSpec, Scorers, Threshold, scorer_fn};
pub use store::{Store, StoreError, load_run, load_task_records, save_json, save_run, save_task_records};
pub use suite::Suite;
pub use task::{ContentHash, Task, TaskOrigin};
pub use trace::{Custom, Event, Exception, ModelResponse, TokenUsage, ToolCall, ToolError, ToolResult, Trace};
