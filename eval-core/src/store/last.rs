//! Which stored run `last` means. It depends on the use:
//!
//! - a regrade (`EVAL_REPLAY=last`) takes the latest *complete* run: completed, over every task
//!   of the suite, with agents running (not itself a regrade). A filtered run, an interrupted
//!   run or an earlier regrade saved after it is passed over and counted.
//! - a resume (`EVAL_RESUME=last`) takes the newest journal written after the latest complete
//!   run started. A journal last written before that is abandoned: the complete run superseded
//!   it. A journal another process is writing is in use and never taken.
//!
//! "Latest" is by the file's modification time (the run saved last), as [`Store::latest`];
//! when a run started is its `created_at`.

use super::run_files::{
    JOURNAL_SUFFIX, Store, StoreError, check_schema, message_without_position, read_file, syntax_error,
};
use crate::regular_file::{Links, MAX_RUN_FILE_BYTES, is_in_use};
use crate::result::{Resumed, RunStatus, Selection};
use serde::Deserialize;
use serde::de::IgnoredAny;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// What kind of run a run file holds, as `last` tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum RunKind {
    /// Completed over every task of the suite with its agents running: what a regrade takes
    /// and what supersedes older journals.
    Complete,
    /// Completed over a filtered selection of the suite's tasks.
    Partial,
    /// Stopped before every selected task ran.
    Interrupted,
    /// The run itself failed.
    Failed,
    /// A regrade: no agent ran, stored outputs were graded again.
    Regrade,
}

impl RunKind {
    /// The kind as one word: `complete`, `partial`, `interrupted`, `failed`, `regrade`.
    pub fn name(self) -> &'static str {
        match self {
            RunKind::Complete => "complete",
            RunKind::Partial => "partial",
            RunKind::Interrupted => "interrupted",
            RunKind::Failed => "failed",
            RunKind::Regrade => "regrade",
        }
    }
}

/// A run file's run-level fields, read without keeping its tasks.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRun {
    /// The run file.
    pub path: PathBuf,
    /// The run's id.
    pub run_id: String,
    /// The suite's name as the file records it (empty when it does not).
    pub suite: String,
    /// When the run started (RFC 3339, UTC).
    pub created_at: String,
    /// How the run ended (completed for AG2's files, which only exist once complete).
    pub status: RunStatus,
    /// Which tasks it covered, when it records it.
    pub selection: Option<Selection>,
    /// Set when it resumed an interrupted run.
    pub resumed: Option<Resumed>,
    /// The run it re-graded (`replayed_from` in the file), for a regrade.
    pub regraded_from: Option<String>,
    /// When the file was last written.
    pub modified: SystemTime,
}

/// The run-level fields `last` needs; everything else, the tasks above all, is skipped.
#[derive(Deserialize)]
struct RunHeadIn {
    #[serde(default)]
    schema_version: Option<String>,
    #[serde(default)]
    run_id: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    suite: Option<SuiteNameIn>,
    #[serde(default)]
    tasks: Option<IgnoredAny>,
    #[serde(default)]
    status: Option<RunStatus>,
    #[serde(default)]
    selection: Option<Selection>,
    #[serde(default)]
    resumed: Option<Resumed>,
    #[serde(default)]
    replayed_from: Option<String>,
}

#[derive(Deserialize)]
struct SuiteNameIn {
    #[serde(default)]
    name: Option<String>,
}

impl StoredRun {
    /// Reads the run-level fields of the run file at `path` (ours or AG2's). A file that is not
    /// a run is an error naming it, as [`crate::load_run`] reports it.
    pub fn read(path: impl AsRef<Path>) -> Result<StoredRun, StoreError> {
        let path = path.as_ref();
        let modified = modified(path)?;
        let bytes = read_file(path, "load run", Links::Follow, MAX_RUN_FILE_BYTES)?;
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
        let not_a_run = |why: String| StoreError::NotARun {
            path: path.to_owned(),
            why,
        };
        let head: RunHeadIn = match serde_json::from_slice(bytes) {
            Ok(head) => head,
            Err(e) if e.is_data() => return Err(not_a_run(message_without_position(&e))),
            Err(e) => return Err(syntax_error(path, &e)),
        };
        check_schema(head.schema_version.as_deref(), path)?;
        let Some(run_id) = head.run_id else {
            return Err(not_a_run("it has no `run_id`".to_owned()));
        };
        if head.tasks.is_none() {
            return Err(not_a_run("it has no `tasks`".to_owned()));
        }
        Ok(StoredRun {
            path: path.to_owned(),
            run_id,
            suite: head.suite.and_then(|s| s.name).unwrap_or_default(),
            created_at: head.created_at.unwrap_or_default(),
            // AG2's files have no status: they only exist once a run completed.
            status: head.status.unwrap_or(RunStatus::Completed),
            selection: head.selection,
            resumed: head.resumed,
            regraded_from: head.replayed_from,
            modified,
        })
    }

