//! Bringing runs written elsewhere into the store, and changing a run's label.
//!
//! Both change files, never only the index: an imported run is copied, byte for byte, to
//! `<store>/<suite>/<run_id>.json`, and a new label is written into the run file, so that a
//! rebuild of the index from the files finds the same history.

use super::{History, HistoryError};
use crate::atomic_file::{AtomicWriteError, IfExists, write_atomically};
use crate::file_name::check_file_name;
use crate::store::{Store, load_run};
use serde::Serialize;
use serde_json::Value;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// What became of one file given to [`History::import`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Imported {
    /// The file as found.
    pub source: PathBuf,
    /// Where it is in the store now (`None` when it was skipped).
    pub stored: Option<PathBuf>,
    /// `added`, `already in the store`, or why it was skipped (naming the file).
    pub outcome: String,
}

impl Imported {
    /// Whether the run is in the store now (added or already there).
    pub fn is_in_store(&self) -> bool {
        self.stored.is_some()
    }
}

impl History {
    /// Copies the run files at `paths` (files, or directories searched for `*.json` files)
    /// into the store and indexes them. A file that is not a run, or whose run id the store
    /// already holds with other contents, is skipped and said so; the others go on.
    pub fn import(&mut self, paths: &[PathBuf]) -> Result<Vec<Imported>, HistoryError> {
        let mut files = Vec::new();
        for path in paths {
            if path.is_dir() {
                collect_json_files(path, &mut files)?;
            } else {
                files.push(path.clone());
            }
        }
        let mut imported = Vec::with_capacity(files.len());
        for file in files {
            let outcome = self.import_one(&file);
            imported.push(match outcome {
                Ok((stored, outcome)) => Imported {
                    source: file,
                    stored: Some(stored),
                    outcome: outcome.to_owned(),
                },
                Err(why) => Imported {
                    source: file,
                    stored: None,
                    outcome: format!("skipped: {why}"),
                },
            });
        }
        Ok(imported)
    }

    fn import_one(&mut self, file: &Path) -> Result<(PathBuf, &'static str), String> {
        let run = load_run(file).map_err(|e| e.to_string())?;
        let store = Store::new(&self.root);
        let target = store
            .run_path(&run.meta.suite.name, &run.meta.run_id)
            .map_err(|e| format!("{}: {e}", file.display()))?;
        let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let outcome = match std::fs::read(&target) {
            Ok(existing) if existing == bytes => "already in the store",
            Ok(_) => {
                return Err(format!(
                    "{}: the store already holds another file of run `{}` of suite `{}` ({})",
                    file.display(),
                    run.meta.run_id,
                    run.meta.suite.name,
                    target.display()
                ));
            }
            Err(_) => {
                write_atomically(&target, IfExists::Keep, |out| out.write_all(&bytes))
                    .map_err(|e| format!("cannot copy {} to {}: {}", file.display(), target.display(), written(e)))?;
                "added"
            }
        };
        self.index_file(&target).map_err(|e| e.to_string())?;
        Ok((target, outcome))
    }
}

/// Every `*.json` file under `dir` (not the temporary files of writes in progress), sorted.
fn collect_json_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), HistoryError> {
    let entries = std::fs::read_dir(dir).map_err(|source| HistoryError::Io {
        path: dir.to_owned(),
        doing: "list",
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries.flatten().map(|entry| entry.path()).collect();
    paths.sort();
    for path in paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect_json_files(&path, out)?;
        } else if name.ends_with(".json") {
            out.push(path);
        }
    }
    Ok(())
}

/// Sets the label of run `run_id` in its run file (replaced atomically: readers see the old
/// file or the new one) and in the index. Everything else in the file stays as it was.
pub fn relabel(history: &mut History, run_id: &str, label: &str) -> Result<PathBuf, HistoryError> {
    check_file_name("label", label).map_err(|e| HistoryError::BadFile(format!("cannot label run `{run_id}`: {e}")))?;
    let run = history.run(run_id)?;
    let path = run.path;
    if path.to_string_lossy().ends_with(crate::store::JOURNAL_SUFFIX) {
        return Err(HistoryError::BadFile(format!(
            "cannot label run `{run_id}`: it has no run file yet, only its journal {}",
            path.display()
        )));
    }
    let bytes = std::fs::read(&path).map_err(|source| HistoryError::Io {
        path: path.clone(),
        doing: "read",
        source,
    })?;
    let mut document: Value = serde_json::from_slice(&bytes)
        .map_err(|e| HistoryError::BadFile(format!("cannot label run `{run_id}`: {}: {e}", path.display())))?;
    let Some(fields) = document.as_object_mut() else {
        return Err(HistoryError::BadFile(format!(
            "cannot label run `{run_id}`: {} does not hold a run object",
            path.display()
        )));
    };
    fields.insert("label".to_owned(), Value::String(label.to_owned()));
    write_atomically(&path, IfExists::Replace, |out| {
        serde_json::to_writer_pretty(&mut *out, &document)?;
        out.write_all(b"\n")
    })
    .map_err(|e| HistoryError::BadFile(format!("cannot rewrite {}: {}", path.display(), written(e))))?;
    history.index_file(&path)?;
    Ok(path)
}

/// Why an atomic write failed, in words.
fn written(error: AtomicWriteError) -> String {
    match error {
        AtomicWriteError::AlreadyExists => "the file exists already".to_owned(),
        AtomicWriteError::Io { action, source, .. } => format!("cannot {action}: {source}"),
    }
}
