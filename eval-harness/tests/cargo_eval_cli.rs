//! Runs the real `cargo-eval` binary on AG2's run files and on stores it writes itself, and
//! checks its output and exit codes.

use eval_engine::result::{Budgets, Resumed, RunMeta, RunStatus, Selection, SuiteInfo};
use eval_engine::task::ContentHash;
use eval_engine::{Feedback, RunResult, ScorerSpec, Store, TaskRecord, Trace};
use serde_json::{Map, Value, json};
use std::ffi::OsStr;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant, SystemTime};

mod support;

use support::{cargo_eval_command, fixture, run_with_deadline, stderr, stdout};

fn cargo_eval<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_with_deadline(cargo_eval_command().args(args))
}

/// `cargo eval <args>` with `EVAL_STORE_DIR` set to `store` and run in `dir`.
fn cargo_eval_in<I, S>(dir: &Path, store: Option<&Path>, args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = cargo_eval_command();
    command.args(args).current_dir(dir);
    if let Some(store) = store {
        command.env("EVAL_STORE_DIR", store);
    }
    run_with_deadline(&mut command)
}

/// `run_b.json` without task `reg-4`, written to `dir`.
fn run_b_without_last_task(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(fixture("run_b.json")).expect("fixture is readable");
    let mut run: serde_json::Value = serde_json::from_str(&text).expect("fixture is JSON");
    let tasks = run["tasks"].as_array_mut().expect("fixture has tasks");
    tasks.retain(|task| task["task_id"] != "reg-4");
    let path = dir.join("run_b_partial.json");
    std::fs::write(&path, serde_json::to_string_pretty(&run).expect("JSON serializes")).expect("tempdir is writable");
    path
}

