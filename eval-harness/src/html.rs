//! The HTML report: one self-contained page (no network, no CDN) for a run, to open from a CI
//! artifact. The summary, pass rates with their intervals and change against the baseline, a
//! trend chart per key when the store has earlier runs, the pairs against the baseline, a
//! sortable and filterable table of every pair, and per task its transcript (inputs, model
//! responses, tool calls with their arguments and results, errors, tokens, durations, the
//! scorers' comments and the judges' own traces).
//!
//! It renders a [`RunReport`](crate::run_report::RunReport): the harness writes it from the
//! outcomes it decided (`EVAL_HTML_REPORT`), `cargo eval report` for a stored run. Strings from
//! the run never reach the page as markup: the server-rendered parts escape them, and the table
//! and transcripts are built by the page's script from JSON with `textContent`. Long values are
//! cut with a marker, so a run with huge outputs still opens quickly.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use eval_harness::run_report::RunReport;
//! let run = eval_harness::core::store::load_run("target/evals/weather/01J.json")?;
//! std::fs::write("report.html", eval_harness::html::page(&RunReport::of_runs(&run, None)))?;
//! # Ok(()) }
//! ```

mod beside_runs;
mod chart;
mod data;
mod page;
mod text;

pub(crate) use beside_runs::write_html_reports;
pub use page::page;
