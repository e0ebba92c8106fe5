//! The engine of agent evals: load a suite, run an agent over it, grade every task, and get the
//! results back in memory. Nothing is asserted and nothing is written unless asked.
//!
//! Data flows one way: dataset → [`Suite`] of [`Task`]s → [`Agent`] runs (recording a
//! [`Trace`] through [`Ctx`]) → [`Scorer`]s → [`Feedback`] → [`RunResult`] of [`TaskRecord`]s
//! → [`Store`] and [`diff`](fn@diff).
//!
//! The root holds what driving an evaluation from code takes: [`run`] (or [`run_owned`]) and [`regrade`](fn@regrade), the
//! suite, the agent's side, scoring, the result, the store and the diff. Everything else lives
//! in the module named for its concept:
//!
//! | module | what it holds |
//! |---|---|
//! | [`task`], [`dataset`] | a task's parts and content hash; why a dataset did not load |
//! | [`trace`] | the [`Event`](trace::Event)s of a trace, exceptions, token usage |
//! | [`scorer`], [`scorers`] | writing scorers (thresholds, [`FnScorer`](scorer::FnScorer)); the built-in ones |
//! | [`runner`], [`regrade`](mod@regrade), [`observer`] | running and grading, stored outputs read back, lifecycle hooks |
//! | [`result`], [`aggregates`], [`tally`] | run metadata ([`RunMeta`](result::RunMeta), [`RunStatus`](result::RunStatus)); pass rates and statistics; how feedback counts toward a pass rate |
//! | [`store`], [`file_name`] | run files and the run directory; the file-name rule for ids |
//! | [`diff`](mod@diff) | the parts of a [`RunDiff`] |
//! | [`compare`](mod@compare) | a leaderboard of two or more runs: rates and means with intervals, the best run, paired tests, disagreeing tasks |
//! | [`scorecard`], [`gate`], [`stats`] | the baseline projection; deciding a pair against it; the tests behind that |
//! | [`judge`] | scorers that ask a model: the built-in judge, the chat-model trait, an OpenAI-compatible client |
//! | [`calibration`] | a judge against people's labels: label sheets, agreement, κ, the confusion matrix |
//! | [`variant`] | one configuration of the agent under a name: what a suite's variants are |
//! | [`otlp`] | traces recorded elsewhere (OTLP JSON) as traces a suite's scorers grade |
//! | [`pairwise`] | which of two runs answered each task better: comparators, win rates, flips, AG2's pairwise JSON |
//! | [`cassette`], [`capture`], [`canonical`] | recorded model and tool calls; `tracing` spans into traces; canonical JSON |

// The library has no unsafe code; its unit tests make FIFOs through libc.
#![cfg_attr(not(test), forbid(unsafe_code))]

mod agent;
pub mod aggregates;
mod atomic_file;
pub mod calibration;
pub mod canonical;
pub mod capture;
pub mod cassette;
pub mod compare;
mod ctx;
pub mod dataset;
pub mod diff;
mod feedback;
pub mod file_name;
#[cfg(test)]
mod fixtures;
pub mod gate;
#[cfg(feature = "history")]
pub mod history;
pub mod judge;
// Reached only through `__harness`, an internal API; its items are documented where the
// harness uses them.
#[allow(missing_docs)]
mod journal;
pub mod merge;
pub mod observer;
pub mod otlp;
pub mod pairwise;
mod panic;
mod record;
pub mod regrade;
mod regular_file;
pub mod result;
mod run_summary;
pub mod runner;
mod score_ctx;
pub mod scorecard;
pub mod scorer;
pub mod scorers;
pub mod stats;
pub mod store;
mod suite;
pub mod tally;
pub mod task;
pub mod trace;
pub mod variant;
mod wire;

pub use agent::Agent;
pub use cassette::{CassetteMode, Cassettes};
pub use ctx::{Ctx, PROMPT_EVENT};
pub use diff::{DiffMode, RunDiff, diff};
pub use feedback::{Feedback, Score, Verdict};
pub use record::TaskRecord;
pub use regrade::{decode_output, regrade};
pub use result::RunResult;
pub use runner::{RunOptions, run, run_owned};
pub use score_ctx::ScoreCtx;
pub use scorer::{IntoFeedback, ScoreFuture, ScoreInput, Scorer, ScorerSpec, Scorers, scorer_fn};
pub use store::{Store, load_run};
pub use suite::Suite;
pub use task::Task;
pub use trace::Trace;

/// What `eval-harness` needs of the engine beyond its public API: the journal that lets an
/// interrupted run resume, and the files cargo-nextest's processes share. Not a public API: it
/// changes without notice.
#[doc(hidden)]
pub mod __harness {
    pub use crate::atomic_file::replace_with;
    pub use crate::journal::{
        JournalContents, JournalError, JournalHeader, JournalObserver, JournalWriter, read_journal,
    };
    pub use crate::regular_file::is_in_use;
    pub use crate::store::run_files::{load_task_records, save_json, save_task_records};
}
