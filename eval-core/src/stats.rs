//! The statistics behind gating repeated pairs and reporting pass rates: exact tests of a drop
//! against the baseline, estimates of a rate or a mean, and the paired tests that say whether
//! two runs differ by more than noise.

mod drop_test;
mod estimate;
mod paired;
mod sequential;

pub use drop_test::{Attempts, SuiteDrop, attempts_to_show_drop, drop_p_value, suite_drop};
pub use estimate::{PassAtK, mean_interval, wilson_interval, wilson_interval_of_rate};
pub use paired::{SignedRank, SignedRankMethod, WILCOXON_EXACT_UP_TO, sign_test, signed_rank_test};
pub use sequential::{Look, SETTLE_BELOW, SequentialPlan};
