//! Comparing two runs of the same eval: which (task, scorer) pairs flipped, and how pass rates
//! and means moved.
//!
//! Runs are joined by task id and feedback key, as AG2's `RunResult.diff` does, with three
//! deliberate differences: content drift is decided by the tasks' content hashes (so a
//! reformatted dataset is not drift), an ungradeable feedback of a pass/fail key counts as a
//! fail, and flips of advisory scorers are reported but are not regressions.

use crate::feedback::{Feedback, Verdict};
use crate::record::TaskRecord;
use crate::result::RunResult;
use crate::tally::Tally;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::{self, Write as _};
use thiserror::Error;

/// How [`diff`] treats runs that did not grade the same eval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DiffMode {
    /// Any task or scorer present in only one run, or any task whose content changed, makes the
    /// runs [`RunsNotComparable`]. The default: a diff over different evals proves nothing.
    #[default]
    Strict,
    /// Diffs only what both runs share and lists the rest in [`RunDiff::excluded`].
    Lenient,
}

/// What keeps two runs from being compared pair by pair. Every list is sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mismatches {
    /// Task ids present only in the current run.
    pub only_in_current: Vec<String>,
    /// Task ids present only in the baseline run.
    pub only_in_baseline: Vec<String>,
    /// Task ids in both runs whose content hash (inputs and reference outputs) differs.
    pub content_changed: Vec<String>,
    /// Feedback keys produced only in the current run.
    pub scorers_only_in_current: Vec<String>,
    /// Feedback keys produced only in the baseline run.
    pub scorers_only_in_baseline: Vec<String>,
}

impl Mismatches {
    /// Whether the runs graded the same eval.
    pub fn is_empty(&self) -> bool {
        self.only_in_current.is_empty()
            && self.only_in_baseline.is_empty()
            && self.content_changed.is_empty()
            && self.scorers_only_in_current.is_empty()
            && self.scorers_only_in_baseline.is_empty()
    }

    /// One line per kind of mismatch, in AG2's wording and order.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !self.content_changed.is_empty() {
            problems.push(format!(
                "content changed for {} task(s): {}",
                self.content_changed.len(),
                python_list(&self.content_changed)
            ));
        }
        if !self.only_in_baseline.is_empty() {
            problems.push(format!(
                "{} task(s) only in baseline: {}",
                self.only_in_baseline.len(),
                python_list(&self.only_in_baseline)
            ));
        }
        if !self.only_in_current.is_empty() {
            problems.push(format!(
                "{} task(s) only in current: {}",
                self.only_in_current.len(),
                python_list(&self.only_in_current)
            ));
        }
        if !self.scorers_only_in_baseline.is_empty() {
            problems.push(format!(
                "scorer(s) only in baseline: {}",
                python_list(&self.scorers_only_in_baseline)
            ));
        }
        if !self.scorers_only_in_current.is_empty() {
            problems.push(format!(
                "scorer(s) only in current: {}",
                python_list(&self.scorers_only_in_current)
            ));
        }
        problems
    }
}

/// Two runs that cannot be diffed in [`DiffMode::Strict`]; the message itemises every mismatch.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}", self.message())]
pub struct RunsNotComparable {
    /// The run id of the current run.
    pub current_run_id: String,
    /// The run id of the baseline.
    pub baseline_run_id: String,
    /// Boxed to keep `Result<RunDiff, RunsNotComparable>` small on the success path.
    pub mismatches: Box<Mismatches>,
}

impl RunsNotComparable {
    fn message(&self) -> String {
        let mut message = format!(
            "these runs didn't grade the same eval (current {}, baseline {}) —",
            self.current_run_id, self.baseline_run_id
        );
        for problem in self.mismatches.problems() {
            message.push_str("\n  • ");
            message.push_str(&problem);
        }
        message.push_str(
            "\nDiff in lenient mode to compare only what both runs share \
             (`cargo eval diff --lenient`, or `DiffMode::Lenient` in code).",
        );
        message
    }
}

/// A pass rate in the baseline and in the current run, over the comparable tasks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateDelta {
    /// The pass rate in the baseline.
    pub baseline: f64,
    /// The pass rate in the current run.
    pub current: f64,
}

impl RateDelta {
    /// `current - baseline`.
    pub fn change(&self) -> f64 {
        self.current - self.baseline
    }
}

/// The mean of a numeric key in the baseline and in the current run, over the comparable tasks
/// (0 for a run with no number under the key).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanDelta {
    /// The mean in the baseline.
    pub baseline: f64,
    /// The mean in the current run.
    pub current: f64,
}

impl MeanDelta {
    /// `current - baseline`.
    pub fn change(&self) -> f64 {
        self.current - self.baseline
    }
}

/// One (scorer, task) pair whose verdict changed between the runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Flip {
    /// The feedback key.
    pub key: String,
    /// The task id (with repeats, `<id>#<n>`).
    pub task_id: String,
}

impl fmt::Display for Flip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.key, self.task_id)
    }
}

