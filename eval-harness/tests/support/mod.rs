//! What the tests of the `cargo-eval` binary share: running it with a deadline, reading its
//! output, the AG2 fixtures.
// Each test crate uses its own part of it.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// No run of the binary may take longer than this.
pub const DEADLINE: Duration = Duration::from_secs(120);

/// An AG2-written run file of `tests/fixtures/ag2`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/ag2")
        .join(name)
}

/// The `cargo-eval` binary, with no store of the environment's leaking in.
pub fn cargo_eval_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cargo-eval"));
    command.env_remove("EVAL_STORE_DIR");
    command
}

/// Runs `command` to its end, killing it (and failing the test) past [`DEADLINE`].
pub fn run_with_deadline(command: &mut Command) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the cargo-eval binary runs");
    let stdout = read_on_a_thread(child.stdout.take());
    let stderr = read_on_a_thread(child.stderr.take());
    let deadline = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("the child can be waited for") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} ran longer than {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: stdout.join().expect("stdout was read"),
        stderr: stderr.join().expect("stderr was read"),
    }
}

fn read_on_a_thread<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            pipe.read_to_end(&mut bytes).expect("the pipe reads");
        }
        bytes
    })
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
