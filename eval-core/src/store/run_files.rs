//! The run files: loading and saving the run JSON and files of task records, their errors,
//! and the run directory ([`Store`]).

use crate::atomic_file::{AtomicWriteError, IfExists, write_atomically};
use crate::file_name::{InvalidName, check_file_name};
use crate::record::TaskRecord;
use crate::regular_file::{Links, MAX_RUN_FILE_BYTES, OpenError, open_regular, read_capped};
use crate::result::RunResult;
use crate::wire::pretty_run::write_pretty_run;
use crate::wire::{IMPLICIT_SCHEMA_VERSION, RunIn, SchemaOnly, TaskRecordsIn, TaskRecordsOut};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write as _};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// How a journal's file name ends: `<run_id>.journal.jsonl`, next to the run files.
pub const JOURNAL_SUFFIX: &str = ".journal.jsonl";

/// Why a run could not be loaded or saved. Every variant names the file involved.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The file is not valid JSON (often: it was truncated).
    #[error(
        "cannot load run {}: line {line}, column {column}: {message} (the file is truncated or not JSON)",
        path.display()
    )]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The line of the error, from 1.
        line: usize,
        /// Its column, from 1.
        column: usize,
        /// What the JSON parser said.
        message: String,
    },
    /// The file is JSON but not a run: `why` says what is missing or mistyped, and where.
    #[error("cannot load run {}: not a run JSON: {why}", path.display())]
    NotARun {
        /// The file.
        path: PathBuf,
        /// What is missing or mistyped, and where.
        why: String,
    },
    /// The file declares a schema this crate does not read (it reads `0.x`).
    #[error(
        "cannot load run {}: schema version `{version}` is not supported (this version reads 0.x)",
        path.display()
    )]
    UnsupportedSchema {
        /// The file.
        path: PathBuf,
        /// The schema version it declares.
        version: String,
    },
    /// A run file already exists at the path; run files are never overwritten.
    #[error("cannot save run {}: the file already exists (run files are never overwritten)", path.display())]
    AlreadyExists {
        /// The file.
        path: PathBuf,
    },
    /// A run id, label or suite name that cannot be a file name.
    #[error("cannot save run: {0}")]
    InvalidName(#[from] InvalidName),
    /// An I/O operation failed: `action` says which (`load run`, `write`, `create directory`, …).
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The path is not a regular file (a FIFO, a device, a directory; a symbolic link where
    /// links are refused): reading it could block or never end.
    #[error("cannot {action} {}: it is {kind}, not a regular file; give the path of a run file", path.display())]
    NotAFile {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// What it is instead (`a FIFO (named pipe)`, `a directory`, …).
        kind: &'static str,
    },
    /// The file is larger than the most that is read from one file ([`MAX_RUN_FILE_BYTES`]
    /// unless the caller chose another limit).
    #[error(
        "cannot {action} {}: it holds more than {}, the most read from one file (a run of 10,000 tasks takes about 21 MB): it is not a run file",
        path.display(),
        shown_bytes(*limit)
    )]
    TooLarge {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The most bytes read, which the file holds more than.
        limit: u64,
    },
    /// A file of task records (see [`load_task_records`]) that does not read.
    #[error("cannot read task records {}: {message}", path.display())]
    BadTaskRecords {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The run could not be encoded as JSON.
    #[error("cannot encode run {run_id} as JSON: {source}")]
    Encode {
        /// The run's id.
        run_id: String,
        /// The encoder's error.
        #[source]
        source: serde_json::Error,
    },
}

impl StoreError {
    pub(super) fn io(action: &'static str, path: &Path, source: io::Error) -> Self {
        StoreError::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }
}

/// Loads the run JSON at `path` (ours, or AG2's schema 0.1/0.2).
///
/// `path` must be a regular file (a symbolic link to one will do) of at most
/// [`MAX_RUN_FILE_BYTES`]; a FIFO or a device is refused rather than read. A task recorded
/// twice (same id and attempt) is an error naming it. The aggregates stored in the file are
/// not used: they are recomputed from the task records.
pub fn load_run(path: impl AsRef<Path>) -> Result<RunResult, StoreError> {
    load_run_with_limit(path, MAX_RUN_FILE_BYTES)
}

/// [`load_run`] with another limit on the file's size, in bytes.
pub fn load_run_with_limit(path: impl AsRef<Path>, max_bytes: u64) -> Result<RunResult, StoreError> {
    let path = path.as_ref();
    let bytes = read_file(path, "load run", Links::Follow, max_bytes)?;
    from_json(&bytes, path)
}

/// The bytes of the regular file at `path`, at most `limit` of them; `action` names what was
/// being done in errors (`load run`).
pub(super) fn read_file(path: &Path, action: &'static str, links: Links, limit: u64) -> Result<Vec<u8>, StoreError> {
    let file = open_regular(path, fs::OpenOptions::new().read(true), links).map_err(|e| match e {
        OpenError::NotRegular(kind) => StoreError::NotAFile {
            action,
            path: path.to_owned(),
            kind,
        },
        OpenError::Io(source) => StoreError::io(action, path, source),
    })?;
    read_capped(&file, limit)
        .map_err(|source| StoreError::io(action, path, source))?
        .ok_or_else(|| StoreError::TooLarge {
            action,
            path: path.to_owned(),
            limit,
        })
}

/// `2 GiB`, `512 MiB`, `1000 bytes`.
fn shown_bytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 && b % (1 << 30) == 0 => format!("{} GiB", b >> 30),
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b => format!("{b} bytes"),
    }
}

