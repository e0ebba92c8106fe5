//! Pairwise comparison: which of two runs answered each task better, asked of comparators (a
//! judge model asking in both orders, people's labels, code of your own), rolled up per key
//! into wins, losses and ties, the win rate of the second run with a Wilson 95% interval, the
//! position flips of a judge, and the agreement (Cohen's κ) between two comparators. Saved as
//! AG2's pairwise JSON.

mod comparison;
mod evaluate;
mod run;
mod sheet;

pub use comparison::{Comparator, Comparison, ComparisonFuture, Pair, Side, Winner};
pub use evaluate::{PairwiseError, PairwiseOptions, evaluate_pairwise};
pub use run::{Agreement, PAIRWISE_SCHEMA_VERSION, PairwiseCase, PairwiseRun, WinRate};
pub use sheet::{HumanLabels, SheetRow, pairwise_sheet, write_sheet};
