//! Bringing the index up to date with the store's files.
//!
//! A file is known by its path relative to the store, its size and its modification time; one
//! whose three are unchanged is not read again. Each file is read outside any transaction and
//! written in one of its own, which first checks again whether another process indexed the same
//! version meanwhile: concurrent indexers add each run once, and a process killed half-way
//! leaves every other run as it was.

use crate::ctx::PROMPT_EVENT;
use crate::feedback::Score;
use crate::journal::{JournalContents, read_journal};
use crate::record::TaskRecord;
use crate::regular_file::is_in_use;
use crate::result::RunResult;
use crate::store::{JOURNAL_SUFFIX, Store, load_run};
use crate::trace::Event;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// What a file of the store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Run,
    Journal,
}

/// A run file or journal found in the store.
#[derive(Debug, Clone)]
struct Found {
    /// Relative to the store, with `/` between the parts: `weather/01J….json`.
    rel: String,
    abs: PathBuf,
    kind: Kind,
    size: i64,
    mtime_ns: i64,
}

/// Indexes every new or changed file of the store under `root` and forgets removed ones.
/// Returns one warning per file that does not read (each names the file).
pub(crate) fn refresh(conn: &mut Connection, root: &Path) -> rusqlite::Result<Vec<String>> {
    let found = scan(root);
    let known: HashMap<String, (i64, i64)> = {
        let mut stmt = conn.prepare("SELECT path, size, mtime_ns FROM files")?;
        stmt.query_map([], |row| Ok((row.get(0)?, (row.get(1)?, row.get(2)?))))?
            .collect::<rusqlite::Result<_>>()?
    };
    // Run files first: a journal is only indexed when no run file of its run exists.
    let changed: Vec<&Found> = found
        .iter()
        .filter(|f| f.kind == Kind::Run && known.get(&f.rel) != Some(&(f.size, f.mtime_ns)))
        .collect();
    index_all(conn, &changed)?;
    for file in found.iter().filter(|f| f.kind == Kind::Journal) {
        if known.get(&file.rel) == Some(&(file.size, file.mtime_ns)) {
            // Unchanged, but its writer may have stopped since: running becomes interrupted.
            update_journal_state(conn, file)?;
        } else {
            index_found(conn, file)?;
        }
    }
    let present: BTreeSet<&str> = found.iter().map(|f| f.rel.as_str()).collect();
    let gone: Vec<&String> = known.keys().filter(|path| !present.contains(path.as_str())).collect();
    if !gone.is_empty() {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for path in gone {
            tx.execute("DELETE FROM runs WHERE source_path = ?1", [path])?;
            tx.execute("DELETE FROM files WHERE path = ?1", [path])?;
        }
        // A journal passed over for its run file comes back when the run file goes.
        tx.commit()?;
        let journals_again: Vec<Found> = found
            .iter()
            .filter(|f| f.kind == Kind::Journal && !has_run(conn, f).unwrap_or(true))
            .cloned()
            .collect();
        for file in &journals_again {
            index_found(conn, file)?;
        }
    }
    skipped_files(conn)
}

/// Indexes the one file at `path` (absolute, or relative to the current directory) if it
/// lies in the store under `root`.
pub(crate) fn index_one(conn: &mut Connection, root: &Path, path: &Path) -> rusqlite::Result<Vec<String>> {
    let Some(file) = found_at(root, path) else {
        return Ok(vec![format!(
            "warning: {} is not a run file or journal of the store {}; not indexed",
            path.display(),
            root.display()
        )]);
    };
    index_found(conn, &file)?;
    Ok(conn
        .query_row("SELECT error FROM files WHERE path = ?1", [&file.rel], |row| {
            row.get::<_, Option<String>>(0)
        })
        .optional()?
        .flatten()
        .map(|error| vec![format!("warning: skipped {error}")])
        .unwrap_or_default())
}

/// One warning per file of the index that did not read.
fn skipped_files(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT error FROM files WHERE error IS NOT NULL ORDER BY path")?;
    stmt.query_map([], |row| row.get::<_, String>(0))?
        .map(|error| error.map(|e| format!("warning: skipped {e}")))
        .collect()
}

/// Every run file and journal in the suite directories of the store.
fn scan(root: &Path) -> Vec<Found> {
    let store = Store::new(root);
    let mut found = Vec::new();
    for suite in store.suites().unwrap_or_default() {
        let Ok(entries) = std::fs::read_dir(root.join(&suite)) else {
            continue;
        };
        for entry in entries.flatten() {
            if let Some(file) = found_at(root, &entry.path()) {
                found.push(file);
            }
        }
    }
    found.sort_by(|a, b| a.rel.cmp(&b.rel));
    found
}

