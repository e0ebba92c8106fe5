//! The scorecard: the projection of a run that is committed as the baseline.
//!
//! One line per (task, scorer) with the task's content hash and the pair's verdict, sorted,
//! then the pass rate of every key. Durations, tokens, run ids, numbers without threshold and
//! comments are left out, so an unchanged agent produces an unchanged scorecard.

use crate::feedback::Verdict;
use crate::result::{RunResult, TaskResult};
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use thiserror::Error;

/// The verdict of one (task, scorer) pair over all of its attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairVerdict {
    Pass,
    Fail,
    /// The scorer could not grade (it failed, or the agent left nothing to grade): a fail.
    Error,
    /// A number without threshold or a label: shown, never gating.
    Info,
    /// The scorer had nothing to say about this task.
    NotApplicable,
    /// With repeats: `passed` of `attempts` graded attempts passed.
    Repeated {
        passed: u32,
        attempts: u32,
    },
}

/// How a pair behaved, whatever the number of attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairClass {
    StablePass,
    StableFail,
    Flaky,
    Info,
    NotApplicable,
}

impl PairVerdict {
    /// The verdict of `key` over the attempts of one task (one record without repeats).
    pub fn of(attempts: &[&TaskResult], key: &str) -> PairVerdict {
        PairVerdict::from_attempts(attempts.iter().map(|t| t.verdict(key)))
    }

    /// The verdict of a pair from the verdict of each attempt (`None`: no feedback on that
    /// attempt). One attempt gives pass/fail/error/info; several give `passed/attempts` over
    /// the attempts that were graded pass or fail.
    pub fn from_attempts(attempts: impl IntoIterator<Item = Option<Verdict>>) -> PairVerdict {
        let mut count = 0;
        let verdicts: Vec<Verdict> = attempts.into_iter().inspect(|_| count += 1).flatten().collect();
        match verdicts.as_slice() {
            [] => PairVerdict::NotApplicable,
            [single] if count == 1 => match single {
                Verdict::Pass => PairVerdict::Pass,
                Verdict::Fail => PairVerdict::Fail,
                Verdict::Ungradeable => PairVerdict::Error,
                Verdict::Informational => PairVerdict::Info,
            },
            many => {
                let graded: Vec<&Verdict> = many.iter().filter(|v| **v != Verdict::Informational).collect();
                if graded.is_empty() {
                    return PairVerdict::Info;
                }
                PairVerdict::Repeated {
                    passed: graded.iter().filter(|v| ***v == Verdict::Pass).count() as u32,
                    attempts: graded.len() as u32,
                }
            }
        }
    }

    /// Stable pass, stable fail, flaky, informational or not applicable.
    pub fn class(self) -> PairClass {
        match self {
            PairVerdict::Pass => PairClass::StablePass,
            PairVerdict::Fail | PairVerdict::Error => PairClass::StableFail,
            PairVerdict::Info => PairClass::Info,
            PairVerdict::NotApplicable => PairClass::NotApplicable,
            PairVerdict::Repeated { passed, attempts } if passed == attempts => PairClass::StablePass,
            PairVerdict::Repeated { passed: 0, .. } => PairClass::StableFail,
            PairVerdict::Repeated { .. } => PairClass::Flaky,
        }
    }

    /// Passed and graded counts, for pass rates (`None` for informational pairs).
    pub fn pass_count(self) -> Option<(u32, u32)> {
        match self {
            PairVerdict::Pass => Some((1, 1)),
            PairVerdict::Fail | PairVerdict::Error => Some((0, 1)),
            PairVerdict::Repeated { passed, attempts } => Some((passed, attempts)),
            PairVerdict::Info | PairVerdict::NotApplicable => None,
        }
    }

    fn parse(token: &str) -> Option<PairVerdict> {
        Some(match token {
            "pass" => PairVerdict::Pass,
            "fail" => PairVerdict::Fail,
            "error" => PairVerdict::Error,
            "info" => PairVerdict::Info,
            "n/a" => PairVerdict::NotApplicable,
            other => {
                let (passed, attempts) = other.split_once('/')?;
                let (passed, attempts) = (passed.parse().ok()?, attempts.parse().ok()?);
                if attempts == 0 || passed > attempts {
                    return None;
                }
                PairVerdict::Repeated { passed, attempts }
            }
        })
    }
}

impl fmt::Display for PairVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PairVerdict::Pass => f.write_str("pass"),
            PairVerdict::Fail => f.write_str("fail"),
            PairVerdict::Error => f.write_str("error"),
            PairVerdict::Info => f.write_str("info"),
            PairVerdict::NotApplicable => f.write_str("n/a"),
            PairVerdict::Repeated { passed, attempts } => write!(f, "{passed}/{attempts}"),
        }
    }
}