/// The comparison of a current run with a baseline run.
///
/// ```no_run
/// use eval_engine::{DiffMode, load_run};
///
/// let current = load_run("evals/weather/current.json")?;
/// let baseline = load_run("evals/weather/baseline.json")?;
/// let diff = current.diff(&baseline, DiffMode::Strict)?;
/// for flip in diff.regressions() {
///     eprintln!("{} regressed on {}", flip.key, flip.task_id);
/// }
/// println!("{}", diff.summary());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RunDiff {
    /// The run id of the current run.
    pub current_run_id: String,
    /// The run id of the baseline.
    pub baseline_run_id: String,
    /// Task ids in both runs with unchanged content, sorted. Only these are compared.
    pub comparable_tasks: Vec<String>,
    /// Per pass/fail key shared by both runs.
    pub pass_rate_deltas: BTreeMap<String, RateDelta>,
    /// Per numeric key shared by both runs.
    pub mean_deltas: BTreeMap<String, MeanDelta>,
    /// Pairs that passed in the baseline and fail (or are ungradeable) now, ordered by key then
    /// task. Includes advisory keys; [`RunDiff::regressions`] leaves them out.
    pub flipped_to_fail: Vec<Flip>,
    /// Pairs that failed (or were ungradeable) in the baseline and pass now, ordered by key then
    /// task.
    pub flipped_to_pass: Vec<Flip>,
    /// Shared keys that either run declares advisory: shown, never regressions.
    pub advisory_keys: BTreeSet<String>,
    /// What was left out of the comparison (always empty in strict mode).
    pub excluded: Mismatches,
}

impl RunDiff {
    /// The pass → fail flips of gating keys: what should fail a build.
    pub fn regressions(&self) -> impl Iterator<Item = &Flip> {
        self.flipped_to_fail.iter().filter(|flip| !self.is_advisory(&flip.key))
    }

    /// Whether any gating pair flipped from pass to fail.
    pub fn has_regressions(&self) -> bool {
        self.regressions().next().is_some()
    }

    /// Whether `key` is advisory in either run.
    pub fn is_advisory(&self, key: &str) -> bool {
        self.advisory_keys.contains(key)
    }

    /// A human-readable report, line for line AG2's `RunDiff.summary()`, plus `(advisory)`
    /// marks for advisory keys.
    pub fn summary(&self) -> String {
        let mut lines = vec![format!(
            "Diff {} vs {}  —  {} comparable task(s)",
            self.current_run_id,
            self.baseline_run_id,
            self.comparable_tasks.len()
        )];
        for (key, delta) in &self.pass_rate_deltas {
            let mark = match (delta.current < delta.baseline, self.is_advisory(key)) {
                (true, false) => "   REGRESSION",
                (true, true) => "   (advisory)",
                (false, _) => "",
            };
            lines.push(format!(
                "  {key:<24} {:5.1}% -> {:5.1}%   {:+5.1}{mark}",
                delta.baseline * 100.0,
                delta.current * 100.0,
                (delta.current - delta.baseline) * 100.0
            ));
        }
        for (key, delta) in &self.mean_deltas {
            lines.push(format!(
                "  {key:<24} mean {:.2} -> {:.2}   {:+.2}",
                delta.baseline,
                delta.current,
                delta.change()
            ));
        }
        let (advisory_fails, gating_fails): (Vec<&Flip>, Vec<&Flip>) = self
            .flipped_to_fail
            .iter()
            .partition(|flip| self.is_advisory(&flip.key));
        if !gating_fails.is_empty() {
            lines.push(format!("  flipped pass->fail: {}", python_list(&gating_fails)));
        }
        if !advisory_fails.is_empty() {
            lines.push(format!(
                "  flipped pass->fail (advisory): {}",
                python_list(&advisory_fails)
            ));
        }
        if !self.flipped_to_pass.is_empty() {
            lines.push(format!("  flipped fail->pass: {}", python_list(&self.flipped_to_pass)));
        }
        let excluded = &self.excluded;
        let sections = [
            ("content changed", &excluded.content_changed),
            ("only in current", &excluded.only_in_current),
            ("only in baseline", &excluded.only_in_baseline),
            ("scorer only in current", &excluded.scorers_only_in_current),
            ("scorer only in baseline", &excluded.scorers_only_in_baseline),
        ];
        if !excluded.is_empty() {
            lines.push("  — excluded (not comparable) —".to_owned());
            for (title, ids) in sections {
                if !ids.is_empty() {
                    lines.push(format!("  {title}: {}", python_list(ids)));
                }
            }
        }
        lines.join("\n")
    }
}

impl RunResult {
    /// Compares this run with `baseline`; see [`diff`].
    pub fn diff(&self, baseline: &RunResult, mode: DiffMode) -> Result<RunDiff, RunsNotComparable> {
        diff(self, baseline, mode)
    }
}

