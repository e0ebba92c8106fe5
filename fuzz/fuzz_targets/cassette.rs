//! Any bytes as the recording file of a call: a strict replay never panics and never makes the
//! call, and whatever is wrong is said about that file.

#![no_main]

use eval_engine::cassette::CassetteError;
use eval_engine::{CassetteMode, Cassettes};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::OnceLock;
use tempfile::TempDir;
use tokio::runtime::Runtime;

const KIND: &str = "model";

/// What every input replays: the cassettes, the request, where its recording lives, and a
/// runtime. Made once per process; every input overwrites the same recording file.
struct Scratch {
    _dir: TempDir,
    cassettes: Cassettes,
    request: Value,
    recording: PathBuf,
    runtime: Runtime,
}

fn scratch() -> &'static Scratch {
    static SCRATCH: OnceLock<Scratch> = OnceLock::new();
    SCRATCH.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("fuzz-cassette-")
            .tempdir()
            .expect("a scratch directory");
        let cassettes = Cassettes::new(dir.path(), CassetteMode::Strict);
        let request = json!({"prompt": "hello"});
        let recording = cassettes.path(KIND, &request).expect("the request is JSON");
        std::fs::create_dir_all(recording.parent().expect("the recording is in a directory"))
            .expect("the cassette directory can be made");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        Scratch {
            _dir: dir,
            cassettes,
            request,
            recording,
            runtime,
        }
    })
}

fuzz_target!(|bytes: &[u8]| {
    let scratch = scratch();
    std::fs::write(&scratch.recording, bytes).expect("the recording file is writable");
    let replayed: Result<String, CassetteError> =
        scratch
            .runtime
            .block_on(scratch.cassettes.replay(KIND, &scratch.request, || async {
                panic!("a strict replay made the call")
            }));
    match replayed {
        Ok(_) => {}
        // A recorded failure reads as its own text did live; the error still knows its file.
        Err(CassetteError::Recorded { path, .. }) => assert_eq!(path, scratch.recording),
        Err(e) => {
            let message = e.to_string();
            let file = scratch.recording.display().to_string();
            assert!(message.contains(&file), "the error does not name {file}: {message}");
        }
    }
});
