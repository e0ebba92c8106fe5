//! The index's tables and how an older index is brought up to date.
//!
//! The schema's version is SQLite's `PRAGMA user_version`. Each migration moves the index one
//! version up inside one transaction, so a process killed half-way leaves the previous version
//! whole. A migration whose new columns or tables hold what only the run files know marks every
//! file as not yet indexed: the next refresh reads them again.

use rusqlite::{Connection, Transaction};

/// The schema this version writes and reads.
pub const SCHEMA_VERSION: u32 = 4;

/// One step: the SQL that moves the index from `version - 1` to `version`.
struct Migration {
    version: u32,
    sql: &'static str,
    /// The step adds what only the run files can fill in: every file is read again.
    reindex: bool,
}

/// Every schema there has been, oldest first. Never edit a released step: add one.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: V1,
        reindex: false,
    },
    Migration {
        version: 2,
        sql: V2,
        reindex: true,
    },
    Migration {
        version: 3,
        sql: V3,
        reindex: true,
    },
    Migration {
        version: 4,
        sql: V4,
        reindex: true,
    },
];

/// The first schema: suites, runs, cases (one per task attempt), scores, and the files they
/// were read from (size and modification time, to see which changed since).
pub(crate) const V1: &str = "
CREATE TABLE suites (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE runs (
    id                 INTEGER PRIMARY KEY,
    suite_id           INTEGER NOT NULL REFERENCES suites(id),
    run_id             TEXT NOT NULL,
    label              TEXT,
    variant            TEXT,
    status             TEXT NOT NULL CHECK (status IN ('running', 'completed', 'interrupted', 'failed')),
    created_at         TEXT NOT NULL,
    created_ms         INTEGER,
    finished_ms        INTEGER,
    duration_ms        INTEGER NOT NULL,
    selection_filter   TEXT,
    selection_complete INTEGER,
    resumed_from       TEXT,
    regraded_from      TEXT,
    git_commit         TEXT,
    git_dirty          INTEGER,
    models             TEXT NOT NULL,
    config             TEXT NOT NULL,
    source_path        TEXT NOT NULL,
    UNIQUE (suite_id, run_id)
);
CREATE TABLE cases (
    id                INTEGER PRIMARY KEY,
    run               INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    task_id           TEXT NOT NULL,
    base_id           TEXT NOT NULL,
    attempt           INTEGER,
    content_hash      TEXT NOT NULL,
    inputs            TEXT NOT NULL,
    outputs           TEXT NOT NULL,
    reference_outputs TEXT NOT NULL,
    duration_ms       INTEGER NOT NULL,
    tokens_in         INTEGER NOT NULL,
    tokens_out        INTEGER NOT NULL,
    error_type        TEXT,
    error_message     TEXT,
    UNIQUE (run, task_id)
);
CREATE TABLE scores (
    case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    key     TEXT NOT NULL,
    score   REAL,
    value   TEXT,
    verdict TEXT NOT NULL CHECK (verdict IN ('pass', 'fail', 'informational', 'ungradeable')),
    comment TEXT,
    PRIMARY KEY (case_id, key)
) WITHOUT ROWID;
CREATE TABLE files (
    path     TEXT PRIMARY KEY,
    size     INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    error    TEXT
) WITHOUT ROWID;
";

/// Models as rows (so runs can be filtered by model), the kind of each score (a bool stored
/// as 1/0 reads back as a bool), cache tokens, and the indexes the queries use.
const V2: &str = "
CREATE TABLE run_models (
    run   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    PRIMARY KEY (run, model)
) WITHOUT ROWID;
ALTER TABLE scores ADD COLUMN kind TEXT CHECK (kind IN ('bool', 'number'));
ALTER TABLE cases ADD COLUMN tokens_cache_creation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN tokens_cache_read INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN budget_violation INTEGER NOT NULL DEFAULT 0;
CREATE INDEX runs_by_suite_time ON runs (suite_id, status, created_ms);
CREATE INDEX runs_by_source ON runs (source_path);
CREATE INDEX cases_by_task ON cases (base_id);
CREATE INDEX scores_by_key ON scores (key);
";

/// Each run's numbers per key, counted as the run is indexed: a trend over a thousand runs
/// reads a thousand rows instead of every score. `scores_by_key` goes: no query reads scores
/// by key alone any more, and it slowed every insert.
const V3: &str = "
CREATE TABLE run_keys (
    run         INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    n           INTEGER NOT NULL,
    passes      INTEGER NOT NULL,
    fails       INTEGER NOT NULL,
    bools       INTEGER NOT NULL,
    bool_passes INTEGER NOT NULL,
    numbers     INTEGER NOT NULL,
    number_sum  REAL NOT NULL,
    PRIMARY KEY (run, key)
) WITHOUT ROWID;
DROP INDEX scores_by_key;
";

/// The prompts each case named (`Ctx::prompt`): name and hash of the text. Versions are not
/// stored: they are numbered by first appearance when asked, so a run imported later that
/// used an older text takes its place in the order.
const V4: &str = "
CREATE TABLE case_prompts (
    case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    name    TEXT NOT NULL,
    hash    TEXT NOT NULL,
    PRIMARY KEY (case_id, name)
) WITHOUT ROWID;
CREATE INDEX case_prompts_by_name ON case_prompts (name, hash);
";

/// Why the index's schema cannot be used.
#[derive(Debug)]
pub(crate) enum SchemaProblem {
    /// Written by a later version of this crate: `found` is its version.
    Newer {
        found: u32,
    },
    Sql(rusqlite::Error),
}

impl From<rusqlite::Error> for SchemaProblem {
    fn from(error: rusqlite::Error) -> Self {
        SchemaProblem::Sql(error)
    }
}

/// Brings the index at `conn` to [`SCHEMA_VERSION`], creating it when empty.
///
/// The version is read and the steps applied inside one write transaction, so two processes
/// opening an old index at once migrate it once: the second sees the new version.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), SchemaProblem> {
    // A cheap look first: an index already current needs no write lock.
    let found: u32 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    if found > SCHEMA_VERSION {
        return Err(SchemaProblem::Newer { found });
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let found: u32 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(SchemaProblem::Newer { found });
    }
    migrate_from(&tx, found, SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}

/// Applies the steps after `from` up to and including `to`.
pub(crate) fn migrate_from(tx: &Transaction<'_>, from: u32, to: u32) -> rusqlite::Result<()> {
    let mut reindex = false;
    for step in MIGRATIONS.iter().filter(|m| m.version > from && m.version <= to) {
        tx.execute_batch(step.sql)?;
        reindex |= step.reindex;
        // `PRAGMA` takes no parameters; the version is a number of ours.
        tx.execute_batch(&format!("PRAGMA user_version = {}", step.version))?;
    }
    // Only an existing index needs reading again; a new one is filled by the refresh anyway.
    if reindex && from > 0 {
        tx.execute("DELETE FROM files", [])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_steps_are_numbered_one_after_another_up_to_the_current_version() {
        for (index, step) in MIGRATIONS.iter().enumerate() {
            assert_eq!(step.version as usize, index + 1);
        }
        assert_eq!(MIGRATIONS.last().map(|m| m.version), Some(SCHEMA_VERSION));
    }

    #[test]
    fn a_new_index_gets_the_current_schema() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let version: u32 = conn.query_row("PRAGMA user_version", [], |row| row.get(0)).unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        // Opening again changes nothing.
        migrate(&mut conn).unwrap();
    }

    #[test]
    fn a_newer_index_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA user_version = 99").unwrap();
        assert!(matches!(migrate(&mut conn), Err(SchemaProblem::Newer { found: 99 })));
    }
}
