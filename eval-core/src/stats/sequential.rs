//! Adaptive repeats as a sequential test: every pair starts with `min` attempts, and a pair
//! gets one more at a time while its verdict is undecided, up to `max`.
//!
//! After each attempt (a *look*) the pair is decided one of three ways: it **regresses** when
//! the drop test rejects at the look level, it is **settled** (no regression) when even at its
//! observed pass rate a regression by `max` attempts has become unlikely, or it goes on.
//!
//! Looking after every attempt and stopping at the first rejection would raise the false-alarm
//! rate above the test's α, so each look is held to a smaller level, chosen so that the whole
//! procedure (every look, with its early stops) keeps its false-alarm rate at α for every true
//! pass rate: computed exactly, by following the probability of every path of counts from
//! `min` attempts to `max`, for every baseline count. A pair decided with the look level on
//! its final counts gets the verdict the procedure gave it, so the gate needs nothing else.

/// Every how many hundredths of a pass rate the false-alarm rate is computed at, searching for
/// its largest value (plus both ends).
const RATES: u32 = 400;

/// Baseline counts less likely than this under a rate are left out of that rate's sum: they
/// change nothing a float can hold.
const NEGLIGIBLE: f64 = 1e-15;

/// A pair stops as settled once the chance of a regression by `max` attempts, were it to go on
/// passing at its estimated rate, falls below this.
pub const SETTLE_BELOW: f64 = 0.01;

/// The boundaries of an adaptive plan for one baseline size: at each look and for each baseline
/// count, which counts regress and which are settled.
#[derive(Debug, Clone, PartialEq)]
pub struct SequentialPlan {
    min: u32,
    max: u32,
    look_alpha: f64,
    /// By baseline passes, then look (`n - min`): the largest pass count that regresses (or
    /// -1 when none does).
    regress_up_to: Vec<Vec<i64>>,
    /// By baseline passes, then look: the smallest pass count that settles the pair.
    settled_from: Vec<Vec<u32>>,
}

/// What a pair's counts mean at a look of an adaptive plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Look {
    /// The drop test rejects at the look level: the pair regressed.
    Regressed,
    /// No regression, and more attempts would most likely not find one (or `max` is reached).
    Settled,
    /// One more attempt.
    Undecided,
}

impl SequentialPlan {
    /// The plan for `min..=max` attempts against baselines of `n0` attempts, holding the
    /// false-alarm rate at `alpha`. `level(x0, x, n)` is the smallest significance level at
    /// which `x` passes in `n` attempts regress from a baseline of `x0` in `n0` (0 for a drop
    /// that always regresses, above 1 for one that never does); it must not fall as `x` grows.
    pub fn calibrate(min: u32, max: u32, n0: u32, alpha: f64, level: impl Fn(u32, u32, u32) -> f64) -> SequentialPlan {
        let min = min.max(1);
        let max = max.max(min);
        // The levels of the counts that might regress: above α nothing regresses at any look
        // level, so each row stops at the first such count.
        let levels: Vec<Vec<Vec<f64>>> = (0..=n0)
            .map(|x0| {
                (min..=max)
                    .map(|n| {
                        let mut row = Vec::new();
                        for x in 0..=n {
                            let l = level(x0, x, n);
                            row.push(l);
                            if l >= alpha {
                                break;
                            }
                        }
                        row
                    })
                    .collect()
            })
            .collect();
        let plan_at = |look_alpha: f64| SequentialPlan::with_level(min, max, look_alpha, &levels);
        // A look level matters only through the counts below it: the candidates are α itself and
        // every count's level under it. The false-alarm rate only grows with the look level, so a
        // bisection over the candidates finds the largest that holds it.
        let mut candidates: Vec<f64> = levels
            .iter()
            .flatten()
            .flatten()
            .copied()
            .filter(|l| *l < alpha)
            .collect();
        candidates.push(alpha);
        candidates.sort_by(f64::total_cmp);
        candidates.dedup();
        let holds = |look_alpha: f64| plan_at(look_alpha).worst_false_alarms(n0, alpha) <= alpha;
        // The smallest candidate regresses nothing but forced drops (level 0), which the fixed test
        // has too; should even those break α, the plan keeps them (they are the rule without repeats).
        let (mut low, mut high) = (0, candidates.len() - 1);
        if holds(candidates[high]) {
            return plan_at(candidates[high]);
        }
        while high - low > 1 {
            let middle = (low + high) / 2;
            if holds(candidates[middle]) {
                low = middle;
            } else {
                high = middle;
            }
        }
        plan_at(candidates[low])
    }

