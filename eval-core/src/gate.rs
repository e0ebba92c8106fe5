//! The outcome table: what a pair's verdict means, given the baseline's.
//!
//! | current | baseline | outcome |
//! |---|---|---|
//! | pass | anything | ok (an improvement when the baseline failed) |
//! | fail | pass | regression |
//! | fail | fail | known failure |
//! | fail | none, or the task's content changed | new failure |
//! | informational, advisory | — | ok, shown |
//!
//! With repeats a pair is decided from both counts, the baseline's passes/attempts and this
//! run's: it regresses when it went from passing every attempt to passing none, when its rate
//! falls below the floor, or when an exact test ([`drop_p_value`]) says chance does not explain
//! the drop, whatever the baseline's rate was (a flaky baseline can regress too). Other drops
//! are flaky, or known failures when the baseline failed as well.
//!
//! With adaptive repeats ([`AdaptiveRepeats`]) a pair is decided by a sequential test
//! ([`adaptive_plan`]): on its counts at the attempt where that test regressed or settled it,
//! at the level the test holds each look to.

use crate::feedback::Verdict;
use crate::record::TaskRecord;
use crate::runner::Settle;
use crate::scorecard::{PairClass, PairVerdict, Scorecard, ScorecardEntry};
use crate::stats::Look;
use crate::stats::{SequentialPlan, drop_p_value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// What a pair's test reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// Passes. `improvement` when the baseline had it failing.
    Pass {
        /// The baseline had the pair failing.
        improvement: bool,
    },
    /// Was a stable pass in the baseline, fails now.
    Regression,
    /// Fails now and failed in the baseline.
    KnownFailure,
    /// Fails now and the baseline has no entry for it (or the task's content changed).
    NewFailure {
        /// The task's content changed since the baseline.
        content_changed: bool,
    },
    /// Passes some attempts but not all, without enough evidence of a regression.
    Flaky {
        /// Attempts that passed.
        passed: u32,
        /// Attempts graded.
        attempts: u32,
    },
    /// A number without threshold or a label.
    Informational,
    /// An advisory scorer that did not pass: shown, never failing.
    AdvisoryFailure,
    /// The scorer had nothing to say about this task.
    NotApplicable,
}

impl Decision {
    /// Whether the pair's test fails.
    pub fn fails(self) -> bool {
        matches!(self, Decision::Regression | Decision::NewFailure { .. })
    }
}

/// When a drop in a repeated pair's pass rate counts as a regression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegressionPolicy {
    /// Significance level of the one-sided binomial test.
    pub alpha: f64,
    /// A pass rate below this is a regression whatever the test says.
    pub floor: Option<f64>,
}

impl Default for RegressionPolicy {
    fn default() -> Self {
        RegressionPolicy {
            alpha: 0.05,
            floor: None,
        }
    }
}

/// Decides a pair's outcome from its current verdict and the baseline's entry.
pub fn decide(
    current: &ScorecardEntry,
    baseline: Option<&ScorecardEntry>,
    advisory: bool,
    policy: RegressionPolicy,
) -> Decision {
    let class = current.verdict.class();
    match class {
        PairClass::Info => return Decision::Informational,
        PairClass::NotApplicable => return Decision::NotApplicable,
        PairClass::StableFail | PairClass::Flaky if advisory => return Decision::AdvisoryFailure,
        _ => {}
    }
    // A baseline entry of a task whose content changed says nothing about the task as it is.
    let content_changed = baseline.is_some_and(|b| b.content_hash != current.content_hash);
    let baseline = baseline.filter(|_| !content_changed);
    let baseline_class = baseline.map(|b| b.verdict.class());
    match class {
        PairClass::StablePass => Decision::Pass {
            improvement: matches!(baseline_class, Some(PairClass::StableFail | PairClass::Flaky)),
        },
        PairClass::StableFail | PairClass::Flaky => {
            let Some(base) = baseline else {
                return match class {
                    PairClass::StableFail => Decision::NewFailure { content_changed },
                    _ => flaky(current.verdict),
                };
            };
            // A pair that always passed and now never does regressed, however few its
            // attempts: the rule without repeats. Every other drop needs evidence.
            if class == PairClass::StableFail && base.verdict.class() == PairClass::StablePass {
                return Decision::Regression;
            }
            let repeated = matches!(current.verdict, PairVerdict::Repeated { .. })
                || matches!(base.verdict, PairVerdict::Repeated { .. });
            let regressed = repeated
                && match (current.verdict.pass_count(), base.verdict.pass_count()) {
                    (Some((passed, attempts)), Some((base_passed, base_attempts))) => {
                        is_significant_drop(passed, attempts, base_passed, base_attempts, policy)
                    }
                    _ => false,
                };
            match (regressed, class, base.verdict.class()) {
                (true, _, _) => Decision::Regression,
                (false, PairClass::StableFail, PairClass::StableFail | PairClass::Flaky) => Decision::KnownFailure,
                (false, PairClass::StableFail, _) => Decision::NewFailure { content_changed },
                (false, _, _) => flaky(current.verdict),
            }
        }
        PairClass::Info | PairClass::NotApplicable => Decision::Informational,
    }
}

