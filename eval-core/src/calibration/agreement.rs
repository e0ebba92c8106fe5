//! How far two raters of the same items agree: the confusion matrix, Cohen's κ (unweighted,
//! and quadratically weighted for an integer scale), Spearman's rank correlation.
//!
//! Every statistic is a [`Measure`]: a number, or the reason there is none (no items, or a
//! rater who gave every item the same answer, where the formula divides by zero). Nothing here
//! returns NaN.

use serde::{Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A statistic, or why it is undefined for these items.
#[derive(Debug, Clone, PartialEq)]
pub enum Measure {
    /// Its value.
    Value(f64),
    /// Why there is no value (for example: every item got the same answer from both raters).
    Undefined(String),
}

impl Measure {
    /// The value, when it is defined.
    pub fn value(&self) -> Option<f64> {
        match self {
            Measure::Value(value) => Some(*value),
            Measure::Undefined(_) => None,
        }
    }

    fn undefined(why: impl Into<String>) -> Measure {
        Measure::Undefined(why.into())
    }
}

/// `{"value": 0.4}`, or `{"value": null, "undefined": "why"}`.
impl Serialize for Measure {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = serializer.serialize_map(None)?;
        match self {
            Measure::Value(value) => map.serialize_entry("value", value)?,
            Measure::Undefined(why) => {
                map.serialize_entry("value", &None::<f64>)?;
                map.serialize_entry("undefined", why)?;
            }
        }
        map.end()
    }
}

/// How often each pair of answers was given: rows are the first rater's (people's) answers,
/// columns the second's (the judge's), both in the order of `categories`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Confusion {
    /// Every answer either rater gave: names sorted, or numbers in numeric order.
    pub categories: Vec<String>,
    /// `counts[row][column]`: the items the first rater put in `categories[row]` and the
    /// second in `categories[column]`.
    pub counts: Vec<Vec<usize>>,
}

impl Confusion {
    /// The matrix of (first rater's, second rater's) category pairs, categories sorted by name.
    pub fn of_categories<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)> + Clone) -> Confusion {
        let names: BTreeSet<&str> = pairs.clone().into_iter().flat_map(|(a, b)| [a, b]).collect();
        Confusion::tally(names.into_iter().map(str::to_owned).collect(), pairs)
    }

    /// The matrix of (first rater's, second rater's) integer pairs, in numeric order.
    pub fn of_integers(pairs: &[(i64, i64)]) -> Confusion {
        let values: BTreeSet<i64> = pairs.iter().flat_map(|&(a, b)| [a, b]).collect();
        let names: Vec<String> = values.iter().map(i64::to_string).collect();
        let pairs: Vec<(String, String)> = pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        Confusion::tally(names, pairs.iter().map(|(a, b)| (a.as_str(), b.as_str())))
    }

    fn tally<'a>(categories: Vec<String>, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Confusion {
        let index: HashMap<&str, usize> = categories.iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect();
        let mut counts = vec![vec![0; categories.len()]; categories.len()];
        for (first, second) in pairs {
            counts[index[first]][index[second]] += 1;
        }
        Confusion { categories, counts }
    }

    /// The number of items.
    pub fn total(&self) -> usize {
        self.counts.iter().flatten().sum()
    }

    /// The items both raters put in the same category (the diagonal).
    pub fn agreements(&self) -> usize {
        (0..self.categories.len()).map(|i| self.counts[i][i]).sum()
    }

    /// How many items the first rater put in `first` and the second in `second`.
    pub fn count(&self, first: &str, second: &str) -> usize {
        let at = |name: &str| self.categories.iter().position(|c| c == name);
        match (at(first), at(second)) {
            (Some(row), Some(column)) => self.counts[row][column],
            _ => 0,
        }
    }

    fn row_totals(&self) -> Vec<usize> {
        self.counts.iter().map(|row| row.iter().sum()).collect()
    }

    fn column_totals(&self) -> Vec<usize> {
        (0..self.categories.len())
            .map(|column| self.counts.iter().map(|row| row[column]).sum())
            .collect()
    }
}

