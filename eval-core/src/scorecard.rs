//! The scorecard: the projection of a run that is committed as the baseline.
//!
//! One line per (task, scorer) with the task's content hash and the pair's verdict, sorted,
//! then the pass rate of every key. Durations, tokens, run ids, numbers without threshold and
//! comments are left out, so an unchanged agent produces an unchanged scorecard.

use crate::feedback::Verdict;
use crate::record::TaskRecord;
use crate::result::RunResult;
use crate::tally::{Tally, sum_pair_counts};
use crate::task::ContentHash;
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use thiserror::Error;

/// The verdict of one (task, scorer) pair over all of its attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairVerdict {
    /// Passed.
    Pass,
    /// Failed.
    Fail,
    /// The scorer could not grade (it failed, or the agent left nothing to grade): a fail.
    /// Written `error` in a scorecard.
    Ungradeable,
    /// A number without threshold or a label: shown, never gating. Written `info`.
    Informational,
    /// The scorer had nothing to say about this task.
    NotApplicable,
    /// With repeats: `passed` of `attempts` graded attempts passed.
    Repeated {
        /// Attempts that passed.
        passed: u32,
        /// Attempts graded.
        attempts: u32,
    },
}

/// How a pair behaved, whatever the number of attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairClass {
    /// Passes every graded attempt.
    StablePass,
    /// Fails every graded attempt.
    StableFail,
    /// Passes some attempts and fails others.
    Flaky,
    /// Informational: never gating.
    Info,
    /// The scorer had nothing to say about the task.
    NotApplicable,
}

impl PairVerdict {
    /// The verdict of `key` over the attempts of one task (one record without repeats).
    pub fn of(attempts: &[&TaskRecord], key: &str) -> PairVerdict {
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
                Verdict::Ungradeable => PairVerdict::Ungradeable,
                Verdict::Informational => PairVerdict::Informational,
            },
            many => {
                let count = Tally::of(many.iter().copied()).pass_count();
                if count.total == 0 {
                    return PairVerdict::Informational;
                }
                PairVerdict::Repeated {
                    passed: count.passed as u32,
                    attempts: count.total as u32,
                }
            }
        }
    }

    /// Stable pass, stable fail, flaky, informational or not applicable.
    pub fn class(self) -> PairClass {
        match self {
            PairVerdict::Pass => PairClass::StablePass,
            PairVerdict::Fail | PairVerdict::Ungradeable => PairClass::StableFail,
            PairVerdict::Informational => PairClass::Info,
            PairVerdict::NotApplicable => PairClass::NotApplicable,
            PairVerdict::Repeated { passed, attempts } if passed == attempts => PairClass::StablePass,
            PairVerdict::Repeated { passed: 0, .. } => PairClass::StableFail,
            PairVerdict::Repeated { .. } => PairClass::Flaky,
        }
    }

    /// Passed and graded counts, for pass rates (`None` for informational pairs); an
    /// ungradeable pair counts as a failed one ([`tally`](crate::tally)'s rule).
    pub fn pass_count(self) -> Option<(u32, u32)> {
        match self {
            PairVerdict::Pass => Some((1, 1)),
            PairVerdict::Fail | PairVerdict::Ungradeable => Some((0, 1)),
            PairVerdict::Repeated { passed, attempts } => Some((passed, attempts)),
            PairVerdict::Informational | PairVerdict::NotApplicable => None,
        }
    }

    fn parse(token: &str) -> Option<PairVerdict> {
        Some(match token {
            "pass" => PairVerdict::Pass,
            "fail" => PairVerdict::Fail,
            "error" => PairVerdict::Ungradeable,
            "info" => PairVerdict::Informational,
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
            PairVerdict::Ungradeable => f.write_str("error"),
            PairVerdict::Informational => f.write_str("info"),
            PairVerdict::NotApplicable => f.write_str("n/a"),
            PairVerdict::Repeated { passed, attempts } => write!(f, "{passed}/{attempts}"),
        }
    }
}

