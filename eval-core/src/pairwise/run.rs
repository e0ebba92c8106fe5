//! The result of a pairwise comparison: every case, and what they add up to per key. Written as
//! AG2's pairwise JSON (`schema_version, run_id, label, created_at, duration_ms, variant_a,
//! variant_b, n_pairs, keys, win_rates, flips, cases`), with the cases no comparator could
//! decide counted apart (`ungradeable`, ours).

use super::comparison::Winner;
use crate::calibration::{Confusion, cohen_kappa};
use crate::stats::wilson_interval_of_rate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The version of the pairwise JSON this crate writes: AG2's.
pub const PAIRWISE_SCHEMA_VERSION: &str = "0.1";

/// One comparator's verdict on one task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairwiseCase {
    /// The task.
    pub task_id: String,
    /// The comparator's key.
    pub key: String,
    /// The better answer; `None` when it could not be decided. In the JSON an undecided case
    /// is a `tie` with `"ungradeable": true` in its detail (AG2 counts it as a tie).
    pub winner: Option<Winner>,
    /// Why.
    pub reasoning: Option<String>,
    /// What the comparator recorded (a judge: `order1`, `order2`).
    pub detail: Value,
}

impl PairwiseCase {
    /// Whether a judge's two orders disagreed: each order's preference, put back on the runs,
    /// named a different answer (one of them a tie, or each the other's).
    pub fn flipped(&self) -> bool {
        let order = |name: &str| self.detail.get(name).and_then(Value::as_str);
        let (Some(first), Some(second)) = (order("order1"), order("order2")) else {
            return false;
        };
        // Order 1 shows a first, order 2 shows b first.
        let on_runs = |preferred: &str, first: &'static str, second: &'static str| match preferred {
            "first" => first,
            "second" => second,
            _ => "tie",
        };
        on_runs(first, "a", "b") != on_runs(second, "b", "a")
    }
}

/// The second run's win rate on one key: wins, with a tie counting a half, over the decided
/// cases, with the Wilson 95% interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WinRate {
    /// The second run's name.
    pub variant: String,
    /// (wins + ties / 2) / n.
    pub rate: f64,
    /// The second run's wins.
    pub wins: u64,
    /// The second run's losses (the first run's wins).
    pub losses: u64,
    /// Ties.
    pub ties: u64,
    /// The decided cases.
    pub n: u64,
    /// The Wilson 95% interval of the rate.
    pub ci: (f64, f64),
}

/// How often two comparators (a judge and people, say) chose the same answer, over the tasks
/// both decided.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agreement {
    /// The share of tasks where they agree.
    pub rate: f64,
    /// Cohen's κ over a, b and tie; `None` when it is undefined (both always said the same
    /// one thing), with the reason.
    pub kappa: Option<f64>,
    /// Why κ is undefined, when it is.
    pub kappa_undefined: Option<String>,
    /// The tasks both decided.
    pub n: usize,
    /// The tasks where they disagree: (task, the first comparator's, the second's).
    pub disagreements: Vec<(String, Winner, Winner)>,
}

/// A pairwise comparison of two runs.
#[derive(Debug, Clone, PartialEq)]
pub struct PairwiseRun {
    /// Its id (a ULID).
    pub run_id: String,
    /// A label the user gave it.
    pub label: Option<String>,
    /// When it started (RFC 3339, UTC).
    pub created_at: String,
    /// How long it took.
    pub duration_ms: u64,
    /// The first run's name.
    pub variant_a: String,
    /// The second run's name.
    pub variant_b: String,
    /// The tasks both runs answered.
    pub n_pairs: usize,
    /// The comparators' keys, in their order.
    pub keys: Vec<String>,
    /// Every case, task by task, each task's keys in order.
    pub cases: Vec<PairwiseCase>,
}