/// The outcome of a pair that passed some attempts and not enough evidence says it dropped.
fn flaky(verdict: PairVerdict) -> Decision {
    match verdict {
        PairVerdict::Repeated { passed, attempts } => Decision::Flaky { passed, attempts },
        _ => Decision::Flaky { passed: 0, attempts: 0 },
    }
}

/// Whether `passed`/`attempts` is a drop from a baseline of `base_passed`/`base_attempts` that
/// chance does not explain, or a rate below the policy's floor.
pub fn is_significant_drop(
    passed: u32,
    attempts: u32,
    base_passed: u32,
    base_attempts: u32,
    policy: RegressionPolicy,
) -> bool {
    drop_evidence(passed, attempts, base_passed, base_attempts, policy).is_some_and(|e| e.is_regression())
}

/// The numbers that decide whether a repeated pair's drop is a regression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DropEvidence {
    /// The current pass rate.
    pub rate: f64,
    /// The floor it fell below, if it did.
    pub below_floor: Option<f64>,
    /// P(this few passes or fewer) if the baseline's rate still held.
    pub p_value: f64,
    /// The significance level the p-value is held to.
    pub alpha: f64,
}

impl DropEvidence {
    /// Whether the evidence makes the drop a regression: the rate fell below the floor, or the drop is significant.
    pub fn is_regression(&self) -> bool {
        self.below_floor.is_some() || self.p_value < self.alpha
    }
}

impl std::fmt::Display for DropEvidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.below_floor {
            Some(floor) => write!(f, "pass rate {:.2} is below the floor {floor}", self.rate),
            None if self.p_value < self.alpha => write!(f, "p = {:.4} < α = {}", self.p_value, self.alpha),
            None => write!(f, "p = {:.4} ≥ α = {}", self.p_value, self.alpha),
        }
    }
}

/// The evidence about a drop from `base_passed`/`base_attempts` to `passed`/`attempts`
/// (`None` without attempts): the floor, and the p-value of [`drop_p_value`], which uses both
/// counts (a baseline with many attempts knows its rate well) and holds its false-alarm rate
/// at `alpha` whatever the true pass rate is.
pub fn drop_evidence(
    passed: u32,
    attempts: u32,
    base_passed: u32,
    base_attempts: u32,
    policy: RegressionPolicy,
) -> Option<DropEvidence> {
    if attempts == 0 {
        return None;
    }
    let rate = f64::from(passed) / f64::from(attempts);
    Some(DropEvidence {
        rate,
        below_floor: policy.floor.filter(|floor| rate < *floor),
        p_value: drop_p_value(base_passed, base_attempts, passed, attempts),
        alpha: policy.alpha,
    })
}