/// The file at `path` as the index knows it, if it is a run file or journal directly inside a
/// suite directory of the store.
fn found_at(root: &Path, path: &Path) -> Option<Found> {
    let name = path.file_name()?.to_str()?;
    if name.starts_with('.') {
        // The temporary file of a write in progress.
        return None;
    }
    let kind = if name.ends_with(JOURNAL_SUFFIX) {
        Kind::Journal
    } else if name.ends_with(".json") {
        Kind::Run
    } else {
        return None;
    };
    let suite = path.parent()?;
    let same_root = suite.parent().is_some_and(|parent| same_dir(parent, root));
    if !same_root {
        return None;
    }
    let meta = std::fs::metadata(path).ok().filter(std::fs::Metadata::is_file)?;
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    Some(Found {
        rel: format!("{}/{name}", suite.file_name()?.to_str()?),
        abs: path.to_owned(),
        kind,
        size: i64::try_from(meta.len()).unwrap_or(i64::MAX),
        mtime_ns,
    })
}

fn same_dir(a: &Path, b: &Path) -> bool {
    a == b
        || match (a.canonicalize(), b.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
}

/// What a file read into: a run to index, or why it was skipped.
enum Read {
    Run(Box<IndexedRun>),
    Skipped(String),
}

/// Indexes the run just saved at `path` from `run`, its contents in memory, without reading
/// the file again. Returns `false` when `path` is not a run file of the store under `root`.
pub(crate) fn index_saved(conn: &mut Connection, root: &Path, path: &Path, run: &RunResult) -> rusqlite::Result<bool> {
    let Some(file) = found_at(root, path).filter(|f| f.kind == Kind::Run) else {
        return Ok(false);
    };
    write_read(conn, &file, Read::Run(Box::new(IndexedRun::of_run(run, &file.rel))))?;
    Ok(true)
}

/// Indexes `files` in order, each in its own transaction: one thread reads and parses the
/// next files while this one writes, so that a rebuild costs about the larger of the two
/// rather than their sum.
fn index_all(conn: &mut Connection, files: &[&Found]) -> rusqlite::Result<()> {
    if files.len() < 2 {
        return files.iter().try_for_each(|file| index_found(conn, file));
    }
    std::thread::scope(|scope| {
        // A few files ahead at most: a store of large runs must not be held in memory at once.
        let (sender, reads) = std::sync::mpsc::sync_channel::<Read>(2);
        scope.spawn(move || {
            for file in files {
                if sender.send(read(file)).is_err() {
                    // The writer stopped on an error: nothing more to read.
                    return;
                }
            }
        });
        for (file, read) in files.iter().zip(reads) {
            write_read(conn, file, read)?;
        }
        Ok(())
    })
}

/// Reads `file` and writes what it holds, in one transaction.
fn index_found(conn: &mut Connection, file: &Found) -> rusqlite::Result<()> {
    let read = read(file);
    write_read(conn, file, read)
}

fn read(file: &Found) -> Read {
    match file.kind {
        Kind::Run => match load_run(&file.abs) {
            Ok(run) => Read::Run(Box::new(IndexedRun::of_run(&run, &file.rel))),
            Err(e) => Read::Skipped(e.to_string()),
        },
        Kind::Journal => match read_journal(&file.abs) {
            Ok(contents) => {
                let running = is_in_use(&file.abs).unwrap_or(false);
                Read::Run(Box::new(IndexedRun::of_journal(&contents, running, &file.rel)))
            }
            Err(e) => Read::Skipped(e.to_string()),
        },
    }
}

/// Writes what `file` was read into, unless another process indexed the same version of it
/// meanwhile.
fn write_read(conn: &mut Connection, file: &Found, read: Read) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current: Option<(i64, i64)> = tx
        .query_row("SELECT size, mtime_ns FROM files WHERE path = ?1", [&file.rel], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?;
    if current == Some((file.size, file.mtime_ns)) {
        // Another process indexed this very version while this one was reading it.
        return tx.commit();
    }
    let error = match read {
        Read::Run(run) => {
            let superseded = file.kind == Kind::Journal && run_file_exists(&tx, &run.suite, &run.run_id)?;
            if !superseded {
                write_run(&tx, &run)?;
            }
            None
        }
        Read::Skipped(why) => {
            // A file that no longer reads no longer counts.
            tx.execute("DELETE FROM runs WHERE source_path = ?1", [&file.rel])?;
            Some(why)
        }
    };
    tx.execute(
        "INSERT INTO files (path, size, mtime_ns, error) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, error = excluded.error",
        params![file.rel, file.size, file.mtime_ns, error],
    )?;
    tx.commit()
}

/// Whether the run of `suite` and `run_id` is indexed from a run file (not a journal).
fn run_file_exists(tx: &Transaction<'_>, suite: &str, run_id: &str) -> rusqlite::Result<bool> {
    tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM runs JOIN suites ON suites.id = runs.suite_id
                        WHERE suites.name = ?1 AND runs.run_id = ?2 AND runs.source_path NOT LIKE ?3)",
        params![suite, run_id, format!("%{JOURNAL_SUFFIX}")],
        |row| row.get(0),
    )
}

