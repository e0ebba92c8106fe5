//! A run with what was decided about each of its pairs and gates: the one record every report
//! reads (the JUnit file, the GitHub step summary and pull-request comment, the HTML page).
//!
//! The harness fills it from the outcomes its tests reported; `cargo eval junit`, `comment`
//! and `report` fill it from stored runs, deciding each pair against a baseline run with the
//! gate's own rule and wording.

pub(crate) mod model;
mod of_runs;
mod of_suite;
mod rows;
#[cfg(feature = "history")]
mod trends;

pub use model::{GateRow, KeyRate, PairRow, RowStatus, RunReport, Trend, TrendPoint};
pub use of_runs::Baseline;
pub(crate) use of_suite::of_suite;