/// One line of a scorecard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScorecardEntry {
    /// The task's content hash, to tell a changed task.
    pub content_hash: ContentHash,
    /// The pair's verdict.
    pub verdict: PairVerdict,
}

/// How one pair differs between two scorecards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScorecardChange<'a> {
    /// A pair only the newer scorecard has.
    Added {
        /// `(task id, scorer key)`.
        pair: &'a (String, String),
        /// Its entry.
        entry: &'a ScorecardEntry,
    },
    /// A pair only the older scorecard has.
    Removed {
        /// `(task id, scorer key)`.
        pair: &'a (String, String),
        /// Its entry.
        entry: &'a ScorecardEntry,
    },
    /// A pair whose entry differs.
    Changed {
        /// `(task id, scorer key)`.
        pair: &'a (String, String),
        /// Its entry in the older scorecard.
        was: &'a ScorecardEntry,
        /// Its entry in the newer one.
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
    /// `(task id, scorer key) → entry`.
    pub entries: BTreeMap<(String, String), ScorecardEntry>,
}

/// A pair's (task id, key), owned or borrowed: the entries' keys are `(String, String)`, and a
/// lookup by `(&str, &str)` allocates nothing. Compared as the tuple is (task, then key).
trait PairKey {
    fn task(&self) -> &str;
    fn key(&self) -> &str;
}

impl PairKey for (String, String) {
    fn task(&self) -> &str {
        &self.0
    }
    fn key(&self) -> &str {
        &self.1
    }
}

impl PairKey for (&str, &str) {
    fn task(&self) -> &str {
        self.0
    }
    fn key(&self) -> &str {
        self.1
    }
}

impl<'a> std::borrow::Borrow<dyn PairKey + 'a> for (String, String) {
    fn borrow(&self) -> &(dyn PairKey + 'a) {
        self
    }
}

impl PartialEq for dyn PairKey + '_ {
    fn eq(&self, other: &Self) -> bool {
        (self.task(), self.key()) == (other.task(), other.key())
    }
}

impl Eq for dyn PairKey + '_ {}

impl PartialOrd for dyn PairKey + '_ {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for dyn PairKey + '_ {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.task(), self.key()).cmp(&(other.task(), other.key()))
    }
}

