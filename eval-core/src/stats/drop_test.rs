//! Whether a pass rate dropped against the baseline: for one repeated pair, Boschloo's exact
//! unconditional test on the two counts, the baseline's `x0/n0` and the run's `x1/n1`; for a
//! key across a suite, a paired test on the tasks' changes ([`suite_drop`]).
//!
//! The null hypothesis is "no drop": both come from the same pass probability π. The statistic
//! is Fisher's one-sided p-value (the chance, given the total number of passes, that the run
//! holds this few of them), and the p-value is the largest chance, over every π, of a result at
//! least as extreme. Taking the largest over π is what holds the false-alarm rate at α whatever
//! the agent's true rate is, and both counts enter: a baseline with 50 attempts knows its rate
//! far better than one with 3, and the test uses that.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};

/// Beyond this many attempts in all, the exact computation gives way to the normal
/// approximation, which is accurate there and costs nothing.
const EXACT_UP_TO: u64 = 20_000;

/// Points of the first search over π; the best is then refined.
const GRID: usize = 400;

/// The p-value of a drop from `x0` passes in `n0` attempts (the baseline) to `x1` in `n1` (this
/// run): small when the run passes markedly less often than the baseline did.
///
/// ```
/// use eval_engine::stats::drop_p_value;
/// // 48/50 in the baseline, 1/3 now: a real drop.
/// assert!(drop_p_value(48, 50, 1, 3) < 0.05);
/// // 3/3 then 2/3: chance explains it.
/// assert!(drop_p_value(3, 3, 2, 3) > 0.05);
/// ```
pub fn drop_p_value(x0: u32, n0: u32, x1: u32, n1: u32) -> f64 {
    let (x0, x1) = (x0.min(n0), x1.min(n1));
    if n0 == 0 || n1 == 0 {
        return 1.0;
    }
    if u64::from(n0) + u64::from(n1) > EXACT_UP_TO {
        return normal_approximation(x0, n0, x1, n1);
    }
    // Pairs of a run share few distinct counts: each is computed once per process.
    static MEMO: OnceLock<Mutex<HashMap<[u32; 4], f64>>> = OnceLock::new();
    let memo = MEMO.get_or_init(Default::default);
    let key = [x0, n0, x1, n1];
    if let Some(p) = memo.lock().unwrap_or_else(PoisonError::into_inner).get(&key) {
        return *p;
    }
    let p = boschloo(x0 as usize, n0 as usize, x1 as usize, n1 as usize);
    memo.lock().unwrap_or_else(PoisonError::into_inner).insert(key, p);
    p
}

/// About how many attempts a pair passing at `rate` would need before its drop from the
/// baseline's `x0/n0` showed at level `alpha`: what would settle a flaky pair. `None` when the
/// rate is no drop at all, or more than 100,000 attempts would be needed. An estimate: the
/// exact test up to 64 attempts, the normal approximation beyond.
///
/// ```
/// use eval_engine::stats::{attempts_to_show_drop, drop_p_value};
/// let needed = attempts_to_show_drop(45, 50, 0.6, 0.05).unwrap();
/// assert!(drop_p_value(45, 50, (0.6 * needed as f64).round() as u32, needed) < 0.05);
/// assert_eq!(attempts_to_show_drop(40, 50, 0.9, 0.05), None);
/// ```
pub fn attempts_to_show_drop(x0: u32, n0: u32, rate: f64, alpha: f64) -> Option<u32> {
    const MOST: u32 = 100_000;
    let x0 = x0.min(n0);
    if n0 == 0 || !(0.0..=1.0).contains(&rate) || rate >= f64::from(x0) / f64::from(n0) {
        return None;
    }
    const EXACT: u32 = 64;
    let shows = |m: u32| {
        let passed = (rate * f64::from(m)).round() as u32;
        let p = match m <= EXACT {
            true => drop_p_value(x0, n0, passed, m),
            false => normal_approximation(x0, n0, passed, m),
        };
        p < alpha
    };
    // Doubling, then bisection: the p-value falls (almost) steadily with m at a fixed rate.
    let mut high = 1;
    while !shows(high) {
        if high >= MOST {
            return None;
        }
        high = (high * 2).min(MOST);
    }
    let mut low = high / 2;
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        if shows(middle) {
            high = middle;
        } else {
            low = middle;
        }
    }
    Some(high)
}

/// One task's (passes, attempts) of a key: in [`suite_drop`], the baseline's then this run's.
pub type Attempts = (u32, u32);

