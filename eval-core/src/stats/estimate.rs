//! What pass counts say about an agent's pass rate: an interval for the rate, and the chances
//! that k attempts pass at least once (pass@k) or every time (pass^k); and an interval for the
//! mean of a numeric score.

use serde::{Deserialize, Serialize};

/// The 95% Wilson score interval for a rate of `passed` out of `total`: unlike the normal
/// interval it stays inside [0, 1] and is honest for small counts and rates near 0 or 1.
///
/// ```
/// let (low, high) = eval_engine::stats::wilson_interval(8, 10);
/// assert!((low - 0.490).abs() < 1e-3 && (high - 0.943).abs() < 1e-3);
/// ```
pub fn wilson_interval(passed: u64, total: u64) -> (f64, f64) {
    if total == 0 {
        return (0.0, 1.0);
    }
    wilson_interval_of_rate(passed.min(total) as f64 / total as f64, total)
}

/// The 95% Wilson score interval for an observed `rate` over `total` trials, where a trial
/// may count a half (a pairwise tie): [`wilson_interval`] for counts that need not be whole.
///
/// ```
/// let (low, high) = eval_engine::stats::wilson_interval_of_rate(0.8, 10);
/// assert_eq!((low, high), eval_engine::stats::wilson_interval(8, 10));
/// ```
pub fn wilson_interval_of_rate(rate: f64, total: u64) -> (f64, f64) {
    if total == 0 {
        return (0.0, 1.0);
    }
    const Z: f64 = 1.959_963_984_540_054;
    let n = total as f64;
    let rate = rate.clamp(0.0, 1.0);
    let shrink = 1.0 + Z * Z / n;
    let centre = (rate + Z * Z / (2.0 * n)) / shrink;
    let half = Z * (rate * (1.0 - rate) / n + Z * Z / (4.0 * n * n)).sqrt() / shrink;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// The 95% interval for the mean of `values` by Student's t: mean ± t₀.₉₇₅,ₙ₋₁ · s/√n, with s
/// the sample standard deviation. Honest for small n where the normal interval (±1.96 · s/√n)
/// is too narrow. `None` for fewer than two values (no spread to go by) or values that are not
/// finite.
///
/// ```
/// let (low, high) = eval_engine::stats::mean_interval(&[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
/// // mean 3, s = √2.5, t₀.₉₇₅,₄ = 2.7764: 3 ± 2.7764 · 0.70711 = 3 ± 1.9632.
/// assert!((low - 1.0368).abs() < 1e-3 && (high - 4.9632).abs() < 1e-3);
/// ```
pub fn mean_interval(values: &[f64]) -> Option<(f64, f64)> {
    let n = values.len();
    if n < 2 || values.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let size = n as f64;
    let mean = values.iter().sum::<f64>() / size;
    let variance = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (size - 1.0);
    let half = t_975(n - 1) * (variance / size).sqrt();
    Some((mean - half, mean + half))
}

/// The 97.5% quantile of Student's t with `df` degrees of freedom: from the table up to 30,
/// beyond from the Cornish–Fisher expansion around the normal quantile (error below 1e-4).
fn t_975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281, 2.2010, 2.1788, 2.1604,
        2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860, 2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518,
        2.0484, 2.0452, 2.0423,
    ];
    if let Some(t) = df.checked_sub(1).and_then(|i| TABLE.get(i)) {
        return *t;
    }
    const Z: f64 = 1.959_963_984_540_054;
    let v = df.max(1) as f64;
    Z + (Z.powi(3) + Z) / (4.0 * v) + (5.0 * Z.powi(5) + 16.0 * Z.powi(3) + 3.0 * Z) / (96.0 * v * v)
}

/// pass@k and pass^k of a key over tasks attempted `k` or more times.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PassAtK {
    /// The number of attempts the estimates are for: the fewest any task had.
    pub k: u32,
    /// The chance that at least one of k attempts passes, averaged over tasks.
    pub pass_at_k: f64,
    /// The chance that all k attempts pass, averaged over tasks.
    pub pass_all_k: f64,
}

