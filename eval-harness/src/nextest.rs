//! Sharing results between the processes of one cargo-nextest run (one process per test).
//!
//! Every pair's process would otherwise run its task's agent again. The processes of a run
//! share a directory, `<store>/<suite>/nextest-<NEXTEST_RUN_ID>/`, holding per task:
//! - `<task>.lock`: the first process to lock it runs the task (all its attempts), the others
//!   block on it and then read what the first one cached;
//! - `<task>.task.json`: the task's graded records, written atomically before the unlock;
//! - `<task>.<key>.pair.json`: one per pair, the outcome its process decided.
//!
//! `cargo eval assemble <dir>` turns the directory into one run JSON.
//!
//! A directory is superseded, and removed by the clean-up after a run and by `cargo eval gc`,
//! when none of its task locks is held and either a newer nextest directory of the suite
//! exists, or its run was assembled into the store (`<suite>/<id>.json`) and a complete run of
//! the suite started after the directory was last written. So the newest directory stays until
//! its run is assembled, and `cargo eval assemble` always works on it.
//! `<task>` and `<key>` are the id and key themselves when they are plain names, else a hash
//! of them; the files keep the originals.

use crate::outcome::{PairOutcome, decision_name};

use eval_engine::result::{Budgets, RunMeta, RunStatus, Selection, SuiteInfo};
use eval_engine::{RunResult, ScorerSpec, TaskRecord};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

const TASK_SUFFIX: &str = ".task.json";
const PAIR_SUFFIX: &str = ".pair.json";
const LOCK_SUFFIX: &str = ".lock";
const DIR_PREFIX: &str = "nextest-";

/// The directory the processes of nextest run `run_id` share for `suite`.
pub(crate) fn run_dir(store_root: &Path, suite: &str, run_id: &str) -> PathBuf {
    store_root.join(suite).join(format!("{DIR_PREFIX}{run_id}"))
}

/// A nextest run directory of a suite, as the clean-up sees it.
struct RunDir {
    path: PathBuf,
    run_id: String,
    /// The latest modification time of the directory and of everything in it.
    last_written: SystemTime,
    /// Whether a process holds one of its task locks (or the file system cannot tell).
    in_use: bool,
}

/// The nextest run directories of `suite` that are superseded (see the module documentation)
/// and that no process is using.
pub fn superseded_run_dirs(
    store: &eval_engine::Store,
    suite: &str,
) -> Result<Vec<eval_engine::store::Leftover>, String> {
    eval_engine::file_name::check_file_name("suite name", suite).map_err(|e| e.to_string())?;
    let suite_dir = store.root().join(suite);
    let mut dirs = Vec::new();
    let entries = match std::fs::read_dir(&suite_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot list {}: {e}", suite_dir.display())),
    };
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", suite_dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(run_id) = name.strip_prefix(DIR_PREFIX) else {
            continue;
        };
        if run_id.is_empty() || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        dirs.push(read_run_dir(entry.path(), run_id)?);
    }
    dirs.sort_by(|a, b| (b.last_written, &b.run_id).cmp(&(a.last_written, &a.run_id)));
    // Finding the latest complete run reads run files: only worth it when a directory may go.
    if dirs.iter().all(|dir| dir.in_use) {
        return Ok(Vec::new());
    }
    let latest_complete = store.latest_complete(suite).map_err(|e| e.to_string())?;
    let mut superseded = Vec::new();
    let newest_id = dirs.first().map(|dir| dir.run_id.clone());
    for (i, dir) in dirs.into_iter().enumerate() {
        if dir.in_use {
            continue;
        }
        let why = if i > 0 {
            format!("nextest run {} came after it", newest_id.as_deref().unwrap_or_default())
        } else {
            let assembled = suite_dir.join(format!("{}.json", dir.run_id)).is_file();
            match &latest_complete {
                Some(complete) if assembled && complete.started() > dir.last_written => format!(
                    "its run was assembled, and complete run {} started after it",
                    complete.run_id
                ),
                _ => continue,
            }
        };
        superseded.push(eval_engine::store::Leftover {
            path: dir.path,
            kind: eval_engine::store::LeftoverKind::NextestDir,
            why,
        });
    }
    Ok(superseded)
}

