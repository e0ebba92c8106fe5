//! What the store no longer needs: journals no run will resume, and the temporary files of
//! atomic writes a killed process left. A run file is never among them, and neither is anything
//! a running process holds locked.

use super::run_files::{Store, StoreError};
use crate::regular_file::is_in_use;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A temporary file younger than this may belong to a write in progress (its lock is taken an
/// instant after it is created, and released an instant before its rename).
const TEMP_FILE_MIN_AGE: Duration = Duration::from_secs(60);

/// What a leftover is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum LeftoverKind {
    /// A journal no run will resume.
    Journal,
    /// A cargo-nextest run directory (`<suite>/nextest-<id>/`) a later run superseded.
    NextestDir,
    /// A temporary file of an atomic write that never took its final name.
    TempFile,
}

impl LeftoverKind {
    /// What it is, in words: `abandoned journal`, `superseded nextest directory`,
    /// `temporary file`.
    pub fn describe(self) -> &'static str {
        match self {
            LeftoverKind::Journal => "abandoned journal",
            LeftoverKind::NextestDir => "superseded nextest directory",
            LeftoverKind::TempFile => "temporary file",
        }
    }
}

/// A file or directory of the store that nothing needs any more, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    /// The file or directory.
    pub path: PathBuf,
    /// What it is.
    pub kind: LeftoverKind,
    /// Why it is left over, for the message.
    pub why: String,
}

impl Leftover {
    /// Removes it (a directory with everything in it). One that is already gone counts as
    /// removed: another clean-up got there first.
    pub fn remove(&self) -> io::Result<()> {
        let removed = match self.kind {
            LeftoverKind::NextestDir => fs::remove_dir_all(&self.path),
            LeftoverKind::Journal | LeftoverKind::TempFile => fs::remove_file(&self.path),
        };
        match removed {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }
}

impl Store {
    /// The journals of `suite` no run will resume and no process is writing: last written
    /// before a complete run of the suite started, or whose own run completed.
    pub fn abandoned_journals(&self, suite: &str) -> Result<Vec<Leftover>, StoreError> {
        // When the file system cannot tell, a journal may be live: it stays.
        let idle: Vec<_> = self
            .journals(suite)?
            .into_iter()
            .filter(|journal| !is_in_use(&journal.path).unwrap_or(true))
            .collect();
        // Finding the latest complete run reads run files: only worth it when a journal may go.
        if idle.is_empty() {
            return Ok(Vec::new());
        }
        let latest_complete = self.latest_complete(suite)?;
        let mut leftovers = Vec::new();
        for journal in idle {
            if let Some(why) = self.abandoned_because(suite, &journal, latest_complete.as_ref()) {
                leftovers.push(Leftover {
                    path: journal.path,
                    kind: LeftoverKind::Journal,
                    why: format!("run {}: {why}", journal.run_id),
                });
            }
        }
        Ok(leftovers)
    }

    /// The temporary files of atomic writes (`.<name>.<random>.tmp`) left in `suite`'s
    /// directory and the directories in it: not locked by a write in progress and not written
    /// to for a minute.
    pub fn leftover_temp_files(&self, suite: &str) -> Result<Vec<Leftover>, StoreError> {
        crate::file_name::check_file_name("suite name", suite)?;
        let dir = self.suite_dir(suite);
        let mut leftovers = Vec::new();
        let Some(entries) = list(&dir)? else {
            return Ok(leftovers);
        };
        let now = SystemTime::now();
        for (path, is_dir) in entries {
            if is_dir {
                for (inner, inner_is_dir) in list(&path)?.unwrap_or_default() {
                    if !inner_is_dir {
                        leftovers.extend(stale_temp_file(&inner, now));
                    }
                }
            } else {
                leftovers.extend(stale_temp_file(&path, now));
            }
        }
        leftovers.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(leftovers)
    }
}

/// The entries of `dir` (path, whether a directory), or `None` when it does not exist.
fn list(dir: &Path) -> Result<Option<Vec<(PathBuf, bool)>>, StoreError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(StoreError::io("list", dir, source)),
    };
    let mut listed = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| StoreError::io("list", dir, source))?;
        // A symbolic link is neither followed nor removed.
        let Ok(file_type) = entry.file_type() else { continue };
        if file_type.is_dir() || file_type.is_file() {
            listed.push((entry.path(), file_type.is_dir()));
        }
    }
    Ok(Some(listed))
}

