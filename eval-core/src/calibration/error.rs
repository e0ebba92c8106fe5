//! Why labels could not be read or compared, or a label sheet not written: every variant names
//! the file, and the line when there is one.

use std::path::PathBuf;
use thiserror::Error;

/// Why a calibration could not be made. Lines are counted from 1.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CalibrationError {
    /// The labels file does not exist.
    #[error("labels file {} does not exist", path.display())]
    NotFound {
        /// The file looked for.
        path: PathBuf,
    },
    /// The labels file could not be read.
    #[error("cannot read labels file {}: {source}", path.display())]
    Io {
        /// The labels file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The labels path is a FIFO, a device or a directory, which would block or never end.
    #[error("cannot read labels file {}: it is {kind}, not a regular file", path.display())]
    NotRegular {
        /// The labels path.
        path: PathBuf,
        /// What it is instead (`a FIFO (named pipe)`, `a directory`, …).
        kind: &'static str,
    },
    /// The labels file is larger than any labels file of a run can be.
    #[error("labels file {} is larger than {limit} bytes", path.display())]
    TooLarge {
        /// The labels file.
        path: PathBuf,
        /// The most that is read.
        limit: u64,
    },
    /// A line is not UTF-8.
    #[error("{}:{line}: the line is not valid UTF-8", path.display())]
    InvalidUtf8 {
        /// The labels file.
        path: PathBuf,
        /// The line.
        line: usize,
    },
    /// A line is not JSON.
    #[error("{}:{line}: not valid JSON: {message}", path.display())]
    InvalidJson {
        /// The labels file.
        path: PathBuf,
        /// The line.
        line: usize,
        /// What the JSON parser said.
        message: String,
    },
    /// A line is JSON but not an object.
    #[error(
        "{}:{line}: a label must be a JSON object such as {{\"task_id\": \"t1\", \"key\": \"judge\", \"label\": \"pass\"}}, found {found}",
        path.display()
    )]
    NotAnObject {
        /// The labels file.
        path: PathBuf,
        /// The line.
        line: usize,
        /// What it is instead (`an array`, `a string`, …).
        found: &'static str,
    },
    /// A line has no `task_id` or no `key`.
    #[error("{}:{line}: the label has no `{field}`", path.display())]
    MissingField {
        /// The labels file.
        path: PathBuf,
        /// The line.
        line: usize,
        /// The field (`task_id` or `key`).
        field: &'static str,
    },
    /// A field has the wrong JSON type.
    #[error("{}:{line}: field `{field}` must be {expected}, found {found}", path.display())]
    InvalidField {
        /// The labels file.
        path: PathBuf,
        /// The line.
        line: usize,
        /// The field.
        field: &'static str,
        /// What it must be.
        expected: &'static str,
        /// What it is.
        found: &'static str,
    },
    /// A line has both a `label` and a `score`.
    #[error(
        "{}:{line}: the line has both a `label` and a `score`; give one: a category as `label`, a number as `score`",
        path.display()
    )]
    BothLabelAndScore {
        /// The labels file.
        path: PathBuf,
        /// The line.
        line: usize,
    },
    /// A line has neither a `label` nor a `score` field.
    #[error(
        "{}:{line}: the line has neither a `label` nor a `score`; give a category as `label` (\"pass\", \"fail\", …) or a number as `score`",
        path.display()
    )]
    NeitherLabelNorScore {
        /// The labels file.
        path: PathBuf,
        /// The line.
        line: usize,
    },
    /// Two lines label the same task under the same key.
    #[error(
        "{}: task `{task_id}` is labelled under key `{key}` twice: at line {first} and again at line {second}",
        path.display()
    )]
    DuplicateLabel {
        /// The labels file.
        path: PathBuf,
        /// The task.
        task_id: String,
        /// The key.
        key: String,
        /// The first line.
        first: usize,
        /// The line that labels it again.
        second: usize,
    },
    /// The labels of one key are categories on some lines and numbers on others.
    #[error(
        "{}: the labels of key `{key}` mix categories (first at line {category_line}) and numbers (first at line {number_line}); give them all as `label` or all as `score`",
        path.display()
    )]
    MixedScales {
        /// The labels file.
        path: PathBuf,
        /// The key.
        key: String,
        /// The first line with a category.
        category_line: usize,
        /// The first line with a number.
        number_line: usize,
    },
    /// The labels file labels nothing under the key compared.
    #[error("{}: no line labels key `{key}`; {}", path.display(), labelled_keys(keys))]
    NoLabels {
        /// The labels file.
        path: PathBuf,
        /// The key asked for.
        key: String,
        /// The keys the file does label.
        keys: Vec<String>,
    },
    /// The run has no feedback under the key.
    #[error("run {run_id} has no feedback under key `{key}`; its keys: {}", listed(known))]
    UnknownKey {
        /// The key asked for.
        key: String,
        /// The run.
        run_id: String,
        /// The keys the run has.
        known: Vec<String>,
    },
    /// Labels name tasks that are not in the run: every one, with its line.
    #[error(
        "{}: {} labelled task id(s) are not in run {run_id}: {}; the run's tasks: {}",
        path.display(),
        tasks.len(),
        tasks.iter().map(|(id, line)| format!("`{id}` (line {line})")).collect::<Vec<_>>().join(", "),
        first_of(known)
    )]
    UnknownTasks {
        /// The labels file.
        path: PathBuf,
        /// The run.
        run_id: String,
        /// Each unknown task id and the line that labels it, in file order.
        tasks: Vec<(String, usize)>,
        /// The run's task ids.
        known: Vec<String>,
    },
    /// The label sheet would replace a file that exists.
    #[error("label sheet {} exists already", path.display())]
    SheetExists {
        /// The file.
        path: PathBuf,
    },
    /// The label sheet could not be written (the file, if any, is as it was).
    #[error("cannot write label sheet {}: {message}", path.display())]
    SheetWrite {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
}

/// How many of a run's task ids an error lists before it says how many more there are.
const LISTED_TASKS: usize = 10;

fn listed(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

fn first_of(items: &[String]) -> String {
    if items.len() <= LISTED_TASKS {
        return listed(items);
    }
    format!(
        "{}, … ({} more)",
        items[..LISTED_TASKS].join(", "),
        items.len() - LISTED_TASKS
    )
}

fn labelled_keys(keys: &[String]) -> String {
    if keys.is_empty() {
        "it holds no labels".to_owned()
    } else {
        format!("it labels: {}", keys.join(", "))
    }
}