/// A scorecard file that cannot be read, with the line at fault.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}: {message}")]
pub struct ScorecardError {
    /// The line at fault, from 1.
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

const HEADER: &str = "# One line per (task, scorer): task id, content hash, scorer key, verdict.";
const PASS_RATES: &str = "# Pass rates";

impl Scorecard {
    /// The scorecard of a run: every task (attempts pooled) × every key the run declares or
    /// produced.
    pub fn from_run(run: &RunResult) -> Scorecard {
        let mut by_task: BTreeMap<&str, Vec<&TaskRecord>> = BTreeMap::new();
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
                        content_hash: attempts[0].content_hash.clone(),
                        verdict: PairVerdict::of(&attempts, key),
                    },
                );
            }
        }
        card
    }

    /// The entry of a pair.
    pub fn get(&self, task_id: &str, key: &str) -> Option<&ScorecardEntry> {
        // Looked up by borrowed strings: every trial and the summary ask, and two `String`s a
        // lookup were a measurable share of a large run's allocations.
        self.entries.get(&(task_id, key) as &dyn PairKey)
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
        sum_pair_counts(
            self.entries
                .iter()
                .filter_map(|((_, key), entry)| Some((key.as_str(), entry.verdict.pass_count()?))),
        )
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

    /// Reads a scorecard written by [`Scorecard::render`], whole or not at all: an error names
    /// the line at fault and says what is wrong.
    ///
    /// Beyond the shape of every line, the text must start with the scorecard's first line
    /// and its `# Pass rates` section must hold exactly the pass rates its entries add up to,
    /// so that a file cut short at any line, or an entry lost or edited by hand, is an error
    /// rather than a smaller scorecard. (A scorecard whose entries are all informational has
    /// no pass rates; what guards its length is the pair count in the baseline's header.)
    pub fn parse(text: &str) -> Result<Scorecard, ScorecardError> {
        let err = |line: usize, message: String| ScorecardError { line, message };
        // Errors about what is missing at the end name the last line.
        let last_line = text.lines().count().max(1);
        let mut lines = text.lines().enumerate().map(|(index, line)| (index + 1, line));
        match lines.next() {
            Some((_, first)) if first.trim() == HEADER => {}
            Some((number, first)) => {
                return Err(err(
                    number,
                    format!(
                        "expected the scorecard's first line `{HEADER}`, found `{}`",
                        shortened(first)
                    ),
                ));
            }
            None => return Err(err(1, format!("the scorecard is empty (its first line is `{HEADER}`)"))),
        }
        let mut card = Scorecard::default();
        // The pass rates as the file states them, once its section has started.
        let mut stated: Option<BTreeMap<String, StatedRate>> = None;
        for (line_no, line) in lines {
            let trimmed = line.trim();
            if trimmed.is_empty() {
                continue;
            }
            if trimmed == PASS_RATES {
                if stated.is_some() {
                    return Err(err(line_no, format!("a second `{PASS_RATES}` section")));
                }
                stated = Some(BTreeMap::new());
                continue;
            }
            if trimmed.starts_with('#') {
                return Err(err(
                    line_no,
                    format!(
                        "`{}` is not a line of a scorecard (its only comments are the first line and `{PASS_RATES}`)",
                        shortened(trimmed)
                    ),
                ));
            }
            let tokens = tokens(trimmed).map_err(|message| err(line_no, message))?;
            if let Some(stated) = &mut stated {
                let (key, passed, total) = parse_rate(tokens).ok_or_else(|| {
                    err(
                        line_no,
                        format!("expected `<scorer> <passed>/<total>`, found `{}`", shortened(trimmed)),
                    )
                })?;
                if stated.contains_key(&key) {
                    return Err(err(line_no, format!("the pass rate of `{key}` appears twice")));
                }
                stated.insert(
                    key,
                    StatedRate {
                        passed,
                        total,
                        line: line_no,
                    },
                );
                continue;
            }
            let [task, hash, key, verdict] = <[String; 4]>::try_from(tokens).map_err(|found| {
                err(
                    line_no,
                    format!(
                        "expected `<task> <content hash> <scorer> <verdict>`, found {} field(s)",
                        found.len()
                    ),
                )
            })?;
            if hash.is_empty() || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(err(line_no, format!("`{hash}` is not a content hash (hex digits)")));
            }
            let verdict = PairVerdict::parse(&verdict).ok_or_else(|| {
                err(
                    line_no,
                    format!("`{verdict}` is not a verdict (pass, fail, error, info, n/a or <passed>/<attempts>)"),
                )
            })?;
            let previous = card.entries.insert(
                (task.clone(), key.clone()),
                ScorecardEntry {
                    content_hash: ContentHash::from_stored(hash),
                    verdict,
                },
            );
            if previous.is_some() {
                return Err(err(line_no, format!("task `{task}` and scorer `{key}` appear twice")));
            }
        }
        card.check_stated_rates(stated.as_ref(), last_line)?;
        Ok(card)
    }

    /// Whether `line` is a marker git leaves around a merge conflict. A scorecard never has
    /// such a line (an id that would start one is written quoted), nor does insta's header.
    pub fn is_conflict_marker(line: &str) -> bool {
        CONFLICT_MARKERS.iter().any(|marker| {
            line.strip_prefix(marker)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace))
        })
    }

    /// Whether the pass rates a file states are exactly those its entries add up to.
    fn check_stated_rates(
        &self,
        stated: Option<&BTreeMap<String, StatedRate>>,
        last_line: usize,
    ) -> Result<(), ScorecardError> {
        let counts = self.pass_counts();
        let Some(stated) = stated else {
            if counts.is_empty() {
                return Ok(());
            }
            return Err(ScorecardError {
                line: last_line,
                message: format!(
                    "the scorecard ends without its `{PASS_RATES}` section (its entries give {}): the file is cut short",
                    rates_shown(&counts)
                ),
            });
        };
        for (key, rate) in stated {
            let message = match counts.get(key.as_str()) {
                Some(&(passed, total)) if (passed, total) == (rate.passed, rate.total) => continue,
                Some((passed, total)) => format!(
                    "the pass rate of `{key}` is given as {}/{} but its entries above add up to {passed}/{total}: an entry is missing or was edited",
                    rate.passed, rate.total
                ),
                None => format!("a pass rate for `{key}`, which has no graded entry above"),
            };
            return Err(ScorecardError {
                line: rate.line,
                message,
            });
        }
        let missing: BTreeMap<&str, (u32, u32)> = counts
            .into_iter()
            .filter(|(key, _)| !stated.contains_key(*key))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(ScorecardError {
            line: last_line,
            message: format!(
                "no pass rate for {} in `{PASS_RATES}`: the file is cut short",
                rates_shown(&missing)
            ),
        })
    }
}