    /// The run's kind: interrupted and failed first, then a regrade, then a partial selection.
    pub fn kind(&self) -> RunKind {
        match self.status {
            RunStatus::Interrupted => RunKind::Interrupted,
            RunStatus::Failed => RunKind::Failed,
            RunStatus::Completed if self.regraded_from.is_some() => RunKind::Regrade,
            // A run that does not record its selection (AG2's) ran what its suite held.
            RunStatus::Completed if self.selection.as_ref().is_some_and(|s| !s.complete) => RunKind::Partial,
            RunStatus::Completed => RunKind::Complete,
        }
    }

    /// When the run started: its `created_at`, or, when that is not RFC 3339, when its file
    /// was written.
    pub fn started(&self) -> SystemTime {
        time::OffsetDateTime::parse(&self.created_at, &time::format_description::well_known::Rfc3339)
            .map(SystemTime::from)
            .unwrap_or(self.modified)
    }
}

/// A run file a regrade's `last` did not take.
#[derive(Debug)]
pub enum PassedOver {
    /// A run of another kind than [`RunKind::Complete`].
    Run(StoredRun),
    /// A file that does not read as a run.
    Unreadable(StoreError),
}

/// The run `EVAL_REPLAY=last` re-grades, and the newer run files passed over for it.
#[derive(Debug)]
pub struct RegradeChoice {
    /// The latest complete run, if the suite has one.
    pub chosen: Option<StoredRun>,
    /// The run files saved after the chosen one (every file when none was chosen), newest
    /// first.
    pub passed_over: Vec<PassedOver>,
}

impl RegradeChoice {
    /// How many of each kind were passed over, e.g. `1 partial, 1 regrade` (empty when none).
    pub fn passed_over_counts(&self) -> String {
        let mut counts: std::collections::BTreeMap<(u8, &str), usize> = std::collections::BTreeMap::new();
        for passed in &self.passed_over {
            let key = match passed {
                PassedOver::Run(run) => (run.kind() as u8, run.kind().name()),
                PassedOver::Unreadable(_) => (u8::MAX, "unreadable"),
            };
            *counts.entry(key).or_default() += 1;
        }
        let parts: Vec<String> = counts.into_iter().map(|((_, name), n)| format!("{n} {name}")).collect();
        parts.join(", ")
    }
}

/// A journal in the store: `<suite>/<run_id>.journal.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    /// The journal file.
    pub path: PathBuf,
    /// The run it journals (its file name).
    pub run_id: String,
    /// When a task was last appended to it.
    pub modified: SystemTime,
}

/// The journal `EVAL_RESUME=last` resumes, and why the others were not taken.
#[derive(Debug, Default)]
pub struct ResumeChoice {
    /// The newest journal that is neither abandoned nor in use.
    pub chosen: Option<JournalEntry>,
    /// The suite's complete run that started last: journals last written before it started
    /// are abandoned.
    pub latest_complete: Option<StoredRun>,
    /// Journals no run will resume, each with why, newest first.
    pub abandoned: Vec<(JournalEntry, String)>,
    /// Journals a running process is writing, newest first.
    pub in_use: Vec<JournalEntry>,
}

impl Store {
    /// The run files of `suite`, newest first (by modification time, then by file name).
    pub(super) fn runs_newest_first(&self, suite: &str) -> Result<Vec<(SystemTime, PathBuf)>, StoreError> {
        let mut runs = Vec::new();
        for path in self.runs(suite)? {
            runs.push((modified(&path)?, path));
        }
        runs.sort_by(|a, b| b.cmp(a));
        Ok(runs)
    }