/// One line of a scorecard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScorecardEntry {
    pub content_hash: String,
    pub verdict: PairVerdict,
}

/// How one pair differs between two scorecards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScorecardChange<'a> {
    Added {
        pair: &'a (String, String),
        entry: &'a ScorecardEntry,
    },
    Removed {
        pair: &'a (String, String),
        entry: &'a ScorecardEntry,
    },
    Changed {
        pair: &'a (String, String),
        was: &'a ScorecardEntry,
        now: &'a ScorecardEntry,
    },
}

impl fmt::Display for ScorecardChange<'_> {
    /// `+ paris · city_matches: pass`, `- rome · judge: fail`, `~ oslo · judge: fail → pass`
    /// (`(content changed)` when only the task's content hash moved).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScorecardChange::Added { pair, entry } => write!(f, "+ {} · {}: {}", pair.0, pair.1, entry.verdict),
            ScorecardChange::Removed { pair, entry } => write!(f, "- {} · {}: {}", pair.0, pair.1, entry.verdict),
            ScorecardChange::Changed { pair, was, now } => {
                write!(f, "~ {} · {}: {} → {}", pair.0, pair.1, was.verdict, now.verdict)?;
                if was.content_hash != now.content_hash {
                    f.write_str(" (content changed)")?;
                }
                Ok(())
            }
        }
    }
}

/// A suite's scorecard: `(task id, scorer key) → entry`, sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scorecard {
    pub entries: BTreeMap<(String, String), ScorecardEntry>,
}

/// A scorecard file that cannot be read, with the line at fault.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}: {message}")]
pub struct ScorecardError {
    pub line: usize,
    pub message: String,
}

const HEADER: &str = "# One line per (task, scorer): task id, content hash, scorer key, verdict.";
const PASS_RATES: &str = "# Pass rates";

impl Scorecard {
    /// The scorecard of a run: every task (attempts pooled) × every key the run declares or
    /// produced.
    pub fn from_run(run: &RunResult) -> Scorecard {
        let mut by_task: BTreeMap<&str, Vec<&TaskResult>> = BTreeMap::new();
        for task in run.tasks() {
            by_task.entry(task.base_id()).or_default().push(task);
        }
        let keys = run.keys();
        let mut card = Scorecard::default();
        for (task_id, attempts) in by_task {
            for key in &keys {
                card.entries.insert(
                    (task_id.to_owned(), (*key).to_owned()),
                    ScorecardEntry {
                        content_hash: attempts[0].content_hash.to_string(),
                        verdict: PairVerdict::of(&attempts, key),
                    },
                );
            }
        }
        card
    }

    /// The entry of a pair.
    pub fn get(&self, task_id: &str, key: &str) -> Option<&ScorecardEntry> {
        self.entries.get(&(task_id.to_owned(), key.to_owned()))
    }

    /// This scorecard with `newer`'s entries replacing its own: what a filtered run leaves
    /// behind (the pairs that ran are updated, the others are kept).
    pub fn merged_with(&self, newer: &Scorecard) -> Scorecard {
        let mut merged = self.clone();
        merged
            .entries
            .extend(newer.entries.iter().map(|(k, v)| (k.clone(), v.clone())));
        merged
    }