impl PairwiseRun {
    fn cases_of<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a PairwiseCase> + 'a {
        self.cases.iter().filter(move |case| case.key == key)
    }

    /// The second run's win rate under `key`, over the decided cases.
    pub fn win_rate(&self, key: &str) -> WinRate {
        let (mut wins, mut losses, mut ties) = (0, 0, 0);
        for case in self.cases_of(key) {
            match case.winner {
                Some(Winner::B) => wins += 1,
                Some(Winner::A) => losses += 1,
                Some(Winner::Tie) => ties += 1,
                None => {}
            }
        }
        let n = wins + losses + ties;
        let rate = match n {
            0 => 0.0,
            _ => (wins as f64 + 0.5 * ties as f64) / n as f64,
        };
        WinRate {
            variant: self.variant_b.clone(),
            rate,
            wins,
            losses,
            ties,
            n,
            ci: wilson_interval_of_rate(rate, n),
        }
    }

    /// The cases under `key` where a judge's two orders disagreed (each such case is a tie).
    pub fn flips(&self, key: &str) -> usize {
        self.cases_of(key).filter(|case| case.flipped()).count()
    }

    /// The cases under `key` no comparator could decide.
    pub fn ungradeable(&self, key: &str) -> usize {
        self.cases_of(key).filter(|case| case.winner.is_none()).count()
    }

    /// How `key_x` and `key_y` agree over the tasks both decided.
    pub fn agreement(&self, key_x: &str, key_y: &str) -> Agreement {
        let decided = |key: &str| -> BTreeMap<&str, Winner> {
            self.cases
                .iter()
                .filter(|case| case.key == key)
                .filter_map(|case| Some((case.task_id.as_str(), case.winner?)))
                .collect()
        };
        let (x, y) = (decided(key_x), decided(key_y));
        let shared: Vec<(&str, Winner, Winner)> = x
            .iter()
            .filter_map(|(task, &wx)| Some((*task, wx, *y.get(task)?)))
            .collect();
        let n = shared.len();
        let agreeing = shared.iter().filter(|(_, wx, wy)| wx == wy).count();
        let confusion = Confusion::of_categories(shared.iter().map(|(_, wx, wy)| (wx.as_str(), wy.as_str())));
        let kappa = cohen_kappa(&confusion);
        Agreement {
            rate: if n == 0 { 0.0 } else { agreeing as f64 / n as f64 },
            kappa: kappa.value(),
            kappa_undefined: match kappa {
                crate::calibration::Measure::Undefined(why) => Some(why),
                crate::calibration::Measure::Value(_) => None,
            },
            n,
            disagreements: shared
                .iter()
                .filter(|(_, wx, wy)| wx != wy)
                .map(|(task, wx, wy)| ((*task).to_owned(), *wx, *wy))
                .collect(),
        }
    }

    /// The run as AG2's pairwise JSON.
    pub fn to_json(&self) -> Value {
        let win_rates: Map<String, Value> = self
            .keys
            .iter()
            .map(|key| {
                let rate = self.win_rate(key);
                let value = serde_json::json!({
                    "variant": rate.variant,
                    "rate": rate.rate,
                    "wins": rate.wins,
                    "losses": rate.losses,
                    "ties": rate.ties,
                    "n": rate.n,
                    "ci": [rate.ci.0, rate.ci.1],
                });
                (key.clone(), value)
            })
            .collect();
        let count = |f: &dyn Fn(&str) -> usize| -> Map<String, Value> {
            self.keys.iter().map(|key| (key.clone(), Value::from(f(key)))).collect()
        };
        let cases: Vec<Value> = self
            .cases
            .iter()
            .map(|case| {
                let mut detail = match &case.detail {
                    Value::Object(map) => map.clone(),
                    Value::Null => Map::new(),
                    other => Map::from_iter([("value".to_owned(), other.clone())]),
                };
                if case.winner.is_none() {
                    detail.insert("ungradeable".to_owned(), Value::Bool(true));
                }
                serde_json::json!({
                    "task_id": case.task_id,
                    "key": case.key,
                    "winner": case.winner.unwrap_or(Winner::Tie).as_str(),
                    "reasoning": case.reasoning,
                    "detail": detail,
                })
            })
            .collect();
        serde_json::json!({
            "schema_version": PAIRWISE_SCHEMA_VERSION,
            "run_id": self.run_id,
            "label": self.label,
            "created_at": self.created_at,
            "duration_ms": self.duration_ms,
            "variant_a": self.variant_a,
            "variant_b": self.variant_b,
            "n_pairs": self.n_pairs,
            "keys": self.keys,
            "win_rates": win_rates,
            "flips": count(&|key| self.flips(key)),
            "ungradeable": count(&|key| self.ungradeable(key)),
            "cases": cases,
        })
    }

    /// The run read back from its pairwise JSON (ours or AG2's); `Err` says what is missing.
    pub fn from_json(value: &Value) -> Result<PairwiseRun, String> {
        let text = |name: &str| -> Result<String, String> {
            value
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("`{name}` is missing or not a string"))
        };
        let cases = value
            .get("cases")
            .and_then(Value::as_array)
            .ok_or("`cases` is missing or not a list")?
            .iter()
            .enumerate()
            .map(|(i, case)| {
                let field = |name: &str| case.get(name).and_then(Value::as_str);
                let mut detail = case.get("detail").cloned().unwrap_or(Value::Null);
                let ungradeable = detail
                    .as_object_mut()
                    .and_then(|map| map.remove("ungradeable"))
                    .is_some_and(|flag| flag == true);
                let winner = match field("winner") {
                    Some("a") => Winner::A,
                    Some("b") => Winner::B,
                    Some("tie") => Winner::Tie,
                    other => return Err(format!("case {}: `winner` is {other:?}, not a, b or tie", i + 1)),
                };
                Ok(PairwiseCase {
                    task_id: field("task_id")
                        .ok_or(format!("case {}: no `task_id`", i + 1))?
                        .to_owned(),
                    key: field("key").ok_or(format!("case {}: no `key`", i + 1))?.to_owned(),
                    winner: (!ungradeable).then_some(winner),
                    reasoning: field("reasoning").map(str::to_owned),
                    detail,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(PairwiseRun {
            run_id: text("run_id")?,
            label: value.get("label").and_then(Value::as_str).map(str::to_owned),
            created_at: text("created_at")?,
            duration_ms: value.get("duration_ms").and_then(Value::as_u64).unwrap_or(0),
            variant_a: text("variant_a")?,
            variant_b: text("variant_b")?,
            n_pairs: value.get("n_pairs").and_then(Value::as_u64).unwrap_or(0) as usize,
            keys: value
                .get("keys")
                .and_then(Value::as_array)
                .ok_or("`keys` is missing or not a list")?
                .iter()
                .map(|key| key.as_str().map(str::to_owned).ok_or("a key is not a string"))
                .collect::<Result<_, _>>()?,
            cases,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn case(task: &str, key: &str, winner: Option<Winner>, detail: Value) -> PairwiseCase {
        PairwiseCase {
            task_id: task.to_owned(),
            key: key.to_owned(),
            winner,
            reasoning: None,
            detail,
        }
    }

    fn run(cases: Vec<PairwiseCase>) -> PairwiseRun {
        PairwiseRun {
            run_id: "01P".to_owned(),
            label: None,
            created_at: "2026-12-02T00:00:00Z".to_owned(),
            duration_ms: 5,
            variant_a: "mini".to_owned(),
            variant_b: "large".to_owned(),
            n_pairs: 4,
            keys: vec!["judge".to_owned(), "people".to_owned()],
            cases,
        }
    }

    #[test]
    fn wins_ties_flips_and_the_undecided_by_hand() {
        let flip = json!({"order1": "first", "order2": "first"});
        let run = run(vec![
            case(
                "t1",
                "judge",
                Some(Winner::B),
                json!({"order1": "second", "order2": "first"}),
            ),
            case("t2", "judge", Some(Winner::B), json!({})),
            case("t3", "judge", Some(Winner::Tie), flip),
            case("t4", "judge", None, json!({})),
            case("t1", "people", Some(Winner::B), json!({})),
            case("t2", "people", Some(Winner::A), json!({})),
            case("t3", "people", Some(Winner::Tie), json!({})),
        ]);
        let rate = run.win_rate("judge");
        // (2 + 0.5) / 3, Wilson at n = 3.
        assert_eq!((rate.wins, rate.losses, rate.ties, rate.n), (2, 0, 1, 3));
        assert!((rate.rate - 2.5 / 3.0).abs() < 1e-12);
        assert_eq!(rate.ci, wilson_interval_of_rate(2.5 / 3.0, 3));
        assert_eq!(run.flips("judge"), 1, "order 1 chose a, order 2 chose b");
        assert_eq!(run.ungradeable("judge"), 1);
        let agreement = run.agreement("judge", "people");
        assert_eq!(agreement.n, 3, "t4 was not decided");
        assert!((agreement.rate - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(agreement.disagreements, [("t2".to_owned(), Winner::B, Winner::A)]);
        // judge b b tie, people b a tie: pₒ = 2/3; pₑ = (2/3 · 1/3) + (1/3 · 1/3) = 1/3; κ = 1/2.
        assert!((agreement.kappa.unwrap() - 0.5).abs() < 1e-12);
    }

    #[test]
    fn the_json_is_ag2s_and_reads_back() {
        let original = run(vec![
            case(
                "t1",
                "judge",
                Some(Winner::A),
                json!({"order1": "first", "order2": "second"}),
            ),
            case("t2", "judge", None, json!({})),
        ]);
        let json = original.to_json();
        for field in [
            "schema_version",
            "run_id",
            "label",
            "created_at",
            "duration_ms",
            "variant_a",
            "variant_b",
            "n_pairs",
            "keys",
            "win_rates",
            "flips",
            "cases",
        ] {
            assert!(json.get(field).is_some(), "{field}");
        }
        assert_eq!(json["cases"][1]["winner"], "tie");
        assert_eq!(json["cases"][1]["detail"]["ungradeable"], true);
        assert_eq!(json["win_rates"]["judge"]["n"], 1);
        assert_eq!(PairwiseRun::from_json(&json).unwrap(), original);
        let mut bad = json.clone();
        bad["cases"][0]["winner"] = json!("c");
        assert_eq!(
            PairwiseRun::from_json(&bad).unwrap_err(),
            "case 1: `winner` is Some(\"c\"), not a, b or tie"
        );
    }
}