/// Cohen's κ: how much more the raters agree than two raters answering at random with their
/// own frequencies would, `(pₒ − pₑ) / (1 − pₑ)`. 1 is perfect agreement, 0 chance level,
/// below 0 worse than chance. Undefined without items and when pₑ = 1 (both raters gave every
/// item one and the same category).
pub fn cohen_kappa(confusion: &Confusion) -> Measure {
    let n = confusion.total() as f64;
    if n == 0.0 {
        return Measure::undefined("there are no judgements to compare");
    }
    let (rows, columns) = (confusion.row_totals(), confusion.column_totals());
    // In counts rather than rates, so that the degenerate case is an exact comparison:
    // κ = (n·agreements − Σ rₖcₖ) / (n² − Σ rₖcₖ).
    let chance: f64 = rows.iter().zip(&columns).map(|(&r, &c)| r as f64 * c as f64).sum();
    let denominator = n * n - chance;
    if denominator == 0.0 {
        return Measure::undefined(format!(
            "people and the judge gave every task the same answer, `{}`: agreement by chance is 1",
            confusion.categories.first().map_or("", String::as_str)
        ));
    }
    Measure::Value((n * confusion.agreements() as f64 - chance) / denominator)
}

/// Cohen's κ with quadratic weights, for answers on an integer scale: a disagreement by d
/// points weighs d², so that 4 against 5 costs far less than 1 against 5. It is
/// `1 − Σ w·observed / Σ w·expected`, the expected frequencies those of raters answering at
/// random with their own frequencies (the usual normalisation of the weights by the scale's
/// span cancels out). Undefined without items and when every answer is one and the same value.
pub fn quadratic_weighted_kappa(pairs: &[(i64, i64)]) -> Measure {
    if pairs.is_empty() {
        return Measure::undefined("there are no judgements to compare");
    }
    let squared = |a: i64, b: i64| {
        let d = (a - b) as f64;
        d * d
    };
    let n = pairs.len() as f64;
    let mut rows: BTreeMap<i64, f64> = BTreeMap::new();
    let mut columns: BTreeMap<i64, f64> = BTreeMap::new();
    let mut observed = 0.0;
    for &(first, second) in pairs {
        *rows.entry(first).or_default() += 1.0;
        *columns.entry(second).or_default() += 1.0;
        observed += squared(first, second);
    }
    let mut expected = 0.0;
    for (&a, &r) in &rows {
        for (&b, &c) in &columns {
            expected += r * c * squared(a, b);
        }
    }
    // observed / n against expected / n²: scaled by n², both are sums of integers.
    if expected == 0.0 {
        return Measure::undefined(format!(
            "people and the judge gave every task the same score, {}: there is no disagreement to weigh",
            pairs[0].0
        ));
    }
    Measure::Value(1.0 - n * observed / expected)
}

/// Spearman's ρ: the correlation of the two raters' ranks (tied values share the mean of the
/// ranks they span). 1 when the judge orders the items as people do, −1 when it reverses them.
/// Undefined for fewer than two items and when either rater gave every item the same value.
pub fn spearman(pairs: &[(f64, f64)]) -> Measure {
    if pairs.len() < 2 {
        return Measure::undefined("it needs two judgements or more");
    }
    let first = ranks(&pairs.iter().map(|p| p.0).collect::<Vec<_>>());
    let second = ranks(&pairs.iter().map(|p| p.1).collect::<Vec<_>>());
    let mean = (pairs.len() as f64 + 1.0) / 2.0;
    let (mut product, mut first_squares, mut second_squares) = (0.0, 0.0, 0.0);
    for (a, b) in first.iter().zip(&second) {
        product += (a - mean) * (b - mean);
        first_squares += (a - mean) * (a - mean);
        second_squares += (b - mean) * (b - mean);
    }
    match (first_squares == 0.0, second_squares == 0.0) {
        (true, _) => Measure::undefined(format!("people gave every task the same score, {}", pairs[0].0)),
        (_, true) => Measure::undefined(format!("the judge gave every task the same score, {}", pairs[0].1)),
        _ => Measure::Value((product / (first_squares * second_squares).sqrt()).clamp(-1.0, 1.0)),
    }
}

