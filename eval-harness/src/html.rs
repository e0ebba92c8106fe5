//! The HTML report: one self-contained page (no network, no CDN) for a run, to open from a CI
//! artifact. The summary, pass rates with their intervals and change against the baseline, a
//! trend chart per key when the store has earlier runs, the pairs against the baseline, a
//! sortable and filterable table of every pair, and per task its transcript (inputs, model
//! responses, tool calls with their arguments and results, errors, tokens, durations, the
//! scorers' comments and the judges' own traces).
//!
//! The harness writes it from the outcomes it decided (`EVAL_HTML_REPORT`); `cargo eval report`
//! writes it for a stored run, deciding each pair against a baseline run with the same rule.
//! Strings from the run never reach the page as markup: the server-rendered parts escape them,
//! and the table and transcripts are built by the page's script from JSON with `textContent`.
//! Long values are cut with a marker, so a run with huge outputs still opens quickly.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let run = eval_harness::core::store::load_run("target/evals/weather/01J.json")?;
//! let page = eval_harness::html::Page::of_runs(&run, None);
//! std::fs::write("report.html", page.render())?;
//! # Ok(()) }
//! ```

mod chart;
mod data;
mod decided;
mod model;
mod of_runs;
mod page;
mod text;
#[cfg(feature = "history")]
mod trends;

pub(crate) use decided::write_html_reports;
pub use model::{KeyRate, Page, PairRow, RowStatus, Trend, TrendPoint};
#[cfg(feature = "history")]
pub use trends::trends_from_history;