/// Whether the journal `file`'s run is indexed at all.
fn has_run(conn: &Connection, file: &Found) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM runs WHERE source_path = ?1)",
        [&file.rel],
        |row| row.get(0),
    )
}

/// Marks the run of an unchanged journal running or interrupted, as its lock says now.
fn update_journal_state(conn: &Connection, file: &Found) -> rusqlite::Result<()> {
    let running = is_in_use(&file.abs).unwrap_or(false);
    let status = if running { "running" } else { "interrupted" };
    conn.execute(
        "UPDATE runs SET status = ?1 WHERE source_path = ?2 AND status <> ?1",
        params![status, file.rel],
    )?;
    Ok(())
}

/// A run as the index stores it.
pub(crate) struct IndexedRun {
    suite: String,
    run_id: String,
    label: Option<String>,
    variant: Option<String>,
    status: &'static str,
    created_at: String,
    created_ms: Option<i64>,
    duration_ms: i64,
    selection_filter: Option<String>,
    selection_complete: Option<bool>,
    resumed_from: Option<String>,
    regraded_from: Option<String>,
    git_commit: Option<String>,
    git_dirty: Option<bool>,
    models: Vec<String>,
    config: Value,
    source_path: String,
    cases: Vec<IndexedCase>,
}

struct IndexedCase {
    task_id: String,
    base_id: String,
    attempt: Option<u32>,
    content_hash: String,
    inputs: String,
    outputs: String,
    reference_outputs: String,
    duration_ms: i64,
    tokens: [i64; 4],
    error: Option<(String, String)>,
    budget_violation: bool,
    scores: Vec<IndexedScore>,
    /// The prompts the agent named: (name, hash).
    prompts: Vec<(String, String)>,
}

struct IndexedScore {
    key: String,
    score: Option<f64>,
    kind: Option<&'static str>,
    value: Option<String>,
    verdict: &'static str,
    comment: Option<String>,
}

impl IndexedRun {
    fn of_run(run: &RunResult, source_path: &str) -> IndexedRun {
        let meta = &run.meta;
        let created_ms = rfc3339_ms(&meta.created_at);
        let config = json!({
            "schema_version": meta.schema_version,
            "target": meta.target,
            "concurrency": meta.concurrency,
            "repeats": meta.repeats,
            "budgets": meta.budgets,
            "scorers": meta.scorers,
            "producer": meta.producer,
            "suite_size": meta.suite.size,
            "suite_source": meta.suite.source,
        });
        IndexedRun {
            suite: meta.suite.name.clone(),
            run_id: meta.run_id.clone(),
            label: meta.label.clone(),
            variant: meta.variant.as_ref().map(|v| v.name().to_owned()),
            status: meta.status.name(),
            created_at: meta.created_at.clone(),
            created_ms,
            duration_ms: to_i64(meta.duration_ms),
            selection_filter: meta.selection.as_ref().and_then(|s| s.filter.clone()),
            selection_complete: meta.selection.as_ref().map(|s| s.complete),
            resumed_from: meta.resumed.as_ref().map(|r| r.from.clone()),
            regraded_from: meta.regraded_from.clone(),
            git_commit: meta.git.as_ref().map(|g| g.commit.clone()),
            git_dirty: meta.git.as_ref().map(|g| g.dirty),
            models: models_of(meta.model.as_deref(), run.tasks()),
            config,
            source_path: source_path.to_owned(),
            cases: run.tasks().iter().map(IndexedCase::of).collect(),
        }
    }