/// A pass rate as a scorecard file states it, and its line.
struct StatedRate {
    passed: u32,
    total: u32,
    line: usize,
}

/// `<scorer> <passed>/<total>`, with `passed` at most `total`.
fn parse_rate(tokens: Vec<String>) -> Option<(String, u32, u32)> {
    let [key, rate] = <[String; 2]>::try_from(tokens).ok()?;
    let (passed, total) = rate.split_once('/')?;
    let (passed, total): (u32, u32) = (passed.parse().ok()?, total.parse().ok()?);
    (passed <= total).then_some((key, passed, total))
}

/// `` `exact` 3/5, `judge` 0/1 `` (the first few).
fn rates_shown(counts: &BTreeMap<&str, (u32, u32)>) -> String {
    const SHOWN: usize = 3;
    let mut shown: Vec<String> = counts
        .iter()
        .take(SHOWN)
        .map(|(key, (passed, total))| format!("`{key}` {passed}/{total}"))
        .collect();
    if counts.len() > SHOWN {
        shown.push(format!("and {} more", counts.len() - SHOWN));
    }
    shown.join(", ")
}

/// A line as an error message quotes it: at most 80 characters.
fn shortened(line: &str) -> String {
    const SHOWN: usize = 80;
    match line.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}

/// The markers git leaves around a merge conflict (`<<<<<<< ours`, `|||||||` with diff3,
/// `=======`, `>>>>>>> theirs`).
const CONFLICT_MARKERS: [&str; 4] = ["<<<<<<<", "|||||||", "=======", ">>>>>>>"];

