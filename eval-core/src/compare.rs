//! A leaderboard of two or more runs: per key each run's pass rate or mean with its 95%
//! interval, the best run, whether it beats each other run by more than noise, and the tasks
//! the runs disagree on.
//!
//! How it counts, per kind of key (which keys are pass/fail is the [`tally`](crate::tally)'s
//! rule, an ungradeable feedback counting as a fail):
//!
//! - **pass/fail**: a run's rate counts every attempt, as [`Aggregates`](crate::aggregates)
//!   does, with the Wilson interval ([`wilson_interval`]); n is the attempts graded. The paired
//!   test compares each task's pass fraction (passes over attempts; with one attempt, its
//!   verdict) in the best run and the other, and runs the exact two-sided sign test
//!   ([`sign_test`]) on the tasks where they differ: McNemar's exact test without repeats.
//! - **numeric** (numbers without threshold): a run's mean over every number with Student's t
//!   interval ([`mean_interval`]); the paired test is the Wilcoxon signed-rank test
//!   ([`signed_rank_test`]) on each task's mean difference, exact up to 25 non-zero
//!   differences. Rank-based, it needs no normal scores, and scores are rarely normal.
//!
//! A key whose feedback is only labels is left out. The best run is the one with the highest
//! rate or mean; when several share it the board says it is a tie, and the paired tests are
//! run from the first of them (in the order the runs were given).

use crate::diff::DiffMode;
use crate::record::TaskRecord;
use crate::result::RunResult;
use crate::stats::{SignedRankMethod, mean_interval, sign_test, signed_rank_test, wilson_interval};
use crate::tally::{PassCount, Tally};
use crate::task::ContentHash;
use serde::Serialize;
use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};
use thiserror::Error;

mod text;

/// The level below which a paired difference is called more than noise.
pub const ALPHA: f64 = 0.05;

/// Rates or means closer than this are a tie.
const TIE: f64 = 1e-12;

/// Why runs could not be compared.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CompareError {
    /// Fewer than two runs.
    #[error("a comparison needs two runs or more, got {given}")]
    TooFewRuns {
        /// How many runs were given.
        given: usize,
    },
    /// In [`DiffMode::Strict`], runs that did not grade the same eval.
    #[error("{}", not_comparable_message(differences))]
    NotComparable {
        /// Everything that differs. Boxed to keep the error small.
        differences: Box<Differences>,
    },
}

fn not_comparable_message(differences: &Differences) -> String {
    let mut message = "these runs didn't grade the same eval —".to_owned();
    for problem in differences.problems() {
        message.push_str("\n  • ");
        message.push_str(&problem);
    }
    message.push_str("\nCompare in lenient mode to compare only what every run shares (`--lenient`).");
    message
}

/// Something (a task or a key) that some runs lack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Missing {
    /// The task id or key.
    pub id: String,
    /// The names of the runs without it.
    pub missing_from: Vec<String>,
}

/// What keeps runs from being compared task by task; in lenient mode, what was left out. Every
/// list is sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Differences {
    /// The suite of each run, `(run name, suite)`, when they are not all the same (else empty).
    pub suites: Vec<(String, String)>,
    /// Task ids (without the `#<attempt>` of repeats) that some runs do not have.
    pub tasks: Vec<Missing>,
    /// Task ids in every run whose content hash (inputs and reference outputs) differs.
    pub content_changed: Vec<String>,
    /// Feedback keys that some runs did not produce.
    pub keys: Vec<Missing>,
}

impl Differences {
    /// Whether the runs graded the same eval.
    pub fn is_empty(&self) -> bool {
        self.suites.is_empty() && self.tasks.is_empty() && self.content_changed.is_empty() && self.keys.is_empty()
    }

    /// One line per kind of difference.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !self.suites.is_empty() {
            let suites: Vec<String> = self
                .suites
                .iter()
                .map(|(run, suite)| format!("{run}: {suite}"))
                .collect();
            problems.push(format!("different suites: {}", suites.join(", ")));
        }
        if !self.content_changed.is_empty() {
            problems.push(format!(
                "content changed for {} task(s): {}",
                self.content_changed.len(),
                self.content_changed.join(", ")
            ));
        }
        if !self.tasks.is_empty() {
            problems.push(format!(
                "{} task(s) not in every run: {}",
                self.tasks.len(),
                missing_list(&self.tasks)
            ));
        }
        if !self.keys.is_empty() {
            problems.push(format!(
                "{} scorer key(s) not in every run: {}",
                self.keys.len(),
                missing_list(&self.keys)
            ));
        }
        problems
    }
}

