//! The dataset at expansion time: where it is, and its task ids for the IDE anchors.
//!
//! The run-time load (`eval_engine::Suite::from_jsonl`) is the source of truth; this reads the
//! file the same way but skips what it cannot use, leaving the run-time load to report it.

use serde_json::Value;
use std::path::{Path, PathBuf};
use syn::LitStr;

/// The dataset file named by `dataset = "..."`, resolved against the crate's directory the way
/// the harness resolves it at run time.
///
/// `Ok(None)` when `CARGO_MANIFEST_DIR` is unknown (not built by cargo): nothing can be checked
/// and no anchors are emitted.
pub(crate) fn locate(dataset: &LitStr) -> syn::Result<Option<PathBuf>> {
    let Ok(manifest_dir) = std::env::var("CARGO_MANIFEST_DIR") else {
        return Ok(None);
    };
    let path = Path::new(&manifest_dir).join(dataset.value());
    if path.is_file() {
        return Ok(Some(path));
    }
    let problem = if path.is_dir() {
        "is a directory"
    } else {
        "does not exist"
    };
    Err(syn::Error::new_spanned(
        dataset,
        format!(
            "dataset file `{}` {problem}; `dataset` is the path of a JSONL file relative to the crate's \
             directory (where its Cargo.toml is)",
            shown(&path).display(),
        ),
    ))
}

/// A path as rustc shows the paths of its diagnostics: relative to the directory cargo runs it
/// in (the workspace root), absolute when it lies elsewhere.
fn shown(path: &Path) -> PathBuf {
    match std::env::current_dir().map(|cwd| path.strip_prefix(cwd).map(Path::to_path_buf)) {
        Ok(Ok(relative)) if relative.as_os_str().is_empty() => PathBuf::from("."),
        Ok(Ok(relative)) => relative,
        _ => path.to_path_buf(),
    }
}

/// The task ids of a JSONL dataset, in file order; empty when the file cannot be read.
pub(crate) fn task_ids(path: &Path) -> Vec<String> {
    std::fs::read(path).map(|bytes| task_ids_of(&bytes)).unwrap_or_default()
}

/// The task ids of JSONL text: UTF-8 with an optional BOM, whitespace-only lines skipped, each
/// other line a JSON object whose `task_id` is a string, or absent/null for `task-{index:04}`
/// where `index` counts the non-blank lines.
fn task_ids_of(bytes: &[u8]) -> Vec<String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut ids = Vec::new();
    let mut index = 0;
    for line in bytes.split(|&b| b == b'\n') {
        let Ok(text) = std::str::from_utf8(line) else {
            index += 1;
            continue;
        };
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        if let Some(id) = task_id(text, index) {
            ids.push(id);
        }
        index += 1;
    }
    ids
}

fn task_id(line: &str, index: usize) -> Option<String> {
    let Value::Object(task) = serde_json::from_str::<Value>(line).ok()? else {
        return None;
    };
    match task.get("task_id") {
        None | Some(Value::Null) => Some(format!("task-{index:04}")),
        Some(Value::String(id)) if !id.is_empty() => Some(id.clone()),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ids_like_the_runtime() {
        let text = "\u{feff}{\"task_id\": \"paris\", \"inputs\": {}}\n\
                    \n   \t\n\
                    {\"inputs\": {}}\r\n\
                    not json\n\
                    [1, 2]\n\
                    {\"task_id\": null, \"inputs\": {}}\n\
                    {\"task_id\": 7}\n\
                    {\"task_id\": \"\"}\n\
                    {\"task_id\": \"Lyon 2\"}";
        assert_eq!(
            task_ids_of(text.as_bytes()),
            ["paris", "task-0001", "task-0004", "Lyon 2"]
        );
    }

    #[test]
    fn an_empty_file_has_no_tasks() {
        assert!(task_ids_of(b"").is_empty());
        assert!(task_ids_of(b"\n\n").is_empty());
    }
}