    fn of_journal(journal: &JournalContents, running: bool, source_path: &str) -> IndexedRun {
        let header = &journal.header;
        IndexedRun {
            suite: header.suite.clone(),
            run_id: header.run_id.clone(),
            label: None,
            // A journal's header does not say; the run file will.
            variant: None,
            status: if running { "running" } else { "interrupted" },
            created_at: header.created_at.clone(),
            created_ms: rfc3339_ms(&header.created_at),
            duration_ms: 0,
            selection_filter: None,
            selection_complete: None,
            resumed_from: None,
            regraded_from: None,
            git_commit: None,
            git_dirty: None,
            models: models_of(None, &journal.tasks),
            config: json!({ "scorers": header.scorers }),
            source_path: source_path.to_owned(),
            cases: journal.tasks.iter().map(IndexedCase::of).collect(),
        }
    }
}

impl IndexedCase {
    fn of(task: &TaskRecord) -> IndexedCase {
        let tokens = &task.trace.tokens;
        IndexedCase {
            task_id: task.task_id.clone(),
            base_id: task.base_id().to_owned(),
            attempt: task.attempt,
            content_hash: task.content_hash.as_str().to_owned(),
            inputs: task.inputs.to_string(),
            outputs: task.outputs.to_string(),
            reference_outputs: task.reference_outputs.to_string(),
            duration_ms: to_i64(task.trace.duration_ms),
            tokens: [tokens.input, tokens.output, tokens.cache_creation, tokens.cache_read].map(to_i64),
            error: task
                .trace
                .exception
                .as_ref()
                .map(|e| (e.kind.clone(), e.message.clone())),
            budget_violation: task.budget_violation,
            prompts: prompts_of(task),
            scores: task
                .feedback
                .iter()
                .map(|fb| {
                    let (score, kind) = match fb.score {
                        Some(Score::Bool(b)) => (Some(if b { 1.0 } else { 0.0 }), Some("bool")),
                        Some(Score::Number(n)) => (Some(n), Some("number")),
                        None => (None, None),
                    };
                    IndexedScore {
                        key: fb.key.clone(),
                        score,
                        kind,
                        value: fb.value.clone(),
                        verdict: fb.verdict().name(),
                        comment: fb.comment.clone(),
                    }
                })
                .collect(),
        }
    }
}

