//! Keeping the store from piling up: what a run leaves that a later run supersedes.
//!
//! - A journal is abandoned when a complete run of its suite (completed, every task, agents
//!   ran) started after it was last written, or when its own run completed; one a running
//!   process holds locked is never touched.
//! - A nextest run directory is superseded as [`crate::nextest`] documents.
//! - A temporary file of an atomic write (`.<name>.<random>.tmp`) is a leftover when no write
//!   holds it and it has not been written to for a minute.
//!
//! After every run the harness removes all three kinds from its suite's directory, so that
//! they do not pile up without `cargo eval gc`, which removes them from a whole store. Run
//! files are never removed.

use eval_engine::Store;
use eval_engine::store::Leftover;

/// The abandoned journals and superseded nextest directories of `suite`.
pub fn superseded(store: &Store, suite: &str) -> Result<Vec<Leftover>, String> {
    let mut leftovers = store.abandoned_journals(suite).map_err(|e| e.to_string())?;
    leftovers.extend(crate::nextest::superseded_run_dirs(store, suite)?);
    Ok(leftovers)
}

/// Everything `cargo eval gc` removes from `suite`: [`superseded`] and leftover temporary
/// files.
pub fn garbage(store: &Store, suite: &str) -> Result<Vec<Leftover>, String> {
    let mut leftovers = superseded(store, suite)?;
    leftovers.extend(store.leftover_temp_files(suite).map_err(|e| e.to_string())?);
    Ok(leftovers)
}

/// Removes what the run just saved superseded in `suite`, and the temporary files writes that
/// were killed left there, saying in one line what went. A failure is a warning: the run
/// itself is saved.
pub(crate) fn after_run(store: &Store, suite: &str) {
    let leftovers = match garbage(store, suite) {
        Ok(leftovers) => leftovers,
        Err(why) => {
            eprintln!(
                "warning: suite {suite}: cannot look for superseded journals, nextest directories and temporary files: {why}"
            );
            return;
        }
    };
    let mut removed = Vec::new();
    for leftover in leftovers {
        match leftover.remove() {
            Ok(()) => removed.push(leftover),
            Err(e) => eprintln!(
                "warning: suite {suite}: cannot remove {} {}: {e}",
                leftover.kind.describe(),
                leftover.path.display()
            ),
        }
    }
    if !removed.is_empty() {
        let names: Vec<String> = removed.iter().map(describe_briefly).collect();
        eprintln!("note: suite {suite}: removed {}", names.join(", "));
    }
}

/// `abandoned journal 01J….journal.jsonl (run 01J…: last written before …)`.
fn describe_briefly(leftover: &Leftover) -> String {
    let name = leftover
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("{} {name} ({})", leftover.kind.describe(), leftover.why)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::{self, File};
    use std::time::{Duration, SystemTime};

    #[test]
    fn a_run_removes_its_suite_s_stale_temporary_files_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let suite_dir = dir.path().join("weather");
        fs::create_dir_all(&suite_dir).unwrap();
        let file = |name: &str, minutes: u64| {
            let path = suite_dir.join(name);
            fs::write(&path, b"{\"run_id\"").unwrap();
            let when = SystemTime::now() - Duration::from_secs(60 * minutes);
            File::options()
                .append(true)
                .open(&path)
                .unwrap()
                .set_modified(when)
                .unwrap();
            path
        };
        // Left by a write that was killed.
        let stale = file(".01A.json.x7Yq2b.tmp", 5);
        // A write going on: too young, or locked.
        let fresh = file(".01B.json.fresh1.tmp", 0);
        let locked = file(".01C.json.locked.tmp", 5);
        let lock = File::open(&locked).unwrap();
        lock.try_lock().unwrap();
        let run = file("01D.json", 5);
        // Another suite's is that suite's to clean.
        fs::create_dir_all(dir.path().join("other")).unwrap();
        let other = dir.path().join("other/.01E.json.x7Yq2b.tmp");
        fs::rename(file(".01E.json.x7Yq2b.tmp", 5), &other).unwrap();

        after_run(&store, "weather");
        assert!(!stale.exists());
        assert!(fresh.exists() && locked.exists() && run.exists() && other.exists());
    }
}