    /// The run `EVAL_REPLAY=last` re-grades: the latest complete run of `suite` (see
    /// [`RunKind::Complete`]), with the newer files passed over for it.
    pub fn last_to_regrade(&self, suite: &str) -> Result<RegradeChoice, StoreError> {
        let mut passed_over = Vec::new();
        for (_, path) in self.runs_newest_first(suite)? {
            match StoredRun::read(&path) {
                Ok(run) if run.kind() == RunKind::Complete => {
                    return Ok(RegradeChoice {
                        chosen: Some(run),
                        passed_over,
                    });
                }
                Ok(run) => passed_over.push(PassedOver::Run(run)),
                Err(error) => passed_over.push(PassedOver::Unreadable(error)),
            }
        }
        Ok(RegradeChoice {
            chosen: None,
            passed_over,
        })
    }

    /// The complete run of `suite` that started last. Files that do not read are skipped: they
    /// supersede nothing.
    pub fn latest_complete(&self, suite: &str) -> Result<Option<StoredRun>, StoreError> {
        let mut latest: Option<StoredRun> = None;
        for (modified, path) in self.runs_newest_first(suite)? {
            // A run starts before its file is written, so no older file started later.
            if latest.as_ref().is_some_and(|run| modified < run.started()) {
                break;
            }
            if let Ok(run) = StoredRun::read(&path)
                && run.kind() == RunKind::Complete
                && latest.as_ref().is_none_or(|l| run.started() > l.started())
            {
                latest = Some(run);
            }
        }
        Ok(latest)
    }

    /// The journals of `suite`, newest first.
    pub fn journals(&self, suite: &str) -> Result<Vec<JournalEntry>, StoreError> {
        crate::file_name::check_file_name("suite name", suite)?;
        let dir = self.suite_dir(suite);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(StoreError::io("list", &dir, source)),
        };
        let mut journals = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| StoreError::io("list", &dir, source))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(run_id) = name.strip_suffix(JOURNAL_SUFFIX) else {
                continue;
            };
            if run_id.is_empty() || name.starts_with('.') || !entry.file_type().is_ok_and(|t| t.is_file()) {
                continue;
            }
            let path = entry.path();
            journals.push(JournalEntry {
                modified: modified(&path)?,
                run_id: run_id.to_owned(),
                path,
            });
        }
        journals.sort_by(|a, b| (b.modified, &b.run_id).cmp(&(a.modified, &a.run_id)));
        Ok(journals)
    }

    /// The journal `EVAL_RESUME=last` resumes: the newest journal of `suite` written after its
    /// latest complete run started, that no running process is writing.
    pub fn last_to_resume(&self, suite: &str) -> Result<ResumeChoice, StoreError> {
        let mut choice = ResumeChoice {
            latest_complete: self.latest_complete(suite)?,
            ..ResumeChoice::default()
        };
        for journal in self.journals(suite)? {
            // A file system that cannot tell is taken at its word: the lock is a safeguard.
            if is_in_use(&journal.path).unwrap_or(false) {
                choice.in_use.push(journal);
            } else if let Some(why) = self.abandoned_because(suite, &journal, choice.latest_complete.as_ref()) {
                choice.abandoned.push((journal, why));
            } else if choice.chosen.is_none() {
                choice.chosen = Some(journal);
            }
        }
        Ok(choice)
    }

    /// Why no run will resume `journal`, if none will: a complete run started after it was
    /// last written, or its own run was saved completed (the process stopped before removing
    /// it).
    pub(super) fn abandoned_because(
        &self,
        suite: &str,
        journal: &JournalEntry,
        latest_complete: Option<&StoredRun>,
    ) -> Option<String> {
        if let Some(complete) = latest_complete
            && journal.modified < complete.started()
        {
            return Some(format!("last written before complete run {} started", complete.run_id));
        }
        let own = self.run_path(suite, &journal.run_id).ok()?;
        match StoredRun::read(own) {
            Ok(run) if run.status == RunStatus::Completed => Some(format!("its run {} completed", run.run_id)),
            _ => None,
        }
    }
}

