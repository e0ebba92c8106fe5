//! People as a comparator: a blinded sheet of pairs to label (AG2's labelling manifest: one
//! line per task and criterion, `{case_id, task_id, criterion, task_input, response_1,
//! response_2, first_variant}`; a labeller adds `"preferred": "1" | "2" | "tie"`), and the
//! labels read back as a [`Comparator`].

use super::comparison::{Comparator, Comparison, ComparisonFuture, Pair, Winner, answer_of};
use crate::cassette::Cassettes;
use crate::result::RunResult;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One line of a pairwise labelling sheet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SheetRow {
    /// `<task_id>::<criterion>`.
    pub case_id: String,
    /// The task.
    pub task_id: String,
    /// What to judge the two responses on.
    pub criterion: String,
    /// The task's input (its `inputs.input`, else all its inputs).
    pub task_input: Value,
    /// The response shown first.
    pub response_1: Value,
    /// The response shown second.
    pub response_2: Value,
    /// Which run's response is shown first, `a` or `b`: the key that unblinds the sheet (a
    /// labelling tool must not show it).
    pub first_variant: String,
    /// What the labeller preferred: `"1"`, `"2"` or `"tie"`; absent until labelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred: Option<Value>,
}

/// The blinded sheet for the tasks both runs answered, one line per task: which response is
/// shown first is drawn per task from `seed` (the same seed, the same sheet).
pub fn pairwise_sheet(a: &RunResult, b: &RunResult, criterion: &str, seed: u64) -> Vec<SheetRow> {
    let mut in_b: HashMap<&str, Value> = HashMap::new();
    for record in b.tasks().iter().filter(|record| record.trace.exception.is_none()) {
        in_b.entry(record.base_id())
            .or_insert_with(|| answer_of(record).into_owned());
    }
    let mut seen = std::collections::HashSet::new();
    a.tasks()
        .iter()
        .filter(|record| record.trace.exception.is_none() && seen.insert(record.base_id()))
        .filter_map(|record| {
            let answer_b = in_b.get(record.base_id())?.clone();
            let answer_a = answer_of(record).into_owned();
            let task_id = record.base_id();
            let a_first = Sha256::digest(format!("{seed}\0{task_id}").as_bytes())[0] & 1 == 0;
            let (response_1, response_2) = match a_first {
                true => (answer_a, answer_b),
                false => (answer_b, answer_a),
            };
            Some(SheetRow {
                case_id: format!("{task_id}::{criterion}"),
                task_id: task_id.to_owned(),
                criterion: criterion.to_owned(),
                task_input: record
                    .inputs
                    .get("input")
                    .cloned()
                    .unwrap_or_else(|| record.inputs.clone()),
                response_1,
                response_2,
                first_variant: if a_first { "a" } else { "b" }.to_owned(),
                preferred: None,
            })
        })
        .collect()
}

/// People's labels from a sheet, as a comparator: a task they preferred `"1"` or `"2"` on is
/// won by the run shown there, `"tie"` is a tie; a task without a label is undecided.
#[derive(Debug, Clone)]
pub struct HumanLabels {
    key: String,
    /// By task: which run was shown first, and what was preferred.
    by_task: HashMap<String, (Winner, Option<Winner>)>,
}

impl HumanLabels {
    /// Reads the labels of `criterion` in the sheet at `path`, reporting under `key`. `Err`
    /// names the file and the line of anything that is not a labelled sheet line.
    pub fn read(path: impl AsRef<Path>, criterion: &str, key: impl Into<String>) -> Result<HumanLabels, String> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let at = |line: usize, why: String| format!("{}:{line}: {why}", path.display());
        let mut by_task = HashMap::new();
        for (index, line) in text.trim_start_matches('\u{feff}').lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let row: SheetRow =
                serde_json::from_str(line).map_err(|e| at(index + 1, format!("not a sheet line: {e}")))?;
            if row.criterion != criterion {
                continue;
            }
            let first = match row.first_variant.as_str() {
                "a" => Winner::A,
                "b" => Winner::B,
                other => {
                    return Err(at(
                        index + 1,
                        format!("`first_variant` is {other:?}, not \"a\" or \"b\""),
                    ));
                }
            };
            let second = if first == Winner::A { Winner::B } else { Winner::A };
            let preferred = match row.preferred.as_ref() {
                None | Some(Value::Null) => None,
                Some(value) => Some(
                    match value
                        .as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| value.to_string())
                        .as_str()
                    {
                        "1" | "first" => first,
                        "2" | "second" => second,
                        "tie" => Winner::Tie,
                        other => {
                            return Err(at(
                                index + 1,
                                format!("`preferred` is {other:?}: write \"1\", \"2\" or \"tie\""),
                            ));
                        }
                    },
                ),
            };
            by_task.insert(row.task_id, (first, preferred));
        }
        Ok(HumanLabels {
            key: key.into(),
            by_task,
        })
    }

    /// How many tasks are labelled.
    pub fn labelled(&self) -> usize {
        self.by_task
            .values()
            .filter(|(_, preferred)| preferred.is_some())
            .count()
    }
}

impl Comparator for HumanLabels {
    fn key(&self) -> &str {
        &self.key
    }

    fn compare<'a>(&'a self, pair: &'a Pair<'a>, _cassettes: Option<&'a Cassettes>) -> ComparisonFuture<'a> {
        let comparison = match self.by_task.get(pair.task_id) {
            Some((first, Some(winner))) => Comparison::decided(*winner, Some("people's label".to_owned()))
                .with_detail(json!({"first_variant": first.as_str()})),
            _ => Comparison::ungradeable("no label for this task"),
        };
        Box::pin(async move { comparison })
    }
}

/// Writes `rows` as JSON Lines to `path` (the directory is made), atomically.
pub fn write_sheet(rows: &[SheetRow], path: &Path) -> Result<PathBuf, String> {
    let mut text = String::new();
    for row in rows {
        text.push_str(&serde_json::to_string(row).map_err(|e| e.to_string())?);
        text.push('\n');
    }
    use crate::atomic_file::{AtomicWriteError, IfExists, write_atomically};
    write_atomically(path, IfExists::Replace, |out| {
        std::io::Write::write_all(out, text.as_bytes())
    })
    .map_err(|e| match e {
        AtomicWriteError::AlreadyExists => format!("cannot write {}: it exists", path.display()),
        AtomicWriteError::Io { action, source, .. } => {
            format!("cannot write {}: cannot {action}: {source}", path.display())
        }
    })?;
    Ok(path.to_owned())
}
