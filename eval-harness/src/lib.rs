//! Agent evals as cargo tests.
//!
//! Write an async function that runs your agent on one task, a few `#[scorer]` functions and a
//! JSONL dataset; `#[eval_suite]` wires them together and `eval_harness::main!()` turns the test
//! target into a harness: `cargo test --test evals` reports every (task, scorer) pair as its own
//! test, persists the run as JSON, and fails exactly the pairs that flipped from pass to fail
//! against a baseline snapshot reviewed with `cargo insta review`.
//!
//! ```toml
//! [dev-dependencies]
//! eval-harness = "0.1"
//!
//! [[test]]
//! name = "evals"
//! harness = false
//! ```
//!
//! The engine is [`eval_engine`], re-exported as [`core`], for driving evaluations from code.

mod baseline;
mod board;
pub mod cleanup;
mod conclusion;
mod env;
mod execution;
mod git;
mod harness;
pub mod html;
mod inputs;
pub mod junit;
mod last;
pub mod names;
pub mod nextest;
mod outcome;
mod output;
mod plan;
pub mod prelude;
mod registry;
mod regrade_probe;
mod report;
pub mod run_report;
mod running;
mod runtimes;
mod selection;
mod sharing;
mod signals;
mod span_export;
pub mod step_summary;
mod suite_def;
#[cfg(test)]
mod test_support;
mod trials;
mod variant_runs;
mod variants;

pub use eval_engine as core;
pub use eval_macros::{eval_suite, scorer};

/// Turns the test target into the eval harness: `eval_harness::main!();` runs every suite of
/// the target, `eval_harness::main!(weather, travel::paris);` runs the listed ones.
///
/// It must be expanded in the test target itself: the baseline snapshot is written through an
/// assertion expanded here, so that it lands next to the test file.
#[macro_export]
macro_rules! main {
    () => {
        fn main() -> ::std::process::ExitCode {
            $crate::__private::run_main(
                $crate::__private::registered_suites(),
                &$crate::__snapshot_writer!(),
                ::std::option_env!("CARGO_TARGET_TMPDIR"),
            )
        }
    };
    ($($($segment:ident)::+),+ $(,)?) => {
        fn main() -> ::std::process::ExitCode {
            $crate::__private::run_main(
                ::std::vec![$($($segment)::+ ::__eval_suite()),+],
                &$crate::__snapshot_writer!(),
                ::std::option_env!("CARGO_TARGET_TMPDIR"),
            )
        }
    };
}

/// The closure that writes a scorecard through insta, expanded in the user's test crate so that
/// insta attributes the snapshot to it.
#[doc(hidden)]
#[macro_export]
macro_rules! __snapshot_writer {
    () => {
        |write: &$crate::__private::SnapshotWrite<'_>| {
            let mut settings = $crate::__private::insta::Settings::clone_current();
            settings.set_snapshot_path(write.dir);
            settings.set_prepend_module_to_snapshot(true);
            settings.set_omit_expression(true);
            settings.set_description(write.description);
            if let ::std::option::Option::Some(suffix) = write.suffix {
                settings.set_snapshot_suffix(suffix);
            }
            settings.bind(|| {
                $crate::__private::insta::assert_snapshot!(write.name, write.body);
            });
        }
    };
}

/// What generated code needs. Not a public API: it changes without notice.
#[doc(hidden)]
pub mod __private {
    pub use crate::baseline::SnapshotWrite;
    pub use crate::harness::run_main;
    pub use crate::registry::{SuiteRegistration, registered_suites};
    pub use crate::regrade_probe::{RegradeByDeserialize, RegradeNotPossible, RegradeProbe, ResultParts};
    pub use crate::suite_def::{IntoTasks, SuiteBuilder, SuiteDef, SuiteSite, TaskSource, suite};
    pub use eval_engine::dataset::DatasetError;
    pub use eval_engine::scorer::Threshold;
    pub use eval_engine::{
        Ctx, Feedback, IntoFeedback, ScoreFuture, ScoreInput, Scorer, ScorerSpec, Suite, Task, Trace,
    };
    pub use insta;
    pub use inventory;

    /// Names the type parameters of a task type, so generated code can write
    /// `<Task as TaskTypes>::Inputs` without resolving default parameters itself.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` is not a task: take `task: &Task` or `task: &Task<Inputs, Reference>`",
        label = "not a `Task`"
    )]
    pub trait TaskTypes {
        type Inputs;
        type Reference;
    }

    impl<I, R> TaskTypes for Task<I, R> {
        type Inputs = I;
        type Reference = R;
    }

    /// The feedback of a scorer that grades the agent's outputs when there are none: the agent
    /// failed, so the scorer cannot grade (which fails a gate).
    pub fn no_outputs<I, R, O>(input: &ScoreInput<'_, I, R, O>, key: &str) -> Vec<Feedback> {
        let why = match &input.trace.exception {
            Some(e) => format!("no outputs to grade: the agent failed ({}: {})", e.kind, e.message),
            None => "no outputs to grade".to_owned(),
        };
        vec![Feedback::ungradeable(key, why)]
    }
}
