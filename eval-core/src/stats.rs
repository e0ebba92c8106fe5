//! The statistics behind gating repeated pairs and reporting pass rates: exact tests of a drop
//! against the baseline, and estimates of a rate from its counts.

mod drop_test;
mod estimate;
mod sequential;

pub use drop_test::{Attempts, SuiteDrop, attempts_to_show_drop, drop_p_value, suite_drop};
pub use estimate::{PassAtK, wilson_interval};
pub use sequential::{Look, SETTLE_BELOW, SequentialPlan};