/// Writes `run` to exactly `path`, atomically, creating the parent directories.
///
/// The run id, label and suite name are checked to be plain file names before anything is
/// written. The JSON goes to a temporary file in the same directory, is flushed to disk, and
/// only then takes the final name, which must not exist yet ([`StoreError::AlreadyExists`]).
/// On any failure no temporary file is left behind and an existing file is left as it was.
pub fn save_run(run: &RunResult, path: impl AsRef<Path>) -> Result<(), StoreError> {
    let path = path.as_ref();
    check_names(run)?;
    // Streamed into the file: a 10,000-task run is tens of megabytes, not worth buffering.
    write_new_file(path, |out| {
        write_pretty_run(&mut *out, run)?;
        out.write_all(b"\n")
    })
}

/// Writes `tasks` (in the run JSON's task shape) under `header` to `path`, atomically,
/// replacing the file if it exists: a store for task results shared between processes.
pub fn save_task_records<H: Serialize>(
    path: impl AsRef<Path>,
    header: &H,
    tasks: &[TaskRecord],
) -> Result<(), StoreError> {
    write_file(path.as_ref(), IfExists::Replace, |out| {
        serde_json::to_writer(&mut *out, &TaskRecordsOut::new(header, tasks))?;
        out.write_all(b"\n")
    })
}

/// Writes `value` as JSON to `path`, atomically, replacing the file if it exists: readers see
/// the old file or the new one, never a part.
pub fn save_json<T: Serialize>(path: impl AsRef<Path>, value: &T) -> Result<(), StoreError> {
    write_file(path.as_ref(), IfExists::Replace, |out| {
        serde_json::to_writer(&mut *out, value)?;
        out.write_all(b"\n")
    })
}