/// Compares `current` with `baseline`, joining them by task id and feedback key.
///
/// Only tasks present in both runs with the same content hash are compared, over the feedback
/// keys both runs produced. In [`DiffMode::Strict`] anything else is an error listing every
/// mismatch; in [`DiffMode::Lenient`] it is reported in [`RunDiff::excluded`].
///
/// A key is pass/fail when any of its feedback on the compared tasks is `true`/`false`, or
/// when it has no number or label there but has ungradeable feedback. For such a key an
/// ungradeable feedback counts as a fail, in pass rates and in flips. A task on which a
/// scorer gave no feedback at all (not applicable) never flips.
///
/// Runs with repeats are joined by full task id (`<id>#<n>`), attempt by attempt.
pub fn diff(current: &RunResult, baseline: &RunResult, mode: DiffMode) -> Result<RunDiff, RunsNotComparable> {
    let current_tasks = index_by_id(current.tasks());
    let baseline_tasks = index_by_id(baseline.tasks());
    let current_keys = feedback_keys(current);
    let baseline_keys = feedback_keys(baseline);
    let (comparable, mismatches) = join_tasks(&current_tasks, &baseline_tasks);
    let mismatches = Mismatches {
        scorers_only_in_current: current_keys
            .difference(&baseline_keys)
            .map(|k| (*k).to_owned())
            .collect(),
        scorers_only_in_baseline: baseline_keys
            .difference(&current_keys)
            .map(|k| (*k).to_owned())
            .collect(),
        ..mismatches
    };
    if mode == DiffMode::Strict && !mismatches.is_empty() {
        return Err(RunsNotComparable {
            current_run_id: current.run_id().to_owned(),
            baseline_run_id: baseline.run_id().to_owned(),
            mismatches: Box::new(mismatches),
        });
    }

    let mut tallies: HashMap<&str, KeyTally> = current_keys
        .intersection(&baseline_keys)
        .map(|key| (*key, KeyTally::default()))
        .collect();
    let mut candidates: Vec<CandidateFlip<'_>> = Vec::new();
    for &(id, current_task, baseline_task) in &comparable {
        tally_task(&mut tallies, current_task, Side::Current);
        tally_task(&mut tallies, baseline_task, Side::Baseline);
        find_flips(id, current_task, baseline_task, &tallies, &mut candidates);
    }
    let (pass_rate_deltas, mean_deltas) = deltas(&tallies);
    let (flipped_to_fail, flipped_to_pass) = settle_flips(candidates, &tallies);
    let advisory_keys = tallies
        .keys()
        .filter(|key| {
            [current, baseline]
                .iter()
                .any(|run| run.spec(key).is_some_and(|s| s.advisory))
        })
        .map(|key| (*key).to_owned())
        .collect();

    Ok(RunDiff {
        current_run_id: current.run_id().to_owned(),
        baseline_run_id: baseline.run_id().to_owned(),
        comparable_tasks: comparable.iter().map(|(id, _, _)| (*id).to_owned()).collect(),
        pass_rate_deltas,
        mean_deltas,
        flipped_to_fail,
        flipped_to_pass,
        advisory_keys,
        excluded: mismatches,
    })
}

/// A task present in both runs with unchanged content: its id, current and baseline records.
type ComparablePair<'a> = (&'a str, &'a TaskRecord, &'a TaskRecord);

/// Splits the task ids of both runs into comparable pairs (sorted by id) and task mismatches
/// (sorted lists; the scorer lists are left empty).
fn join_tasks<'a>(
    current_tasks: &HashMap<&'a str, &'a TaskRecord>,
    baseline_tasks: &HashMap<&'a str, &'a TaskRecord>,
) -> (Vec<ComparablePair<'a>>, Mismatches) {
    let mut mismatches = Mismatches::default();
    let mut comparable = Vec::with_capacity(current_tasks.len());
    for (&id, &current_task) in current_tasks {
        match baseline_tasks.get(id) {
            None => mismatches.only_in_current.push(id.to_owned()),
            Some(&baseline_task) if baseline_task.content_hash != current_task.content_hash => {
                mismatches.content_changed.push(id.to_owned());
            }
            Some(&baseline_task) => comparable.push((id, current_task, baseline_task)),
        }
    }
    mismatches.only_in_baseline = baseline_tasks
        .keys()
        .filter(|id| !current_tasks.contains_key(*id))
        .map(|id| (*id).to_owned())
        .collect();
    comparable.sort_unstable_by_key(|(id, _, _)| *id);
    mismatches.only_in_current.sort_unstable();
    mismatches.only_in_baseline.sort_unstable();
    mismatches.content_changed.sort_unstable();
    (comparable, mismatches)
}

/// Pass-rate deltas of the pass/fail keys and mean deltas of the keys with numbers.
fn deltas(tallies: &HashMap<&str, KeyTally>) -> (BTreeMap<String, RateDelta>, BTreeMap<String, MeanDelta>) {
    let mut pass_rate_deltas = BTreeMap::new();
    let mut mean_deltas = BTreeMap::new();
    for (key, tally) in tallies {
        if tally.is_pass_fail() {
            let delta = RateDelta {
                baseline: tally.baseline.pass_rate(),
                current: tally.current.pass_rate(),
            };
            pass_rate_deltas.insert((*key).to_owned(), delta);
        }
        if tally.baseline.numbers > 0 || tally.current.numbers > 0 {
            let delta = MeanDelta {
                baseline: tally.baseline.mean(),
                current: tally.current.mean(),
            };
            mean_deltas.insert((*key).to_owned(), delta);
        }
    }
    (pass_rate_deltas, mean_deltas)
}