    /// The pairs whose entry differs in `before` and here, in pair order: what a review of the
    /// new scorecard would show. One pass over both (they are sorted).
    pub fn changes_from<'a>(&'a self, before: &'a Scorecard) -> Vec<ScorecardChange<'a>> {
        let mut changes = Vec::new();
        let mut old = before.entries.iter().peekable();
        let mut new = self.entries.iter().peekable();
        loop {
            let order = match (old.peek().copied(), new.peek().copied()) {
                (None, None) => break,
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some((old_pair, _)), Some((new_pair, _))) => old_pair.cmp(new_pair),
            };
            match order {
                std::cmp::Ordering::Less => {
                    if let Some((pair, entry)) = old.next() {
                        changes.push(ScorecardChange::Removed { pair, entry });
                    }
                }
                std::cmp::Ordering::Greater => {
                    if let Some((pair, entry)) = new.next() {
                        changes.push(ScorecardChange::Added { pair, entry });
                    }
                }
                std::cmp::Ordering::Equal => {
                    if let (Some((pair, was)), Some((_, now))) = (old.next(), new.next())
                        && was != now
                    {
                        changes.push(ScorecardChange::Changed { pair, was, now });
                    }
                }
            }
        }
        changes
    }

    /// Passed and graded counts per key.
    pub fn pass_counts(&self) -> BTreeMap<&str, (u32, u32)> {
        let mut counts: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
        for ((_, key), entry) in &self.entries {
            if let Some((passed, total)) = entry.verdict.pass_count() {
                let count = counts.entry(key).or_default();
                // A scorecard is read from a file: its counts saturate rather than overflow.
                count.0 = count.0.saturating_add(passed);
                count.1 = count.1.saturating_add(total);
            }
        }
        counts
    }

    /// The scorecard as text: the body of the baseline snapshot.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(HEADER);
        out.push('\n');
        for ((task, key), entry) in &self.entries {
            let _ = writeln!(
                out,
                "{} {} {} {}",
                token(task),
                entry.content_hash,
                token(key),
                entry.verdict
            );
        }
        let counts = self.pass_counts();
        if !counts.is_empty() {
            out.push('\n');
            out.push_str(PASS_RATES);
            out.push('\n');
            for (key, (passed, total)) in counts {
                let _ = writeln!(out, "{} {passed}/{total}", token(key));
            }
        }
        out
    }

    /// Reads a scorecard written by [`Scorecard::render`]. A hand-edited line that does not
    /// fit is an error naming the line; the pass-rate section is derived and only checked for
    /// shape.
    pub fn parse(text: &str) -> Result<Scorecard, ScorecardError> {
        let mut card = Scorecard::default();
        let mut in_pass_rates = false;
        for (index, line) in text.lines().enumerate() {
            let line_no = index + 1;
            let err = |message: String| ScorecardError { line: line_no, message };
            let trimmed = line.trim();
            if trimmed.is_empty() {
                continue;
            }
            if trimmed.starts_with('#') {
                in_pass_rates |= trimmed == PASS_RATES;
                continue;
            }
            let tokens = tokens(trimmed).map_err(err)?;
            if in_pass_rates {
                if tokens.len() != 2 {
                    return Err(err(format!("expected `<scorer> <passed>/<total>`, found `{trimmed}`")));
                }
                continue;
            }
            let [task, hash, key, verdict] = <[String; 4]>::try_from(tokens).map_err(|found| {
                err(format!(
                    "expected `<task> <content hash> <scorer> <verdict>`, found {} field(s)",
                    found.len()
                ))
            })?;
            if hash.is_empty() || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(err(format!("`{hash}` is not a content hash (hex digits)")));
            }
            let verdict = PairVerdict::parse(&verdict).ok_or_else(|| {
                err(format!(
                    "`{verdict}` is not a verdict (pass, fail, error, info, n/a or <passed>/<attempts>)"
                ))
            })?;
            let previous = card.entries.insert(
                (task.clone(), key.clone()),
                ScorecardEntry {
                    content_hash: hash,
                    verdict,
                },
            );
            if previous.is_some() {
                return Err(err(format!("task `{task}` and scorer `{key}` appear twice")));
            }
        }
        Ok(card)
    }
}

/// A bare word when it is one, else a JSON string, so ids with spaces survive.
fn token(s: &str) -> String {
    let bare =
        !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c == '"' || c.is_control()) && !s.starts_with('#');
    if bare {
        s.to_owned()
    } else {
        serde_json::Value::String(s.to_owned()).to_string()
    }
}