fn missing_list(missing: &[Missing]) -> String {
    let items: Vec<String> = missing
        .iter()
        .map(|m| format!("{} (not in {})", m.id, m.missing_from.join(", ")))
        .collect();
    items.join(", ")
}

/// A run on the board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entrant {
    /// Its name: its variant, else its label, else its model, else its run id; the run id is
    /// appended in parentheses when two runs would share a name.
    pub name: String,
    /// Its run id.
    pub run_id: String,
    /// The suite it ran.
    pub suite: String,
}

/// Whether a key's feedback is verdicts or numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// Pass or fail: a pass rate.
    PassFail,
    /// Numbers without threshold: a mean.
    Numeric,
}

/// One run's result under one key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Standing {
    /// The run's name.
    pub run: String,
    /// The pass rate (0 to 1) or the mean.
    pub value: f64,
    /// The 95% interval: Wilson's for a rate, Student's t for a mean (`None` with fewer than
    /// two numbers).
    pub interval: Option<(f64, f64)>,
    /// Attempts graded (a rate) or numbers (a mean).
    pub n: u64,
    /// For a rate, the attempts that passed.
    pub passed: Option<u64>,
}

/// Which paired test was run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PairedTest {
    /// The exact two-sided sign test on the tasks whose pass fraction differs.
    SignTest,
    /// The Wilcoxon signed-rank test, exact.
    SignedRankExact,
    /// The Wilcoxon signed-rank test, normal approximation with tie correction.
    SignedRankNormal,
}

/// The best run against one other, task by task.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Paired {
    /// The best run's name.
    pub best: String,
    /// The other run's name.
    pub other: String,
    /// Tasks both runs graded under the key.
    pub tasks: usize,
    /// Tasks on which the best run did better.
    pub ahead: usize,
    /// Tasks on which it did worse.
    pub behind: usize,
    /// The test.
    pub test: PairedTest,
    /// Its two-sided p-value.
    pub p_value: f64,
    /// Whether `p_value < ALPHA`: a difference chance does not explain.
    pub beyond_noise: bool,
}

/// What one run gave one task under a pass/fail key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TaskVerdict {
    /// Attempts that passed.
    pub passed: u64,
    /// Attempts graded (ungradeable ones count as failed).
    pub attempts: u64,
}

impl TaskVerdict {
    fn same_fraction(&self, other: &TaskVerdict) -> bool {
        u128::from(self.passed) * u128::from(other.attempts) == u128::from(other.passed) * u128::from(self.attempts)
    }
}

/// A task on which the runs' verdicts differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Disagreement {
    /// The task id.
    pub task_id: String,
    /// Each run's verdict, in the runs' order: `(run name, verdict)`, `None` when the run gave
    /// no feedback under the key on the task.
    pub verdicts: Vec<(String, Option<TaskVerdict>)>,
}

/// The board of one key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyBoard {
    /// The feedback key.
    pub key: String,
    /// Rate or mean.
    pub kind: KeyKind,
    /// Every run, in the order given.
    pub standings: Vec<Standing>,
    /// The runs with the highest rate or mean: one, or several in a tie. Empty when no run
    /// graded anything under the key.
    pub best: Vec<String>,
    /// The first best run against each other run.
    pub paired: Vec<Paired>,
    /// Pass/fail keys: the tasks whose verdicts differ between runs, in task order.
    pub disagreements: Vec<Disagreement>,
}

impl KeyBoard {
    /// Whether more than one run has the best rate or mean.
    pub fn is_tie(&self) -> bool {
        self.best.len() > 1
    }
}