/// The sequential plan of adaptive repeats `min..=max` against baselines of `base_attempts`
/// attempts a pair, at the policy's α (computed once per process for each combination).
///
/// Decided with [`SequentialPlan::look_alpha`] as its α, a pair's final counts get the
/// verdict the plan gave them: the drop test, and a pair that passed every baseline attempt
/// and now none regressing whatever the counts, are the rejections the plan is calibrated on.
/// The floor is not part of it: an absolute rule, it is applied to the final counts.
///
/// ```
/// use eval_engine::gate::{RegressionPolicy, adaptive_plan};
/// use eval_engine::stats::Look;
/// let plan = adaptive_plan(3, 10, 50, RegressionPolicy::default());
/// assert!(plan.look_alpha() < 0.05);
/// assert_eq!(plan.look(48, 1, 3), Look::Regressed, "1/3 against 48/50 is a drop already");
/// assert_eq!(plan.look(48, 3, 3), Look::Undecided, "3/3 cannot yet rule a drop out");
/// assert_eq!(plan.look(48, 5, 5), Look::Settled);
/// ```
pub fn adaptive_plan(min: u32, max: u32, base_attempts: u32, policy: RegressionPolicy) -> Arc<SequentialPlan> {
    type Key = (u32, u32, u32, u64);
    static PLANS: OnceLock<Mutex<HashMap<Key, Arc<SequentialPlan>>>> = OnceLock::new();
    let key = (min, max, base_attempts, policy.alpha.to_bits());
    let plans = PLANS.get_or_init(Default::default);
    if let Some(plan) = plans.lock().unwrap_or_else(PoisonError::into_inner).get(&key) {
        return plan.clone();
    }
    let plan = Arc::new(SequentialPlan::calibrate(
        min,
        max,
        base_attempts,
        policy.alpha,
        |x0, x, n| drop_level(x0, base_attempts, x, n),
    ));
    plans
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(key, plan.clone());
    plan
}

/// Adaptive repeats `min..=max`: the pairs' attempts, and the level each pair is decided at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdaptiveRepeats {
    /// Attempts every task gets.
    pub min: u32,
    /// Attempts an undecided task gets at most.
    pub max: u32,
}

impl AdaptiveRepeats {
    /// The policy a pair of this run is decided with against its `baseline` entry: the look
    /// level of the plan for the baseline's attempts (the policy itself when there is no
    /// baseline count to test against).
    pub fn policy(self, baseline: Option<&ScorecardEntry>, policy: RegressionPolicy) -> RegressionPolicy {
        match baseline.and_then(|b| b.verdict.pass_count()) {
            Some((_, n0)) => RegressionPolicy {
                alpha: adaptive_plan(self.min, self.max, n0, policy).look_alpha(),
                ..policy
            },
            None => policy,
        }
    }

    /// Where `current` stands against `baseline`: a pair without a baseline count to test
    /// against, or without a count of its own (informational, not applicable), is settled;
    /// so is a pair whose floor decides it already.
    pub fn look(self, current: PairVerdict, baseline: Option<&ScorecardEntry>, policy: RegressionPolicy) -> Look {
        let (Some((x, n)), Some((x0, n0))) = (current.pass_count(), baseline.and_then(|b| b.verdict.pass_count()))
        else {
            return Look::Settled;
        };
        if policy.floor.is_some_and(|floor| f64::from(x) / f64::from(n) < floor) {
            return Look::Regressed;
        }
        adaptive_plan(self.min, self.max, n0, policy).look(x0, x, n)
    }

    /// The verdict a pair was decided on, from the verdict of each of its attempts in attempt
    /// order: its counts at the first look (from `min` attempts on) that regressed or settled
    /// it, and that look; all its attempts and [`Look::Undecided`] when none did. A task goes on
    /// while any of its pairs is undecided, and the attempts made for the others do not count
    /// for a pair already decided: the sequential plan holds its false-alarm rate only so.
    pub fn decided(
        self,
        attempts: &[Option<Verdict>],
        baseline: Option<&ScorecardEntry>,
        policy: RegressionPolicy,
    ) -> (PairVerdict, Look) {
        for n in (self.min as usize).min(attempts.len())..attempts.len() {
            let verdict = PairVerdict::from_attempts(attempts[..n].iter().copied());
            if n > 0 {
                let look = self.look(verdict, baseline, policy);
                if look != Look::Undecided {
                    return (verdict, look);
                }
            }
        }
        let verdict = PairVerdict::from_attempts(attempts.iter().copied());
        let look = match attempts.is_empty() {
            true => Look::Undecided,
            false => self.look(verdict, baseline, policy),
        };
        (verdict, look)
    }
}