#[test]
fn show_prints_the_run_summary() {
    let output = cargo_eval([OsStr::new("show"), fixture("run_b.json").as_os_str()]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let out = stdout(&output);
    assert!(out.contains("run_b"), "{out}");
    assert!(out.contains("final_answer_matches"), "{out}");
}

#[test]
fn a_run_against_itself_exits_0() {
    let run = fixture("run_a.json");
    let output = cargo_eval([OsStr::new("diff"), run.as_os_str(), run.as_os_str()]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let out = stdout(&output);
    assert!(
        out.starts_with("Run run_a against run_a: 5 comparable task(s)"),
        "{out}"
    );
    assert!(out.contains("Regressions: none"), "{out}");
}

#[test]
fn works_when_cargo_passes_the_subcommand_name() {
    let run = fixture("run_a.json");
    let output = cargo_eval([OsStr::new("eval"), OsStr::new("diff"), run.as_os_str(), run.as_os_str()]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
}

#[test]
fn a_regression_exits_1() {
    let output = cargo_eval([
        OsStr::new("diff"),
        fixture("run_b.json").as_os_str(),
        fixture("run_a.json").as_os_str(),
    ]);
    assert_eq!(output.status.code(), Some(1), "stderr: {}", stderr(&output));
    let out = stdout(&output);
    assert!(
        out.contains("Regressions (1):\n  reg-2 · final_answer_matches"),
        "{out}"
    );
    assert!(
        out.contains("final_answer_matches  100.0% ->  80.0%   -20.0 points  lower"),
        "{out}"
    );
    assert!(!out.contains("['"), "no Python lists: {out}");
    assert!(
        stderr(&output).contains("1 regression(s): reg-2 · final_answer_matches"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_improvement_exits_0() {
    let output = cargo_eval([
        OsStr::new("diff"),
        fixture("run_a.json").as_os_str(),
        fixture("run_b.json").as_os_str(),
    ]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let out = stdout(&output);
    assert!(
        out.contains("Improvements (1):\n  reg-2 · final_answer_matches"),
        "{out}"
    );
    assert!(out.contains("Regressions: none"), "{out}");
}

#[test]
fn a_missing_file_exits_2_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no_such_run.json");
    for args in [
        vec![OsStr::new("show"), missing.as_os_str()],
        vec![
            OsStr::new("diff"),
            missing.as_os_str(),
            fixture("run_a.json").as_os_str(),
        ],
        vec![
            OsStr::new("diff"),
            fixture("run_a.json").as_os_str(),
            missing.as_os_str(),
        ],
    ] {
        let output = cargo_eval(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(stderr(&output).contains("no_such_run.json"), "{}", stderr(&output));
        assert!(stdout(&output).is_empty(), "{}", stdout(&output));
    }
}

#[test]
fn a_truncated_file_exits_2_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(fixture("run_a.json")).expect("fixture is readable");
    let truncated = dir.path().join("truncated_run.json");
    std::fs::write(&truncated, &text[..text.len() / 2]).expect("tempdir is writable");
    for args in [
        vec![OsStr::new("show"), truncated.as_os_str()],
        vec![
            OsStr::new("diff"),
            truncated.as_os_str(),
            fixture("run_a.json").as_os_str(),
        ],
    ] {
        let output = cargo_eval(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(stderr(&output).contains("truncated_run.json"), "{}", stderr(&output));
    }
}

#[test]
fn a_passing_copy_of_a_regressed_task_does_not_hide_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(fixture(name)).expect("fixture is readable")).expect("JSON")
    };
    let (mut current, baseline) = (read("run_b.json"), read("run_a.json"));
    let passing = baseline["tasks"]
        .as_array()
        .and_then(|tasks| tasks.iter().find(|task| task["task_id"] == "reg-2"))
        .expect("run_a has reg-2")
        .clone();
    current["tasks"].as_array_mut().expect("tasks").push(passing);
    let doctored = dir.path().join("run_b_doctored.json");
    std::fs::write(&doctored, current.to_string()).expect("tempdir is writable");

    let output = cargo_eval([
        OsStr::new("diff"),
        doctored.as_os_str(),
        fixture("run_a.json").as_os_str(),
    ]);
    assert_eq!(output.status.code(), Some(2), "stdout: {}", stdout(&output));
    let err = stderr(&output);
    assert!(
        err.contains(&format!(
            "error: cannot load run {}: not a run JSON: task `reg-2` is recorded 2 times (tasks[2], tasks[5])",
            doctored.display()
        )),
        "{err}"
    );
    assert!(stdout(&output).is_empty(), "{}", stdout(&output));
}

#[test]
fn show_and_diff_refuse_what_is_not_a_regular_file_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("run.json");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo runs");
    assert!(made.success(), "mkfifo {}", fifo.display());
    let run_a = fixture("run_a.json");
    let cases = [
        (
            vec![OsStr::new("show"), fifo.as_os_str()],
            fifo.display().to_string(),
            "a FIFO (named pipe)",
        ),
        (
            vec![OsStr::new("diff"), fifo.as_os_str(), run_a.as_os_str()],
            fifo.display().to_string(),
            "a FIFO (named pipe)",
        ),
        (
            vec![OsStr::new("show"), OsStr::new("/dev/zero")],
            "/dev/zero".to_owned(),
            "a device",
        ),
        (
            vec![OsStr::new("diff"), run_a.as_os_str(), OsStr::new("/dev/zero")],
            "/dev/zero".to_owned(),
            "a device",
        ),
    ];
    for (args, path, kind) in cases {
        let started = Instant::now();
        let output = cargo_eval(&args);
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{args:?} took {:?}",
            started.elapsed()
        );
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let err = stderr(&output);
        assert!(
            err.contains(&format!("cannot load run {path}: it is {kind}, not a regular file")),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn runs_that_are_not_comparable_exit_2_listing_the_mismatch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let partial = run_b_without_last_task(dir.path());
    let output = cargo_eval([
        OsStr::new("diff"),
        partial.as_os_str(),
        fixture("run_a.json").as_os_str(),
    ]);
    assert_eq!(output.status.code(), Some(2), "stdout: {}", stdout(&output));
    let err = stderr(&output);
    assert!(
        err.contains("did not grade the same eval:\n  tasks only in the baseline: reg-4"),
        "{err}"
    );
    assert!(!err.contains("['"), "no Python lists: {err}");
    assert!(err.contains("--lenient"), "{err}");
    assert!(stdout(&output).is_empty(), "{}", stdout(&output));
}

#[test]
fn lenient_diffs_the_overlap_and_lists_exclusions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let partial = run_b_without_last_task(dir.path());
    let output = cargo_eval([
        OsStr::new("diff"),
        partial.as_os_str(),
        fixture("run_a.json").as_os_str(),
        OsStr::new("--lenient"),
    ]);
    assert_eq!(output.status.code(), Some(1), "stderr: {}", stderr(&output));
    let out = stdout(&output);
    assert!(out.contains("4 comparable task(s)"), "{out}");
    assert!(
        out.contains("Left out of the comparison (lenient mode):\n  tasks only in the baseline: reg-4"),
        "{out}"
    );
    assert!(out.contains("Regressions (1):"), "{out}");
    assert!(!out.contains("['"), "no Python lists: {out}");
}

#[test]
fn argument_errors_exit_2() {
    let output = cargo_eval(["diff", "only_one.json"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("Usage"), "{}", stderr(&output));
}

// ---------------------------------------------------------------------------------------------
// Stores written here, with explicit file times so that "saved last" never depends on timing.

fn minutes_ago(minutes: u64) -> SystemTime {
    SystemTime::now() - Duration::from_secs(60 * minutes)
}

fn rfc3339(when: SystemTime) -> String {
    time::OffsetDateTime::from(when)
        .format(&time::format_description::well_known::Rfc3339)
        .expect("a time formats")
}

/// Sets when `path` (a file or a directory) was last written.
fn set_modified(path: &Path, when: SystemTime) {
    File::open(path)
        .and_then(|file| file.set_modified(when))
        .unwrap_or_else(|e| panic!("cannot set the time of {}: {e}", path.display()));
}

/// A task graded by `feedback`.
fn task(id: &str, feedback: Vec<Feedback>) -> TaskRecord {
    let inputs = json!({ "input": format!("Weather in {id}?") });
    TaskRecord {
        task_id: id.to_owned(),
        content_hash: ContentHash::of(&inputs, &Value::Null),
        inputs,
        reference_outputs: Value::Null,
        tags: Vec::new(),
        metadata: Map::new(),
        trace: Trace::default(),
        feedback,
        budget_violation: false,
        scorer_traces: Vec::new(),
        trace_ref: None,
        outputs: json!("sunny"),
        attempt: None,
    }
}

/// A completed run of every task of `suite` (three tasks, all passing), started an hour ago.
fn complete_run(suite: &str, run_id: &str) -> RunResult {
    let meta = RunMeta {
        schema_version: eval_engine::result::SCHEMA_VERSION.to_owned(),
        run_id: run_id.to_owned(),
        label: None,
        created_at: rfc3339(minutes_ago(60)),
        duration_ms: 10,
        suite: SuiteInfo {
            name: suite.to_owned(),
            size: 3,
            source: "tests/data/weather.jsonl".to_owned(),
        },
        target: "evals::weather".to_owned(),
        concurrency: 4,
        status: RunStatus::Completed,
        selection: Some(Selection {
            filter: None,
            complete: true,
        }),
        repeats: 1,
        fewest_repeats: None,
        model: None,
        budgets: Budgets::default(),
        producer: None,
        git: None,
        scorers: vec![
            ScorerSpec::new("called_tool"),
            ScorerSpec::new("city_matches"),
            ScorerSpec::new("tone").advisory(),
        ],
        resumed: None,
        variant: None,
        regraded_from: None,
    };
    let passing = || {
        vec![
            Feedback::pass_fail("called_tool", true),
            Feedback::pass_fail("city_matches", true),
            Feedback::pass_fail("tone", true),
        ]
    };
    RunResult::new(
        meta,
        vec![
            task("paris", passing()),
            task("rome", passing()),
            task("tokyo", passing()),
        ],
    )
}

/// Saves `run` in the store at `root`, as written `minutes` ago.
fn save(root: &Path, run: &RunResult, minutes: u64) -> PathBuf {
    let path = Store::new(root).save(run).expect("the run saves");
    set_modified(&path, minutes_ago(minutes));
    path
}

/// A store with `weather` (01A complete, then 01B partial) and `travel` (01C, saved last).
fn three_runs(root: &Path) -> PathBuf {
    let first = save(root, &complete_run("weather", "01A"), 30);
    let mut partial = complete_run("weather", "01B");
    partial.meta.selection = Some(Selection {
        filter: Some("weather::paris".to_owned()),
        complete: false,
    });
    save(root, &partial, 20);
    save(root, &complete_run("travel", "01C"), 10);
    first
}

/// The `Run <id>` header line of what `show` printed.
fn shown_run_id(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(output));
    let out = stdout(output);
    out.lines()
        .next()
        .and_then(|line| line.strip_prefix("Run "))
        .unwrap_or_else(|| panic!("no `Run` header: {out}"))
        .to_owned()
}

#[test]
fn show_takes_a_file_a_run_id_a_suite_a_directory_or_last() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("store");
    let first = three_runs(&root);
    let store = root.as_os_str();
    let here = dir.path();

    let by_file = cargo_eval_in(here, None, [OsStr::new("show"), first.as_os_str()]);
    assert_eq!(shown_run_id(&by_file), "01A");
    assert!(
        stderr(&by_file).is_empty(),
        "a file needs no explanation: {}",
        stderr(&by_file)
    );

    let by_id = cargo_eval_in(
        here,
        None,
        [OsStr::new("show"), OsStr::new("01A"), OsStr::new("--store"), store],
    );
    assert_eq!(shown_run_id(&by_id), "01A");

    let by_suite = cargo_eval_in(
        here,
        None,
        [OsStr::new("show"), OsStr::new("weather"), OsStr::new("--store"), store],
    );
    assert_eq!(shown_run_id(&by_suite), "01B", "the suite's run saved last");
    assert!(
        stderr(&by_suite).contains("weather: run 01B of suite weather, the suite's run saved last"),
        "{}",
        stderr(&by_suite)
    );

    let suite_dir = root.join("weather");
    let by_suite_dir = cargo_eval_in(here, None, [OsStr::new("show"), suite_dir.as_os_str()]);
    assert_eq!(shown_run_id(&by_suite_dir), "01B");
    let by_store_dir = cargo_eval_in(here, None, [OsStr::new("show"), store]);
    assert_eq!(shown_run_id(&by_store_dir), "01C", "the store's run saved last");

    let last = cargo_eval_in(
        here,
        None,
        [OsStr::new("show"), OsStr::new("last"), OsStr::new("--store"), store],
    );
    assert_eq!(shown_run_id(&last), "01C");
    assert!(
        stderr(&last).contains(&format!(
            "last: run 01C of suite travel, the run saved last in {}",
            root.display()
        )),
        "{}",
        stderr(&last)
    );

    // EVAL_STORE_DIR when there is no --store; --store over it.
    let from_env = cargo_eval_in(here, Some(&root), ["show", "last"]);
    assert_eq!(shown_run_id(&from_env), "01C");
    let empty = dir.path().join("empty");
    fs::create_dir(&empty).expect("tempdir is writable");
    let flag_wins = cargo_eval_in(
        here,
        Some(&empty),
        [OsStr::new("show"), OsStr::new("01A"), OsStr::new("--store"), store],
    );
    assert_eq!(shown_run_id(&flag_wins), "01A");
    let empty_store = cargo_eval_in(here, Some(&empty), ["show", "last"]);
    assert_eq!(empty_store.status.code(), Some(2));
    assert!(
        stderr(&empty_store).contains(&format!("store {} holds no runs", empty.display())),
        "{}",
        stderr(&empty_store)
    );
}

#[test]
fn show_says_what_kind_of_run_it_was_and_lists_the_failing_pairs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();

    let complete = save(root, &complete_run("weather", "01DONE"), 30);
    let out = stdout(&cargo_eval([OsStr::new("show"), complete.as_os_str()]));
    assert!(
        out.contains("Kind:        complete: every task of the suite ran"),
        "{out}"
    );
    assert!(out.contains("Failing pairs: none"), "{out}");

    let mut resumed = complete_run("weather", "01RES");
    resumed.meta.status = RunStatus::Interrupted;
    resumed.meta.selection = Some(Selection {
        filter: Some("weather::paris".to_owned()),
        complete: false,
    });
    resumed.meta.resumed = Some(Resumed {
        from: "01RES".to_owned(),
        reused: 1,
    });
    let (meta, _) = resumed.into_parts();
    let resumed = RunResult::new(
        meta,
        vec![task(
            "paris",
            vec![
                Feedback::pass_fail("called_tool", true),
                Feedback::pass_fail("city_matches", false).with_comment("expected Paris,\n  answered Lyon"),
                Feedback::pass_fail("tone", false),
            ],
        )],
    );
    let path = save(root, &resumed, 20);
    let output = cargo_eval([OsStr::new("show"), path.as_os_str()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = stdout(&output);
    for line in [
        "Kind:\n  interrupted: not every selected task ran (resume with EVAL_RESUME=01RES)",
        "  partial: filter `weather::paris` selected 1 of the suite's 3 task(s)",
        "  resumed: 1 task record(s) reused from the journal of run 01RES",
        "Failing pairs (2):\n  paris · city_matches: expected Paris, answered Lyon\n  paris · tone (advisory)",
    ] {
        assert!(out.contains(line), "{line:?} in {out}");
    }

    let mut regrade = complete_run("weather", "01REGRADE");
    regrade.meta.regraded_from = Some("01DONE".to_owned());
    let (meta, mut tasks) = regrade.into_parts();
    tasks[2].feedback[1] = Feedback::ungradeable("city_matches", "no outputs to grade: the agent failed");
    let path = save(root, &RunResult::new(meta, tasks), 10);
    let out = stdout(&cargo_eval([OsStr::new("show"), path.as_os_str()]));
    assert!(
        out.contains(
            "Kind:\n  complete: every task of the suite ran\n  \
             regrade of run 01DONE: no agent ran; its stored outputs were graded again"
        ),
        "{out}"
    );
    assert!(
        out.contains("Failing pairs (1):\n  tokyo · city_matches (ungradeable): no outputs to grade: the agent failed"),
        "{out}"
    );
}

#[test]
fn an_unknown_suite_or_run_names_what_the_store_holds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("store");
    three_runs(&root);
    let output = cargo_eval_in(dir.path(), Some(&root), ["show", "01NOPE"]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains(&format!(
            "no suite or run `01NOPE` in store {}; it holds: travel (1 run(s), saved last: 01C), weather (2 run(s), saved last: 01B)",
            root.display()
        )),
        "{err}"
    );
    assert!(stdout(&output).is_empty());

    let missing = dir.path().join("nowhere");
    let output = cargo_eval_in(dir.path(), Some(&missing), ["show", "weather"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(&format!("there is no store at {}", missing.display())),
        "{}",
        stderr(&output)
    );
}

#[test]
fn the_default_store_is_under_the_target_directory_cargo_reports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let crate_dir = dir.path().join("probe");
    fs::create_dir_all(crate_dir.join("src")).expect("tempdir is writable");
    fs::write(
        crate_dir.join("Cargo.toml"),
        "[package]\nname = \"probe\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .expect("tempdir is writable");
    fs::write(crate_dir.join("src/lib.rs"), "").expect("tempdir is writable");
    let target = dir.path().join("target");
    save(&target.join("tmp/evals"), &complete_run("weather", "01A"), 5);

    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(env!("CARGO_BIN_EXE_cargo-eval"));
    command
        .args(["show", "last"])
        .current_dir(&crate_dir)
        .env_remove("EVAL_STORE_DIR")
        .env("CARGO", &cargo)
        .env("CARGO_TARGET_DIR", &target);
    let output = run_with_deadline(&mut command);
    assert_eq!(shown_run_id(&output), "01A");

    // Outside any package there is no default: the error says what to do instead.
    let outside = dir.path().join("outside");
    fs::create_dir(&outside).expect("tempdir is writable");
    let mut command = Command::new(env!("CARGO_BIN_EXE_cargo-eval"));
    command
        .args(["show", "last"])
        .current_dir(&outside)
        .env_remove("EVAL_STORE_DIR")
        .env("CARGO", &cargo);
    let output = run_with_deadline(&mut command);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("cannot find the default store: `"), "{err}");
    assert!(err.contains("pass --store DIR or set EVAL_STORE_DIR"), "{err}");
}

/// A nextest run directory of `suite` holding one cached task, written `minutes` ago.
fn nextest_dir(root: &Path, suite: &str, run_id: &str, minutes: u64) -> PathBuf {
    let dir = root.join(suite).join(format!("nextest-{run_id}"));
    let run = complete_run(suite, run_id);
    let header = json!({
        "nextest_run_id": run_id, "task_id": "paris", "position": 0,
        "suite": {"name": suite, "size": 1, "source": "inline"}, "target": "evals::weather",
        "repeats": 1, "budgets": {}, "created_at": rfc3339(minutes_ago(minutes)), "scorers": [],
    });
    let cached = dir.join("paris.task.json");
    eval_engine::__harness::save_task_records(&cached, &header, &run.tasks()[..1]).expect("the cache saves");
    fs::write(dir.join("paris.lock"), b"").expect("tempdir is writable");
    for path in [cached, dir.join("paris.lock"), dir.clone()] {
        set_modified(&path, minutes_ago(minutes));
    }
    dir
}

/// A journal of `run_id` written `minutes` ago.
fn journal(root: &Path, run_id: &str, minutes: u64) -> PathBuf {
    let path = root.join("weather").join(format!("{run_id}.journal.jsonl"));
    let header =
        json!({"run_id": run_id, "suite": "weather", "created_at": rfc3339(minutes_ago(minutes)), "scorers": []});
    fs::write(&path, format!("{header}\n")).expect("tempdir is writable");
    set_modified(&path, minutes_ago(minutes));
    path
}

fn every_path(root: &Path) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("the store lists") {
            let path = entry.expect("the store lists").path();
            if path.is_dir() {
                stack.push(path.clone());
            }
            paths.push(path.strip_prefix(root).expect("under the root").to_owned());
        }
    }
    paths.sort();
    paths
}

