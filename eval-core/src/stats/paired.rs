//! Whether two runs differ by more than noise, task by task: the exact sign test for verdicts
//! and the Wilcoxon signed-rank test for numbers. Both are paired (each task is compared with
//! itself in the other run, so easy and hard tasks cancel out) and two-sided.

use super::drop_test::standard_normal_cdf;
use super::sequential::binomial_pmf;
use serde::{Deserialize, Serialize};

/// Up to this many non-zero differences the signed-rank test is exact; beyond, it uses the
/// normal approximation with the tie correction.
pub const WILCOXON_EXACT_UP_TO: usize = 25;

/// Differences this close to zero count as none, and absolute differences this close to each
/// other as tied: scores such as `1.0 - 0.8` and `0.9 - 0.7` differ only by rounding.
const SAME: f64 = 1e-9;

/// The exact two-sided sign test on discordant tasks: `ahead` tasks where one run did better,
/// `behind` where it did worse (ties left out). Under "no difference" each discordant task is
/// a fair coin, so the p-value is `2 · P(X ≤ min(ahead, behind))` for X ~ Binomial(ahead +
/// behind, ½), at most 1. With one verdict per task this is McNemar's exact test.
///
/// ```
/// use eval_engine::stats::sign_test;
/// // 6 tasks better, none worse: 2 · (1/2)⁶ = 1/32.
/// assert!((sign_test(6, 0) - 1.0 / 32.0).abs() < 1e-12);
/// assert_eq!(sign_test(0, 0), 1.0);
/// ```
pub fn sign_test(ahead: u32, behind: u32) -> f64 {
    let Some(discordant) = ahead.checked_add(behind) else {
        return sign_test(ahead / 2, behind / 2);
    };
    let fewer = ahead.min(behind);
    let tail: f64 = (0..=fewer).map(|k| binomial_pmf(k, discordant, 0.5)).sum();
    (2.0 * tail).min(1.0)
}

/// How the p-value of a [`SignedRank`] test was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignedRankMethod {
    /// Every sign assignment enumerated (at most [`WILCOXON_EXACT_UP_TO`] differences).
    Exact,
    /// The normal approximation with tie and continuity corrections.
    Normal,
}

/// The Wilcoxon signed-rank test of paired differences.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SignedRank {
    /// Non-zero differences ranked (zeros are dropped, Wilcoxon's way).
    pub n: usize,
    /// Of them, the positive ones.
    pub positive: usize,
    /// The sum of the ranks of the positive differences (ties get their average rank).
    pub w_plus: f64,
    /// The two-sided p-value.
    pub p_value: f64,
    /// Exact or normal.
    pub method: SignedRankMethod,
}

/// The two-sided Wilcoxon signed-rank test of `differences` (one per task: this run's score
/// minus the other's). Zeros are dropped, tied absolute differences share their average rank.
/// Up to [`WILCOXON_EXACT_UP_TO`] differences the p-value is exact: the chance, over the 2ⁿ
/// equally likely sign assignments of the ranks as they are (ties included), of a W⁺ at least
/// as far out as the one observed, doubled. Beyond, W⁺ is taken as normal with mean
/// n(n+1)/4 and variance n(n+1)(2n+1)/24 − Σ(t³ − t)/48 over groups of t ties, with a
/// continuity correction of ½. Differences that are not finite are left out.
///
/// ```
/// use eval_engine::stats::signed_rank_test;
/// // Five tasks, all better: W⁺ = 15, the largest of 32 assignments; p = 2/32.
/// let test = signed_rank_test(&[0.1, 0.2, 0.3, 0.4, 0.5]);
/// assert!((test.p_value - 0.0625).abs() < 1e-12 && test.w_plus == 15.0);
/// ```
pub fn signed_rank_test(differences: &[f64]) -> SignedRank {
    let mut nonzero: Vec<f64> = differences
        .iter()
        .copied()
        .filter(|d| d.is_finite() && d.abs() > SAME)
        .collect();
    nonzero.sort_unstable_by(|a, b| a.abs().total_cmp(&b.abs()));
    let n = nonzero.len();
    // Doubled ranks are whole numbers even when ties share a half rank.
    let mut doubled = vec![0u64; n];
    let mut tie_correction = 0.0;
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        while end < n && nonzero[end].abs() - nonzero[start].abs() <= SAME * nonzero[start].abs().max(1.0) {
            end += 1;
        }
        // Ranks start+1 ..= end, averaged, doubled: start + 1 + end.
        for rank in &mut doubled[start..end] {
            *rank = (start + 1 + end) as u64;
        }
        let t = (end - start) as f64;
        tie_correction += t * t * t - t;
        start = end;
    }
    let w_plus_doubled: u64 = nonzero
        .iter()
        .zip(&doubled)
        .filter(|(d, _)| **d > 0.0)
        .map(|(_, rank)| rank)
        .sum();
    let w_plus = w_plus_doubled as f64 / 2.0;
    let positive = nonzero.iter().filter(|d| **d > 0.0).count();
    if n == 0 {
        return SignedRank {
            n,
            positive,
            w_plus,
            p_value: 1.0,
            method: SignedRankMethod::Exact,
        };
    }
    if n <= WILCOXON_EXACT_UP_TO {
        return SignedRank {
            n,
            positive,
            w_plus,
            p_value: exact_signed_rank(&doubled, w_plus_doubled),
            method: SignedRankMethod::Exact,
        };
    }
    let size = n as f64;
    let mean = size * (size + 1.0) / 4.0;
    let variance = size * (size + 1.0) * (2.0 * size + 1.0) / 24.0 - tie_correction / 48.0;
    let p_value = if variance <= 0.0 {
        1.0
    } else {
        let z = ((w_plus - mean).abs() - 0.5).max(0.0) / variance.sqrt();
        (2.0 * standard_normal_cdf(-z)).min(1.0)
    };
    SignedRank {
        n,
        positive,
        w_plus,
        p_value,
        method: SignedRankMethod::Normal,
    }
}