/// The comparison of two or more runs.
///
/// ```no_run
/// use eval_engine::{DiffMode, compare::compare, load_run};
///
/// let runs = vec![load_run("a.json")?, load_run("b.json")?];
/// let board = compare(&runs, DiffMode::Strict)?;
/// for key in &board.keys {
///     println!("{}: best {:?}", key.key, key.best);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Leaderboard {
    /// The runs, in the order given.
    pub runs: Vec<Entrant>,
    /// The task ids compared (every run has them, with the same content), sorted.
    pub tasks: Vec<String>,
    /// One board per key compared, by key.
    pub keys: Vec<KeyBoard>,
    /// What was left out (always empty in strict mode).
    pub excluded: Differences,
}

/// What one run gave one task under one key, over its attempts.
#[derive(Default)]
struct Cell {
    tally: Tally,
    numbers: Vec<f64>,
}

impl Cell {
    fn verdict(&self) -> Option<TaskVerdict> {
        let PassCount { passed, total } = self.tally.pass_count();
        (total > 0).then_some(TaskVerdict {
            passed,
            attempts: total,
        })
    }

    fn mean(&self) -> Option<f64> {
        (!self.numbers.is_empty()).then(|| self.numbers.iter().sum::<f64>() / self.numbers.len() as f64)
    }
}

/// One run's tasks by id (repeats joined): content hash, and a cell per key.
struct Indexed<'a> {
    tasks: BTreeMap<&'a str, (&'a ContentHash, BTreeMap<&'a str, Cell>)>,
    keys: BTreeSet<&'a str>,
}

fn index(run: &RunResult) -> Indexed<'_> {
    let mut tasks: BTreeMap<&str, (&ContentHash, BTreeMap<&str, Cell>)> = BTreeMap::new();
    let mut keys = BTreeSet::new();
    for record in run.tasks() {
        let (_, cells) = tasks
            .entry(record.base_id())
            .or_insert((&record.content_hash, BTreeMap::new()));
        add_record(cells, record);
        keys.extend(record.feedback.iter().map(|fb| fb.key.as_str()));
    }
    Indexed { tasks, keys }
}

fn add_record<'a>(cells: &mut BTreeMap<&'a str, Cell>, record: &'a TaskRecord) {
    for fb in &record.feedback {
        let cell = cells.entry(fb.key.as_str()).or_default();
        cell.tally.add(fb.verdict());
        if let Some(number) = fb.as_number() {
            cell.numbers.push(number);
        }
    }
}

/// The leaderboard of `runs` (two or more), joined by task id (the attempts of a task taken
/// together) and feedback key.
///
/// In [`DiffMode::Strict`] the runs must be of the same suite, with the same task ids, the same
/// content per task and the same feedback keys, else [`CompareError::NotComparable`] lists
/// every difference. In [`DiffMode::Lenient`] only the tasks and keys every run shares (with
/// the same content) are compared and the rest is listed in [`Leaderboard::excluded`].
pub fn compare<R: Borrow<RunResult>>(runs: &[R], mode: DiffMode) -> Result<Leaderboard, CompareError> {
    if runs.len() < 2 {
        return Err(CompareError::TooFewRuns { given: runs.len() });
    }
    let runs: Vec<&RunResult> = runs.iter().map(Borrow::borrow).collect();
    let entrants = entrants(&runs);
    let names: Vec<&str> = entrants.iter().map(|e| e.name.as_str()).collect();
    let indexed: Vec<Indexed<'_>> = runs.iter().map(|run| index(run)).collect();
    let (tasks, keys, differences) = join(&indexed, &entrants);
    if mode == DiffMode::Strict && !differences.is_empty() {
        return Err(CompareError::NotComparable {
            differences: Box::new(differences),
        });
    }
    let cells = |run: usize, task: &str, key: &str| indexed[run].tasks.get(task).and_then(|(_, c)| c.get(key));
    let mut boards = Vec::new();
    for key in &keys {
        let mut merged = Tally::default();
        let mut has_numbers = false;
        for run in 0..runs.len() {
            for task in &tasks {
                if let Some(cell) = cells(run, task, key) {
                    merged = merged.merged(cell.tally);
                    has_numbers |= !cell.numbers.is_empty();
                }
            }
        }
        let column = |run: usize| -> Vec<Option<&Cell>> { tasks.iter().map(|task| cells(run, task, key)).collect() };
        let columns: Vec<Vec<Option<&Cell>>> = (0..runs.len()).map(column).collect();
        let board = if merged.is_pass_fail() {
            pass_fail_board(key, &names, &tasks, &columns)
        } else if has_numbers {
            numeric_board(key, &names, &columns)
        } else {
            continue;
        };
        boards.push(board);
    }
    Ok(Leaderboard {
        runs: entrants,
        tasks: tasks.iter().map(|task| (*task).to_owned()).collect(),
        keys: boards,
        excluded: differences,
    })
}