/// The rank of each value, from 1; tied values get the mean of the ranks they span.
fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // Positions start..end hold ranks start+1 ..= end: their mean.
        let rank = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(measure: &Measure, expected: f64) -> bool {
        measure.value().is_some_and(|v| (v - expected).abs() < 1e-12)
    }

    /// Ten tasks, people's answer first:
    ///
    /// ```text
    ///                judge pass  judge fail
    /// people pass        4           1        5
    /// people fail        2           3        5
    ///                    6           4       10
    /// ```
    ///
    /// pₒ = (4 + 3) / 10 = 0.7; pₑ = 0.5·0.6 + 0.5·0.4 = 0.5; κ = (0.7 − 0.5) / (1 − 0.5) = 0.4.
    fn two_by_two() -> Vec<(&'static str, &'static str)> {
        let mut pairs = vec![("pass", "pass"); 4];
        pairs.push(("pass", "fail"));
        pairs.extend([("fail", "pass"); 2]);
        pairs.extend([("fail", "fail"); 3]);
        pairs
    }

    #[test]
    fn kappa_of_a_two_by_two_table() {
        let confusion = Confusion::of_categories(two_by_two());
        assert_eq!(confusion.categories, ["fail", "pass"]);
        assert_eq!(confusion.counts, [[3, 2], [1, 4]], "rows people, columns the judge");
        assert_eq!(confusion.count("pass", "fail"), 1);
        assert_eq!(confusion.count("pass", "maybe"), 0);
        assert_eq!((confusion.total(), confusion.agreements()), (10, 7));
        let kappa = cohen_kappa(&confusion);
        assert!(close(&kappa, 0.4), "{kappa:?}");
    }

    #[test]
    fn kappa_of_three_categories() {
        // people a a b b c c, judge a b b c c a: pₒ = 3/6; every row and column holds 2, so
        // pₑ = 3 · (2/6)² = 1/3; κ = (1/2 − 1/3) / (2/3) = 1/4.
        let confusion =
            Confusion::of_categories([("a", "a"), ("a", "b"), ("b", "b"), ("b", "c"), ("c", "c"), ("c", "a")]);
        assert!(close(&cohen_kappa(&confusion), 0.25));
        // Perfect agreement over two categories is 1; a judge who answers `pass` to people's
        // `fail` and the other way round is −1.
        assert!(close(
            &cohen_kappa(&Confusion::of_categories([("pass", "pass"), ("fail", "fail")])),
            1.0
        ));
        assert!(close(
            &cohen_kappa(&Confusion::of_categories([("pass", "fail"), ("fail", "pass")])),
            -1.0
        ));
    }

    #[test]
    fn kappa_is_undefined_without_judgements_or_when_chance_agreement_is_one() {
        assert_eq!(
            cohen_kappa(&Confusion::of_categories([])),
            Measure::Undefined("there are no judgements to compare".into())
        );
        let all_pass = cohen_kappa(&Confusion::of_categories([("pass", "pass"); 5]));
        assert_eq!(all_pass.value(), None);
        let Measure::Undefined(why) = &all_pass else {
            unreachable!()
        };
        assert!(why.contains("`pass`") && why.contains("chance is 1"), "{why}");
        assert_eq!(
            serde_json::to_value(&all_pass).unwrap(),
            serde_json::json!({"value": null, "undefined": why})
        );
        assert_eq!(
            serde_json::to_value(Measure::Value(0.4)).unwrap(),
            serde_json::json!({"value": 0.4})
        );
        // People always `pass`, the judge always `fail`: pₑ = 0, so κ = (0 − 0) / 1 = 0.
        assert!(close(
            &cohen_kappa(&Confusion::of_categories([("pass", "fail"); 3])),
            0.0
        ));
    }

    /// Six tasks on a 1–3 scale, (people, judge): (1,1) (2,2) (3,3) (1,2) (2,3) (3,2).
    ///
    /// Squared differences: 0 0 0 1 1 1, Σ = 3, observed = 3/6 = 0.5.
    /// People give 1, 2, 3 twice each; the judge gives 1 once, 2 three times, 3 twice.
    /// Expected Σ r·c·d² / n²: for judge 1 (c = 1), Σ over people's values of 2·(a − 1)²
    /// = 2·(0 + 1 + 4) = 10; judge 2 (c = 3): 2·3·(1 + 0 + 1) = 12; judge 3 (c = 2):
    /// 2·2·(4 + 1 + 0) = 20; (10 + 12 + 20) / 36 = 7/6.
    /// κw = 1 − 0.5 / (7/6) = 1 − 3/7 = 4/7 ≈ 0.571, where unweighted κ is only 0.25
    /// (pₒ = 3/6, pₑ = (2·1 + 2·3 + 2·2) / 36 = 1/3): every miss is by one point.
    #[test]
    fn weighted_kappa_forgives_near_misses_more_than_far_ones() {
        let pairs = [(1, 1), (2, 2), (3, 3), (1, 2), (2, 3), (3, 2)];
        assert!(close(&quadratic_weighted_kappa(&pairs), 4.0 / 7.0));
        let confusion = Confusion::of_integers(&pairs);
        assert_eq!(confusion.categories, ["1", "2", "3"]);
        assert!(close(&cohen_kappa(&confusion), 0.25));
        // Numeric order, not the order of the names.
        assert_eq!(Confusion::of_integers(&[(10, 2), (9, 9)]).categories, ["2", "9", "10"]);
    }

    #[test]
    fn weighted_kappa_degenerate_cases() {
        assert_eq!(quadratic_weighted_kappa(&[]).value(), None);
        let same = quadratic_weighted_kappa(&[(3, 3), (3, 3)]);
        let Measure::Undefined(why) = same else {
            panic!("{same:?}")
        };
        assert!(why.contains("same score, 3"), "{why}");
        // People always 1, the judge always 5: observed = expected = 16, κw = 0.
        assert!(close(&quadratic_weighted_kappa(&[(1, 5), (1, 5)]), 0.0));
    }

    /// People 1 2 2 3, the judge 1 3 2 3. People's ranks: 1, 2.5, 2.5, 4 (the two 2s share
    /// ranks 2 and 3); the judge's: 1, 3.5, 2, 3.5. Both means are 2.5; deviations
    /// (−1.5, 0, 0, 1.5) and (−1.5, 1, −0.5, 1): Σ products = 2.25 + 1.5 = 3.75, Σ squares
    /// 4.5 and 4.5, ρ = 3.75 / 4.5 = 5/6.
    #[test]
    fn spearman_averages_the_ranks_of_ties() {
        assert_eq!(ranks(&[1.0, 2.0, 2.0, 3.0]), [1.0, 2.5, 2.5, 4.0]);
        assert_eq!(ranks(&[1.0, 3.0, 2.0, 3.0]), [1.0, 3.5, 2.0, 3.5]);
        let rho = spearman(&[(1.0, 1.0), (2.0, 3.0), (2.0, 2.0), (3.0, 3.0)]);
        assert!(close(&rho, 5.0 / 6.0), "{rho:?}");
        // Any increasing transformation keeps ρ = 1; reversing the order makes it −1.
        assert!(close(&spearman(&[(1.0, 0.1), (2.0, 0.5), (3.0, 0.9)]), 1.0));
        assert!(close(&spearman(&[(1.0, 0.9), (2.0, 0.5), (3.0, 0.1)]), -1.0));
    }

    #[test]
    fn spearman_is_undefined_for_one_judgement_or_a_constant_rater() {
        assert_eq!(spearman(&[]).value(), None);
        assert_eq!(spearman(&[(1.0, 2.0)]).value(), None);
        let Measure::Undefined(why) = spearman(&[(2.0, 1.0), (2.0, 3.0)]) else {
            panic!()
        };
        assert!(why.starts_with("people gave every task the same score, 2"), "{why}");
        let Measure::Undefined(why) = spearman(&[(1.0, 4.0), (2.0, 4.0)]) else {
            panic!()
        };
        assert!(why.starts_with("the judge gave every task the same score, 4"), "{why}");
    }
}