/// How a key's pass rate moved across the tasks a run shares with its baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SuiteDrop {
    /// Tasks graded by the key in both.
    pub tasks: usize,
    /// The pass rate over those tasks (every attempt counted), in the baseline and now.
    pub baseline_rate: f64,
    /// The pass rate now.
    pub rate: f64,
    /// The mean of the tasks' changes of pass rate (negative: a drop).
    pub mean_change: f64,
    /// One-sided p-value of a drop (exact, stratified by task).
    pub p_value: f64,
}

/// Whether a key's pass rate fell across a suite, from each task's baseline and current
/// (passes, attempts): a drop that no single pair shows (many tasks each a little worse) shows
/// here. `None` with fewer than two shared tasks.
///
/// The test is an exact stratified one (Cochran–Mantel–Haenszel's, computed exactly), one
/// stratum per task: given a task's passes in both runs together, how many fall in this run
/// follows a hypergeometric law whatever the task's own rate, so easy and hard tasks, and
/// baselines with more attempts than the run, all weigh in correctly; the p-value is the
/// chance of this few passes summed over the tasks. Being conditional and exact, it never
/// raises more false alarms than α, whatever the tasks' rates (beyond 200,000 attempts in the
/// run it falls back to the normal approximation).
///
/// ```
/// use eval_engine::stats::suite_drop;
/// // 40 tasks: 10 of them fell from 3/3 to 1/3.
/// let tasks: Vec<_> = (0..40).map(|i| ((3, 3), if i < 10 { (1, 3) } else { (3, 3) })).collect();
/// let drop = suite_drop(&tasks).unwrap();
/// assert!(drop.p_value < 0.01 && drop.mean_change < 0.0);
/// ```
pub fn suite_drop(tasks: &[(Attempts, Attempts)]) -> Option<SuiteDrop> {
    let shared: Vec<((f64, f64), (f64, f64))> = tasks
        .iter()
        .filter(|(base, now)| base.1 > 0 && now.1 > 0)
        .map(|((x0, n0), (x1, n1))| {
            let side = |x: &u32, n: &u32| (f64::from(*x.min(n)), f64::from(*n));
            (side(x0, n0), side(x1, n1))
        })
        .collect();
    if shared.len() < 2 {
        return None;
    }
    let (mut change, mut observed) = (0.0, 0.0);
    let (mut totals0, mut totals1) = ((0.0, 0.0), (0.0, 0.0));
    // The law of this run's passes summed over tasks, each task's given its total passes: the
    // convolution of the tasks' hypergeometric laws. Exact while it stays small enough.
    let support: f64 = shared.iter().map(|(_, (_, n1))| n1).sum();
    let mut law = (support <= 200_000.0).then(|| vec![1.0]);
    let (mut mean, mut variance) = (0.0, 0.0);
    for &((x0, n0), (x1, n1)) in &shared {
        let (n, passes) = (n0 + n1, x0 + x1);
        mean += n1 * passes / n;
        if n > 1.0 {
            variance += n1 * n0 * passes * (n - passes) / (n * n * (n - 1.0));
        }
        if let Some(law) = law.as_mut() {
            *law = convolve(law, &hypergeometric(n0 as usize, n1 as usize, passes as usize));
        }
        observed += x1;
        change += x1 / n1 - x0 / n0;
        totals0 = (totals0.0 + x0, totals0.1 + n0);
        totals1 = (totals1.0 + x1, totals1.1 + n1);
    }
    let p_value = match law {
        Some(law) => law.iter().take(observed as usize + 1).sum::<f64>().min(1.0),
        None if variance > 0.0 => standard_normal_cdf((observed - mean + 0.5) / variance.sqrt()).min(1.0),
        None => 1.0,
    };
    Some(SuiteDrop {
        tasks: shared.len(),
        baseline_rate: totals0.0 / totals0.1,
        rate: totals1.0 / totals1.1,
        mean_change: change / shared.len() as f64,
        p_value,
    })
}

/// The law of the run's passes of one task, given `passes` in `n0 + n1` attempts in all.
fn hypergeometric(n0: usize, n1: usize, passes: usize) -> Vec<f64> {
    let n = n0 + n1;
    let ln_fact = ln_factorials(n);
    let ln_choose = |n: usize, k: usize| ln_fact[n] - ln_fact[k] - ln_fact[n - k];
    (0..=n1)
        .map(|x| match x <= passes && passes - x <= n0 {
            true => (ln_choose(n1, x) + ln_choose(n0, passes - x) - ln_choose(n, passes)).exp(),
            false => 0.0,
        })
        .collect()
}

