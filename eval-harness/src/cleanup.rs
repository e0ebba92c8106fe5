//! Keeping the store from piling up: what a run leaves that a later run supersedes.
//!
//! - A journal is abandoned when a complete run of its suite (completed, every task, agents
//!   ran) started after it was last written, or when its own run completed; one a running
//!   process holds locked is never touched.
//! - A nextest run directory is superseded as [`crate::nextest`] documents.
//! - A temporary file of an atomic write (`.<name>.<random>.tmp`) is a leftover when no write
//!   holds it and it has not been written to for a minute.
//!
//! After every run the harness removes the superseded journals and nextest directories of its
//! suite; `cargo eval gc` removes all three kinds from a whole store. Run files are never
//! removed.

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

/// Removes what the run just saved superseded in `suite`, saying in one line what went. A
/// failure is a warning: the run itself is saved.
pub(crate) fn after_run(store: &Store, suite: &str) {
    let leftovers = match superseded(store, suite) {
        Ok(leftovers) => leftovers,
        Err(why) => {
            eprintln!("warning: suite {suite}: cannot look for superseded journals and nextest directories: {why}");
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
