//! A store that runs out of space mid-write (as root too, where permissions do not bite):
//! the child process below writes under `RLIMIT_FSIZE`, so the kernel refuses the write with
//! `EFBIG` exactly as a full disk refuses it with `ENOSPC`. The error names the file, no
//! temporary file is left, and the previous run file is untouched.

// Limiting the child's file size between fork and exec takes `pre_exec` and `setrlimit`.
#![allow(unsafe_code)]

use eval_engine::{Ctx, RunOptions, RunResult, Store, Suite, Task, load_run, run};
use serde_json::json;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

const CHILD_DIR: &str = "EVAL_TEST_DISK_FULL_DIR";

fn make_run(run_id: &str, tasks: usize) -> RunResult {
    let values = (0..tasks)
        .map(|i| json!({"task_id": format!("t{i}"), "inputs": {"input": "x".repeat(200)}}))
        .collect();
    let suite: Suite = Suite::from_values("weather", values).unwrap();
    let agent = |task: Arc<Task>, ctx: Ctx| async move {
        ctx.model_response("y".repeat(500));
        Ok::<_, String>(task.id().to_owned())
    };
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    runtime.block_on(run(
        &suite,
        agent,
        vec![],
        RunOptions::default().run_id(run_id).unwrap(),
    ))
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_write_that_runs_out_of_space_keeps_the_previous_run_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    let previous = store.save(&make_run("r1", 3)).unwrap();
    let before = std::fs::read(&previous).unwrap();

    let mut child = Command::new(std::env::current_exe().unwrap());
    child
        .args(["--exact", "save_under_a_file_size_limit", "--ignored", "--nocapture"])
        .env(CHILD_DIR, dir.path());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        child.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 16 * 1024,
                rlim_max: 16 * 1024,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Without this the kernel kills the writer with SIGXFSZ instead of failing the write.
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let out = child.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let error = stdout
        .lines()
        .find_map(|l| l.strip_prefix("save error: "))
        .unwrap_or_else(|| panic!("the child reported no error:\n{stdout}"));
    let target = dir.path().join("weather").join("r2.json");
    assert!(
        error.starts_with(&format!("cannot write {}: ", target.display())),
        "{error}"
    );
    assert!(error.contains("File too large"), "{error}");
    assert_eq!(std::fs::read(&previous).unwrap(), before, "the previous run is intact");
    assert_eq!(
        file_names(&dir.path().join("weather")),
        ["r1.json"],
        "no partial or temporary file is left"
    );
    assert_eq!(load_run(&previous).unwrap().tasks().len(), 3);
}

/// The child half: runs only when the test above starts it with a file size limit.
#[test]
#[ignore = "started by a_write_that_runs_out_of_space_keeps_the_previous_run_and_names_the_file"]
fn save_under_a_file_size_limit() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let result = Store::new(dir).save(&make_run("r2", 400));
    match result {
        Ok(path) => println!("saved: {}", path.display()),
        Err(e) => println!("save error: {e}"),
    }
}