/// The [`Settle`] rule of adaptive repeats against a baseline scorecard: a task is settled
/// once every gating pair of it is (advisory keys never hold a task back; a task whose content
/// changed since the baseline has nothing to test against).
pub struct SettleAgainst {
    /// The attempts.
    pub repeats: AdaptiveRepeats,
    /// The baseline's entries.
    pub baseline: Scorecard,
    /// The keys that gate (not advisory).
    pub keys: Vec<String>,
    /// The policy of the gate.
    pub policy: RegressionPolicy,
}

impl Settle for SettleAgainst {
    fn settled(&self, task_id: &str, attempts: &[&TaskRecord]) -> bool {
        let Some(first) = attempts.first() else {
            return false;
        };
        self.keys.iter().all(|key| {
            let baseline = self
                .baseline
                .get(task_id, key)
                .filter(|b| b.content_hash == first.content_hash);
            let verdicts: Vec<Option<Verdict>> = attempts.iter().map(|a| a.verdict(key)).collect();
            self.repeats.decided(&verdicts, baseline, self.policy).1 != Look::Undecided
        })
    }
}

/// The smallest α at which `x`/`n` regresses from `x0`/`n0` in [`decide`] (floor aside): 0
/// for every baseline attempt passing and none now, else the drop test's p-value.
fn drop_level(x0: u32, n0: u32, x: u32, n: u32) -> f64 {
    if x0 == n0 && x == 0 {
        0.0
    } else {
        drop_p_value(x0, n0, x, n)
    }
}

/// P(X ≤ k) for X ~ Binomial(n, p).
pub fn binomial_cdf(k: u32, n: u32, p: f64) -> f64 {
    let mut total = 0.0;
    for i in 0..=k.min(n) {
        total += binomial_coefficient(n, i) * p.powi(i as i32) * (1.0 - p).powi((n - i) as i32);
    }
    total.min(1.0)
}