/// Each run's name, made unique.
fn entrants(runs: &[&RunResult]) -> Vec<Entrant> {
    run_names(runs)
        .into_iter()
        .zip(runs)
        .map(|(name, run)| Entrant {
            name,
            run_id: run.run_id().to_owned(),
            suite: run.meta.suite.name.clone(),
        })
        .collect()
}

/// What each of `runs` is called side by side with the others: its variant, else its label,
/// else its model, else its run id; the run id is appended in parentheses where two would share
/// a name, and the same run given twice is numbered (`#2`).
pub fn run_names(runs: &[&RunResult]) -> Vec<String> {
    let base: Vec<&str> = runs
        .iter()
        .map(|run| {
            run.meta
                .variant
                .as_ref()
                .map(|variant| variant.name())
                .or(run.meta.label.as_deref())
                .or(run.meta.model.as_deref())
                .filter(|name| !name.is_empty())
                .unwrap_or(run.run_id())
        })
        .collect();
    let mut names: Vec<String> = base
        .iter()
        .zip(runs)
        .map(|(name, run)| match base.iter().filter(|other| *other == name).count() {
            1 => (*name).to_owned(),
            _ if *name == run.run_id() => (*name).to_owned(),
            _ => format!("{name} ({})", run.run_id()),
        })
        .collect();
    // The same run given twice: number the repeats.
    for i in 1..names.len() {
        if names[..i].contains(&names[i]) {
            let mut n = 2;
            while names.contains(&format!("{} #{n}", names[i])) {
                n += 1;
            }
            names[i] = format!("{} #{n}", names[i]);
        }
    }
    names
}

/// The tasks and keys every run shares (with the same content), and what differs.
fn join<'a>(indexed: &[Indexed<'a>], entrants: &[Entrant]) -> (Vec<&'a str>, Vec<&'a str>, Differences) {
    let mut differences = Differences::default();
    let first_suite = &entrants[0].suite;
    if entrants.iter().any(|e| &e.suite != first_suite) {
        differences.suites = entrants.iter().map(|e| (e.name.clone(), e.suite.clone())).collect();
    }
    let all_tasks: BTreeSet<&str> = indexed.iter().flat_map(|run| run.tasks.keys().copied()).collect();
    let mut tasks = Vec::new();
    for task in all_tasks {
        let missing_from: Vec<String> = indexed
            .iter()
            .zip(entrants)
            .filter(|(run, _)| !run.tasks.contains_key(task))
            .map(|(_, e)| e.name.clone())
            .collect();
        if !missing_from.is_empty() {
            differences.tasks.push(Missing {
                id: task.to_owned(),
                missing_from,
            });
            continue;
        }
        let hashes: BTreeSet<&ContentHash> = indexed.iter().map(|run| run.tasks[task].0).collect();
        if hashes.len() > 1 {
            differences.content_changed.push(task.to_owned());
        } else {
            tasks.push(task);
        }
    }
    let all_keys: BTreeSet<&str> = indexed.iter().flat_map(|run| run.keys.iter().copied()).collect();
    let mut keys = Vec::new();
    for key in all_keys {
        let missing_from: Vec<String> = indexed
            .iter()
            .zip(entrants)
            .filter(|(run, _)| !run.keys.contains(key))
            .map(|(_, e)| e.name.clone())
            .collect();
        if missing_from.is_empty() {
            keys.push(key);
        } else {
            differences.keys.push(Missing {
                id: key.to_owned(),
                missing_from,
            });
        }
    }
    (tasks, keys, differences)
}