/// A bare word when it is one, else a JSON string, so ids with spaces survive.
fn token(s: &str) -> String {
    // A leading `#` would read as a comment, and a run of seven `<`, `=`, `>` or `|` as a
    // merge conflict marker.
    let bare = !s.is_empty()
        && !s.chars().any(|c| c.is_whitespace() || c == '"' || c.is_control())
        && !s.starts_with('#')
        && !CONFLICT_MARKERS.iter().any(|marker| s.starts_with(marker));
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
    fn a_pair_is_found_by_borrowed_strings_in_the_tuple_order() {
        let tasks = ["a", "ab", "a b", "b", "", "é"];
        let keys = ["k", "k2", "", "K"];
        let mut card = Scorecard::default();
        for (i, task) in tasks.iter().enumerate() {
            for (j, key) in keys.iter().enumerate() {
                card.entries.insert(
                    ((*task).to_owned(), (*key).to_owned()),
                    ScorecardEntry {
                        content_hash: ContentHash::from_stored(format!("{i}{j}")),
                        verdict: PairVerdict::Pass,
                    },
                );
            }
        }
        for (i, task) in tasks.iter().enumerate() {
            for (j, key) in keys.iter().enumerate() {
                assert_eq!(
                    card.get(task, key).map(|e| e.content_hash.as_str()),
                    Some(format!("{i}{j}").as_str())
                );
            }
        }
        assert!(card.get("a", "k3").is_none());
        assert!(card.get("abc", "k").is_none());
    }
    #[test]
    fn huge_pass_counts_saturate_instead_of_overflowing() {
        let text = format!(
            "{}\na 0 k 4000000000/4000000000\nb 0 k 4000000000/4000000000\n\n# Pass rates\nk 4294967295/4294967295\n",
            super::HEADER
        );
        let card = super::Scorecard::parse(&text).unwrap();
        assert_eq!(card.pass_counts()["k"], (u32::MAX, u32::MAX));
        assert_eq!(card.render(), text);
    }

    use super::*;

    fn entry(hash: &str, verdict: PairVerdict) -> ScorecardEntry {
        ScorecardEntry {
            content_hash: ContentHash::from_stored(hash),
            verdict,
        }
    }

    fn sample() -> Scorecard {
        let mut card = Scorecard::default();
        card.entries
            .insert(("paris".into(), "exact".into()), entry("00ff", PairVerdict::Pass));
        card.entries.insert(
            ("paris".into(), "overlap".into()),
            entry("00ff", PairVerdict::Informational),
        );
        card.entries
            .insert(("new york".into(), "exact".into()), entry("a1b2", PairVerdict::Fail));
        card.entries.insert(
            ("rome".into(), "exact".into()),
            entry("c3d4", PairVerdict::Repeated { passed: 2, attempts: 3 }),
        );
        card.entries
            .insert(("rome".into(), "judge".into()), entry("c3d4", PairVerdict::Ungradeable));
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
            .insert(("rome".into(), "judge".into()), entry("ffff", PairVerdict::Ungradeable));
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
        // Each text follows the scorecard's first line, so its own lines count from 2.
        let bad = [
            (
                "paris 00ff exact\n",
                "line 2: expected `<task> <content hash> <scorer> <verdict>`, found 3 field(s)",
            ),
            (
                "paris zz exact pass\n",
                "line 2: `zz` is not a content hash (hex digits)",
            ),
            ("paris 00ff exact maybe\n", "line 2: `maybe` is not a verdict"),
            ("paris 00ff exact 4/3\n", "line 2: `4/3` is not a verdict"),
            (
                "paris 00ff exact pass\nparis 00ff exact fail\n",
                "line 3: task `paris` and scorer `exact` appear twice",
            ),
            (
                "\"paris 00ff exact pass\n",
                "line 2: unterminated or invalid quoted field",
            ),
            (
                "paris 00ff exact pass\n# Pass rates\nexact\n",
                "line 4: expected `<scorer> <passed>/<total>`",
            ),
            (
                "paris 00ff exact pass\n# Pass rates\nexact 2/1\n",
                "line 4: expected `<scorer> <passed>/<total>`",
            ),
            (
                "paris 00ff exact pass\n# Pass rates\nexact 1/1\nexact 1/1\n",
                "line 5: the pass rate of `exact` appears twice",
            ),
            (
                "paris 00ff exact pass\n# Pass rates\nexact 1/1\n# Pass rates\n",
                "line 5: a second `# Pass rates` section",
            ),
            (
                "# a note\nparis 00ff exact pass\n",
                "line 2: `# a note` is not a line of a scorecard",
            ),
            (
                "paris 00ff exact pass\n# Pass rates\nexact 1/1\nrome 00ff exact pass\n",
                "line 5: expected `<scorer> <passed>/<total>`",
            ),
        ];
        for (body, expected) in bad {
            let text = format!("{HEADER}\n{body}");
            let err = Scorecard::parse(&text).unwrap_err().to_string();
            assert!(err.starts_with(expected), "{text:?}: {err}");
        }
        let err = Scorecard::parse("paris 00ff exact pass\n").unwrap_err().to_string();
        assert!(err.starts_with("line 1: expected the scorecard's first line"), "{err}");
        let err = Scorecard::parse("").unwrap_err().to_string();
        assert!(err.starts_with("line 1: the scorecard is empty"), "{err}");
    }

    #[test]
    fn stated_pass_rates_must_be_what_the_entries_add_up_to() {
        let text = sample().render();
        let cases = [
            // An entry lost from the middle: the rate it counted in no longer adds up.
            (
                text.replace("paris 00ff exact pass\n", ""),
                "line 8: the pass rate of `exact` is given as 3/5 but its entries above add up to 2/4",
            ),
            // A verdict edited by hand.
            (
                text.replace("rome c3d4 judge error", "rome c3d4 judge pass"),
                "line 10: the pass rate of `judge` is given as 0/1 but its entries above add up to 1/1",
            ),
            (
                text.replace("judge 0/1\n", ""),
                "line 9: no pass rate for `judge` 0/1 in `# Pass rates`: the file is cut short",
            ),
            (
                text.replace("judge 0/1\n", "judge 0/1\nother 1/1\n"),
                "line 11: a pass rate for `other`, which has no graded entry above",
            ),
        ];
        for (edited, expected) in cases {
            let err = Scorecard::parse(&edited).unwrap_err().to_string();
            assert!(err.starts_with(expected), "{edited}\n{err}");
        }
    }

    #[test]
    fn a_scorecard_cut_at_any_line_after_its_first_graded_entry_is_an_error() {
        let text = sample().render();
        let full = Scorecard::parse(&text).unwrap();
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        // Cut after the first line only, the text is the empty scorecard: what tells the two
        // apart is the pair count in the baseline's header (see the harness's `baseline`).
        for kept in 2..lines.len() {
            let cut: String = lines[..kept].concat();
            let err = Scorecard::parse(&cut).expect_err(&format!("cut after line {kept} reads:\n{cut}"));
            assert!(err.line >= 1 && err.line <= kept, "{kept}: {err}");
        }
        // A cut inside any line also fails, or (only in the final newline) reads back whole.
        for end in HEADER.len() + 2..text.len() {
            match Scorecard::parse(&text[..end]) {
                Ok(card) => assert!(card == full && end == text.len() - 1, "cut at byte {end} reads smaller"),
                Err(err) => assert!(err.line >= 1, "{err}"),
            }
        }
    }

    #[test]
    fn ids_that_would_look_like_conflict_markers_are_written_quoted() {
        let mut card = Scorecard::default();
        for id in ["=======", "<<<<<<< HEAD", ">>>>>>>x", "|||||||"] {
            card.entries
                .insert((id.into(), "exact".into()), entry("00ff", PairVerdict::Pass));
        }
        let text = card.render();
        assert!(!text.lines().any(Scorecard::is_conflict_marker), "{text}");
        assert_eq!(Scorecard::parse(&text).unwrap(), card);
        assert!(Scorecard::is_conflict_marker("<<<<<<< HEAD"));
        assert!(Scorecard::is_conflict_marker("======="));
        assert!(Scorecard::is_conflict_marker(">>>>>>> feature"));
        assert!(!Scorecard::is_conflict_marker("========"));
        assert!(!Scorecard::is_conflict_marker("paris 00ff exact pass"));
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
        assert_eq!(merged.get("rome", "judge").unwrap().verdict, PairVerdict::Ungradeable);
        assert_eq!(merged.entries.len(), old.entries.len());
    }

    #[test]
    fn verdicts_from_attempts() {
        use Verdict::*;
        assert_eq!(PairVerdict::from_attempts([Some(Pass)]), PairVerdict::Pass);
        assert_eq!(
            PairVerdict::from_attempts([Some(Ungradeable)]),
            PairVerdict::Ungradeable
        );
        assert_eq!(PairVerdict::from_attempts([None]), PairVerdict::NotApplicable);
        assert_eq!(
            PairVerdict::from_attempts([Some(Pass), Some(Fail), Some(Ungradeable), None]),
            PairVerdict::Repeated { passed: 1, attempts: 3 }
        );
        assert_eq!(
            PairVerdict::from_attempts([Some(Informational), Some(Informational)]),
            PairVerdict::Informational
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
        assert_eq!(PairVerdict::Ungradeable.class(), PairClass::StableFail);
    }
}