#[test]
fn gc_removes_exactly_the_leftovers_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("store");
    let mut older = complete_run("weather", "01OLD");
    older.meta.created_at = rfc3339(minutes_ago(120));
    save(&root, &older, 110);
    save(&root, &complete_run("weather", "01DONE"), 50);
    let abandoned = journal(&root, "01ABANDONED", 90);
    let live = journal(&root, "01LIVE", 90);
    let fresh = journal(&root, "01FRESH", 10);
    let old_nextest = nextest_dir(&root, "weather", "old", 30);
    let new_nextest = nextest_dir(&root, "weather", "new", 20);
    let stale_temp = root.join("weather/.01X.json.a1B2c3.tmp");
    fs::write(&stale_temp, b"{\"run_id\"").expect("tempdir is writable");
    set_modified(&stale_temp, minutes_ago(30));
    let fresh_temp = root.join("weather/.01Y.json.d4E5f6.tmp");
    fs::write(&fresh_temp, b"{").expect("tempdir is writable");
    // A run that is still going holds its journal's lock.
    let lock = File::options().append(true).open(&live).expect("the journal opens");
    lock.try_lock().expect("nobody else holds it");
    let before = every_path(&root);

    let store = root.as_os_str();
    let dry = cargo_eval([OsStr::new("gc"), OsStr::new("--store"), store, OsStr::new("--dry-run")]);
    assert_eq!(dry.status.code(), Some(0), "{}", stderr(&dry));
    assert_eq!(every_path(&root), before, "a dry run removes nothing");
    let expected = [
        format!(
            "{} (abandoned journal: run 01ABANDONED: last written before complete run 01DONE started)",
            abandoned.display()
        ),
        format!(
            "{} (superseded nextest directory: nextest run new came after it)",
            old_nextest.display()
        ),
        format!(
            "{} (temporary file: the write of 01X.json never finished)",
            stale_temp.display()
        ),
    ];
    let total = format!(
        "3 from {}: 1 abandoned journal, 1 superseded nextest directory, 1 temporary file",
        root.display()
    );
    let lines: Vec<String> = expected
        .iter()
        .map(|line| format!("would remove {line}"))
        .chain([format!("would remove {total}")])
        .collect();
    assert_eq!(stdout(&dry).lines().collect::<Vec<_>>(), lines);

    let gc = cargo_eval([OsStr::new("gc"), OsStr::new("--store"), store]);
    assert_eq!(gc.status.code(), Some(0), "{}", stderr(&gc));
    let lines: Vec<String> = expected
        .iter()
        .map(|line| format!("removed {line}"))
        .chain([format!("removed {total}")])
        .collect();
    assert_eq!(stdout(&gc).lines().collect::<Vec<_>>(), lines);
    let removed: Vec<PathBuf> = before
        .iter()
        .filter(|path| !root.join(path).exists())
        .cloned()
        .collect();
    let mut expected_removed = vec![
        PathBuf::from("weather/.01X.json.a1B2c3.tmp"),
        PathBuf::from("weather/01ABANDONED.journal.jsonl"),
        PathBuf::from("weather/nextest-old"),
        PathBuf::from("weather/nextest-old/paris.lock"),
        PathBuf::from("weather/nextest-old/paris.task.json"),
    ];
    expected_removed.sort();
    assert_eq!(removed, expected_removed, "exactly the leftovers went");
    for kept in [&live, &fresh, &new_nextest, &fresh_temp] {
        assert!(kept.exists(), "{} stays", kept.display());
    }

    let again = cargo_eval([OsStr::new("gc"), OsStr::new("--store"), store]);
    assert_eq!(
        stdout(&again).trim(),
        format!("nothing to remove in {}", root.display())
    );
    drop(lock);

    let nowhere = dir.path().join("nowhere");
    let output = cargo_eval([OsStr::new("gc"), OsStr::new("--store"), nowhere.as_os_str()]);
    assert_eq!(output.status.code(), Some(0));
    assert!(
        stdout(&output).contains("nothing to remove: there is no store at"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn show_assembles_a_nextest_directory_in_memory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let nextest = nextest_dir(dir.path(), "weather", "f81d4fae", 5);
    let output = cargo_eval([OsStr::new("show"), nextest.as_os_str()]);
    assert_eq!(shown_run_id(&output), "f81d4fae");
    assert!(
        stderr(&output).contains("assembled in memory from nextest directory"),
        "{}",
        stderr(&output)
    );
    assert!(
        !dir.path().join("weather/f81d4fae.json").exists(),
        "show writes nothing"
    );
}