/// The runs with the highest value among those that graded something.
fn best_of(standings: &[Standing]) -> Vec<usize> {
    let top = standings
        .iter()
        .filter(|s| s.n > 0)
        .map(|s| s.value)
        .fold(f64::NEG_INFINITY, f64::max);
    (0..standings.len())
        .filter(|&i| standings[i].n > 0 && (standings[i].value - top).abs() <= TIE)
        .collect()
}

fn pass_fail_board(key: &str, names: &[&str], tasks: &[&str], columns: &[Vec<Option<&Cell>>]) -> KeyBoard {
    let verdicts: Vec<Vec<Option<TaskVerdict>>> = columns
        .iter()
        .map(|column| column.iter().map(|cell| cell.and_then(Cell::verdict)).collect())
        .collect();
    let standings: Vec<Standing> = columns
        .iter()
        .zip(names)
        .map(|(column, name)| {
            let tally = column
                .iter()
                .flatten()
                .fold(Tally::default(), |sum, cell| sum.merged(cell.tally));
            let PassCount { passed, total } = tally.pass_count();
            Standing {
                run: (*name).to_owned(),
                value: tally.pass_count().rate(),
                interval: Some(wilson_interval(passed, total)),
                n: total,
                passed: Some(passed),
            }
        })
        .collect();
    let best = best_of(&standings);
    let paired = match best.first() {
        Some(&reference) => (0..names.len())
            .filter(|&other| other != reference)
            .map(|other| {
                let (mut shared, mut ahead, mut behind) = (0, 0, 0);
                for (mine, theirs) in verdicts[reference].iter().zip(&verdicts[other]) {
                    let (Some(mine), Some(theirs)) = (mine, theirs) else {
                        continue;
                    };
                    shared += 1;
                    let left = u128::from(mine.passed) * u128::from(theirs.attempts);
                    let right = u128::from(theirs.passed) * u128::from(mine.attempts);
                    ahead += usize::from(left > right);
                    behind += usize::from(left < right);
                }
                let p_value = sign_test(saturate(ahead), saturate(behind));
                Paired {
                    best: names[reference].to_owned(),
                    other: names[other].to_owned(),
                    tasks: shared,
                    ahead,
                    behind,
                    test: PairedTest::SignTest,
                    p_value,
                    beyond_noise: p_value < ALPHA,
                }
            })
            .collect(),
        None => Vec::new(),
    };
    let disagreements = tasks
        .iter()
        .enumerate()
        .filter_map(|(t, task)| {
            let graded: Vec<&TaskVerdict> = verdicts.iter().filter_map(|column| column[t].as_ref()).collect();
            let differ = graded.iter().any(|v| !v.same_fraction(graded[0]));
            differ.then(|| Disagreement {
                task_id: (*task).to_owned(),
                verdicts: names
                    .iter()
                    .zip(&verdicts)
                    .map(|(name, column)| ((*name).to_owned(), column[t]))
                    .collect(),
            })
        })
        .collect();
    KeyBoard {
        key: key.to_owned(),
        kind: KeyKind::PassFail,
        best: best.iter().map(|&i| names[i].to_owned()).collect(),
        standings,
        paired,
        disagreements,
    }
}

fn saturate(count: usize) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX)
}

