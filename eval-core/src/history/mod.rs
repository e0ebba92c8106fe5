//! The history of a store: every run of every suite, queryable across runs.
//!
//! The run files and journals of a store stay the record; this module keeps an SQLite index
//! over them in the store (`<store>/history.sqlite`), a cache that can be deleted at any time.
//! Opening a history brings the index up to date with the files: new and changed files are read
//! (with [`crate::load_run`] and [`crate::journal::read_journal`]), removed ones are forgotten.
//! A file that does not read is skipped with a note naming it; it never blocks a query.
//!
//! ```no_run
//! use eval_engine::history::{History, RunFilter};
//!
//! let history = History::open("target/tmp/evals")?;
//! for note in history.notes() {
//!     eprintln!("{note}");
//! }
//! let latest = history.latest_completed(&RunFilter::suite("weather"))?;
//! let failing = history.failing_cases(&latest.run_id, None)?;
//! # Ok::<(), eval_engine::history::HistoryError>(())
//! ```
//!
//! What the index does on its own:
//! - an index of an older schema is migrated; one of a newer schema is refused
//!   ([`HistoryError::NewerSchema`]);
//! - a corrupt index is deleted and rebuilt from the files, with a note;
//! - a store whose index cannot be written (a read-only directory) is answered from a
//!   temporary index in memory, with a note;
//! - two processes indexing at once add every run once: each file is indexed in its own
//!   transaction, under unique keys, after checking again that no one indexed it meanwhile.

#[cfg(feature = "export")]
pub mod export;
pub mod import;
mod indexer;
mod queries;
mod records;
mod schema;

pub use records::{
    CaseRecord, FlakyPair, KeySummary, PairPoint, PromptVersion, RunFilter, RunRecord, RunState, RunSummary,
    ScoreRecord, SqlAnswer, TrendPoint,
};
pub use schema::SCHEMA_VERSION;

use crate::result::RunResult;
use rusqlite::{Connection, ErrorCode, OpenFlags};
use schema::SchemaProblem;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

/// The index's file name, in the store's root directory.
pub const INDEX_FILE: &str = "history.sqlite";

/// How long a process waits for another one's write to the index before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the history could not answer. Every variant names what it is about.
#[derive(Debug, Error)]
pub enum HistoryError {
    /// The store directory does not exist.
    #[error("store {} does not exist (no run was saved there); pass the directory runs are saved in", path.display())]
    NoStore {
        /// The directory given.
        path: PathBuf,
    },
    /// The index was written by a later version of this crate.
    #[error(
        "history index {} has schema version {found}, newer than the {supported} this version reads; use the newer `cargo eval`, or delete the file to rebuild it from the run files",
        path.display()
    )]
    NewerSchema {
        /// The index file.
        path: PathBuf,
        /// The schema version it has.
        found: u32,
        /// The newest schema version this crate reads.
        supported: u32,
    },
    /// No run of that id is in the history.
    #[error("no run `{run_id}` in the history{}", known_list("runs", known))]
    UnknownRun {
        /// The id asked for.
        run_id: String,
        /// The newest run ids the history has.
        known: Vec<String>,
    },
    /// No run of that suite is in the history.
    #[error("no suite `{suite}` in the history{}", known_list("suites", known))]
    UnknownSuite {
        /// The suite asked for.
        suite: String,
        /// The suites the history has.
        known: Vec<String>,
    },
    /// No score under that key in the suite's runs.
    #[error("no key `{key}` in the runs of suite `{suite}`{}", known_list("keys", known))]
    UnknownKey {
        /// The suite.
        suite: String,
        /// The key asked for.
        key: String,
        /// The keys the suite's runs have.
        known: Vec<String>,
    },
    /// No task of that id in the suite's runs.
    #[error("no task `{task}` in the runs of suite `{suite}`{}", known_list("tasks", known))]
    UnknownTask {
        /// The suite.
        suite: String,
        /// The task asked for.
        task: String,
        /// The tasks the suite's runs have.
        known: Vec<String>,
    },
    /// No prompt of that name in the suite's runs.
    #[error("no prompt `{name}` in the runs of suite `{suite}`{}", known_list("prompts", known))]
    UnknownPrompt {
        /// The suite.
        suite: String,
        /// The prompt name asked for.
        name: String,
        /// The prompt names the suite's runs have.
        known: Vec<String>,
    },
    /// A query given to [`History::sql`] would change the index.
    #[error("refused: `{sql}` would write; the history answers read-only SQL (SELECT, WITH … SELECT)")]
    NotReadOnly {
        /// The query given.
        sql: String,
    },
    /// A file given to import or relabel is not usable.
    #[error("{0}")]
    BadFile(String),
    /// SQLite failed; `doing` says at what.
    #[error("history index {}: cannot {doing}: {source}", path.display())]
    Sql {
        /// The index file.
        path: PathBuf,
        /// What it was doing.
        doing: &'static str,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// Writing an export failed.
    #[error("cannot write the export {}: {why}", path.display())]
    Export {
        /// The file being written.
        path: PathBuf,
        /// What went wrong.
        why: String,
    },
    /// Reading the store failed.
    #[error("cannot {doing} {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What it was doing.
        doing: &'static str,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
}

