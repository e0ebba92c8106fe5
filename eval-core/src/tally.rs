//! How feedback adds up to a pass rate, decided in one place for the aggregates, the diff, the
//! scorecard and the harness's report:
//!
//! - a pass and a fail count as such, and an **ungradeable** feedback counts as a **fail**: a
//!   gating scorer that starts crashing lowers the pass rate instead of quietly leaving the
//!   denominator (AG2 drops it; this crate deliberately does not);
//! - informational feedback (a number without threshold, a label) is shown, never counted;
//! - a key is **pass/fail** when any of its feedback passed or failed, or when none of it could
//!   be graded at all: a scorer that crashes on every task still gates.

use crate::feedback::Verdict;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the verdicts of one key's feedback add up to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Feedback that passed.
    pub passed: u64,
    /// Feedback that failed.
    pub failed: u64,
    /// Feedback that could not be graded.
    pub ungradeable: u64,
    /// Numbers without threshold and labels.
    pub informational: u64,
}

impl Tally {
    /// The tally of `verdicts`.
    pub fn of(verdicts: impl IntoIterator<Item = Verdict>) -> Tally {
        let mut tally = Tally::default();
        for verdict in verdicts {
            tally.add(verdict);
        }
        tally
    }

    /// Counts one more verdict.
    pub fn add(&mut self, verdict: Verdict) {
        match verdict {
            Verdict::Pass => self.passed += 1,
            Verdict::Fail => self.failed += 1,
            Verdict::Ungradeable => self.ungradeable += 1,
            Verdict::Informational => self.informational += 1,
        }
    }

    /// Both tallies together (a key across two runs, say).
    pub fn merged(self, other: Tally) -> Tally {
        Tally {
            passed: self.passed + other.passed,
            failed: self.failed + other.failed,
            ungradeable: self.ungradeable + other.ungradeable,
            informational: self.informational + other.informational,
        }
    }

    /// Whether the key is pass/fail: some feedback passed or failed, or none could be graded.
    pub fn is_pass_fail(&self) -> bool {
        self.passed + self.failed > 0 || (self.informational == 0 && self.ungradeable > 0)
    }

    /// Passed out of graded, an ungradeable feedback counting as a failed one.
    pub fn pass_count(&self) -> PassCount {
        PassCount {
            passed: self.passed,
            total: self.passed + self.failed + self.ungradeable,
        }
    }
}

/// How many pairs of a key passed, out of how many graded (ungradeable ones included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassCount {
    /// Pairs that passed.
    pub passed: u64,
    /// Pairs graded, ungradeable ones included.
    pub total: u64,
}

impl PassCount {
    /// `passed / total`, 0 when nothing was graded (as AG2).
    pub fn rate(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.passed as f64 / self.total as f64
        }
    }
}

/// Sums per key the `(passed, graded)` counts of scorecard pairs (see
/// [`PairVerdict::pass_count`](crate::scorecard::PairVerdict::pass_count)). The counts are a
/// scorecard file's `u32`s: a sum saturates rather than overflows, so that what is written reads
/// back.
pub fn sum_pair_counts<K: Ord>(pairs: impl IntoIterator<Item = (K, (u32, u32))>) -> BTreeMap<K, (u32, u32)> {
    let mut counts: BTreeMap<K, (u32, u32)> = BTreeMap::new();
    for (key, (passed, total)) in pairs {
        let count = counts.entry(key).or_default();
        count.0 = count.0.saturating_add(passed);
        count.1 = count.1.saturating_add(total);
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use Verdict::{Fail, Informational, Pass, Ungradeable};

    #[test]
    fn ungradeable_counts_as_a_fail_and_informational_not_at_all() {
        let tally = Tally::of([Pass, Fail, Ungradeable, Informational, Pass]);
        assert!(tally.is_pass_fail());
        assert_eq!(tally.pass_count(), PassCount { passed: 2, total: 4 });
        assert_eq!(tally.pass_count().rate(), 0.5);
    }

    #[test]
    fn a_key_never_gradeable_still_gates_and_an_informational_one_does_not() {
        let crashed = Tally::of([Ungradeable, Ungradeable]);
        assert!(crashed.is_pass_fail());
        assert_eq!(crashed.pass_count().rate(), 0.0);
        assert!(!Tally::of([Informational, Ungradeable]).is_pass_fail());
        assert!(!Tally::of([Informational]).is_pass_fail());
        assert!(!Tally::default().is_pass_fail());
        // Across two runs: a pass or a fail in either makes the key pass/fail.
        assert!(Tally::of([Informational]).merged(Tally::of([Fail])).is_pass_fail());
    }

    #[test]
    fn nothing_graded_is_a_rate_of_zero() {
        assert_eq!(PassCount::default().rate(), 0.0);
    }

    #[test]
    fn pair_counts_sum_per_key_and_saturate() {
        let sums = sum_pair_counts([("a", (1, 1)), ("b", (0, 1)), ("a", (2, 3)), ("b", (u32::MAX, u32::MAX))]);
        assert_eq!(sums["a"], (3, 4));
        assert_eq!(sums["b"], (u32::MAX, u32::MAX));
    }
}