/// Replaces whatever the index holds for the run's (suite, run id) by `run`.
fn write_run(tx: &Transaction<'_>, run: &IndexedRun) -> rusqlite::Result<()> {
    tx.execute("INSERT OR IGNORE INTO suites (name) VALUES (?1)", [&run.suite])?;
    let suite_id: i64 = tx.query_row("SELECT id FROM suites WHERE name = ?1", [&run.suite], |row| row.get(0))?;
    tx.execute(
        "DELETE FROM runs WHERE (suite_id = ?1 AND run_id = ?2) OR source_path = ?3",
        params![suite_id, run.run_id, run.source_path],
    )?;
    let finished_ms = run.created_ms.map(|ms| ms.saturating_add(run.duration_ms));
    tx.execute(
        "INSERT INTO runs (suite_id, run_id, label, variant, status, created_at, created_ms, finished_ms,
                           duration_ms, selection_filter, selection_complete, resumed_from, regraded_from,
                           git_commit, git_dirty, models, config, source_path)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
        params![
            suite_id,
            run.run_id,
            run.label,
            run.variant,
            run.status,
            run.created_at,
            run.created_ms,
            finished_ms,
            run.duration_ms,
            run.selection_filter,
            run.selection_complete,
            run.resumed_from,
            run.regraded_from,
            run.git_commit,
            run.git_dirty,
            serde_json::to_string(&run.models).unwrap_or_else(|_| "[]".to_owned()),
            run.config.to_string(),
            run.source_path,
        ],
    )?;
    let run_row = tx.last_insert_rowid();
    let mut model = tx.prepare_cached("INSERT OR IGNORE INTO run_models (run, model) VALUES (?1, ?2)")?;
    for name in &run.models {
        model.execute(params![run_row, name])?;
    }
    let mut case = tx.prepare_cached(
        "INSERT OR IGNORE INTO cases (run, task_id, base_id, attempt, content_hash, inputs, outputs, reference_outputs,
                                      duration_ms, tokens_in, tokens_out, tokens_cache_creation, tokens_cache_read,
                                      error_type, error_message, budget_violation)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )?;
    // The first feedback of a key counts, as in `TaskRecord::feedback_for`.
    let mut score = tx.prepare_cached(
        "INSERT OR IGNORE INTO scores (case_id, key, score, kind, value, verdict, comment)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut prompt =
        tx.prepare_cached("INSERT OR IGNORE INTO case_prompts (case_id, name, hash) VALUES (?1, ?2, ?3)")?;
    let mut keys: std::collections::BTreeMap<&str, KeyTotals> = std::collections::BTreeMap::new();
    for c in &run.cases {
        let (error_type, error_message) = match &c.error {
            Some((kind, message)) => (Some(kind.as_str()), Some(message.as_str())),
            None => (None, None),
        };
        let inserted = case.execute(params![
            run_row,
            c.task_id,
            c.base_id,
            c.attempt,
            c.content_hash,
            c.inputs,
            c.outputs,
            c.reference_outputs,
            c.duration_ms,
            c.tokens[0],
            c.tokens[1],
            c.tokens[2],
            c.tokens[3],
            error_type,
            error_message,
            c.budget_violation,
        ])?;
        if inserted == 0 {
            // A journal may hold a task twice (a resume re-ran it): the first record stands.
            continue;
        }
        let case_row = tx.last_insert_rowid();
        // A name recorded twice in one task keeps its first text.
        for (name, hash) in &c.prompts {
            prompt.execute(params![case_row, name, hash])?;
        }
        let mut seen = BTreeSet::new();
        for s in &c.scores {
            score.execute(params![case_row, s.key, s.score, s.kind, s.value, s.verdict, s.comment])?;
            if seen.insert(s.key.as_str()) {
                keys.entry(s.key.as_str()).or_default().add(s);
            }
        }
    }
    let mut key_row = tx.prepare_cached(
        "INSERT INTO run_keys (run, key, n, passes, fails, bools, bool_passes, numbers, number_sum)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for (key, t) in keys {
        key_row.execute(params![
            run_row,
            key,
            t.n,
            t.passes,
            t.fails,
            t.bools,
            t.bool_passes,
            t.numbers,
            t.number_sum
        ])?;
    }
    Ok(())
}

/// One key's counts over a run's cases (the first score of the key in each case).
#[derive(Default)]
struct KeyTotals {
    n: i64,
    passes: i64,
    fails: i64,
    bools: i64,
    bool_passes: i64,
    numbers: i64,
    number_sum: f64,
}

impl KeyTotals {
    fn add(&mut self, score: &IndexedScore) {
        self.n += 1;
        self.passes += i64::from(score.verdict == "pass");
        self.fails += i64::from(score.verdict == "fail" || score.verdict == "ungradeable");
        match (score.kind, score.score) {
            (Some("bool"), Some(value)) => {
                self.bools += 1;
                self.bool_passes += i64::from(value == 1.0);
            }
            (Some("number"), Some(value)) => {
                self.numbers += 1;
                self.number_sum += value;
            }
            _ => {}
        }
    }
}

/// The prompts a task's agent named with `Ctx::prompt`.
fn prompts_of(task: &TaskRecord) -> Vec<(String, String)> {
    task.trace
        .events
        .iter()
        .filter_map(|event| match event {
            Event::Custom(custom) if custom.name == PROMPT_EVENT => {
                let name = custom.data.get("name")?.as_str()?;
                let hash = custom.data.get("hash")?.as_str()?;
                Some((name.to_owned(), hash.to_owned()))
            }
            _ => None,
        })
        .collect()
}

/// The model the run names, and the distinct models the tasks' model responses name, sorted.
fn models_of(named: Option<&str>, tasks: &[TaskRecord]) -> Vec<String> {
    let mut models = BTreeSet::new();
    if let Some(model) = named {
        models.insert(model.to_owned());
    }
    for task in tasks {
        for event in &task.trace.events {
            match event {
                Event::ModelResponse(response) => {
                    if let Some(model) = &response.model {
                        models.insert(model.clone());
                    }
                }
                // AG2's model responses are kept as they were written.
                Event::Foreign(fields) => {
                    if let Some(Value::String(model)) = fields.get("model") {
                        models.insert(model.clone());
                    }
                }
                _ => {}
            }
        }
    }
    models.into_iter().collect()
}

/// Milliseconds since the Unix epoch of an RFC 3339 time, `None` when it is not one.
pub(crate) fn rfc3339_ms(text: &str) -> Option<i64> {
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