/// `: the store has runs a, b, c` (the first few), or a note that there are none.
fn known_list(what: &str, known: &[String]) -> String {
    const SHOWN: usize = 10;
    if known.is_empty() {
        return format!(" (it holds no {what})");
    }
    let mut list = known
        .iter()
        .take(SHOWN)
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if known.len() > SHOWN {
        list.push_str(&format!(" and {} more", known.len() - SHOWN));
    }
    format!("; it has {what} {list}")
}

/// The history of one store: an up-to-date index over its run files, and the queries on it.
pub struct History {
    conn: Connection,
    root: PathBuf,
    /// Where the index lives; `None` when it is a temporary one in memory.
    index_path: Option<PathBuf>,
    notes: Vec<String>,
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History")
            .field("root", &self.root)
            .field("index_path", &self.index_path)
            .finish_non_exhaustive()
    }
}

impl History {
    /// Opens the history of the store at `store_dir`, creating or migrating its index, and
    /// brings it up to date with the store's files.
    pub fn open(store_dir: impl AsRef<Path>) -> Result<History, HistoryError> {
        let root = existing_store(store_dir.as_ref())?;
        let index_path = root.join(INDEX_FILE);
        let mut notes = Vec::new();
        let conn = match open_index(&index_path) {
            Ok(conn) => conn,
            Err(Problem::Corrupt(why)) => {
                notes.push(format!(
                    "note: history index {} was unreadable ({why}); rebuilt from the run files",
                    index_path.display()
                ));
                remove_index(&index_path)?;
                open_index(&index_path).map_err(|p| p.into_error(&index_path))?
            }
            Err(Problem::ReadOnly(why)) => return History::temporary(root, notes, &index_path, &why),
            Err(other) => return Err(other.into_error(&index_path)),
        };
        let mut history = History {
            conn,
            root,
            index_path: Some(index_path),
            notes,
        };
        match history.refresh() {
            Ok(()) => Ok(history),
            // A store that can be listed but not written: the index cannot take the new runs.
            Err(HistoryError::Sql { source, .. }) if is_read_only(&source) => {
                let History {
                    root,
                    index_path,
                    notes,
                    ..
                } = history;
                let index_path = index_path.unwrap_or_default();
                History::temporary(root, notes, &index_path, &source.to_string())
            }
            Err(e) => Err(e),
        }
    }

    /// A history of the store at `store_dir` in a temporary index in memory, read from its
    /// files now and gone when dropped: for a store that must not be written to.
    pub fn in_memory(store_dir: impl AsRef<Path>) -> Result<History, HistoryError> {
        let root = existing_store(store_dir.as_ref())?;
        let mut history = History {
            conn: memory_index()?,
            root,
            index_path: None,
            notes: Vec::new(),
        };
        history.refresh()?;
        Ok(history)
    }

    fn temporary(root: PathBuf, mut notes: Vec<String>, index_path: &Path, why: &str) -> Result<History, HistoryError> {
        notes.push(format!(
            "note: cannot write history index {} ({why}); answering from a temporary index",
            index_path.display()
        ));
        let mut history = History {
            conn: memory_index()?,
            root,
            index_path: None,
            notes,
        };
        history.refresh()?;
        Ok(history)
    }

    /// The store's root directory.
    pub fn store_dir(&self) -> &Path {
        &self.root
    }

    /// The index file, or `None` for a temporary index in memory.
    pub fn index_path(&self) -> Option<&Path> {
        self.index_path.as_deref()
    }

    /// What the user should know about this answer: files skipped (each named, with why), an
    /// index rebuilt, a temporary index. One line each.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Reads what changed in the store since the index last saw it: new and changed files are
    /// indexed, removed ones forgotten, journals' running/interrupted state looked at again.
    pub fn refresh(&mut self) -> Result<(), HistoryError> {
        let skipped = indexer::refresh(&mut self.conn, &self.root).map_err(|e| self.sql_error("index the store", e))?;
        self.notes.extend(skipped);
        Ok(())
    }

    /// Forgets everything and indexes every file of the store again.
    pub fn rebuild(&mut self) -> Result<(), HistoryError> {
        self.conn
            .execute_batch("DELETE FROM runs; DELETE FROM suites; DELETE FROM files;")
            .map_err(|e| self.sql_error("clear the index", e))?;
        self.notes.clear();
        self.refresh()
    }

    /// Indexes one run file or journal of the store now (one just saved).
    pub fn index_file(&mut self, path: &Path) -> Result<(), HistoryError> {
        let skipped =
            indexer::index_one(&mut self.conn, &self.root, path).map_err(|e| self.sql_error("index a run", e))?;
        self.notes.extend(skipped);
        Ok(())
    }

