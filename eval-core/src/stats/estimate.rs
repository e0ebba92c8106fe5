//! What pass counts say about an agent's pass rate: an interval for the rate, and the chances
//! that k attempts pass at least once (pass@k) or every time (pass^k).

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
    const Z: f64 = 1.959_963_984_540_054;
    let n = total as f64;
    let rate = passed.min(total) as f64 / n;
    let shrink = 1.0 + Z * Z / n;
    let centre = (rate + Z * Z / (2.0 * n)) / shrink;
    let half = Z * (rate * (1.0 - rate) / n + Z * Z / (4.0 * n * n)).sqrt() / shrink;
    ((centre - half).max(0.0), (centre + half).min(1.0))
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
