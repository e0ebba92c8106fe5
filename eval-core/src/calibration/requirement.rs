//! What a judge needs of people's labels to gate: a leaf, so that a scorer can name it without
//! the rest of the calibration (which reads runs, and so scorers).

use std::path::PathBuf;

/// The agreement a judge must have with people's labels to gate: a committed labels file
/// (the JSONL `cargo eval calibrate` reads) and the least Cohen's κ between those labels and
/// the judge's reviewed pass/fail verdicts. A judge below it is advisory: recorded and shown,
/// never failing a test.
#[derive(Debug, Clone, PartialEq)]
pub struct Requirement {
    /// The labels file, relative to the crate's manifest directory unless absolute.
    pub labels: PathBuf,
    /// The least κ for the judge to gate.
    pub min_kappa: f64,
}