impl PassAtK {
    /// The unbiased estimates from each task's (passes, attempts), for `k` attempts (tasks with
    /// fewer attempts than `k` are left out). `None` without such tasks.
    ///
    /// For one task with c passes of n attempts: pass@k = 1 − C(n−c, k)/C(n, k) and
    /// pass^k = C(c, k)/C(n, k), the chances that k attempts drawn from the n hold a pass,
    /// or only passes.
    ///
    /// ```
    /// use eval_engine::stats::PassAtK;
    /// let estimate = PassAtK::estimate(&[(2, 4), (4, 4)], 2).unwrap();
    /// // Task 1: 1 − C(2,2)/C(4,2) = 5/6 and C(2,2)/C(4,2) = 1/6; task 2: 1 and 1.
    /// assert!((estimate.pass_at_k - (5.0 / 6.0 + 1.0) / 2.0).abs() < 1e-12);
    /// assert!((estimate.pass_all_k - (1.0 / 6.0 + 1.0) / 2.0).abs() < 1e-12);
    /// ```
    pub fn estimate(tasks: &[(u32, u32)], k: u32) -> Option<PassAtK> {
        let eligible: Vec<(u32, u32)> = tasks.iter().copied().filter(|(_, n)| *n >= k && k > 0).collect();
        if eligible.is_empty() {
            return None;
        }
        let (mut at_least_one, mut all) = (0.0, 0.0);
        for &(passed, attempts) in &eligible {
            let passed = passed.min(attempts);
            at_least_one += 1.0 - choose_ratio(attempts - passed, attempts, k);
            all += choose_ratio(passed, attempts, k);
        }
        let tasks = eligible.len() as f64;
        Some(PassAtK {
            k,
            pass_at_k: at_least_one / tasks,
            pass_all_k: all / tasks,
        })
    }
}

/// C(m, k) / C(n, k) for m ≤ n, as a running product (no factorial overflows).
fn choose_ratio(m: u32, n: u32, k: u32) -> f64 {
    if k > m {
        return 0.0;
    }
    (0..k).fold(1.0, |ratio, i| ratio * f64::from(m - i) / f64::from(n - i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_bounds_stay_in_the_unit_interval() {
        assert_eq!(wilson_interval(0, 0), (0.0, 1.0));
        let (low, high) = wilson_interval(0, 5);
        assert_eq!(low, 0.0);
        assert!((high - 0.4345).abs() < 1e-3, "{high}");
        let (low, high) = wilson_interval(5, 5);
        assert!((low - 0.5655).abs() < 1e-3, "{low}");
        assert!((high - 1.0).abs() < 1e-12);
        let (low, high) = wilson_interval(50, 100);
        assert!((low - 0.4038).abs() < 1e-3 && (high - 0.5962).abs() < 1e-3);
    }

    #[test]
    fn mean_interval_uses_t() {
        assert_eq!(mean_interval(&[0.5]), None);
        assert_eq!(mean_interval(&[1.0, f64::NAN]), None);
        // [0, 1]: mean 0.5, s = √0.5, se = 0.5, t₀.₉₇₅,₁ = 12.7062: 0.5 ± 6.3531.
        let (low, high) = mean_interval(&[0.0, 1.0]).unwrap();
        assert!((low + 5.8531).abs() < 1e-4 && (high - 6.8531).abs() < 1e-4);
        // [1, 1, 1]: no spread, no width.
        assert_eq!(mean_interval(&[1.0, 1.0, 1.0]), Some((1.0, 1.0)));
        // The expansion takes over from the table smoothly: t₀.₉₇₅,₃₀ = 2.0423.
        assert!((t_975(31) - 2.0395).abs() < 1e-3 && t_975(31) < t_975(30));
        assert!((t_975(1_000_000) - 1.96).abs() < 1e-3);
    }

    #[test]
    fn pass_at_k_matches_its_definition() {
        // One attempt: pass@1 and pass^1 are the pass rate.
        let one = PassAtK::estimate(&[(3, 5), (1, 5)], 1).unwrap();
        assert!((one.pass_at_k - 0.4).abs() < 1e-12 && (one.pass_all_k - 0.4).abs() < 1e-12);
        // k = n: any pass, every pass.
        let all = PassAtK::estimate(&[(3, 5), (0, 5), (5, 5)], 5).unwrap();
        assert!((all.pass_at_k - 2.0 / 3.0).abs() < 1e-12);
        assert!((all.pass_all_k - 1.0 / 3.0).abs() < 1e-12);
        // Tasks with fewer attempts than k are left out.
        assert_eq!(PassAtK::estimate(&[(1, 2)], 3), None);
        assert_eq!(
            PassAtK::estimate(&[(7, 5)], 5).unwrap().pass_all_k,
            1.0,
            "counts are clamped"
        );
    }
}