/// Keeps the candidate flips that count and orders them by key, then task (AG2's order).
fn settle_flips(mut candidates: Vec<CandidateFlip<'_>>, tallies: &HashMap<&str, KeyTally>) -> (Vec<Flip>, Vec<Flip>) {
    // Candidates come in task order, so a stable sort by key gives key-then-task order.
    candidates.sort_by_key(|candidate| candidate.key);
    let mut flipped_to_fail = Vec::new();
    let mut flipped_to_pass = Vec::new();
    for candidate in candidates {
        // A flip involving an ungradeable feedback only counts for a pass/fail key.
        if candidate.involves_ungradeable && !tallies.get(candidate.key).is_some_and(KeyTally::is_pass_fail) {
            continue;
        }
        let flip = Flip {
            key: candidate.key.to_owned(),
            task_id: candidate.task_id.to_owned(),
        };
        if candidate.to_fail {
            flipped_to_fail.push(flip);
        } else {
            flipped_to_pass.push(flip);
        }
    }
    (flipped_to_fail, flipped_to_pass)
}

/// Tasks by id. A duplicated id keeps its last record, as AG2's dict-based join does.
fn index_by_id(tasks: &[TaskRecord]) -> HashMap<&str, &TaskRecord> {
    tasks.iter().map(|task| (task.task_id.as_str(), task)).collect()
}

/// Every feedback key a run produced (declared scorers that never gave feedback are not keys,
/// as in AG2). Sorted, so that set differences come out in order.
fn feedback_keys(run: &RunResult) -> BTreeSet<&str> {
    let mut seen: HashSet<&str> = HashSet::new();
    for task in run.tasks() {
        for fb in &task.feedback {
            seen.insert(&fb.key);
        }
    }
    seen.into_iter().collect()
}

#[derive(Clone, Copy)]
enum Side {
    Current,
    Baseline,
}

/// What one run's comparable tasks gave under one key: the verdicts, and the numbers' sum
/// for the mean.
#[derive(Default)]
struct SideTally {
    tally: Tally,
    numbers: u64,
    sum: f64,
}

impl SideTally {
    fn add(&mut self, fb: &Feedback) {
        self.tally.add(fb.verdict());
        if let Some(n) = fb.as_number() {
            self.numbers += 1;
            self.sum += n;
        }
    }

    fn pass_rate(&self) -> f64 {
        self.tally.pass_count().rate()
    }

    fn mean(&self) -> f64 {
        if self.numbers == 0 {
            0.0
        } else {
            self.sum / self.numbers as f64
        }
    }
}

#[derive(Default)]
struct KeyTally {
    current: SideTally,
    baseline: SideTally,
}

impl KeyTally {
    /// Pass/fail in the two runs taken together (see [`Tally::is_pass_fail`]).
    fn is_pass_fail(&self) -> bool {
        self.current.tally.merged(self.baseline.tally).is_pass_fail()
    }
}

fn tally_task(tallies: &mut HashMap<&str, KeyTally>, task: &TaskRecord, side: Side) {
    for fb in &task.feedback {
        if let Some(tally) = tallies.get_mut(fb.key.as_str()) {
            match side {
                Side::Current => tally.current.add(fb),
                Side::Baseline => tally.baseline.add(fb),
            }
        }
    }
}

/// A verdict change on one pair, before it is known whether its key is pass/fail.
struct CandidateFlip<'a> {
    key: &'a str,
    task_id: &'a str,
    to_fail: bool,
    involves_ungradeable: bool,
}

/// Compares the first feedback of each shared key on one task in both runs.
fn find_flips<'a>(
    task_id: &'a str,
    current_task: &'a TaskRecord,
    baseline_task: &'a TaskRecord,
    shared_keys: &HashMap<&str, KeyTally>,
    candidates: &mut Vec<CandidateFlip<'a>>,
) {
    for (index, fb) in current_task.feedback.iter().enumerate() {
        let key = fb.key.as_str();
        let first_of_key = !current_task.feedback[..index].iter().any(|earlier| earlier.key == key);
        if !first_of_key || !shared_keys.contains_key(key) {
            continue;
        }
        let (Some(now), Some(before)) = (gate(fb.verdict()), baseline_task.verdict(key).and_then(gate)) else {
            continue;
        };
        if now.passed != before.passed {
            candidates.push(CandidateFlip {
                key,
                task_id,
                to_fail: before.passed,
                involves_ungradeable: now.ungradeable || before.ungradeable,
            });
        }
    }
}

struct GateVerdict {
    passed: bool,
    ungradeable: bool,
}