fn convolve(law: &[f64], step: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; law.len() + step.len() - 1];
    for (i, a) in law.iter().enumerate().filter(|(_, a)| **a > 0.0) {
        for (j, b) in step.iter().enumerate() {
            out[i + j] += a * b;
        }
    }
    out
}

fn boschloo(x0: usize, n0: usize, x1: usize, n1: usize) -> f64 {
    let n = n0 + n1;
    let ln_fact = ln_factorials(n);
    let ln_choose = |n: usize, k: usize| ln_fact[n] - ln_fact[k] - ln_fact[n - k];

    // For every total of passes s, the conditional (hypergeometric) law of the run's passes,
    // and from it Fisher's one-sided p-value of every split of s.
    let fisher = |s: usize, b: usize| -> f64 {
        let lowest = s.saturating_sub(n0);
        (lowest..=b)
            .map(|b| (ln_choose(n1, b) + ln_choose(n0, s - b) - ln_choose(n, s)).exp())
            .sum()
    };
    let observed = fisher(x0 + x1, x1) * (1.0 + 1e-9);

    // The weight, for each total s, of the splits at least as extreme as the one observed.
    let mut weights = vec![0.0; n + 1];
    for (s, weight) in weights.iter_mut().enumerate() {
        let (lowest, highest) = (s.saturating_sub(n0), s.min(n1));
        let mut cumulative = 0.0;
        for b in lowest..=highest {
            let mass = (ln_choose(n1, b) + ln_choose(n0, s - b) - ln_choose(n, s)).exp();
            cumulative += mass;
            // Fisher's p-value grows with b for a fixed s: the extreme splits come first.
            if cumulative <= observed {
                *weight += mass;
            } else {
                break;
            }
        }
    }

    // P_π(at least as extreme) = Σ_s weight_s · Binomial(s; n, π), maximised over π.
    let chance = |pi: f64| -> f64 {
        if pi <= 0.0 || pi >= 1.0 {
            let s = if pi <= 0.0 { 0 } else { n };
            return weights[s];
        }
        let (ln_pi, ln_rest) = (pi.ln(), (1.0 - pi).ln());
        weights
            .iter()
            .enumerate()
            .filter(|(_, w)| **w > 0.0)
            .map(|(s, w)| w * (ln_choose(n, s) + s as f64 * ln_pi + (n - s) as f64 * ln_rest).exp())
            .sum()
    };
    let mut best = (0.0, chance(0.0).max(chance(1.0)));
    for i in 1..GRID {
        let pi = i as f64 / GRID as f64;
        let value = chance(pi);
        if value > best.1 {
            best = (pi, value);
        }
    }
    // Golden-section search around the best grid point: the function is smooth there.
    let (mut low, mut high) = (
        (best.0 - 1.0 / GRID as f64).max(0.0),
        (best.0 + 1.0 / GRID as f64).min(1.0),
    );
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..40 {
        let a = high - ratio * (high - low);
        let b = low + ratio * (high - low);
        if chance(a) >= chance(b) {
            high = b;
        } else {
            low = a;
        }
    }
    best.1.max(chance((low + high) / 2.0)).min(1.0)
}

/// ln(k!) for k = 0..=n.
fn ln_factorials(n: usize) -> Vec<f64> {
    let mut table = Vec::with_capacity(n + 1);
    let mut total = 0.0;
    table.push(0.0);
    for k in 1..=n {
        total += (k as f64).ln();
        table.push(total);
    }
    table
}

/// The one-sided pooled two-proportion z-test, for counts too large to enumerate.
fn normal_approximation(x0: u32, n0: u32, x1: u32, n1: u32) -> f64 {
    let (x0, n0, x1, n1) = (f64::from(x0), f64::from(n0), f64::from(x1), f64::from(n1));
    let pooled = (x0 + x1) / (n0 + n1);
    let spread = (pooled * (1.0 - pooled) * (1.0 / n0 + 1.0 / n1)).sqrt();
    if spread == 0.0 {
        return 1.0;
    }
    let z = (x1 / n1 - x0 / n0) / spread;
    standard_normal_cdf(z)
}