/// Reads a file written by [`save_task_records`]: its header and its task records.
pub fn load_task_records<H: DeserializeOwned>(path: impl AsRef<Path>) -> Result<(H, Vec<TaskRecord>), StoreError> {
    let path = path.as_ref();
    let bytes = read_file(path, "read task records", Links::Follow, MAX_RUN_FILE_BYTES)?;
    let read: TaskRecordsIn<H> = serde_json::from_slice(&bytes).map_err(|e| StoreError::BadTaskRecords {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    Ok((
        read.header,
        read.tasks.into_iter().map(|task| task.into_task()).collect(),
    ))
}

/// The run as pretty-printed JSON bytes, in the on-disk shape.
pub fn to_json(run: &RunResult) -> Result<Vec<u8>, StoreError> {
    // Pretty-printed runs take a couple of KB per task; reserving up front avoids regrowing.
    let mut bytes = Vec::with_capacity(4096 + run.tasks().len() * 2048);
    write_pretty_run(&mut bytes, run).map_err(|e| StoreError::Encode {
        run_id: run.meta.run_id.clone(),
        source: serde_json::Error::io(e),
    })?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Parses run JSON (a leading UTF-8 byte order mark is skipped); `path_for_messages` is only
/// used to name the file in errors.
pub fn from_json(bytes: &[u8], path_for_messages: &Path) -> Result<RunResult, StoreError> {
    let path = path_for_messages;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // Validating the UTF-8 once up front is much cheaper than serde_json checking every
    // string of a byte slice on its own.
    let text = std::str::from_utf8(bytes).map_err(|e| invalid_utf8_error(path, bytes, e.valid_up_to()))?;
    if let Some(what) = non_object_document(text) {
        // Still parse it, so that a broken document reports its syntax error first.
        serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|e| syntax_error(path, &e))?;
        return Err(StoreError::NotARun {
            path: path.to_owned(),
            why: format!("the file holds {what}, not an object"),
        });
    }
    let run_in: RunIn = match serde_json::from_str(text) {
        Ok(run_in) => run_in,
        Err(e) if e.is_data() => return Err(shape_error(text, path)),
        Err(e) => return Err(syntax_error(path, &e)),
    };
    check_schema(run_in.schema_version.as_deref(), path)?;
    run_in.into_run().map_err(|why| StoreError::NotARun {
        path: path.to_owned(),
        why,
    })
}

/// What a document that is not an object starts with (`None` for an object, or for blank
/// input, which the parser reports as truncated).
fn non_object_document(text: &str) -> Option<&'static str> {
    let first = text.bytes().find(|b| !b.is_ascii_whitespace())?;
    match first {
        b'{' => None,
        b'[' => Some("an array"),
        b'"' => Some("a string"),
        b't' | b'f' => Some("a boolean"),
        b'n' => Some("null"),
        _ => Some("a number"),
    }
}

/// A syntax error at the first byte that is not UTF-8.
fn invalid_utf8_error(path: &Path, bytes: &[u8], valid_up_to: usize) -> StoreError {
    let before = &bytes[..valid_up_to];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    StoreError::Syntax {
        path: path.to_owned(),
        line,
        column: valid_up_to - line_start + 1,
        message: "invalid UTF-8".to_owned(),
    }
}

pub(super) fn syntax_error(path: &Path, error: &serde_json::Error) -> StoreError {
    StoreError::Syntax {
        path: path.to_owned(),
        line: error.line(),
        column: error.column(),
        message: message_without_position(error),
    }
}

/// serde_json's message without its trailing " at line L column C" (the error shows it itself).
pub(super) fn message_without_position(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    match message.strip_suffix(&suffix) {
        Some(bare) => bare.to_owned(),
        None => message,
    }
}

/// Explains why valid JSON did not read as a run. Only runs on failure, so it can afford to
/// parse the document again: once for the schema version (a future schema should say so
/// rather than list what it lacks) and once tracking the path to the offending value.
fn shape_error(text: &str, path: &Path) -> StoreError {
    if let Ok(SchemaOnly { schema_version }) = serde_json::from_str(text)
        && let Err(unsupported) = check_schema(schema_version.as_deref(), path)
    {
        return unsupported;
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let why = match serde_path_to_error::deserialize::<_, RunIn>(&mut deserializer) {
        Ok(_) => "it does not have the shape of a run".to_owned(),
        Err(e) => {
            let at = e.path().to_string();
            let inner = e.inner();
            let message = message_without_position(inner);
            let position = format!("line {}, column {}", inner.line(), inner.column());
            if at == "." {
                format!("{message} ({position})")
            } else {
                format!("`{at}`: {message} ({position})")
            }
        }
    };
    StoreError::NotARun {
        path: path.to_owned(),
        why,
    }
}

/// Accepts every `0.x` schema (a missing version is AG2's 0.1).
pub(super) fn check_schema(version: Option<&str>, path: &Path) -> Result<(), StoreError> {
    let version = version.unwrap_or(IMPLICIT_SCHEMA_VERSION);
    if version.split('.').next() == Some("0") {
        Ok(())
    } else {
        Err(StoreError::UnsupportedSchema {
            path: path.to_owned(),
            version: version.to_owned(),
        })
    }
}

/// The names that become file names (or may, in a store) must be plain file names.
fn check_names(run: &RunResult) -> Result<(), StoreError> {
    check_file_name("run id", &run.meta.run_id)?;
    if let Some(label) = &run.meta.label {
        check_file_name("label", label)?;
    }
    check_file_name("suite name", &run.meta.suite.name)?;
    Ok(())
}

/// Creates the file `path` with what `write_contents` writes: temp file in the same directory,
/// fsync, no-clobber rename, fsync of the directory.
fn write_new_file(
    path: &Path,
    write_contents: impl FnOnce(&mut BufWriter<&File>) -> io::Result<()>,
) -> Result<(), StoreError> {
    write_file(path, IfExists::Keep, write_contents)
}

fn write_file(
    path: &Path,
    if_exists: IfExists,
    write_contents: impl FnOnce(&mut BufWriter<&File>) -> io::Result<()>,
) -> Result<(), StoreError> {
    write_atomically(path, if_exists, write_contents).map_err(|e| match e {
        AtomicWriteError::AlreadyExists => StoreError::AlreadyExists { path: path.to_owned() },
        AtomicWriteError::Io { action, on_dir, source } => {
            let named = match path.parent() {
                Some(dir) if on_dir && !dir.as_os_str().is_empty() => dir,
                _ => path,
            };
            StoreError::io(action, named, source)
        }
    })
}

/// How the name of a file grouping the runs of a variants run ends.
pub const VARIANT_GROUP_SUFFIX: &str = ".variants.json";

/// The directory of a store that holds a suite's runs: the suite's name, or for the runs of
/// one of its variants `<suite>@<variant>`, so that each variant has runs of its own to find
/// last, resume and regrade (a variant's name has no `@`).
///
/// ```
/// assert_eq!(eval_engine::store::runs_dir_name("weather", None), "weather");
/// assert_eq!(eval_engine::store::runs_dir_name("weather", Some("cheap")), "weather@cheap");
/// ```
pub fn runs_dir_name(suite: &str, variant: Option<&str>) -> String {
    match variant {
        Some(variant) => format!("{suite}@{variant}"),
        None => suite.to_owned(),
    }
}

fn runs_dir_name_of(run: &RunResult) -> String {
    runs_dir_name(&run.meta.suite.name, run.meta.variant.as_ref().map(|v| v.name()))
}

/// A directory of runs: `<root>/<suite>/<run_id>.json` (`<root>/<suite>@<variant>/…` for a
/// variant's runs).
///
/// ```
/// use eval_engine::Store;
///
/// let store = Store::new("target/evals");
/// let path = store.run_path("weather", "01JD2Z5Q0000000000000000").unwrap();
/// assert!(path.ends_with("weather/01JD2Z5Q0000000000000000.json"));
/// assert!(store.run_path("weather", "../escape").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// A store rooted at `root` (created on the first save).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Store { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where run `run_id` of suite `suite` lives. Both must be plain file names.
    pub fn run_path(&self, suite: &str, run_id: &str) -> Result<PathBuf, StoreError> {
        check_file_name("suite name", suite)?;
        check_file_name("run id", run_id)?;
        Ok(self.suite_dir(suite).join(format!("{run_id}.json")))
    }

    /// Saves `run` under its suite (for a variant's run, `<suite>@<variant>`: see
    /// [`runs_dir_name`]) and run id and returns the path written. Never overwrites.
    pub fn save(&self, run: &RunResult) -> Result<PathBuf, StoreError> {
        let path = self.run_path(&runs_dir_name_of(run), &run.meta.run_id)?;
        save_run(run, &path)?;
        Ok(path)
    }

    /// Saves `run` like [`Store::save`], but atomically replaces a run file of the same id: a
    /// resumed run keeps the id of the interrupted run whose file it supersedes.
    pub fn save_replacing(&self, run: &RunResult) -> Result<PathBuf, StoreError> {
        let path = self.run_path(&runs_dir_name_of(run), &run.meta.run_id)?;
        check_names(run)?;
        write_file(&path, IfExists::Replace, |out| {
            write_pretty_run(&mut *out, run)?;
            out.write_all(b"\n")
        })?;
        Ok(path)
    }

    /// Saves the file grouping the runs of one variants run, `<root>/<suite>.<group>.variants.json`
    /// (beside the suites' directories, so that no listing of runs mistakes it for one), and
    /// returns its path.
    pub fn save_variant_group(&self, group: &crate::variant::VariantGroup) -> Result<PathBuf, StoreError> {
        check_file_name("suite name", &group.suite)?;
        check_file_name("variants run id", &group.group)?;
        let path = self
            .root
            .join(format!("{}.{}{VARIANT_GROUP_SUFFIX}", group.suite, group.group));
        save_json(&path, group)?;
        Ok(path)
    }

    /// Where the journal of run `run_id` of `suite` lives while the run is in progress.
    pub fn journal_path(&self, suite: &str, run_id: &str) -> Result<PathBuf, StoreError> {
        check_file_name("suite name", suite)?;
        check_file_name("run id", run_id)?;
        Ok(self.suite_dir(suite).join(format!("{run_id}{JOURNAL_SUFFIX}")))
    }

    /// Every run file of `suite`, sorted by file name: oldest first for ULID run ids. A suite
    /// without runs (or without a directory yet) has none.
    pub fn runs(&self, suite: &str) -> Result<Vec<PathBuf>, StoreError> {
        check_file_name("suite name", suite)?;
        let dir = self.suite_dir(suite);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(StoreError::io("list", &dir, source)),
        };
        let mut runs = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| StoreError::io("list", &dir, source))?;
            let path = entry.path();
            let is_run_file = path.extension().is_some_and(|ext| ext == "json")
                && !entry.file_name().to_string_lossy().starts_with('.')
                && entry.file_type().is_ok_and(|t| t.is_file());
            if is_run_file {
                runs.push(path);
            }
        }
        runs.sort_unstable_by(|a, b| a.file_name().cmp(&b.file_name()));
        Ok(runs)
    }

    /// The suites of the store: its directories, sorted by name (none when the store does not
    /// exist yet).
    pub fn suites(&self) -> Result<Vec<String>, StoreError> {
        let entries = match fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(StoreError::io("list", &self.root, source)),
        };
        let mut suites = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| StoreError::io("list", &self.root, source))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type().is_ok_and(|t| t.is_dir()) && check_file_name("suite name", &name).is_ok() {
                suites.push(name);
            }
        }
        suites.sort_unstable();
        Ok(suites)
    }

    /// The run of `suite` written last, whatever its kind (by modification time; for equal times, the file name
    /// that sorts last). Not by name alone: a run assembled from cargo-nextest is named after
    /// nextest's run id, a UUID, which does not sort by time among ULIDs.
    pub fn latest(&self, suite: &str) -> Result<Option<PathBuf>, StoreError> {
        let mut newest: Option<(std::time::SystemTime, PathBuf)> = None;
        // In name order, so that of equal times the last name wins.
        for path in self.runs(suite)? {
            let modified = fs::metadata(&path)
                .and_then(|m| m.modified())
                .map_err(|source| StoreError::io("read the modification time of", &path, source))?;
            if newest.as_ref().is_none_or(|(time, _)| modified >= *time) {
                newest = Some((modified, path));
            }
        }
        Ok(newest.map(|(_, path)| path))
    }

    pub(super) fn suite_dir(&self, suite: &str) -> PathBuf {
        self.root.join(suite)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feedback::Feedback;
    use crate::record::TaskRecord;
    use crate::result::{
        Budgets, GitInfo, Producer, Resumed, RunMeta, RunStatus, SCHEMA_VERSION, Selection, SuiteInfo,
    };
    use crate::scorer::{ScorerSpec, Threshold};
    use crate::task::ContentHash;
    use crate::trace::{Event, Exception, ModelResponse, TokenUsage, ToolCall, Trace};
    use serde_json::{Map, Value, json};

    fn meta(run_id: &str) -> RunMeta {
        RunMeta {
            schema_version: SCHEMA_VERSION.to_owned(),
            run_id: run_id.to_owned(),
            label: Some("nightly".to_owned()),
            created_at: "2026-11-22T08:19:58.968762+00:00".to_owned(),
            duration_ms: 1234,
            suite: SuiteInfo {
                name: "weather".to_owned(),
                size: 2,
                source: "tests/data/weather.jsonl".to_owned(),
            },
            target: "my_agent::ask".to_owned(),
            concurrency: 8,
            status: RunStatus::Interrupted,
            selection: Some(Selection {
                filter: Some("weather::paris".to_owned()),
                complete: false,
            }),
            repeats: 2,
            fewest_repeats: None,
            model: None,
            budgets: Budgets {
                max_tokens: Some(5000),
                max_seconds: Some(2.5),
            },
            producer: Some(Producer::this_crate()),
            git: Some(GitInfo {
                commit: "0123456789abcdef".to_owned(),
                dirty: true,
            }),
            scorers: vec![
                ScorerSpec::new("called_tool"),
                ScorerSpec::new("overlap").with_threshold(Threshold::at_least(0.7)),
                ScorerSpec::new("tone").advisory(),
            ],
            resumed: Some(Resumed {
                from: run_id.to_owned(),
                reused: 1,
            }),
            variant: None,
            regraded_from: Some("01JD2Z5Q0000000000000000".to_owned()),
        }
    }

    fn task(id: &str, attempt: u32, failed: bool) -> TaskRecord {
        let inputs = json!({"input": "Weather in Paris?", "units": "metric"});
        let reference_outputs = json!({"city": "Paris"});
        let events = vec![
            Event::ModelResponse(ModelResponse {
                model: Some("m-1".to_owned()),
                text: None,
                finish_reason: Some("tool_calls".to_owned()),
            }),
            Event::ToolCall(ToolCall {
                id: Some("call-1".to_owned()),
                name: "get_weather".to_owned(),
                arguments: json!({"city": "Paris"}),
            }),
            Event::tool_result("get_weather", json!({"temp": 21.5})),
            Event::tool_error("get_weather", "rate limited"),
            Event::Usage(TokenUsage {
                input: 120,
                output: 30,
                cache_creation: 4,
                cache_read: 60,
            }),
            Event::custom("step", json!({"n": 1})),
            Event::Foreign(
                json!({"type": "ToolCallEvent", "created_at": 1795335598.897182, "name": "lookup"})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            ),
            Event::model_response("Sunny, 21 °C"),
        ];
        let exception = failed.then(|| Exception::new(Exception::TIMEOUT, "agent ran longer than 30s"));
        let mut metadata = Map::new();
        metadata.insert("difficulty".to_owned(), json!(2));
        TaskRecord {
            task_id: format!("{id}#{attempt}"),
            content_hash: ContentHash::of(&inputs, &reference_outputs),
            inputs,
            reference_outputs,
            tags: vec!["smoke".to_owned(), "europe".to_owned()],
            metadata,
            trace: Trace::new(events, exception, 87),
            feedback: vec![
                Feedback::pass_fail("called_tool", !failed),
                Feedback::number("overlap", 0.75).with_detail(json!({"matched": 3})),
                Feedback::label("tone", "friendly").with_comment("polite"),
                Feedback::ungradeable("judge", "judge timed out"),
            ],
            budget_violation: failed,
            scorer_traces: Vec::new(),
            trace_ref: Some(json!({"trace_id": "e726a08050898a095e4a13a174f109b1"})),
            outputs: if failed {
                Value::Null
            } else {
                json!({"city": "Paris", "temp": 21.5})
            },
            attempt: Some(attempt),
        }
    }

    fn sample_run(run_id: &str) -> RunResult {
        RunResult::new(
            meta(run_id),
            vec![task("paris", 0, false), task("paris", 1, true), task("oslo", 0, false)],
        )
    }

    fn file_names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    #[test]
    fn save_then_load_keeps_every_field() {
        let dir = tempfile::tempdir().unwrap();
        let run = sample_run("01JD2Z5Q0000000000000000");
        let path = dir.path().join("nested/dir/run.json");
        save_run(&run, &path).unwrap();
        let back = load_run(&path).unwrap();
        assert_eq!(back, run);
        assert_eq!(file_names(path.parent().unwrap()), ["run.json"], "no temp file is left");
    }

    #[test]
    fn fields_are_written_in_ag2_order_then_ours() {
        let bytes = to_json(&sample_run("r1")).unwrap();
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(
            keys(&value),
            [
                "schema_version",
                "run_id",
                "label",
                "created_at",
                "duration_ms",
                "suite",
                "target",
                "concurrency",
                "tasks",
                "aggregates",
                "status",
                "selection",
                "repeats",
                "budgets",
                "producer",
                "git",
                "scorers",
                "resumed",
                "replayed_from"
            ]
        );
        assert_eq!(
            keys(&value["tasks"][0]),
            [
                "task_id",
                "inputs",
                "reference_outputs",
                "tags",
                "metadata",
                "duration_ms",
                "events",
                "exception",
                "tokens",
                "feedback",
                "budget_violation",
                "trace_ref",
                "outputs",
                "attempt",
                "content_hash"
            ]
        );
        assert_eq!(
            keys(&value["aggregates"]),
            [
                "pass_rate",
                "score_stats",
                "value_counts",
                "tokens",
                "errors",
                "budget_violations",
                "pass_counts",
                "ungradeable"
            ]
        );
        assert_eq!(
            value["tasks"][1]["exception"],
            json!({"type": "timeout", "message": "agent ran longer than 30s"})
        );
        assert_eq!(
            value["tasks"][0]["tokens"],
            json!({"input": 120, "output": 30, "cache_creation": 4, "cache_read": 60})
        );
    }

    #[test]
    fn an_existing_run_file_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let first = sample_run("r1");
        let path = store.save(&first).unwrap();
        let before = fs::read(&path).unwrap();

        let mut second = sample_run("r1");
        second.meta.duration_ms = 1;
        let err = store.save(&second).unwrap_err();
        assert!(
            matches!(&err, StoreError::AlreadyExists { path: p } if *p == path),
            "{err}"
        );
        assert!(err.to_string().contains(&path.display().to_string()), "{err}");
        assert_eq!(fs::read(&path).unwrap(), before);
        assert_eq!(file_names(path.parent().unwrap()), ["r1.json"]);
    }

    #[test]
    fn names_that_are_not_plain_file_names_are_rejected_before_writing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("store"));
        let target = dir.path().join("direct/run.json");
        let bad_names = ["../escape", "a/b", "..", "c\\d"];
        for bad in bad_names {
            let mut run = sample_run("ok");
            run.meta.run_id = bad.to_owned();
            assert!(
                matches!(store.save(&run), Err(StoreError::InvalidName(_))),
                "run id {bad}"
            );
            assert!(
                matches!(save_run(&run, &target), Err(StoreError::InvalidName(_))),
                "run id {bad}"
            );

            let mut run = sample_run("ok");
            run.meta.label = Some(bad.to_owned());
            let err = save_run(&run, &target).unwrap_err();
            assert!(err.to_string().contains("label"), "{err}");

            let mut run = sample_run("ok");
            run.meta.suite.name = bad.to_owned();
            let err = store.save(&run).unwrap_err();
            assert!(err.to_string().contains("suite name"), "{err}");
            assert!(save_run(&run, &target).is_err());
        }
        assert!(store.run_path("weather", "../x").is_err());
        assert!(store.runs("../x").is_err());
        assert_eq!(file_names(dir.path()), Vec::<String>::new(), "nothing was written");
    }

    #[test]
    fn an_unwritable_directory_is_reported_and_the_previous_file_kept() {
        use std::os::unix::fs::PermissionsExt;

        let dir = tempfile::tempdir().unwrap();
        let suite_dir = dir.path().join("weather");
        let store = Store::new(dir.path());
        let previous = store.save(&sample_run("r1")).unwrap();
        let before = fs::read(&previous).unwrap();
        fs::set_permissions(&suite_dir, fs::Permissions::from_mode(0o555)).unwrap();
        // Root ignores permissions; then there is nothing to observe.
        let probe = suite_dir.join("probe");
        let enforced = File::create(&probe).is_err();
        let _ = fs::remove_file(&probe);

        let result = store.save(&sample_run("r2"));
        let locked = store.save(&sample_run("r1"));
        fs::set_permissions(&suite_dir, fs::Permissions::from_mode(0o755)).unwrap();

        assert!(matches!(locked, Err(StoreError::AlreadyExists { .. })));
        assert_eq!(fs::read(&previous).unwrap(), before);
        if enforced {
            let err = result.unwrap_err();
            let text = err.to_string();
            assert!(matches!(err, StoreError::Io { .. }), "{text}");
            assert!(
                text.contains(&suite_dir.join("r2.json").display().to_string()),
                "{text}"
            );
            assert!(text.contains("ermission denied"), "{text}");
            assert_eq!(file_names(&suite_dir), ["r1.json"]);
        }
    }

    #[test]
    fn a_failed_write_leaves_no_temp_file_and_the_previous_file_intact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.json");
        let disk_full = || Err(io::Error::from_raw_os_error(28));
        let err = write_new_file(&path, |_| disk_full()).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with(&format!("cannot write {}: ", path.display())),
            "{text}"
        );
        assert!(text.contains("No space left on device"), "{text}");
        assert_eq!(file_names(dir.path()), Vec::<String>::new());

        write_new_file(&path, |out| out.write_all(b"first")).unwrap();
        let err = write_new_file(&path, |_| disk_full()).unwrap_err();
        assert!(matches!(err, StoreError::AlreadyExists { .. }), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"first");
        assert_eq!(file_names(dir.path()), ["run.json"]);
    }

    #[test]
    fn a_directory_that_cannot_be_created_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        fs::write(&blocker, b"not a directory").unwrap();
        let err = save_run(&sample_run("r1"), blocker.join("sub/run.json")).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("cannot create directory "), "{text}");
        assert!(text.contains(&blocker.join("sub").display().to_string()), "{text}");
    }

    #[test]
    fn a_truncated_file_is_a_syntax_error_with_its_position() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.json");
        let bytes = to_json(&sample_run("r1")).unwrap();
        fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let err = load_run(&path).unwrap_err();
        let StoreError::Syntax { line, column, .. } = &err else {
            panic!("expected a syntax error, got {err}");
        };
        assert!(*line > 1 && *column > 0);
        let text = err.to_string();
        assert!(
            text.starts_with(&format!(
                "cannot load run {}: line {line}, column {column}: EOF while parsing",
                path.display()
            )),
            "{text}"
        );
        assert!(text.ends_with("(the file is truncated or not JSON)"), "{text}");

        let garbage = from_json(b"{\n  \"run_id\": \"x\",\n  oops\n}", Path::new("/x/y.json")).unwrap_err();
        assert!(matches!(garbage, StoreError::Syntax { line: 3, .. }), "{garbage}");
        assert!(matches!(
            from_json(b"", Path::new("/x/y.json")),
            Err(StoreError::Syntax { .. })
        ));
        assert!(matches!(
            from_json(b"[1, 2", Path::new("/x/y.json")),
            Err(StoreError::Syntax { .. })
        ));
        let not_utf8 = from_json(b"{\n  \"run_id\": \"\xFF\"}", Path::new("/x/y.json")).unwrap_err();
        assert!(
            matches!(
                not_utf8,
                StoreError::Syntax {
                    line: 2,
                    column: 14,
                    ..
                }
            ),
            "{not_utf8}"
        );
    }

    #[test]
    fn a_task_recorded_twice_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.json");
        let mut run: Value = serde_json::from_slice(&to_json(&sample_run("r1")).unwrap()).unwrap();
        let tasks = run["tasks"].as_array_mut().unwrap();
        let first = tasks[0].clone();
        let id = first["task_id"].as_str().unwrap().to_owned();
        let attempt = first["attempt"]
            .as_u64()
            .map(|n| format!(" (attempt {n})"))
            .unwrap_or_default();
        let len = tasks.len();
        // A copy of a task, then a thousand more.
        tasks.push(first.clone());
        tasks.extend(std::iter::repeat_n(first, 1_000));
        fs::write(&path, serde_json::to_vec(&run).unwrap()).unwrap();
        let err = load_run(&path).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "cannot load run {}: not a run JSON: task `{id}`{attempt} is recorded 1002 times (tasks[0], tasks[{len}], tasks[{}], …); a run records each task attempt once",
                path.display(),
                len + 1
            )),
            "{err}"
        );

        // With repeats, the attempts of one task are distinct records; a repeated attempt is not.
        let attempt = |n: u32| json!({"task_id": format!("paris#{n}"), "attempt": n, "inputs": {}});
        let repeats = json!({"run_id": "r", "tasks": [attempt(1), attempt(2)]});
        assert_eq!(
            from_json(repeats.to_string().as_bytes(), &path).unwrap().tasks().len(),
            2
        );
        let twice = json!({"run_id": "r", "tasks": [attempt(1), attempt(2), attempt(2)]});
        let err = from_json(twice.to_string().as_bytes(), &path).unwrap_err().to_string();
        assert!(
            err.contains("task `paris#2` (attempt 2) is recorded 2 times (tasks[1], tasks[2])"),
            "{err}"
        );
    }

    /// Runs `f` on a thread and fails the test if it has not returned within ten seconds: what
    /// it checks is that nothing blocks.
    fn within_seconds<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let (send, receive) = std::sync::mpsc::channel();
        std::thread::spawn(move || send.send(f()));
        receive
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("it blocked instead of returning")
    }

    #[test]
    #[allow(unsafe_code)] // mkfifo has no safe wrapper in std
    fn what_is_not_a_regular_file_is_refused_without_being_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("run.json");
        let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        let shown = fifo.display().to_string();
        let err = within_seconds(move || load_run(&fifo).unwrap_err().to_string());
        assert_eq!(
            err,
            format!(
                "cannot load run {shown}: it is a FIFO (named pipe), not a regular file; give the path of a run file"
            )
        );
        let err = within_seconds(|| load_run("/dev/zero").unwrap_err().to_string());
        assert!(
            err.starts_with("cannot load run /dev/zero: it is a device, not a regular file"),
            "{err}"
        );
        let err = load_run(dir.path()).unwrap_err().to_string();
        assert!(err.contains("it is a directory, not a regular file"), "{err}");

        // A link to a run file is followed where a run file is asked for.
        let real = dir.path().join("real.json");
        save_run(&sample_run("r1"), &real).unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert_eq!(load_run(&link).unwrap(), load_run(&real).unwrap());
    }

    #[test]
    fn a_file_larger_than_the_limit_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.json");
        let bytes = to_json(&sample_run("r1")).unwrap();
        fs::write(&path, &bytes).unwrap();
        let limit = bytes.len() as u64;
        assert!(load_run_with_limit(&path, limit).is_ok());
        let err = load_run_with_limit(&path, limit - 1).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "cannot load run {}: it holds more than {} bytes, the most read from one file",
                path.display(),
                limit - 1
            )),
            "{err}"
        );
        // A sparse file of 3 GiB takes no space, and is refused by its size alone.
        let huge = dir.path().join("huge.json");
        File::create(&huge).unwrap().set_len(3 << 30).unwrap();
        let err = load_run(&huge).unwrap_err().to_string();
        assert!(
            err.contains(
                "it holds more than 2 GiB, the most read from one file (a run of 10,000 tasks takes about 21 MB)"
            ),
            "{err}"
        );
    }

    #[test]
    fn json_that_is_not_a_run_says_what_is_missing() {
        let path = Path::new("/runs/x.json");
        let not_a_run = |text: &str| match from_json(text.as_bytes(), path) {
            Err(StoreError::NotARun { why, .. }) => why,
            other => panic!("{text}: expected NotARun, got {other:?}"),
        };
        assert_eq!(not_a_run("{}"), "it has neither `run_id` nor `tasks`");
        assert_eq!(not_a_run(r#"{"other": 1}"#), "it has neither `run_id` nor `tasks`");
        assert_eq!(not_a_run(r#"{"tasks": []}"#), "it has no `run_id`");
        assert_eq!(not_a_run(r#"{"run_id": "r"}"#), "it has no `tasks`");
        assert_eq!(not_a_run("[]"), "the file holds an array, not an object");
        assert_eq!(not_a_run("\"run\""), "the file holds a string, not an object");
        let why = not_a_run(r#"{"run_id": "r", "tasks": 3}"#);
        assert!(
            why.starts_with("`tasks`: invalid type: integer `3`, expected a sequence (line 1, column"),
            "{why}"
        );
        let why = not_a_run("{\"run_id\": \"r\", \"tasks\": [\n {\"task_id\": \"a\"},\n {\"inputs\": {}}\n]}");
        assert!(why.starts_with("`tasks[1]`: missing field `task_id` (line 3"), "{why}");
        let why = not_a_run(r#"{"run_id": "r", "tasks": [{"task_id": "a", "events": [{"name": "x"}]}]}"#);
        assert!(why.contains("tasks[0].events[0]"), "{why}");

        let err = from_json(b"{}", path).unwrap_err().to_string();
        assert_eq!(
            err,
            "cannot load run /runs/x.json: not a run JSON: it has neither `run_id` nor `tasks`"
        );
    }

    #[test]
    fn schema_versions_other_than_0_x_are_refused() {
        let path = Path::new("/runs/x.json");
        let minimal = |version: &str| format!(r#"{{"schema_version": "{version}", "run_id": "r", "tasks": []}}"#);
        for ok in ["0.1", "0.2", "0.9"] {
            assert!(from_json(minimal(ok).as_bytes(), path).is_ok(), "{ok}");
        }
        let err = from_json(minimal("1.0").as_bytes(), path).unwrap_err();
        assert!(
            matches!(&err, StoreError::UnsupportedSchema { version, .. } if version == "1.0"),
            "{err}"
        );
        // A future schema with another shape is reported as such, not as a malformed run.
        let err = from_json(br#"{"schema_version": "2.0", "run_id": "r", "tasks": {"a": 1}}"#, path).unwrap_err();
        assert!(matches!(err, StoreError::UnsupportedSchema { .. }), "{err}");
        // No version at all is AG2's 0.1.
        let run = from_json(br#"{"run_id": "r", "tasks": []}"#, path).unwrap();
        assert_eq!(run.meta.schema_version, "0.1");
    }

    #[test]
    fn an_event_with_a_repeated_key_reads_back_the_same_after_saving() {
        let text = r#"{"run_id":"r","tasks":[{"task_id":"t","events":[
            {"type":"tool_call","name":"a","name":"lookup","arguments":{}}]}]}"#;
        let run = from_json(text.as_bytes(), Path::new("repeated.json")).unwrap();
        let calls: Vec<&str> = run.tasks()[0].trace.tool_calls().map(|c| c.name.as_str()).collect();
        assert_eq!(calls, ["lookup"], "the last value counts, as in any JSON object map");
        let again = from_json(&to_json(&run).unwrap(), Path::new("again.json")).unwrap();
        assert_eq!(again.tasks(), run.tasks());
    }

    #[test]
    fn huge_token_counts_saturate_instead_of_overflowing() {
        let text = r#"{"run_id":"r","tasks":[
            {"task_id":"a","tokens":{"input":18446744073709551615,"output":1}},
            {"task_id":"b","tokens":{"input":5,"output":18446744073709551615}}]}"#;
        let run = from_json(text.as_bytes(), Path::new("huge.json")).unwrap();
        assert_eq!(run.tasks()[0].trace.tokens.total(), u64::MAX);
        let tokens = &run.aggregates().tokens;
        assert_eq!(
            (tokens.input, tokens.output, tokens.total),
            (u64::MAX, u64::MAX, u64::MAX)
        );
    }

    #[test]
    fn a_byte_order_mark_and_unknown_fields_are_tolerated() {
        let text = r#"{
            "schema_version": "0.2", "run_id": "r", "label": null, "future": {"x": 1},
            "suite": {"name": "s", "size": 3, "source": "inline", "extra": true},
            "tasks": [{"task_id": "a", "inputs": {"input": "hi"}, "novel": [1, 2],
                       "feedback": [{"key": "k", "score": true, "weight": 2}],
                       "exception": {"type": "ValueError", "message": "bad", "traceback": "..."}}],
            "aggregates": {"pass_rate": {"k": 0.0}, "whatever": 1}
        }"#;
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend_from_slice(text.as_bytes());
        let run = from_json(&bytes, Path::new("x.json")).unwrap();
        assert_eq!(run.meta.label, None);
        assert_eq!(run.meta.suite.size, 3);
        let task = &run.tasks()[0];
        assert_eq!(task.trace.exception, Some(Exception::new("ValueError", "bad")));
        assert_eq!(
            run.aggregates().pass_rate["k"],
            1.0,
            "aggregates are recomputed, not read"
        );
    }

    #[test]
    fn ag2_files_get_defaults_for_our_fields() {
        let text = r#"{"schema_version": "0.2", "run_id": "r", "label": "demo", "created_at": "t",
            "duration_ms": 10, "suite": {"name": "s", "size": 1, "source": "inline"},
            "target": "ag2.agent:Agent", "concurrency": 4,
            "tasks": [{"task_id": "a#1", "inputs": {"input": "hi"}, "reference_outputs": null,
                       "tags": ["x"], "metadata": {}, "duration_ms": 3, "events": [],
                       "exception": null, "tokens": {"input": 5, "output": 2, "cache_creation": 0, "cache_read": 0},
                       "feedback": [], "budget_violation": false, "trace_ref": null}]}"#;
        let run = from_json(text.as_bytes(), Path::new("x.json")).unwrap();
        let meta = &run.meta;
        assert_eq!(meta.status, RunStatus::Completed);
        assert_eq!((meta.selection.clone(), meta.repeats), (None, 1));
        assert_eq!((meta.producer.clone(), meta.git.clone()), (None, None));
        assert!(meta.scorers.is_empty());
        let task = &run.tasks()[0];
        assert_eq!(task.outputs, Value::Null);
        assert_eq!(task.attempt, None, "only our files set the attempt");
        assert_eq!(task.trace_ref, None);
        assert_eq!(
            task.content_hash,
            ContentHash::of(&json!({"input": "hi"}), &Value::Null)
        );
        assert_eq!(task.trace.tokens.total(), 7, "tokens are read, not summed from events");
        assert_eq!(run.aggregates().tokens.total, 7);
    }

    #[test]
    fn the_latest_run_is_the_one_written_last_whatever_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let set_age = |id: &str, seconds_ago: u64| {
            let file = File::options()
                .write(true)
                .open(dir.path().join(format!("weather/{id}.json")))
                .unwrap();
            let when = std::time::SystemTime::now() - std::time::Duration::from_secs(seconds_ago);
            file.set_modified(when).unwrap();
        };
        // A nextest run's UUID sorts after every ULID, but was assembled before the last run.
        for id in ["01JA", "f81d4fae-7dec-11d0-a765-00a0c91e6bf6", "01JB"] {
            store.save(&sample_run(id)).unwrap();
        }
        set_age("01JA", 300);
        set_age("f81d4fae-7dec-11d0-a765-00a0c91e6bf6", 200);
        set_age("01JB", 100);
        assert_eq!(
            store.latest("weather").unwrap(),
            Some(dir.path().join("weather/01JB.json"))
        );
    }

    #[test]
    fn the_store_lists_runs_by_file_name() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        assert_eq!(store.runs("weather").unwrap(), Vec::<PathBuf>::new());
        assert_eq!(store.latest("weather").unwrap(), None);
        for id in ["01B", "01C", "01A"] {
            store.save(&sample_run(id)).unwrap();
        }
        fs::write(dir.path().join("weather/.01D.json.abc.tmp"), b"{").unwrap();
        fs::write(dir.path().join("weather/notes.txt"), b"").unwrap();
        let names: Vec<String> = store
            .runs("weather")
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["01A.json", "01B.json", "01C.json"]);
        assert_eq!(store.root(), dir.path());
    }
}