/// Two-sided exact p-value of a doubled W⁺ of `observed`, given the doubled ranks: the number
/// of sign assignments reaching each sum, by dynamic programming (2²⁵ assignments at most, so
/// the counts are exact in an f64).
fn exact_signed_rank(doubled: &[u64], observed: u64) -> f64 {
    let total: u64 = doubled.iter().sum();
    let mut ways = vec![0.0f64; total as usize + 1];
    ways[0] = 1.0;
    let mut reach = 0usize;
    for &rank in doubled {
        let rank = rank as usize;
        for sum in (0..=reach).rev() {
            if ways[sum] > 0.0 {
                ways[sum + rank] += ways[sum];
            }
        }
        reach += rank;
    }
    let assignments = 2f64.powi(doubled.len() as i32);
    let observed = observed as usize;
    let at_most: f64 = ways[..=observed].iter().sum();
    let at_least: f64 = ways[observed..].iter().sum();
    (2.0 * at_most.min(at_least) / assignments).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_test_by_hand() {
        // 5 ahead, 0 behind: 2 · (1/2)⁵ = 2/32 = 0.0625, not below 0.05.
        assert!((sign_test(5, 0) - 0.0625).abs() < 1e-12);
        // 8 ahead, 2 behind: P(X ≤ 2 | n = 10) = (C(10,0) + C(10,1) + C(10,2))/1024 = 56/1024,
        // doubled: 112/1024 = 0.109375. The same either way round.
        assert!((sign_test(8, 2) - 0.109_375).abs() < 1e-12);
        assert!((sign_test(2, 8) - 0.109_375).abs() < 1e-12);
        // Balanced: the tail holds more than half, so p is capped at 1.
        assert_eq!(sign_test(3, 3), 1.0);
        // Huge counts neither overflow nor give NaN.
        assert!(sign_test(u32::MAX, 0) < 1e-12);
        assert!(sign_test(5000, 5000) > 0.9);
    }

    #[test]
    fn signed_rank_exact_by_hand() {
        // d = 1, −2, 3, 4, 5, 6: ranks 1..6, W⁻ = 2, W⁺ = 19. The assignments with W⁻ ≤ 2 are
        // {}, {1}, {2}: 3 of 64; doubled, p = 6/64 = 0.09375.
        let test = signed_rank_test(&[1.0, -2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!((test.n, test.w_plus, test.method), (6, 19.0, SignedRankMethod::Exact));
        assert!((test.p_value - 0.093_75).abs() < 1e-12, "{test:?}");
        // Zeros are dropped: the same test.
        assert_eq!(signed_rank_test(&[0.0, 1.0, -2.0, 3.0, 0.0, 4.0, 5.0, 6.0]), test);
        // Nothing but zeros: nothing to say.
        assert_eq!(signed_rank_test(&[0.0, 0.0]).p_value, 1.0);
    }

    #[test]
    fn signed_rank_ties_share_their_rank() {
        // d = 1, 1, −2, 3: |d| ranks 1.5, 1.5, 3, 4; W⁺ = 7. Doubled ranks 3, 3, 6, 8; the 16
        // subset sums are 0, 3, 3, 6, 6, 8, 9, 9, 11, 11, 12, 14, 14, 17, 17, 20. Doubled
        // W⁺ = 14: five sums ≥ 14, thirteen ≤ 14; p = 2 · 5/16 = 0.625.
        let test = signed_rank_test(&[1.0, 1.0, -2.0, 3.0]);
        assert_eq!(test.w_plus, 7.0);
        assert!((test.p_value - 0.625).abs() < 1e-12, "{test:?}");
        // Rounding does not break a tie: 1.0 − 0.8 and 0.9 − 0.7 are the same difference.
        let rounded = signed_rank_test(&[1.0 - 0.8, 0.9 - 0.7, -0.4, 0.6]);
        let exact = signed_rank_test(&[0.2, 0.2, -0.4, 0.6]);
        assert_eq!(rounded.w_plus, exact.w_plus);
        assert_eq!(rounded.p_value, exact.p_value);
    }

    #[test]
    fn signed_rank_normal_with_tie_correction() {
        // 26 differences of ±1, 20 positive: all tied at rank 13.5, W⁺ = 270. Mean 26·27/4 =
        // 175.5; variance 26·27·53/24 − (26³ − 26)/48 = 1550.25 − 365.625 = 1184.625;
        // z = (270 − 175.5 − 0.5)/√1184.625 = 94/34.418 = 2.7311; p = 2Φ(−2.7311) ≈ 0.00631.
        let mut d = vec![1.0; 20];
        d.extend([-1.0; 6]);
        let test = signed_rank_test(&d);
        assert_eq!((test.n, test.method), (26, SignedRankMethod::Normal));
        assert_eq!(test.w_plus, 270.0);
        assert!((test.p_value - 0.00631).abs() < 1e-4, "{test:?}");
    }

    #[test]
    fn signed_rank_exact_and_normal_agree_near_the_boundary() {
        let d: Vec<f64> = (1..=25)
            .map(|i| if i % 3 == 0 { -f64::from(i) } else { f64::from(i) })
            .collect();
        let exact = signed_rank_test(&d);
        let mut more = d.clone();
        more.push(0.5);
        more.push(-0.25);
        let normal = signed_rank_test(&more);
        assert_eq!(
            (exact.method, normal.method),
            (SignedRankMethod::Exact, SignedRankMethod::Normal)
        );
        assert!((exact.p_value - normal.p_value).abs() < 0.05, "{exact:?} {normal:?}");
    }
}