fn read_run_dir(path: PathBuf, run_id: &str) -> Result<RunDir, String> {
    let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let mut last_written = std::fs::metadata(&path).and_then(|m| m.modified()).map_err(cannot)?;
    let mut in_use = false;
    for entry in std::fs::read_dir(&path).map_err(cannot)? {
        let entry = entry.map_err(cannot)?;
        if let Ok(modified) = entry.metadata().and_then(|m| m.modified()) {
            last_written = last_written.max(modified);
        }
        if entry.file_name().to_string_lossy().ends_with(LOCK_SUFFIX) {
            // A file system that cannot tell keeps the directory: a process may be in it.
            in_use |= eval_engine::__harness::is_in_use(entry.path()).unwrap_or(true);
        }
    }
    Ok(RunDir {
        run_id: run_id.to_owned(),
        path,
        last_written,
        in_use,
    })
}

/// What a cached task file holds besides the records: enough to assemble the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CachedTask {
    pub nextest_run_id: String,
    pub task_id: String,
    /// The task's position in its suite, so the assembled run keeps the dataset order.
    pub position: usize,
    pub suite: SuiteInfo,
    pub target: String,
    pub repeats: u32,
    /// With adaptive repeats, the fewest attempts a task gets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fewest_repeats: Option<u32>,
    /// The model the suite names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub budgets: Budgets,
    pub created_at: String,
    pub scorers: Vec<ScorerSpec>,
}

/// A task this process has locked and has to run: its results are cached through it.
pub(crate) struct TaskClaim {
    pub task_id: String,
    cache_path: PathBuf,
    /// Held until the results are cached (or the process ends, when another process runs it).
    _lock: File,
}

/// What locking a task found.
pub(crate) enum Claimed {
    /// Another process ran the task: its graded records.
    Cached(Vec<TaskRecord>),
    /// Nobody ran it yet: this process does, holding the lock.
    ToRun(TaskClaim),
}

/// Locks `task_id` in `dir` (blocking while another process runs it) and reads its cached
/// results if there are any. A cache file that cannot be read is an error naming it: running
/// the agent again silently would hide the problem and spend tokens.
pub(crate) fn claim(dir: &Path, task_id: &str) -> Result<Claimed, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let stem = file_stem(task_id);
    let lock_path = dir.join(format!("{stem}{LOCK_SUFFIX}"));
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
    let cache_path = dir.join(format!("{stem}{TASK_SUFFIX}"));
    if cache_path.exists() {
        let (_, tasks) =
            eval_engine::__harness::load_task_records::<CachedTask>(&cache_path).map_err(|e| e.to_string())?;
        return Ok(Claimed::Cached(tasks));
    }
    Ok(Claimed::ToRun(TaskClaim {
        task_id: task_id.to_owned(),
        cache_path,
        _lock: lock,
    }))
}

impl TaskClaim {
    /// Caches the task's graded records, then releases the lock (by dropping the claim).
    pub(crate) fn cache(self, entry: &CachedTask, tasks: &[TaskRecord]) -> Result<(), String> {
        eval_engine::__harness::save_task_records(&self.cache_path, entry, tasks).map_err(|e| e.to_string())
    }
}

/// One pair's outcome as its process decided it.
#[derive(Debug, Serialize, Deserialize)]
struct PairFragment {
    task_id: String,
    key: String,
    /// The scorecard verdict (`pass`, `fail`, `3/5`, …); absent when the task was never graded.
    verdict: Option<String>,
    outcome: String,
}

/// Records `outcome` as its pair's fragment in `dir`.
pub(crate) fn write_fragment(dir: &Path, outcome: &PairOutcome) -> Result<(), String> {
    let fragment = PairFragment {
        task_id: outcome.task_id.to_string(),
        key: outcome.key.to_string(),
        verdict: outcome.entry.as_ref().map(|entry| entry.verdict.to_string()),
        outcome: decision_name(outcome.outcome).to_owned(),
    };
    let path = dir.join(format!(
        "{}.{}{PAIR_SUFFIX}",
        file_stem(&outcome.task_id),
        file_stem(&outcome.key)
    ));
    eval_engine::__harness::save_json(&path, &fragment).map_err(|e| e.to_string())
}