fn numeric_board(key: &str, names: &[&str], columns: &[Vec<Option<&Cell>>]) -> KeyBoard {
    let means: Vec<Vec<Option<f64>>> = columns
        .iter()
        .map(|column| column.iter().map(|cell| cell.and_then(Cell::mean)).collect())
        .collect();
    let standings: Vec<Standing> = columns
        .iter()
        .zip(names)
        .map(|(column, name)| {
            let numbers: Vec<f64> = column
                .iter()
                .flatten()
                .flat_map(|cell| cell.numbers.iter().copied())
                .collect();
            let mean = match numbers.len() {
                0 => 0.0,
                n => numbers.iter().sum::<f64>() / n as f64,
            };
            Standing {
                run: (*name).to_owned(),
                value: mean,
                interval: mean_interval(&numbers),
                n: numbers.len() as u64,
                passed: None,
            }
        })
        .collect();
    let best = best_of(&standings);
    let paired = match best.first() {
        Some(&reference) => (0..names.len())
            .filter(|&other| other != reference)
            .map(|other| {
                let differences: Vec<f64> = means[reference]
                    .iter()
                    .zip(&means[other])
                    .filter_map(|(mine, theirs)| Some((*mine)? - (*theirs)?))
                    .collect();
                let test = signed_rank_test(&differences);
                Paired {
                    best: names[reference].to_owned(),
                    other: names[other].to_owned(),
                    tasks: differences.len(),
                    ahead: test.positive,
                    behind: test.n - test.positive,
                    test: match test.method {
                        SignedRankMethod::Exact => PairedTest::SignedRankExact,
                        SignedRankMethod::Normal => PairedTest::SignedRankNormal,
                    },
                    p_value: test.p_value,
                    beyond_noise: test.p_value < ALPHA,
                }
            })
            .collect(),
        None => Vec::new(),
    };
    KeyBoard {
        key: key.to_owned(),
        kind: KeyKind::Numeric,
        best: best.iter().map(|&i| names[i].to_owned()).collect(),
        standings,
        paired,
        disagreements: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feedback::Feedback;
    use crate::task::ContentHash;
    use crate::trace::Trace;
    use serde_json::{Value, json};

    fn record(task_id: &str, attempt: Option<u32>, feedback: Vec<Feedback>) -> TaskRecord {
        let base = task_id.split('#').next().unwrap_or(task_id);
        let inputs = json!({ "input": base });
        TaskRecord {
            task_id: task_id.to_owned(),
            content_hash: ContentHash::of(&inputs, &Value::Null),
            inputs,
            reference_outputs: Value::Null,
            tags: Vec::new(),
            metadata: serde_json::Map::new(),
            trace: Trace::default(),
            feedback,
            budget_violation: false,
            scorer_traces: Vec::new(),
            trace_ref: None,
            outputs: Value::Null,
            attempt,
        }
    }

    fn run(run_id: &str, label: Option<&str>, model: Option<&str>, tasks: Vec<TaskRecord>) -> RunResult {
        let meta = crate::result::RunMeta {
            label: label.map(str::to_owned),
            model: model.map(str::to_owned),
            ..crate::fixtures::run_meta(run_id)
        };
        RunResult::new(meta, tasks)
    }

    /// Six tasks; `passes[i]` is task i's verdict under `exact`, `overlap[i]` its number.
    fn six(run_id: &str, label: Option<&str>, model: Option<&str>, passes: [bool; 6], overlap: [f64; 6]) -> RunResult {
        let tasks = (0..6)
            .map(|i| {
                let feedback = vec![
                    Feedback::pass_fail("exact", passes[i]),
                    Feedback::number("overlap", overlap[i]),
                ];
                record(&format!("t{}", i + 1), None, feedback)
            })
            .collect();
        run(run_id, label, model, tasks)
    }

    fn three() -> Vec<RunResult> {
        let scores = [1.0, 0.9, 0.8, 0.7, 0.6, 0.5];
        vec![
            six("r1", Some("alpha"), Some("m"), [true; 6], scores),
            six(
                "r2",
                Some("beta"),
                None,
                [true, true, true, false, false, false],
                [0.9, 0.8, 0.7, 0.6, 0.5, 0.4],
            ),
            six("r3", None, Some("gamma"), [true, true, true, true, true, false], scores),
        ]
    }

    #[test]
    fn a_pass_fail_key_by_hand() {
        let board = compare(&three(), DiffMode::Strict).unwrap();
        let names: Vec<&str> = board.runs.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["alpha", "beta", "gamma"], "label, else model");
        assert_eq!(board.tasks.len(), 6);
        assert!(board.excluded.is_empty());
        let exact = &board.keys[0];
        assert_eq!((exact.key.as_str(), exact.kind), ("exact", KeyKind::PassFail));
        assert_eq!(exact.best, ["alpha"]);
        assert!(!exact.is_tie());
        let rates: Vec<(f64, u64)> = exact.standings.iter().map(|s| (s.value, s.n)).collect();
        assert_eq!(rates, [(1.0, 6), (0.5, 6), (5.0 / 6.0, 6)]);
        assert_eq!(exact.standings[0].interval, Some(wilson_interval(6, 6)));
        // alpha against beta: 3 tasks ahead, none behind; p = 2 · (1/2)³ = 0.25.
        let against_beta = &exact.paired[0];
        assert_eq!(
            (against_beta.other.as_str(), against_beta.ahead, against_beta.behind),
            ("beta", 3, 0)
        );
        assert!((against_beta.p_value - 0.25).abs() < 1e-12 && !against_beta.beyond_noise);
        // alpha against gamma: one task; p = 2 · 1/2, capped at 1.
        assert_eq!(exact.paired[1].p_value, 1.0);
        let disagreeing: Vec<&str> = exact.disagreements.iter().map(|d| d.task_id.as_str()).collect();
        assert_eq!(disagreeing, ["t4", "t5", "t6"]);
        let t6 = &exact.disagreements[2].verdicts;
        assert_eq!(
            t6[0],
            ("alpha".to_owned(), Some(TaskVerdict { passed: 1, attempts: 1 }))
        );
        assert_eq!(t6[2].1, Some(TaskVerdict { passed: 0, attempts: 1 }));
    }

    #[test]
    fn a_numeric_key_by_hand_with_a_tie_for_best() {
        let board = compare(&three(), DiffMode::Strict).unwrap();
        let overlap = &board.keys[1];
        assert_eq!(overlap.kind, KeyKind::Numeric);
        // alpha and gamma both have mean 4.5/6 = 0.75: a tie, tested from alpha.
        assert_eq!(overlap.best, ["alpha", "gamma"]);
        assert!(overlap.is_tie());
        assert!((overlap.standings[0].value - 0.75).abs() < 1e-12);
        assert_eq!(
            overlap.standings[0].interval,
            mean_interval(&[1.0, 0.9, 0.8, 0.7, 0.6, 0.5])
        );
        // alpha − beta is 0.1 on every task (up to rounding): six ties at rank 3.5, W⁺ = 21,
        // the largest of 2⁶ sign assignments; p = 2/64 = 0.03125.
        let against_beta = &overlap.paired[0];
        assert_eq!(against_beta.test, PairedTest::SignedRankExact);
        assert_eq!((against_beta.tasks, against_beta.ahead, against_beta.behind), (6, 6, 0));
        assert!((against_beta.p_value - 0.031_25).abs() < 1e-12 && against_beta.beyond_noise);
        // alpha − gamma is 0 everywhere.
        assert_eq!((overlap.paired[1].p_value, overlap.paired[1].ahead), (1.0, 0));
        assert!(overlap.disagreements.is_empty());
    }

    #[test]
    fn fewer_than_two_runs_is_an_error() {
        let runs = three();
        assert_eq!(
            compare(&runs[..1], DiffMode::Strict),
            Err(CompareError::TooFewRuns { given: 1 })
        );
        assert!(compare::<RunResult>(&[], DiffMode::Lenient).is_err());
    }

    #[test]
    fn strict_mode_names_what_differs() {
        let mut runs = three();
        runs[1].meta.suite.name = "other".to_owned();
        let Err(CompareError::NotComparable { differences }) = compare(&runs, DiffMode::Strict) else {
            panic!("different suites are not comparable");
        };
        assert_eq!(differences.suites[1], ("beta".to_owned(), "other".to_owned()));
        let message = CompareError::NotComparable { differences }.to_string();
        assert!(
            message.contains("different suites: alpha: suite, beta: other, gamma: suite"),
            "{message}"
        );

        let mut runs = three();
        let (meta, mut tasks) = runs.remove(2).into_parts();
        tasks.retain(|task| task.task_id != "t6");
        for task in &mut tasks {
            task.feedback.retain(|fb| fb.key != "overlap");
        }
        runs.push(RunResult::new(meta, tasks));
        let error = compare(&runs, DiffMode::Strict).unwrap_err().to_string();
        assert!(
            error.contains("1 task(s) not in every run: t6 (not in gamma)"),
            "{error}"
        );
        assert!(
            error.contains("1 scorer key(s) not in every run: overlap (not in gamma)"),
            "{error}"
        );
        assert!(error.contains("--lenient"), "{error}");

        // Leniently: the five shared tasks and the shared key, the rest listed.
        let board = compare(&runs, DiffMode::Lenient).unwrap();
        assert_eq!(board.tasks, ["t1", "t2", "t3", "t4", "t5"]);
        assert_eq!(board.keys.len(), 1);
        assert_eq!(board.excluded.tasks[0].id, "t6");
        assert_eq!(board.excluded.keys[0].missing_from, ["gamma"]);
        assert_eq!(board.keys[0].standings[2].value, 1.0, "gamma passes every shared task");
    }

    #[test]
    fn changed_content_is_a_difference() {
        let mut runs = three();
        let (meta, mut tasks) = runs.remove(1).into_parts();
        tasks[0].content_hash = ContentHash::of(&json!({"input": "changed"}), &Value::Null);
        runs.insert(1, RunResult::new(meta, tasks));
        let error = compare(&runs, DiffMode::Strict).unwrap_err().to_string();
        assert!(error.contains("content changed for 1 task(s): t1"), "{error}");
        assert!(
            !compare(&runs, DiffMode::Lenient)
                .unwrap()
                .tasks
                .contains(&"t1".to_owned())
        );
    }

    #[test]
    fn a_variant_names_its_run_before_its_label() {
        let mut runs = three();
        for (run, name) in runs.iter_mut().zip(["mini", "base"]) {
            run.meta.variant = Some(crate::variant::Variant::new(name, serde_json::Value::Null).unwrap());
        }
        let board = compare(&runs, DiffMode::Strict).unwrap();
        let names: Vec<&str> = board.runs.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["mini", "base", "gamma"]);
    }

    #[test]
    fn names_that_collide_get_their_run_id() {
        let mut runs = three();
        runs[2].meta.label = Some("alpha".to_owned());
        runs.push(runs[1].clone());
        let board = compare(&runs, DiffMode::Strict).unwrap();
        let names: Vec<&str> = board.runs.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["alpha (r1)", "beta (r2)", "alpha (r3)", "beta (r2) #2"]);
    }

    #[test]
    fn repeats_count_every_attempt_and_pair_by_pass_fraction() {
        // a: t1 2/2, t2 1/2. b: t1 1/2, t2 1/2 (an ungradeable attempt counts as a fail).
        let attempts = |id: &str, verdicts: [Option<bool>; 2]| -> Vec<TaskRecord> {
            verdicts
                .into_iter()
                .enumerate()
                .map(|(n, verdict)| {
                    let fb = match verdict {
                        Some(passed) => Feedback::pass_fail("exact", passed),
                        None => Feedback::ungradeable("exact", "crashed"),
                    };
                    record(&format!("{id}#{}", n + 1), Some(n as u32 + 1), vec![fb])
                })
                .collect()
        };
        let a = [
            attempts("t1", [Some(true), Some(true)]),
            attempts("t2", [Some(true), Some(false)]),
        ]
        .concat();
        let b = [
            attempts("t1", [Some(true), None]),
            attempts("t2", [Some(false), Some(true)]),
        ]
        .concat();
        let board = compare(&[run("a", None, None, a), run("b", None, None, b)], DiffMode::Strict).unwrap();
        assert_eq!(board.tasks, ["t1", "t2"]);
        let exact = &board.keys[0];
        assert_eq!(exact.standings[0].passed, Some(3));
        assert_eq!((exact.standings[1].passed, exact.standings[1].n), (Some(2), 4));
        assert_eq!(exact.best, ["a"]);
        assert_eq!((exact.paired[0].ahead, exact.paired[0].behind), (1, 0));
        assert_eq!(exact.disagreements.len(), 1, "t2 is 1/2 in both");
        assert_eq!(
            exact.disagreements[0].verdicts[1].1,
            Some(TaskVerdict { passed: 1, attempts: 2 })
        );
    }

    #[test]
    fn label_only_keys_are_left_out() {
        let with_label = |id: &str| {
            let tasks = vec![record("t1", None, vec![Feedback::label("tone", "calm")])];
            run(id, None, None, tasks)
        };
        let board = compare(&[with_label("a"), with_label("b")], DiffMode::Strict).unwrap();
        assert!(board.keys.is_empty());
    }
}