fn tokens(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut rest = line.trim_start();
    while !rest.is_empty() {
        if rest.starts_with('"') {
            let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<String>();
            let value = match stream.next() {
                Some(Ok(value)) => value,
                _ => return Err(format!("unterminated or invalid quoted field: {rest}")),
            };
            out.push(value);
            rest = rest[stream.byte_offset()..].trim_start();
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            out.push(rest[..end].to_owned());
            rest = rest[end..].trim_start();
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn huge_pass_counts_saturate_instead_of_overflowing() {
        let card = super::Scorecard::parse("a 0 k 4000000000/4000000000\nb 0 k 4000000000/4000000000\n").unwrap();
        assert_eq!(card.pass_counts()["k"], (u32::MAX, u32::MAX));
        assert!(card.render().contains("4000000000/4000000000"));
    }

    use super::*;

    fn entry(hash: &str, verdict: PairVerdict) -> ScorecardEntry {
        ScorecardEntry {
            content_hash: hash.to_owned(),
            verdict,
        }
    }

    fn sample() -> Scorecard {
        let mut card = Scorecard::default();
        card.entries
            .insert(("paris".into(), "exact".into()), entry("00ff", PairVerdict::Pass));
        card.entries
            .insert(("paris".into(), "overlap".into()), entry("00ff", PairVerdict::Info));
        card.entries
            .insert(("new york".into(), "exact".into()), entry("a1b2", PairVerdict::Fail));
        card.entries.insert(
            ("rome".into(), "exact".into()),
            entry("c3d4", PairVerdict::Repeated { passed: 2, attempts: 3 }),
        );
        card.entries
            .insert(("rome".into(), "judge".into()), entry("c3d4", PairVerdict::Error));
        card
    }

    #[test]
    fn changes_list_every_differing_pair_once_in_order() {
        let before = sample();
        let mut after = sample();
        after.entries.remove(&("new york".into(), "exact".into()));
        after
            .entries
            .insert(("athens".into(), "exact".into()), entry("9999", PairVerdict::Pass));
        after
            .entries
            .insert(("paris".into(), "exact".into()), entry("00ff", PairVerdict::Fail));
        after
            .entries
            .insert(("rome".into(), "judge".into()), entry("ffff", PairVerdict::Error));
        let shown: Vec<String> = after.changes_from(&before).iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "+ athens · exact: pass",
                "- new york · exact: fail",
                "~ paris · exact: pass → fail",
                "~ rome · judge: error → error (content changed)",
            ]
        );
        assert!(before.changes_from(&before).is_empty());
        assert_eq!(before.changes_from(&Scorecard::default()).len(), before.entries.len());
    }

    #[test]
    fn render_and_parse_round_trip() {
        let card = sample();
        let text = card.render();
        assert_eq!(
            text,
            "# One line per (task, scorer): task id, content hash, scorer key, verdict.\n\
             \"new york\" a1b2 exact fail\n\
             paris 00ff exact pass\n\
             paris 00ff overlap info\n\
             rome c3d4 exact 2/3\n\
             rome c3d4 judge error\n\
             \n\
             # Pass rates\n\
             exact 3/5\n\
             judge 0/1\n"
        );
        assert_eq!(Scorecard::parse(&text).unwrap(), card);
    }

    #[test]
    fn hand_edits_that_do_not_fit_name_the_line() {
        let bad = [
            (
                "paris 00ff exact\n",
                "line 1: expected `<task> <content hash> <scorer> <verdict>`, found 3 field(s)",
            ),
            (
                "# c\nparis zz exact pass\n",
                "line 2: `zz` is not a content hash (hex digits)",
            ),
            ("paris 00ff exact maybe\n", "line 1: `maybe` is not a verdict"),
            ("paris 00ff exact 4/3\n", "line 1: `4/3` is not a verdict"),
            (
                "paris 00ff exact pass\nparis 00ff exact fail\n",
                "line 2: task `paris` and scorer `exact` appear twice",
            ),
            (
                "\"paris 00ff exact pass\n",
                "line 1: unterminated or invalid quoted field",
            ),
            ("# Pass rates\nexact\n", "line 2: expected `<scorer> <passed>/<total>`"),
        ];
        for (text, expected) in bad {
            let err = Scorecard::parse(text).unwrap_err().to_string();
            assert!(err.starts_with(expected), "{text:?}: {err}");
        }
    }

    #[test]
    fn merging_replaces_only_the_pairs_that_ran() {
        let old = sample();
        let mut newer = Scorecard::default();
        newer
            .entries
            .insert(("paris".into(), "exact".into()), entry("00ff", PairVerdict::Fail));
        let merged = old.merged_with(&newer);
        assert_eq!(merged.get("paris", "exact").unwrap().verdict, PairVerdict::Fail);
        assert_eq!(merged.get("rome", "judge").unwrap().verdict, PairVerdict::Error);
        assert_eq!(merged.entries.len(), old.entries.len());
    }

    #[test]
    fn verdicts_from_attempts() {
        use Verdict::*;
        assert_eq!(PairVerdict::from_attempts([Some(Pass)]), PairVerdict::Pass);
        assert_eq!(PairVerdict::from_attempts([Some(Ungradeable)]), PairVerdict::Error);
        assert_eq!(PairVerdict::from_attempts([None]), PairVerdict::NotApplicable);
        assert_eq!(
            PairVerdict::from_attempts([Some(Pass), Some(Fail), Some(Ungradeable), None]),
            PairVerdict::Repeated { passed: 1, attempts: 3 }
        );
        assert_eq!(
            PairVerdict::from_attempts([Some(Informational), Some(Informational)]),
            PairVerdict::Info
        );
    }

    #[test]
    fn classes() {
        assert_eq!(
            PairVerdict::Repeated { passed: 3, attempts: 3 }.class(),
            PairClass::StablePass
        );
        assert_eq!(
            PairVerdict::Repeated { passed: 0, attempts: 3 }.class(),
            PairClass::StableFail
        );
        assert_eq!(
            PairVerdict::Repeated { passed: 1, attempts: 3 }.class(),
            PairClass::Flaky
        );
        assert_eq!(PairVerdict::Error.class(), PairClass::StableFail);
    }
}