/// The id itself when it is a plain name (letters, digits, `_`, `-`), else a hash of it: ids
/// may hold `/`, `.` or characters a file system refuses.
fn file_stem(id: &str) -> String {
    let plain =
        !id.is_empty() && id.len() <= 100 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        id.to_owned()
    } else {
        let hex = eval_engine::canonical::canonical_sha256_hex(&[&serde_json::Value::String(id.to_owned())]);
        format!("h-{}", &hex[..32])
    }
}

/// Assembles the run a nextest run directory describes from its cached tasks: one run JSON,
/// completed when every task of the suite is there, interrupted otherwise.
pub fn assemble(dir: &Path) -> Result<RunResult, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut cached: BTreeMap<(usize, String), (CachedTask, Vec<TaskRecord>)> = BTreeMap::new();
    for entry in entries {
        let path = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?.path();
        if !path.to_str().is_some_and(|p| p.ends_with(TASK_SUFFIX)) {
            continue;
        }
        let (header, tasks) =
            eval_engine::__harness::load_task_records::<CachedTask>(&path).map_err(|e| e.to_string())?;
        cached.insert((header.position, header.task_id.clone()), (header, tasks));
    }
    let Some((first, _)) = cached.values().next() else {
        return Err(format!(
            "{} holds no cached task results (`*{TASK_SUFFIX}`): is it a nextest run directory?",
            dir.display()
        ));
    };
    let first = first.clone();
    if let Some((other, _)) = cached
        .values()
        .find(|(h, _)| h.nextest_run_id != first.nextest_run_id || h.suite.name != first.suite.name)
    {
        return Err(format!(
            "{} mixes runs: task `{}` is of suite `{}` in run {}, task `{}` of suite `{}` in run {}",
            dir.display(),
            first.task_id,
            first.suite.name,
            first.nextest_run_id,
            other.task_id,
            other.suite.name,
            other.nextest_run_id
        ));
    }
    let complete = cached.len() == first.suite.size;
    let created_at = cached
        .values()
        .map(|(h, _)| h.created_at.clone())
        .min()
        .unwrap_or_default();
    let meta = RunMeta {
        schema_version: eval_engine::result::SCHEMA_VERSION.to_owned(),
        run_id: first.nextest_run_id.clone(),
        label: None,
        created_at,
        duration_ms: 0,
        suite: first.suite.clone(),
        target: first.target.clone(),
        concurrency: 1,
        status: if complete {
            RunStatus::Completed
        } else {
            RunStatus::Interrupted
        },
        selection: Some(Selection { filter: None, complete }),
        repeats: first.repeats,
        fewest_repeats: first.fewest_repeats,
        model: first.model.clone(),
        budgets: first.budgets,
        producer: Some(eval_engine::result::Producer::this_crate()),
        git: None,
        scorers: first.scorers.clone(),
        resumed: None,
        variant: None,
        regraded_from: None,
    };
    let tasks = cached.into_values().flat_map(|(_, tasks)| tasks).collect();
    Ok(RunResult::new(meta, tasks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ids_name_their_files_and_others_are_hashed() {
        assert_eq!(file_stem("paris_2"), "paris_2");
        let hashed = file_stem("cities/paris.v2");
        assert!(hashed.starts_with("h-") && hashed.len() == 34, "{hashed}");
        assert_ne!(hashed, file_stem("cities/paris.v3"));
    }

    #[test]
    fn the_first_claim_runs_the_task_and_an_unreadable_cache_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let Claimed::ToRun(first) = claim(dir.path(), "paris").unwrap() else {
            panic!("nothing is cached yet");
        };
        drop(first);
        let cache = dir.path().join("paris.task.json");
        std::fs::write(&cache, "{ not json").unwrap();
        let error = claim(dir.path(), "paris").err().unwrap();
        assert!(error.contains(&cache.display().to_string()), "{error}");
    }

    /// The records one process would have produced for a suite of `tasks` tasks: each attempt
    /// passes or fails key `k` by a bit of `verdicts`.
    fn single_process_run(tasks: usize, repeats: u32, verdicts: u64) -> RunResult {
        let mut records = Vec::new();
        for i in 0..tasks {
            for attempt in 1..=repeats {
                let inputs = serde_json::json!({ "input": format!("question {i}") });
                let bit = (i * repeats as usize + attempt as usize) % 64;
                let passed = verdicts >> bit & 1 == 1;
                records.push(TaskRecord {
                    task_id: if repeats > 1 {
                        format!("t{i}#{attempt}")
                    } else {
                        format!("t{i}")
                    },
                    content_hash: eval_engine::task::ContentHash::of(&inputs, &serde_json::Value::Null),
                    inputs,
                    reference_outputs: serde_json::Value::Null,
                    tags: Vec::new(),
                    metadata: serde_json::Map::new(),
                    trace: eval_engine::Trace::new(Vec::new(), None, 5),
                    feedback: vec![eval_engine::Feedback::pass_fail("k", passed)],
                    budget_violation: false,
                    scorer_traces: Vec::new(),
                    trace_ref: None,
                    outputs: serde_json::json!(format!("answer {i}")),
                    attempt: (repeats > 1).then_some(attempt),
                });
            }
        }
        let meta = RunMeta {
            schema_version: eval_engine::result::SCHEMA_VERSION.to_owned(),
            run_id: "nextest-run".to_owned(),
            label: None,
            created_at: "2026-12-01T00:00:00Z".to_owned(),
            duration_ms: 0,
            suite: SuiteInfo {
                name: "props".to_owned(),
                size: tasks,
                source: "inline".to_owned(),
            },
            target: "props::agent".to_owned(),
            concurrency: 1,
            status: RunStatus::Completed,
            selection: Some(Selection {
                filter: None,
                complete: true,
            }),
            repeats,
            fewest_repeats: None,
            model: None,
            budgets: Budgets::default(),
            producer: Some(eval_engine::result::Producer::this_crate()),
            git: None,
            scorers: vec![ScorerSpec::new("k")],
            resumed: None,
            variant: None,
            regraded_from: None,
        };
        RunResult::new(meta, records)
    }

    /// Caches the records of the tasks at `positions`, as the process that ran each would.
    fn cache_tasks(dir: &Path, run: &RunResult, positions: &[usize]) {
        for &position in positions {
            let task_id = format!("t{position}");
            let Claimed::ToRun(claim) = claim(dir, &task_id).unwrap() else {
                panic!("task {task_id} is cached twice");
            };
            let records: Vec<TaskRecord> = run.tasks().iter().filter(|t| t.base_id() == task_id).cloned().collect();
            let meta = &run.meta;
            let entry = CachedTask {
                nextest_run_id: meta.run_id.clone(),
                task_id,
                position,
                suite: meta.suite.clone(),
                target: meta.target.clone(),
                repeats: meta.repeats,
                fewest_repeats: None,
                model: None,
                budgets: meta.budgets,
                created_at: meta.created_at.clone(),
                scorers: meta.scorers.clone(),
            };
            claim.cache(&entry, &records).unwrap();
        }
    }

    mod merged {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            // A failing case is printed, never saved next to the sources.
            #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

            /// Whatever order the processes finish in, the assembled run is the single-process
            /// run; with tasks missing it holds the others, in suite order, and says it is partial.
            #[test]
            fn the_assembled_run_equals_the_single_process_run(
                (tasks, order) in (1usize..10).prop_flat_map(|n| (Just(n), Just((0..n).collect::<Vec<_>>()).prop_shuffle())),
                repeats in 1u32..4,
                verdicts in any::<u64>(),
                missing in 0usize..3,
            ) {
                let single = single_process_run(tasks, repeats, verdicts);
                let dir = tempfile::tempdir().unwrap();
                let cached = &order[..order.len().saturating_sub(missing)];
                cache_tasks(dir.path(), &single, cached);
                if cached.is_empty() {
                    prop_assert!(assemble(dir.path()).is_err());
                    return Ok(());
                }
                let assembled = assemble(dir.path()).unwrap();

                let expected: Vec<&TaskRecord> = single
                    .tasks()
                    .iter()
                    .filter(|t| cached.iter().any(|&i| t.base_id() == format!("t{i}")))
                    .collect();
                let got: Vec<&TaskRecord> = assembled.tasks().iter().collect();
                prop_assert_eq!(got, expected);
                let complete = cached.len() == tasks;
                prop_assert_eq!(assembled.meta.status == RunStatus::Completed, complete);
                prop_assert_eq!(&assembled.meta.suite, &single.meta.suite);
                prop_assert_eq!(&assembled.meta.scorers, &single.meta.scorers);
                prop_assert_eq!(assembled.meta.repeats, repeats);
                if complete {
                    prop_assert_eq!(assembled.aggregates(), single.aggregates());
                }
            }
        }
    }

    fn set_age(path: &Path, minutes: u64) {
        let when = SystemTime::now() - std::time::Duration::from_secs(60 * minutes);
        // Read-only, so that directories can be opened too.
        File::open(path).unwrap().set_modified(when).unwrap();
    }

    /// A nextest run directory of suite `props` holding one cached task, written `minutes` ago.
    fn nextest_dir(store: &Path, run_id: &str, minutes: u64) -> PathBuf {
        let run = single_process_run(1, 1, 1);
        let dir = run_dir(store, "props", run_id);
        cache_tasks(&dir, &run, &[0]);
        for entry in std::fs::read_dir(&dir).unwrap() {
            set_age(&entry.unwrap().path(), minutes);
        }
        set_age(&dir, minutes);
        dir
    }

    fn complete_run(store: &Path, run_id: &str, started_minutes_ago: u64) {
        let mut run = single_process_run(1, 1, 1);
        run.meta.run_id = run_id.to_owned();
        run.meta.created_at = time_ago(started_minutes_ago);
        eval_engine::Store::new(store).save(&run).unwrap();
    }

    fn time_ago(minutes: u64) -> String {
        let when = SystemTime::now() - std::time::Duration::from_secs(60 * minutes);
        time::OffsetDateTime::from(when)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    }

    fn superseded_names(store: &Path) -> Vec<String> {
        superseded_run_dirs(&eval_engine::Store::new(store), "props")
            .unwrap()
            .into_iter()
            .map(|leftover| leftover.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn older_nextest_directories_are_superseded_and_the_newest_stays_until_assembled() {
        let store = tempfile::tempdir().unwrap();
        let old = nextest_dir(store.path(), "old", 30);
        nextest_dir(store.path(), "new", 20);
        assert_eq!(superseded_names(store.path()), ["nextest-old"]);

        // A complete run after the newest does not remove it while its run is not assembled.
        complete_run(store.path(), "01DONE", 10);
        assert_eq!(superseded_names(store.path()), ["nextest-old"]);
        std::fs::write(store.path().join("props/new.json"), b"{}").unwrap();
        assert_eq!(superseded_names(store.path()), ["nextest-new", "nextest-old"]);

        // A process running one of its tasks holds its lock: the directory stays.
        let lock = File::open(old.join("t0.lock")).unwrap();
        lock.try_lock().unwrap();
        assert_eq!(superseded_names(store.path()), ["nextest-new"]);
        drop(lock);
    }

    #[test]
    fn a_nextest_directory_written_after_the_complete_run_started_stays() {
        let store = tempfile::tempdir().unwrap();
        complete_run(store.path(), "01DONE", 30);
        nextest_dir(store.path(), "during", 20);
        std::fs::write(store.path().join("props/during.json"), b"{}").unwrap();
        assert!(superseded_names(store.path()).is_empty());
    }

    #[test]
    fn assembling_a_directory_without_cached_tasks_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let error = assemble(dir.path()).unwrap_err();
        assert!(error.contains("no cached task results"), "{error}");
    }
}
