//! Any bytes as a run JSON file: loading never panics, every error names the file, and a run
//! that loads is written back and loads again unchanged, but for its schema version.

#![no_main]

use eval_engine::result::SCHEMA_VERSION;
use eval_engine::store::{from_json, to_json};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|bytes: &[u8]| {
    // The path only names the file in errors: nothing is read from disk.
    let path = Path::new("fuzz.json");
    match from_json(bytes, path) {
        Ok(run) => {
            let written = to_json(&run).unwrap_or_else(|e| panic!("a loaded run does not write back: {e}"));
            let again = from_json(&written, path).unwrap_or_else(|e| {
                panic!(
                    "a written run does not load: {e}\n{}",
                    String::from_utf8_lossy(&written)
                )
            });
            // A run is always written in this crate's schema, whatever version it was read
            // from (a file without one reads as 0.1): that is the one field allowed to change.
            let mut expected = run;
            expected.meta.schema_version = SCHEMA_VERSION.to_owned();
            assert_eq!(again, expected, "the run changed in a write and load");
        }
        Err(e) => {
            let message = e.to_string();
            assert!(
                message.contains("fuzz.json"),
                "the error does not name the file: {message}"
            );
        }
    }
});