/// Pass/fail reading of a verdict; `None` for informational feedback, which never flips.
fn gate(verdict: Verdict) -> Option<GateVerdict> {
    match verdict {
        Verdict::Pass => Some(GateVerdict {
            passed: true,
            ungradeable: false,
        }),
        Verdict::Fail => Some(GateVerdict {
            passed: false,
            ungradeable: false,
        }),
        Verdict::Ungradeable => Some(GateVerdict {
            passed: false,
            ungradeable: true,
        }),
        Verdict::Informational => None,
    }
}

/// Python's `repr()` of a list of strings, so that summaries read exactly like AG2's:
/// `['a', "it's"]`.
fn python_list<T: fmt::Display>(items: &[T]) -> String {
    let mut out = String::from("[");
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            out.push_str(", ");
        }
        python_str_repr(&item.to_string(), &mut out);
    }
    out.push(']');
    out
}

/// Python's `repr()` of a `str`: single quotes unless the text has a single quote and no
/// double quote; backslashes, the quote and control characters escaped.
fn python_str_repr(text: &str, out: &mut String) {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            // Python also escapes whitespace other than the space (no-break space, U+2028 …).
            c if c.is_control() || (c.is_whitespace() && c != ' ') => {
                let code = u32::from(c);
                let _ = if code <= 0xff {
                    write!(out, "\\x{code:02x}")
                } else {
                    write!(out, "\\u{code:04x}")
                };
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::RunMeta;
    use crate::scorer::ScorerSpec;
    use crate::task::ContentHash;
    use crate::trace::Trace;
    use serde_json::{Value, json};

    fn meta(run_id: &str) -> RunMeta {
        crate::fixtures::run_meta(run_id)
    }

    fn task_with_input(task_id: &str, input: Value, feedback: Vec<Feedback>) -> TaskRecord {
        let inputs = json!({ "input": input });
        let reference_outputs = json!({ "answer": "42" });
        TaskRecord {
            task_id: task_id.to_owned(),
            content_hash: ContentHash::of(&inputs, &reference_outputs),
            inputs,
            reference_outputs,
            tags: Vec::new(),
            metadata: serde_json::Map::new(),
            trace: Trace::default(),
            feedback,
            budget_violation: false,
            scorer_traces: Vec::new(),
            trace_ref: None,
            outputs: Value::Null,
            attempt: None,
        }
    }

    fn task(task_id: &str, feedback: Vec<Feedback>) -> TaskRecord {
        task_with_input(task_id, json!(format!("question {task_id}")), feedback)
    }

    fn run(run_id: &str, tasks: Vec<TaskRecord>) -> RunResult {
        RunResult::new(meta(run_id), tasks)
    }

    fn pass(key: &str, passed: bool) -> Feedback {
        Feedback::pass_fail(key, passed)
    }

    fn flips(list: &[Flip]) -> Vec<(&str, &str)> {
        list.iter().map(|f| (f.key.as_str(), f.task_id.as_str())).collect()
    }

    #[test]
    fn identical_runs_have_no_flips() {
        let a = run(
            "a",
            vec![
                task("t1", vec![pass("exact", true)]),
                task("t2", vec![pass("exact", false)]),
            ],
        );
        let diff = a.diff(&a, DiffMode::Strict).unwrap();
        assert_eq!(diff.comparable_tasks, ["t1", "t2"]);
        assert!(diff.flipped_to_fail.is_empty() && diff.flipped_to_pass.is_empty());
        assert!(!diff.has_regressions());
        assert_eq!(
            diff.pass_rate_deltas["exact"],
            RateDelta {
                baseline: 0.5,
                current: 0.5
            }
        );
    }

    #[test]
    fn flips_both_ways_ordered_by_key_then_task() {
        let baseline = run(
            "base",
            vec![
                task("t2", vec![pass("b", true), pass("a", true)]),
                task("t1", vec![pass("b", false), pass("a", true)]),
                task("t3", vec![pass("b", true), pass("a", false)]),
            ],
        );
        let current = run(
            "cur",
            vec![
                task("t1", vec![pass("a", false), pass("b", true)]),
                task("t2", vec![pass("a", false), pass("b", false)]),
                task("t3", vec![pass("a", true), pass("b", true)]),
            ],
        );
        let diff = current.diff(&baseline, DiffMode::Strict).unwrap();
        assert_eq!(flips(&diff.flipped_to_fail), [("a", "t1"), ("a", "t2"), ("b", "t2")]);
        assert_eq!(flips(&diff.flipped_to_pass), [("a", "t3"), ("b", "t1")]);
        let regressions: Vec<&Flip> = diff.regressions().collect();
        assert_eq!(regressions.len(), 3);
        assert!(diff.has_regressions());
    }

    #[test]
    fn strict_mode_itemises_every_kind_of_mismatch() {
        let baseline = run(
            "base",
            vec![
                task("same", vec![pass("exact", true), pass("old_scorer", true)]),
                task("drifted", vec![pass("exact", true)]),
                task("removed", vec![pass("exact", true)]),
            ],
        );
        let current = run(
            "cur",
            vec![
                task("same", vec![pass("exact", true), pass("new_scorer", true)]),
                task_with_input("drifted", json!("a different question"), vec![pass("exact", true)]),
                task("added", vec![pass("exact", true)]),
            ],
        );
        let err = current.diff(&baseline, DiffMode::Strict).unwrap_err();
        assert_eq!(
            *err.mismatches,
            Mismatches {
                only_in_current: vec!["added".into()],
                only_in_baseline: vec!["removed".into()],
                content_changed: vec!["drifted".into()],
                scorers_only_in_current: vec!["new_scorer".into()],
                scorers_only_in_baseline: vec!["old_scorer".into()],
            }
        );
        assert_eq!(
            err.to_string(),
            "these runs didn't grade the same eval (current cur, baseline base) —\n\
             \x20 • content changed for 1 task(s): ['drifted']\n\
             \x20 • 1 task(s) only in baseline: ['removed']\n\
             \x20 • 1 task(s) only in current: ['added']\n\
             \x20 • scorer(s) only in baseline: ['old_scorer']\n\
             \x20 • scorer(s) only in current: ['new_scorer']\n\
             Diff in lenient mode to compare only what both runs share \
             (`cargo eval diff --lenient`, or `DiffMode::Lenient` in code)."
        );
    }

    #[test]
    fn each_kind_of_mismatch_alone_is_not_comparable() {
        let base_tasks = || {
            vec![
                task("t1", vec![pass("exact", true)]),
                task("t2", vec![pass("exact", true)]),
            ]
        };
        let baseline = run("base", base_tasks());
        let cases: Vec<(Vec<TaskRecord>, &str)> = vec![
            (
                vec![task("t1", vec![pass("exact", true)])],
                "1 task(s) only in baseline: ['t2']",
            ),
            (
                [base_tasks(), vec![task("t3", vec![pass("exact", true)])]].concat(),
                "1 task(s) only in current: ['t3']",
            ),
            (
                vec![
                    task("t1", vec![pass("exact", true)]),
                    task_with_input("t2", json!("edited"), vec![pass("exact", true)]),
                ],
                "content changed for 1 task(s): ['t2']",
            ),
            (
                vec![
                    task("t1", vec![pass("exact", true), pass("judge", true)]),
                    task("t2", vec![pass("exact", true)]),
                ],
                "scorer(s) only in current: ['judge']",
            ),
            (
                vec![task("t1", vec![]), task("t2", vec![])],
                "scorer(s) only in baseline: ['exact']",
            ),
        ];
        for (tasks, problem) in cases {
            let err = run("cur", tasks).diff(&baseline, DiffMode::Strict).unwrap_err();
            assert_eq!(err.mismatches.problems(), [problem]);
            assert!(err.to_string().contains(&format!("\n  • {problem}\n")), "{err}");
        }
    }

    #[test]
    fn lenient_mode_diffs_the_overlap_and_lists_exclusions() {
        let baseline = run(
            "base",
            vec![
                task("kept", vec![pass("exact", true), pass("old", true)]),
                task("drifted", vec![pass("exact", true)]),
                task("removed", vec![pass("exact", true)]),
            ],
        );
        let current = run(
            "cur",
            vec![
                task("kept", vec![pass("exact", false), pass("new", true)]),
                task_with_input("drifted", json!("changed"), vec![pass("exact", false)]),
                task("added", vec![pass("exact", false)]),
            ],
        );
        let diff = current.diff(&baseline, DiffMode::Lenient).unwrap();
        assert_eq!(diff.comparable_tasks, ["kept"]);
        assert_eq!(flips(&diff.flipped_to_fail), [("exact", "kept")]);
        assert_eq!(diff.pass_rate_deltas.keys().collect::<Vec<_>>(), ["exact"]);
        assert_eq!(diff.excluded.content_changed, ["drifted"]);
        assert_eq!(diff.excluded.only_in_current, ["added"]);
        assert_eq!(diff.excluded.only_in_baseline, ["removed"]);
        assert_eq!(diff.excluded.scorers_only_in_current, ["new"]);
        assert_eq!(diff.excluded.scorers_only_in_baseline, ["old"]);
        assert_eq!(
            diff.summary(),
            "Diff cur vs base  —  1 comparable task(s)\n\
             \x20 exact                    100.0% ->   0.0%   -100.0   REGRESSION\n\
             \x20 flipped pass->fail: ['exact:kept']\n\
             \x20 — excluded (not comparable) —\n\
             \x20 content changed: ['drifted']\n\
             \x20 only in current: ['added']\n\
             \x20 only in baseline: ['removed']\n\
             \x20 scorer only in current: ['new']\n\
             \x20 scorer only in baseline: ['old']"
        );
    }

    #[test]
    fn content_drift_is_decided_by_hash_not_by_raw_json() {
        let inputs = json!({"input": "q", "n": 1, "opts": {"a": 1, "b": 2}});
        let reordered: Value = serde_json::from_str(r#"{"opts": {"b": 2, "a": 1.0}, "n": 1.0, "input": "q"}"#).unwrap();
        let mut base_task = task("t1", vec![pass("exact", true)]);
        base_task.inputs = inputs.clone();
        base_task.content_hash = ContentHash::of(&inputs, &base_task.reference_outputs);
        let mut cur_task = task("t1", vec![pass("exact", false)]);
        cur_task.inputs = reordered.clone();
        cur_task.content_hash = ContentHash::of(&reordered, &cur_task.reference_outputs);
        assert_ne!(base_task.inputs.to_string(), cur_task.inputs.to_string());

        let diff = run("cur", vec![cur_task.clone()])
            .diff(&run("base", vec![base_task.clone()]), DiffMode::Strict)
            .unwrap();
        assert_eq!(flips(&diff.flipped_to_fail), [("exact", "t1")]);

        // Same raw JSON but a different stored hash is drift: the hash is what decides.
        cur_task.inputs = base_task.inputs.clone();
        cur_task.content_hash = ContentHash::from_stored("0000000000000000".to_owned());
        let err = run("cur", vec![cur_task])
            .diff(&run("base", vec![base_task]), DiffMode::Strict)
            .unwrap_err();
        assert_eq!(err.mismatches.content_changed, ["t1"]);
    }

    #[test]
    fn ungradeable_counts_as_fail_for_pass_fail_keys() {
        let baseline = run(
            "base",
            vec![
                task("t1", vec![pass("exact", true)]),
                task("t2", vec![Feedback::ungradeable("exact", "judge timed out")]),
                task("t3", vec![pass("exact", true)]),
            ],
        );
        let current = run(
            "cur",
            vec![
                task("t1", vec![Feedback::ungradeable("exact", "scorer panicked")]),
                task("t2", vec![pass("exact", true)]),
                task("t3", vec![pass("exact", true)]),
            ],
        );
        let diff = current.diff(&baseline, DiffMode::Strict).unwrap();
        assert_eq!(flips(&diff.flipped_to_fail), [("exact", "t1")]);
        assert_eq!(flips(&diff.flipped_to_pass), [("exact", "t2")]);
        let rate = diff.pass_rate_deltas["exact"];
        assert!((rate.baseline - 2.0 / 3.0).abs() < 1e-12 && (rate.current - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn a_key_that_is_never_gradeable_is_still_a_gate() {
        let baseline = run("base", vec![task("t1", vec![Feedback::ungradeable("judge", "down")])]);
        let diff = baseline.diff(&baseline, DiffMode::Strict).unwrap();
        assert_eq!(
            diff.pass_rate_deltas["judge"],
            RateDelta {
                baseline: 0.0,
                current: 0.0
            }
        );
    }

    #[test]
    fn ungradeable_numeric_key_is_not_a_flip() {
        let baseline = run("base", vec![task("t1", vec![Feedback::number("overlap", 0.9)])]);
        let current = run("cur", vec![task("t1", vec![Feedback::ungradeable("overlap", "NaN")])]);
        let diff = current.diff(&baseline, DiffMode::Strict).unwrap();
        assert!(diff.flipped_to_fail.is_empty());
        assert!(diff.pass_rate_deltas.is_empty());
        assert_eq!(
            diff.mean_deltas["overlap"],
            MeanDelta {
                baseline: 0.9,
                current: 0.0
            }
        );
    }

    #[test]
    fn missing_feedback_is_not_a_flip() {
        let baseline = run(
            "base",
            vec![
                task("t1", vec![pass("exact", true)]),
                task("t2", vec![pass("exact", true)]),
            ],
        );
        // The scorer found `t1` not applicable this time.
        let current = run("cur", vec![task("t1", vec![]), task("t2", vec![pass("exact", true)])]);
        let diff = current.diff(&baseline, DiffMode::Strict).unwrap();
        assert!(diff.flipped_to_fail.is_empty());
        assert_eq!(
            diff.pass_rate_deltas["exact"],
            RateDelta {
                baseline: 1.0,
                current: 1.0
            }
        );
    }

    #[test]
    fn advisory_flips_are_listed_but_are_not_regressions() {
        let mut base_meta = meta("base");
        base_meta.scorers = vec![ScorerSpec::new("exact"), ScorerSpec::new("tone").advisory()];
        let baseline = RunResult::new(
            base_meta,
            vec![task("t1", vec![pass("exact", true), pass("tone", true)])],
        );
        // Only the baseline declares its scorers: advisory in either run is enough.
        let current = run("cur", vec![task("t1", vec![pass("exact", true), pass("tone", false)])]);
        let diff = current.diff(&baseline, DiffMode::Strict).unwrap();
        assert_eq!(flips(&diff.flipped_to_fail), [("tone", "t1")]);
        assert_eq!(diff.regressions().count(), 0);
        assert!(!diff.has_regressions());
        assert!(diff.is_advisory("tone") && !diff.is_advisory("exact"));
        assert_eq!(
            diff.summary(),
            "Diff cur vs base  —  1 comparable task(s)\n\
             \x20 exact                    100.0% -> 100.0%    +0.0\n\
             \x20 tone                     100.0% ->   0.0%   -100.0   (advisory)\n\
             \x20 flipped pass->fail (advisory): ['tone:t1']"
        );
    }

    #[test]
    fn numbers_give_mean_deltas() {
        let baseline = run(
            "base",
            vec![
                task(
                    "t1",
                    vec![Feedback::number("overlap", 1.0), Feedback::label("tone", "polite")],
                ),
                task(
                    "t2",
                    vec![Feedback::number("overlap", 0.5), Feedback::label("tone", "polite")],
                ),
            ],
        );
        let current = run(
            "cur",
            vec![
                task(
                    "t1",
                    vec![Feedback::number("overlap", 0.25), Feedback::label("tone", "rude")],
                ),
                task(
                    "t2",
                    vec![Feedback::number("overlap", 0.5), Feedback::label("tone", "polite")],
                ),
            ],
        );
        let diff = current.diff(&baseline, DiffMode::Strict).unwrap();
        assert_eq!(
            diff.mean_deltas["overlap"],
            MeanDelta {
                baseline: 0.75,
                current: 0.375
            }
        );
        assert!((diff.mean_deltas["overlap"].change() + 0.375).abs() < 1e-12);
        assert!(diff.pass_rate_deltas.is_empty() && diff.flipped_to_fail.is_empty());
        assert!(!diff.mean_deltas.contains_key("tone"));
        assert_eq!(
            diff.summary(),
            "Diff cur vs base  —  2 comparable task(s)\n\
             \x20 overlap                  mean 0.75 -> 0.38   -0.38"
        );
    }

    #[test]
    fn summary_matches_ag2_layout() {
        let baseline = run(
            "run_a",
            vec![
                task(
                    "reg-0",
                    vec![
                        pass("final_answer_matches", true),
                        Feedback::number("answer_overlap", 1.0),
                    ],
                ),
                task(
                    "reg-1",
                    vec![
                        pass("final_answer_matches", false),
                        Feedback::number("answer_overlap", 1.0),
                    ],
                ),
            ],
        );
        let current = run(
            "run_b",
            vec![
                task(
                    "reg-0",
                    vec![
                        pass("final_answer_matches", false),
                        Feedback::number("answer_overlap", 0.5),
                    ],
                ),
                task(
                    "reg-1",
                    vec![
                        pass("final_answer_matches", true),
                        Feedback::number("answer_overlap", 1.0),
                    ],
                ),
            ],
        );
        let diff = current.diff(&baseline, DiffMode::Strict).unwrap();
        assert_eq!(
            diff.summary(),
            "Diff run_b vs run_a  —  2 comparable task(s)\n\
             \x20 final_answer_matches      50.0% ->  50.0%    +0.0\n\
             \x20 answer_overlap           mean 1.00 -> 0.75   -0.25\n\
             \x20 flipped pass->fail: ['final_answer_matches:reg-0']\n\
             \x20 flipped fail->pass: ['final_answer_matches:reg-1']"
        );
    }

    #[test]
    fn repeats_join_by_full_task_id() {
        let attempt = |id: &str, n: u32, passed: bool| {
            let mut t = task(id, vec![pass("exact", passed)]);
            t.task_id = format!("{id}#{n}");
            t.attempt = Some(n);
            t
        };
        let baseline = run("base", vec![attempt("t", 1, true), attempt("t", 2, true)]);
        let current = run("cur", vec![attempt("t", 1, true), attempt("t", 2, false)]);
        let diff = current.diff(&baseline, DiffMode::Strict).unwrap();
        assert_eq!(diff.comparable_tasks, ["t#1", "t#2"]);
        assert_eq!(flips(&diff.flipped_to_fail), [("exact", "t#2")]);
    }

    #[test]
    fn python_list_repr_quotes_like_python() {
        assert_eq!(python_list::<&str>(&[]), "[]");
        assert_eq!(python_list(&["a", "b"]), "['a', 'b']");
        assert_eq!(python_list(&["it's"]), "[\"it's\"]");
        assert_eq!(python_list(&["both ' and \""]), r#"['both \' and "']"#);
        assert_eq!(python_list(&["back\\slash\nline\u{1}"]), r"['back\\slash\nline\x01']");
        assert_eq!(python_list(&["café"]), "['café']");
        assert_eq!(python_list(&["a\u{a0}b\u{2028}"]), r"['a\xa0b\u2028']");
    }

    #[test]
    fn summary_pads_keys_by_characters() {
        let a = run("a", vec![task("t", vec![pass("précis", true)])]);
        let line = a
            .diff(&a, DiffMode::Strict)
            .unwrap()
            .summary()
            .lines()
            .nth(1)
            .unwrap()
            .to_owned();
        assert_eq!(line, format!("  précis{} 100.0% -> 100.0%    +0.0", " ".repeat(18)));
    }
}
