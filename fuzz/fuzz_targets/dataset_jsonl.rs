//! Any bytes as a JSONL dataset file: loading never panics, every error names the file, and a
//! file that loads into a typed suite loads as plain JSON too, with the same task ids.

#![no_main]

use eval_engine::Suite;
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use tempfile::TempDir;

/// Inputs as a typed suite declares them: a required field, an optional one, nothing else.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Only deserialized.
struct Inputs {
    input: String,
    #[serde(default)]
    attempts: Option<u32>,
}

/// Reference outputs that may be absent (`null`) or an object with a few typed fields.
#[derive(Deserialize)]
#[allow(dead_code)] // Only deserialized.
struct Reference {
    city: String,
    temp_c: Option<f64>,
    tags: Option<Vec<String>>,
}

/// The loader reads a file, so every input is written to the same file of a scratch directory
/// made once per process: a directory per input would cost more than the parse.
fn dataset_path() -> &'static Path {
    static SCRATCH: OnceLock<(TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = SCRATCH.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("fuzz-dataset-")
            .tempdir()
            .expect("a scratch directory");
        let path = dir.path().join("fuzz.jsonl");
        (dir, path)
    });
    path
}

fuzz_target!(|bytes: &[u8]| {
    let path = dataset_path();
    std::fs::write(path, bytes).expect("the scratch file is writable");
    let names_the_file = |message: String| {
        assert!(
            message.contains(&path.display().to_string()),
            "the error does not name the file: {message}"
        );
    };

    let plain = Suite::<Value, Value>::from_jsonl(path);
    if let Err(e) = &plain {
        names_the_file(e.to_string());
    }
    match Suite::<Inputs, Option<Reference>>::from_jsonl(path) {
        Ok(typed) => {
            // The typed loader only adds checks: what it accepts, the plain one accepts alike.
            let plain = plain.expect("a dataset that loads typed loads as plain JSON");
            let typed_ids: Vec<&str> = typed.tasks().iter().map(|t| t.id()).collect();
            let plain_ids: Vec<&str> = plain.tasks().iter().map(|t| t.id()).collect();
            assert_eq!(typed_ids, plain_ids);
        }
        Err(e) => names_the_file(e.to_string()),
    }
});