    fn sql_error(&self, doing: &'static str, source: rusqlite::Error) -> HistoryError {
        HistoryError::Sql {
            path: self.index_path.clone().unwrap_or_else(|| PathBuf::from(":memory:")),
            doing,
            source,
        }
    }
}

/// Indexes `run`, just saved at `run_file` in the store at `store_dir`, so that the history
/// has it without another step. The run is taken from memory: the file is not read again.
///
/// Meant to follow a save: the caller should only warn on an error, never fail the run (the
/// next query reads the file anyway).
pub fn record_run(store_dir: &Path, run_file: &Path, run: &RunResult) -> Result<(), HistoryError> {
    let root = existing_store(store_dir)?;
    let index_path = root.join(INDEX_FILE);
    let mut conn = match open_index(&index_path) {
        Ok(conn) => conn,
        // Not worth a rebuild here: the next query rebuilds a corrupt index with its note.
        Err(problem) => return Err(problem.into_error(&index_path)),
    };
    let sql = |source| HistoryError::Sql {
        path: index_path.clone(),
        doing: "index a run",
        source,
    };
    if indexer::index_saved(&mut conn, &root, run_file, run).map_err(sql)? {
        Ok(())
    } else {
        Err(HistoryError::BadFile(format!(
            "{} is not a run file of the store {}",
            run_file.display(),
            root.display()
        )))
    }
}

/// The store's directory, which must exist.
fn existing_store(dir: &Path) -> Result<PathBuf, HistoryError> {
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(dir.to_owned()),
        Ok(_) => Err(HistoryError::BadFile(format!(
            "store {} is not a directory; pass the directory runs are saved in",
            dir.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(HistoryError::NoStore { path: dir.to_owned() }),
        Err(source) => Err(HistoryError::Io {
            path: dir.to_owned(),
            doing: "read the store",
            source,
        }),
    }
}

/// Why an index could not be opened.
enum Problem {
    /// Not an SQLite database, or a damaged one: it can be rebuilt.
    Corrupt(String),
    /// It cannot be written here.
    ReadOnly(String),
    Newer(u32),
    Other(rusqlite::Error),
}

impl Problem {
    fn into_error(self, path: &Path) -> HistoryError {
        let source = match self {
            Problem::Newer(found) => {
                return HistoryError::NewerSchema {
                    path: path.to_owned(),
                    found,
                    supported: SCHEMA_VERSION,
                };
            }
            Problem::Other(e) => e,
            Problem::Corrupt(why) | Problem::ReadOnly(why) => {
                rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR), Some(why))
            }
        };
        HistoryError::Sql {
            path: path.to_owned(),
            doing: "open",
            source,
        }
    }
}

impl From<rusqlite::Error> for Problem {
    fn from(error: rusqlite::Error) -> Self {
        if is_corrupt(&error) {
            Problem::Corrupt(error.to_string())
        } else if is_read_only(&error) {
            Problem::ReadOnly(error.to_string())
        } else {
            Problem::Other(error)
        }
    }
}

fn is_corrupt(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)
    )
}

fn is_read_only(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(ErrorCode::ReadOnly | ErrorCode::CannotOpen | ErrorCode::PermissionDenied)
    )
}

/// Opens (creating) the index at `path` in WAL mode and brings its schema up to date.
fn open_index(path: &Path) -> Result<Connection, Problem> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // WAL: readers never wait for a writer, and a process killed mid-write leaves the last
    // committed index. `synchronous = NORMAL` may lose the last commits on power loss, which a
    // cache can afford: the next refresh reads those files again.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Problem::ReadOnly(format!(
            "the index cannot use WAL here (journal mode {mode})"
        )));
    }
    // A larger page cache than SQLite's 2 MB: indexing a big run touches pages of every index.
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -32768;")?;
    match schema::migrate(&mut conn) {
        Ok(()) => Ok(conn),
        Err(SchemaProblem::Newer { found }) => Err(Problem::Newer(found)),
        Err(SchemaProblem::Sql(e)) => Err(e.into()),
    }
}

fn memory_index() -> Result<Connection, HistoryError> {
    let sql = |source| HistoryError::Sql {
        path: PathBuf::from(":memory:"),
        doing: "create a temporary index",
        source,
    };
    let mut conn = Connection::open_in_memory().map_err(sql)?;
    conn.execute_batch("PRAGMA foreign_keys = ON;").map_err(sql)?;
    match schema::migrate(&mut conn) {
        Ok(()) => Ok(conn),
        Err(SchemaProblem::Sql(e)) => Err(sql(e)),
        // A new index in memory has no schema yet; should it ever, it is as good as newer.
        Err(SchemaProblem::Newer { found }) => Err(HistoryError::NewerSchema {
            path: PathBuf::from(":memory:"),
            found,
            supported: SCHEMA_VERSION,
        }),
    }
}

/// Deletes the index and its WAL files.
fn remove_index(path: &Path) -> Result<(), HistoryError> {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        match std::fs::remove_file(&name) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(HistoryError::Io {
                    path: PathBuf::from(name),
                    doing: "remove the unreadable history index",
                    source,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