    /// The plan whose looks are held to `look_alpha`, given the counts' levels.
    fn with_level(min: u32, max: u32, look_alpha: f64, levels: &[Vec<Vec<f64>>]) -> SequentialPlan {
        let regress_up_to: Vec<Vec<i64>> = levels
            .iter()
            .map(|by_look| {
                by_look
                    .iter()
                    .map(|row| row.iter().take_while(|l| **l < look_alpha).count() as i64 - 1)
                    .collect()
            })
            .collect();
        let settled_from = regress_up_to
            .iter()
            .map(|bounds| {
                (min..=max)
                    .map(|n| {
                        // The first count from which the chance of a regression later is small.
                        (0..=n)
                            .find(|&x| {
                                i64::from(x) > bounds[(n - min) as usize]
                                    && later_regression(bounds, min, max, x, n) < SETTLE_BELOW
                            })
                            .unwrap_or(n + 1)
                    })
                    .collect()
            })
            .collect();
        SequentialPlan {
            min,
            max,
            look_alpha,
            regress_up_to,
            settled_from,
        }
    }

    /// The level each look's drop test is held to.
    pub fn look_alpha(&self) -> f64 {
        self.look_alpha
    }

    /// The fewest attempts of a pair.
    pub fn min(&self) -> u32 {
        self.min
    }

    /// The most attempts of a pair.
    pub fn max(&self) -> u32 {
        self.max
    }

    /// What `x` passes in `n` attempts mean against a baseline that passed `x0` times.
    pub fn look(&self, x0: u32, x: u32, n: u32) -> Look {
        let x0 = (x0 as usize).min(self.regress_up_to.len() - 1);
        let at = (n.clamp(self.min, self.max) - self.min) as usize;
        if i64::from(x) <= self.regress_up_to[x0][at] {
            Look::Regressed
        } else if n >= self.max || x >= self.settled_from[x0][at] {
            Look::Settled
        } else {
            Look::Undecided
        }
    }

    /// For an agent passing each attempt with `p` now and in a baseline of `n0` attempts:
    /// the chance that a pair regresses, and the attempts it takes on average.
    pub fn operating(&self, n0: u32, p0: f64, p: f64) -> (f64, f64) {
        let mut regressed = 0.0;
        let mut attempts = 0.0;
        for x0 in 0..=n0 {
            let weight = binomial_pmf(x0, n0, p0);
            if weight < NEGLIGIBLE {
                continue;
            }
            let (r, a) = self.paths(x0, p);
            regressed += weight * r;
            attempts += weight * a;
        }
        (regressed, attempts)
    }

    /// The largest false-alarm rate over true rates 0 … 1 (an unchanged agent), or the first
    /// found above `stop_above`.
    fn worst_false_alarms(&self, n0: u32, stop_above: f64) -> f64 {
        let mut worst: f64 = 0.0;
        for i in 0..=RATES {
            let p = f64::from(i) / f64::from(RATES);
            worst = worst.max(self.operating(n0, p, p).0);
            if worst > stop_above {
                break;
            }
        }
        worst
    }

    /// From a baseline count `x0`, with each attempt passing with `p`: the chance of a
    /// regression and the expected attempts, following every path of counts.
    fn paths(&self, x0: u32, p: f64) -> (f64, f64) {
        let mut mass: Vec<f64> = (0..=self.min).map(|x| binomial_pmf(x, self.min, p)).collect();
        let (mut regressed, mut attempts) = (0.0, 0.0);
        for n in self.min..=self.max {
            let mut next = vec![0.0; n as usize + 2];
            for (x, m) in mass.iter().enumerate() {
                if *m == 0.0 {
                    continue;
                }
                match self.look(x0, x as u32, n) {
                    Look::Regressed => {
                        regressed += m;
                        attempts += m * f64::from(n);
                    }
                    Look::Settled => attempts += m * f64::from(n),
                    Look::Undecided => {
                        next[x + 1] += m * p;
                        next[x] += m * (1.0 - p);
                    }
                }
            }
            mass = next;
        }
        (regressed, attempts)
    }
}

/// The chance that a pair at `x` of `n` goes on to regress by `max` attempts, were each attempt
/// to pass at its estimated rate ((x + ½) / (n + 1): never quite 0 or 1).
fn later_regression(bounds: &[i64], min: u32, max: u32, x: u32, n: u32) -> f64 {
    let p = (f64::from(x) + 0.5) / (f64::from(n) + 1.0);
    // mass[j]: the chance of j more passes so far, among paths that have not regressed.
    let mut mass = vec![1.0];
    let mut regressed = 0.0;
    for later in n + 1..=max {
        let mut next = vec![0.0; mass.len() + 1];
        for (j, m) in mass.iter().enumerate() {
            next[j + 1] += m * p;
            next[j] += m * (1.0 - p);
        }
        let bound = bounds[(later - min) as usize];
        for (j, m) in next.iter_mut().enumerate() {
            if i64::from(x) + j as i64 <= bound {
                regressed += *m;
                *m = 0.0;
            }
        }
        mass = next;
    }
    regressed
}