fn modified(path: &Path) -> Result<SystemTime, StoreError> {
    fs::metadata(path)
        .and_then(|m| m.modified())
        .map_err(|source| StoreError::io("read the modification time of", path, source))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::fs::File;
    use std::time::Duration;

    /// A store whose files get explicit ages, so that order never depends on timing.
    struct Fixture {
        dir: tempfile::TempDir,
        store: Store,
        now: SystemTime,
    }

    impl Fixture {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::new(dir.path());
            Fixture {
                dir,
                store,
                now: SystemTime::now(),
            }
        }

        fn at(&self, minutes_ago: u64) -> SystemTime {
            self.now - Duration::from_secs(60 * minutes_ago)
        }

        fn rfc3339(&self, minutes_ago: u64) -> String {
            time::OffsetDateTime::from(self.at(minutes_ago))
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap()
        }

        /// Writes run `id` of kind `kind`, started `started` minutes ago and saved `saved`
        /// minutes ago.
        fn run(&self, id: &str, kind: RunKind, started: u64, saved: u64) -> PathBuf {
            let mut run = json!({
                "schema_version": "0.2", "run_id": id, "created_at": self.rfc3339(started),
                "suite": {"name": "weather", "size": 5, "source": "inline"}, "tasks": [],
                "status": "completed", "selection": {"filter": null, "complete": true},
            });
            match kind {
                RunKind::Complete => {}
                RunKind::Partial => {
                    run["selection"] = json!({"filter": "weather::paris", "complete": false});
                }
                RunKind::Interrupted => run["status"] = json!("interrupted"),
                RunKind::Failed => run["status"] = json!("failed"),
                RunKind::Regrade => run["replayed_from"] = json!("01OLDER"),
            }
            self.file(&format!("weather/{id}.json"), &run.to_string(), saved)
        }

        fn journal(&self, id: &str, written: u64) -> PathBuf {
            let header = json!({"run_id": id, "suite": "weather", "created_at": self.rfc3339(written), "scorers": []});
            self.file(
                &format!("weather/{id}{JOURNAL_SUFFIX}"),
                &format!("{header}\n"),
                written,
            )
        }

        fn file(&self, name: &str, contents: &str, minutes_ago: u64) -> PathBuf {
            let path = self.dir.path().join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, contents).unwrap();
            File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_modified(self.at(minutes_ago))
                .unwrap();
            path
        }
    }

    fn chosen_id(choice: &RegradeChoice) -> Option<&str> {
        choice.chosen.as_ref().map(|run| run.run_id.as_str())
    }

    #[test]
    fn a_regrade_takes_the_latest_complete_run_and_counts_what_it_passed_over() {
        let f = Fixture::new();
        f.run("01A", RunKind::Complete, 60, 59);
        f.run("01B", RunKind::Complete, 50, 49);
        f.run("01C", RunKind::Partial, 40, 39);
        f.run("01D", RunKind::Regrade, 30, 29);
        f.run("01E", RunKind::Interrupted, 20, 19);
        f.run("01F", RunKind::Failed, 10, 9);
        f.file("weather/01G.json", "{\"run_id\": \"01G\", \"tasks\": [", 5);
        let choice = f.store.last_to_regrade("weather").unwrap();
        assert_eq!(chosen_id(&choice), Some("01B"));
        assert_eq!(
            choice.passed_over_counts(),
            "1 partial, 1 interrupted, 1 failed, 1 regrade, 1 unreadable"
        );
        let PassedOver::Unreadable(error) = &choice.passed_over[0] else {
            panic!("the newest file is passed over first: {choice:?}");
        };
        assert!(error.to_string().contains("01G.json"), "{error}");
    }

    #[test]
    fn a_regrade_goes_by_when_runs_were_saved_not_by_their_names() {
        let f = Fixture::new();
        // A nextest run's UUID sorts after every ULID; a resumed run keeps its old id.
        f.run("f81d4fae-7dec-11d0-a765-00a0c91e6bf6", RunKind::Complete, 60, 58);
        f.run("01A", RunKind::Complete, 90, 10);
        f.run("01B", RunKind::Complete, 30, 29);
        assert_eq!(chosen_id(&f.store.last_to_regrade("weather").unwrap()), Some("01A"));
    }

    #[test]
    fn a_suite_without_a_complete_run_has_nothing_to_regrade() {
        let f = Fixture::new();
        assert!(f.store.last_to_regrade("weather").unwrap().chosen.is_none());
        f.run("01A", RunKind::Partial, 20, 19);
        f.run("01B", RunKind::Regrade, 10, 9);
        let choice = f.store.last_to_regrade("weather").unwrap();
        assert_eq!(chosen_id(&choice), None);
        assert_eq!(choice.passed_over_counts(), "1 partial, 1 regrade");
    }

    #[test]
    fn ag2_runs_without_status_or_selection_are_complete() {
        let f = Fixture::new();
        let path = f.file(
            "weather/ag2.json",
            r#"{"run_id": "ag2", "created_at": "not a time", "tasks": []}"#,
            3,
        );
        let run = StoredRun::read(&path).unwrap();
        assert_eq!(run.kind(), RunKind::Complete);
        assert_eq!(run.started(), f.at(3), "an unreadable start is the file's time");
        let not_a_run = StoredRun::read(f.file("weather/x.json", r#"{"run_id": "x"}"#, 1)).unwrap_err();
        assert!(not_a_run.to_string().contains("it has no `tasks`"), "{not_a_run}");
    }

    #[test]
    fn a_resume_takes_the_newest_journal_written_after_the_latest_complete_run_started() {
        let f = Fixture::new();
        f.journal("01OLD", 100);
        f.run("01A", RunKind::Complete, 60, 50);
        f.journal("01DURING", 55);
        f.journal("01NEW", 20);
        f.journal("01NEWER", 10);
        // Neither a partial run nor a regrade supersedes the journal of a full run.
        f.run("01P", RunKind::Partial, 8, 7);
        f.run("01R", RunKind::Regrade, 6, 5);

        let choice = f.store.last_to_resume("weather").unwrap();
        assert_eq!(choice.chosen.as_ref().map(|j| j.run_id.as_str()), Some("01NEWER"));
        assert_eq!(choice.latest_complete.as_ref().map(|r| r.run_id.as_str()), Some("01A"));
        let abandoned: Vec<&str> = choice.abandoned.iter().map(|(j, _)| j.run_id.as_str()).collect();
        assert_eq!(abandoned, ["01OLD"], "01DURING was written while 01A ran");
        assert_eq!(choice.abandoned[0].1, "last written before complete run 01A started");
    }

    #[test]
    fn a_journal_older_than_a_complete_run_is_never_resumed() {
        let f = Fixture::new();
        f.journal("01OLD", 100);
        f.run("01A", RunKind::Complete, 60, 50);
        let choice = f.store.last_to_resume("weather").unwrap();
        assert_eq!(choice.chosen, None);
        assert_eq!(choice.abandoned.len(), 1);

        // Without any complete run, the newest journal is resumed whatever its age.
        let g = Fixture::new();
        g.journal("01OLD", 1000);
        g.journal("01OLDER", 2000);
        g.run("01I", RunKind::Interrupted, 900, 900);
        let choice = g.store.last_to_resume("weather").unwrap();
        assert_eq!(choice.chosen.map(|j| j.run_id), Some("01OLD".to_owned()));
    }

    #[test]
    fn a_journal_whose_run_completed_is_abandoned() {
        let f = Fixture::new();
        f.run("01A", RunKind::Partial, 30, 20);
        f.journal("01A", 21);
        let choice = f.store.last_to_resume("weather").unwrap();
        assert_eq!(choice.chosen, None);
        assert_eq!(choice.abandoned[0].1, "its run 01A completed");
    }

    #[test]
    fn a_journal_a_process_is_writing_is_in_use_and_not_resumed() {
        let f = Fixture::new();
        f.journal("01OLDER", 30);
        let live = f.journal("01LIVE", 10);
        let lock = File::options().append(true).open(&live).unwrap();
        lock.try_lock().unwrap();
        let choice = f.store.last_to_resume("weather").unwrap();
        assert_eq!(choice.chosen.map(|j| j.run_id), Some("01OLDER".to_owned()));
        assert_eq!(choice.in_use.len(), 1);
        drop(lock);
        let choice = f.store.last_to_resume("weather").unwrap();
        assert_eq!(choice.chosen.map(|j| j.run_id), Some("01LIVE".to_owned()));
    }

    #[test]
    fn the_latest_complete_run_is_the_one_that_started_last() {
        let f = Fixture::new();
        // Saved last but started first: a long run, or a resumed one keeping its start.
        f.run("01LONG", RunKind::Complete, 120, 1);
        f.run("01SHORT", RunKind::Complete, 30, 29);
        f.run("01EARLY", RunKind::Complete, 200, 199);
        let latest = f.store.latest_complete("weather").unwrap().unwrap();
        assert_eq!(latest.run_id, "01SHORT");
        assert_eq!(latest.started(), f.at(30));
    }
}