/// Φ(z), from the complementary error function (Numerical Recipes' erfc, |error| < 1.2e-7).
pub(super) fn standard_normal_cdf(z: f64) -> f64 {
    let x = -z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * x.abs());
    let polynomial = -x * x - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * polynomial.exp();
    let erfc = if x >= 0.0 { erfc } else { 2.0 - erfc };
    erfc / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// P(X ≤ k) for X ~ Binomial(n, p), by summing the mass function.
    fn binomial_pmf(k: u32, n: u32, p: f64) -> f64 {
        let ln_fact = ln_factorials(n as usize);
        let (n, k) = (n as usize, k as usize);
        (ln_fact[n] - ln_fact[k] - ln_fact[n - k] + k as f64 * p.ln() + (n - k) as f64 * (1.0 - p).ln()).exp()
    }

    #[test]
    fn small_cases_by_hand() {
        // 3/3 → 0/3: the only result as extreme is (3, 0), of chance π³(1-π)³, at most 1/64.
        assert!((drop_p_value(3, 3, 0, 3) - 1.0 / 64.0).abs() < 1e-6);
        // 2/2 → 0/2: at most 1/16, not enough at α = 0.05.
        assert!((drop_p_value(2, 2, 0, 2) - 1.0 / 16.0).abs() < 1e-6);
        // No drop at all.
        assert_eq!(drop_p_value(3, 5, 5, 5).min(1.0), 1.0);
        assert!(drop_p_value(5, 5, 5, 5) > 0.99);
    }

    #[test]
    fn the_false_alarm_rate_holds_for_every_true_rate() {
        // Exactly: the chance, when nothing changed, that the test rejects at α.
        let alpha = 0.05;
        for (n0, n1) in [(3, 3), (5, 5), (10, 10), (50, 3), (50, 5), (50, 10), (20, 5)] {
            for pi in (10..100).map(|percent| f64::from(percent) / 100.0) {
                let mut false_alarms = 0.0;
                for x0 in 0..=n0 {
                    for x1 in 0..=n1 {
                        if drop_p_value(x0, n0, x1, n1) < alpha {
                            false_alarms += binomial_pmf(x0, n0, pi) * binomial_pmf(x1, n1, pi);
                        }
                    }
                }
                assert!(false_alarms <= alpha, "n0={n0} n1={n1} π={pi}: {false_alarms}");
            }
        }
    }

    #[test]
    fn a_baseline_passing_four_in_five_that_now_passes_none_regresses() {
        for n0 in 5u32..=100 {
            let x0 = (n0 * 4).div_ceil(5);
            for n1 in 3..=10 {
                assert!(drop_p_value(x0, n0, 0, n1) < 0.05, "{x0}/{n0} → 0/{n1}");
            }
        }
    }

    #[test]
    fn a_long_baseline_sharpens_the_test() {
        // 1/3 now: against 3/3 chance could explain it; against 48/50 it cannot.
        assert!(drop_p_value(3, 3, 1, 3) > 0.05);
        assert!(drop_p_value(48, 50, 1, 3) < 0.05);
    }

    #[test]
    fn huge_counts_use_the_normal_approximation() {
        assert!(drop_p_value(u32::MAX, u32::MAX, 0, 5) < 1e-6);
        assert!(drop_p_value(u32::MAX, u32::MAX, 5, 5) > 0.4);
        assert!((standard_normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((standard_normal_cdf(-1.644_853_6) - 0.05).abs() < 1e-6);
    }

    #[test]
    fn a_suite_wide_drop_shows_when_no_pair_does() {
        // 200 tasks at 3/3; 40 of them now 2/3: no pair regresses, the key does.
        let tasks: Vec<_> = (0..200)
            .map(|i| ((3, 3), if i < 40 { (2, 3) } else { (3, 3) }))
            .collect();
        let drop = suite_drop(&tasks).unwrap();
        assert!(drop.p_value < 0.001, "{drop:?}");
        assert_eq!(drop.tasks, 200);
        assert!((drop.rate - (1.0 - 40.0 / 600.0)).abs() < 1e-12 && drop.baseline_rate == 1.0);
        // The same counts both times: no drop.
        let same: Vec<_> = (0..50).map(|i| ((i % 4, 3), (i % 4, 3))).collect();
        assert!(suite_drop(&same).unwrap().p_value > 0.5);
        // Every task failing one more attempt of three, against a baseline of 50: a drop.
        let longer: Vec<_> = (0..30).map(|_| ((49, 50), (2, 3))).collect();
        assert!(suite_drop(&longer).unwrap().p_value < 0.001);
        // Better now: no drop.
        let better: Vec<_> = (0..50)
            .map(|i| ((1, 3), if i % 2 == 0 { (3, 3) } else { (1, 3) }))
            .collect();
        assert!(suite_drop(&better).unwrap().p_value > 0.99);
        assert_eq!(
            suite_drop(&[((1, 1), (0, 1))]),
            None,
            "one task says nothing across a suite"
        );
    }
}