/// P(X = k) for X ~ Binomial(n, p).
pub(super) fn binomial_pmf(k: u32, n: u32, p: f64) -> f64 {
    if k > n {
        return 0.0;
    }
    if p <= 0.0 {
        return f64::from(u8::from(k == 0));
    }
    if p >= 1.0 {
        return f64::from(u8::from(k == n));
    }
    let k_small = k.min(n - k);
    let ln_choose: f64 = (0..k_small)
        .map(|i| f64::from(n - i).ln() - f64::from(i + 1).ln())
        .sum();
    (ln_choose + f64::from(k) * p.ln() + f64::from(n - k) * (1.0 - p).ln()).exp()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::drop_p_value;

    /// The drop test as the gate applies it, forced regressions included.
    fn plan(min: u32, max: u32, n0: u32) -> SequentialPlan {
        SequentialPlan::calibrate(min, max, n0, 0.05, |x0, x, n| {
            if x0 == n0 && x == 0 {
                0.0
            } else {
                drop_p_value(x0, n0, x, n)
            }
        })
    }

    #[test]
    fn the_false_alarm_rate_holds_at_every_true_rate() {
        for (min, max, n0) in [(3, 10, 50), (3, 10, 10), (2, 6, 6), (3, 5, 20)] {
            let plan = plan(min, max, n0);
            assert!(
                plan.look_alpha() < 0.05,
                "{min}..={max} vs {n0}: looks need a smaller level"
            );
            for percent in 1..100 {
                let p = f64::from(percent) / 100.0;
                let (false_alarms, _) = plan.operating(n0, p, p);
                assert!(
                    false_alarms <= 0.05 + 1e-9,
                    "{min}..={max} vs {n0} at {p}: {false_alarms}"
                );
            }
        }
    }

    #[test]
    fn looking_after_every_attempt_at_the_fixed_level_would_not_hold_it() {
        // What the calibration is for: the same boundaries at α itself break α.
        let fixed_level = SequentialPlan::calibrate(3, 10, 50, 1.0, |x0, x, n| drop_p_value(x0, 50, x, n));
        let naive = SequentialPlan::with_level(
            3,
            10,
            0.05,
            &(0..=50u32)
                .map(|x0| {
                    (3..=10u32)
                        .map(|n| (0..=n).map(|x| drop_p_value(x0, 50, x, n)).collect())
                        .collect()
                })
                .collect::<Vec<_>>(),
        );
        let worst = (50..100)
            .map(|percent| {
                naive
                    .operating(50, f64::from(percent) / 100.0, f64::from(percent) / 100.0)
                    .0
            })
            .fold(0.0, f64::max);
        assert!(worst > 0.05, "{worst}");
        drop(fixed_level);
    }

    #[test]
    fn clear_cases_stop_early_and_unclear_ones_go_on() {
        let plan = plan(3, 10, 50);
        // Against 48/50: 1/3 is already a regression, 3/3 is not yet enough to rule a drop out,
        // 5/5 is.
        assert_eq!(plan.look(48, 1, 3), Look::Regressed);
        assert_eq!(plan.look(48, 2, 3), Look::Undecided);
        assert_eq!(plan.look(48, 3, 3), Look::Undecided);
        assert_eq!(plan.look(48, 5, 5), Look::Settled);
        assert_eq!(plan.look(48, 4, 5), Look::Undecided);
        assert_eq!(plan.look(48, 5, 10), Look::Regressed);
        assert_eq!(plan.look(48, 9, 10), Look::Settled, "the last look always decides");
        // A baseline that failed more often than not has no drop left to show.
        assert_eq!(plan.look(10, 0, 3), Look::Settled);
        // Each look's boundaries move the right way: fewer passes never settle what more do not.
        for x0 in 0..=50 {
            for n in 3..=10 {
                let looks: Vec<Look> = (0..=n).map(|x| plan.look(x0, x, n)).collect();
                let first_settled = looks.iter().position(|l| *l == Look::Settled).unwrap_or(looks.len());
                assert!(looks[..first_settled].iter().all(|l| *l != Look::Settled));
                assert!(
                    looks[first_settled..].iter().all(|l| *l == Look::Settled),
                    "{x0} {n}: {looks:?}"
                );
            }
        }
    }

    #[test]
    fn an_unchanged_agent_takes_few_attempts_and_a_real_drop_is_found() {
        let plan = plan(3, 10, 50);
        let (_, attempts) = plan.operating(50, 0.95, 0.95);
        assert!(attempts <= 6.0, "{attempts}");
        let (detection, _) = plan.operating(50, 0.95, 0.5);
        assert!(detection >= 0.9, "{detection}");
    }

    #[test]
    fn one_look_is_the_fixed_test() {
        let plan = plan(5, 5, 50);
        assert_eq!(plan.look_alpha(), 0.05);
        for x0 in 0..=50 {
            for x in 0..=5 {
                let fixed = drop_p_value(x0, 50, x, 5) < 0.05 || (x0 == 50 && x == 0);
                assert_eq!(plan.look(x0, x, 5) == Look::Regressed, fixed, "{x0} {x}");
            }
        }
    }
}