fn binomial_coefficient(n: u32, k: u32) -> f64 {
    let k = k.min(n - k);
    (0..k).fold(1.0, |acc, i| acc * f64::from(n - i) / f64::from(i + 1))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_largest_baseline_counts_do_not_overflow() {
        let policy = RegressionPolicy::default();
        assert!(super::is_significant_drop(0, 5, u32::MAX, u32::MAX, policy));
        assert!(!super::is_significant_drop(5, 5, u32::MAX, u32::MAX, policy));
    }

    use super::*;

    fn e(hash: &str, verdict: PairVerdict) -> ScorecardEntry {
        ScorecardEntry {
            content_hash: crate::task::ContentHash::from_stored(hash),
            verdict,
        }
    }

    fn rep(passed: u32, attempts: u32) -> PairVerdict {
        PairVerdict::Repeated { passed, attempts }
    }

    const P: RegressionPolicy = RegressionPolicy {
        alpha: 0.05,
        floor: None,
    };

    #[test]
    fn the_outcome_table() {
        let pass = e("aa", PairVerdict::Pass);
        let fail = e("aa", PairVerdict::Fail);
        let error = e("aa", PairVerdict::Ungradeable);
        assert_eq!(
            decide(&pass, Some(&pass), false, P),
            Decision::Pass { improvement: false }
        );
        assert_eq!(
            decide(&pass, Some(&fail), false, P),
            Decision::Pass { improvement: true }
        );
        assert_eq!(decide(&pass, None, false, P), Decision::Pass { improvement: false });
        assert_eq!(decide(&fail, Some(&pass), false, P), Decision::Regression);
        assert_eq!(
            decide(&error, Some(&pass), false, P),
            Decision::Regression,
            "a crashing scorer regresses"
        );
        assert_eq!(decide(&fail, Some(&fail), false, P), Decision::KnownFailure);
        assert_eq!(
            decide(&fail, None, false, P),
            Decision::NewFailure { content_changed: false }
        );
        let drifted = e("bb", PairVerdict::Pass);
        assert_eq!(
            decide(&fail, Some(&drifted), false, P),
            Decision::NewFailure { content_changed: true }
        );
        assert_eq!(
            decide(&pass, Some(&e("bb", PairVerdict::Fail)), false, P),
            Decision::Pass { improvement: false }
        );
        assert_eq!(decide(&fail, Some(&pass), true, P), Decision::AdvisoryFailure);
        assert_eq!(
            decide(&e("aa", PairVerdict::Informational), Some(&pass), false, P),
            Decision::Informational
        );
        assert_eq!(
            decide(&e("aa", PairVerdict::NotApplicable), None, false, P),
            Decision::NotApplicable
        );
    }

    #[test]
    fn repeats_regress_only_on_evidence() {
        let stable = e("aa", rep(5, 5));
        assert_eq!(
            decide(&e("aa", rep(0, 5)), Some(&stable), false, P),
            Decision::Regression
        );
        assert_eq!(
            decide(&e("aa", rep(1, 5)), Some(&stable), false, P),
            Decision::Regression
        );
        assert_eq!(
            decide(&e("aa", rep(3, 5)), Some(&stable), false, P),
            Decision::Flaky { passed: 3, attempts: 5 }
        );
        assert_eq!(
            decide(&e("aa", rep(5, 5)), Some(&e("aa", rep(3, 5))), false, P),
            Decision::Pass { improvement: true }
        );
        let floor = RegressionPolicy {
            alpha: 0.05,
            floor: Some(0.8),
        };
        assert_eq!(
            decide(&e("aa", rep(3, 5)), Some(&stable), false, floor),
            Decision::Regression
        );
    }

    #[test]
    fn a_flaky_baseline_can_regress() {
        // 3/5 then 0/5: chance would give this less than 5% of the time, whatever the rate.
        assert_eq!(
            decide(&e("aa", rep(0, 5)), Some(&e("aa", rep(3, 5))), false, P),
            Decision::Regression
        );
        // 9/10 then 0/10: a known failure before; a regression now.
        assert_eq!(
            decide(&e("aa", rep(0, 10)), Some(&e("aa", rep(9, 10))), false, P),
            Decision::Regression
        );
        // 2/5 then 0/5: not enough evidence; it failed before too.
        assert_eq!(
            decide(&e("aa", rep(0, 5)), Some(&e("aa", rep(2, 5))), false, P),
            Decision::KnownFailure
        );
        assert_eq!(
            decide(&e("aa", rep(2, 5)), Some(&e("aa", rep(3, 5))), false, P),
            Decision::Flaky { passed: 2, attempts: 5 }
        );
        assert_eq!(
            decide(&e("aa", rep(0, 5)), Some(&e("aa", rep(0, 5))), false, P),
            Decision::KnownFailure
        );
    }

    #[test]
    fn mixed_attempt_counts_use_the_baseline_s_evidence() {
        // 1/3 is a drop from 48/50, not from 3/3.
        assert_eq!(
            decide(&e("aa", rep(1, 3)), Some(&e("aa", rep(48, 50))), false, P),
            Decision::Regression
        );
        assert_eq!(
            decide(&e("aa", rep(1, 3)), Some(&e("aa", rep(3, 3))), false, P),
            Decision::Flaky { passed: 1, attempts: 3 }
        );
        // A baseline of one attempt that passed: only a stable fail regresses.
        let single = e("aa", PairVerdict::Pass);
        assert_eq!(
            decide(&e("aa", rep(0, 3)), Some(&single), false, P),
            Decision::Regression
        );
        assert_eq!(
            decide(&e("aa", rep(1, 3)), Some(&single), false, P),
            Decision::Flaky { passed: 1, attempts: 3 }
        );
        // A repeated baseline and a single attempt now.
        assert_eq!(
            decide(&e("aa", PairVerdict::Fail), Some(&e("aa", rep(50, 50))), false, P),
            Decision::Regression
        );
        assert_eq!(
            decide(&e("aa", PairVerdict::Fail), Some(&e("aa", rep(30, 50))), false, P),
            Decision::KnownFailure
        );
        // A new pair that is flaky is reported, not failed.
        assert_eq!(
            decide(&e("aa", rep(2, 5)), None, false, P),
            Decision::Flaky { passed: 2, attempts: 5 }
        );
    }

    #[test]
    fn binomial() {
        assert!((binomial_cdf(5, 5, 0.3) - 1.0).abs() < 1e-12);
        assert!((binomial_cdf(0, 3, 0.5) - 0.125).abs() < 1e-12);
        assert!((binomial_cdf(1, 3, 0.5) - 0.5).abs() < 1e-12);
    }
}