/// `path` as a leftover if it is the temporary file of an atomic write that is not going on.
fn stale_temp_file(path: &Path, now: SystemTime) -> Option<Leftover> {
    let name = path.file_name()?.to_str()?;
    let inner = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (target, random) = inner.rsplit_once('.')?;
    if target.is_empty() || random.is_empty() {
        return None;
    }
    let modified = fs::metadata(path).and_then(|m| m.modified()).ok()?;
    let age = now.duration_since(modified).unwrap_or_default();
    if age < TEMP_FILE_MIN_AGE || is_in_use(path).unwrap_or(true) {
        return None;
    }
    Some(Leftover {
        path: path.to_owned(),
        kind: LeftoverKind::TempFile,
        why: format!("the write of {target} never finished"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{JournalHeader, JournalWriter};
    use serde_json::json;
    use std::fs::File;

    fn age(path: &Path, minutes: u64) {
        let when = SystemTime::now() - Duration::from_secs(60 * minutes);
        File::options()
            .append(true)
            .open(path)
            .unwrap()
            .set_modified(when)
            .unwrap();
    }

    fn complete_run(store: &Store, id: &str, started_minutes_ago: u64) -> PathBuf {
        let started = time::OffsetDateTime::from(SystemTime::now() - Duration::from_secs(60 * started_minutes_ago))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let path = store.run_path("weather", id).unwrap();
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let run = json!({"run_id": id, "created_at": started, "tasks": [], "status": "completed"});
        fs::write(&path, run.to_string()).unwrap();
        path
    }

    fn names(leftovers: &[Leftover]) -> Vec<String> {
        leftovers
            .iter()
            .map(|l| l.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn journals_older_than_a_complete_run_are_abandoned_unless_locked() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let header = |id: &str| JournalHeader::new(id, "weather", vec![]);
        let old = store.journal_path("weather", "01OLD").unwrap();
        drop(JournalWriter::create(&old, &header("01OLD")).unwrap());
        age(&old, 30);
        // A run that is still going: written long ago, but its writer is alive.
        let live_path = store.journal_path("weather", "01LIVE").unwrap();
        let live = JournalWriter::create(&live_path, &header("01LIVE")).unwrap();
        age(&live_path, 30);
        let newer = store.journal_path("weather", "01NEWER").unwrap();
        drop(JournalWriter::create(&newer, &header("01NEWER")).unwrap());
        let run = complete_run(&store, "01DONE", 10);

        let abandoned = store.abandoned_journals("weather").unwrap();
        assert_eq!(names(&abandoned), ["01OLD.journal.jsonl"]);
        assert_eq!(
            abandoned[0].why,
            "run 01OLD: last written before complete run 01DONE started"
        );
        abandoned[0].remove().unwrap();
        abandoned[0].remove().unwrap();
        assert!(!old.exists() && live_path.exists() && newer.exists() && run.exists());

        drop(live);
        assert_eq!(
            names(&store.abandoned_journals("weather").unwrap()),
            ["01LIVE.journal.jsonl"]
        );
    }

    #[test]
    fn without_a_complete_run_no_journal_is_abandoned() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        assert!(store.abandoned_journals("weather").unwrap().is_empty());
        let old = store.journal_path("weather", "01OLD").unwrap();
        drop(JournalWriter::create(&old, &JournalHeader::new("01OLD", "weather", vec![])).unwrap());
        age(&old, 600);
        assert!(store.abandoned_journals("weather").unwrap().is_empty());
    }

    #[test]
    fn only_stale_unlocked_temporary_files_of_atomic_writes_are_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let suite = dir.path().join("weather");
        let nextest = suite.join("nextest-1");
        fs::create_dir_all(&nextest).unwrap();
        let write = |path: PathBuf, minutes: u64| {
            fs::write(&path, b"{").unwrap();
            age(&path, minutes);
            path
        };
        write(suite.join(".01A.json.x7Yq2b.tmp"), 5);
        write(nextest.join(".paris.task.json.Ab12Cd.tmp"), 5);
        write(suite.join(".01B.json.fresh1.tmp"), 0);
        let locked = write(suite.join(".01C.json.locked.tmp"), 5);
        let lock = File::open(&locked).unwrap();
        lock.try_lock().unwrap();
        // Not temporary files of ours: they stay whatever their age.
        write(suite.join("01D.json"), 5);
        write(suite.join("notes.tmp"), 5);
        write(suite.join("..tmp"), 5);

        let leftovers = store.leftover_temp_files("weather").unwrap();
        assert_eq!(
            names(&leftovers),
            [".01A.json.x7Yq2b.tmp", ".paris.task.json.Ab12Cd.tmp"]
        );
        assert_eq!(leftovers[0].why, "the write of 01A.json never finished");
        assert!(leftovers.iter().all(|l| l.kind == LeftoverKind::TempFile));
        assert!(store.leftover_temp_files("absent").unwrap().is_empty());
    }
}
