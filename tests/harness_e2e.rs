//! The harness end to end, run the way a user runs it.
//!
//! A user's crate in miniature (`tests/fixtures/e2e_crate`: two suites, a stub agent steered by
//! environment variables) is copied to a scratch directory and built once; its `evals` test
//! binary then runs as a subprocess with the command lines of cargo, rust-analyzer, the Test
//! Explorer and cargo-nextest. The assertions read what a user sees: exit code, per-test lines,
//! failure messages, the summary, the snapshot files, the run JSON, and how often the agent ran.
//!
//! The scratch crate lives at a fixed place under cargo's `CARGO_TARGET_TMPDIR` (never in the
//! source tree) and builds into a target directory next to it: the dependencies compile once per
//! machine, and the crate itself is not rebuilt by every test process, as it would be under a
//! fresh path each time. Scenarios share that crate, so each holds a lock while it runs (a mutex
//! for the threads of this process, a file lock for nextest's one process per test).

#[path = "support/junit_schema.rs"]
mod junit_schema;
#[path = "support/venv.rs"]
mod venv;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, SystemTime};

const WEATHER_TASKS: [&str; 5] = ["paris", "paris_2", "rome", "tokyo", "atlantis"];
const WEATHER_SCORERS: [&str; 3] = ["called_tool", "city_matches", "answer_length"];
const MANY_TASKS: usize = 64;
const WEATHER_SNAPSHOT: &str = "tests/snapshots/evals__weather.snap";
/// The stub agent fails this pair unless steered: a known failure once accepted.
const WEAK_PAIR: &str = "weather::atlantis::city_matches";

// ---------------------------------------------------------------------------------------------
// The scenarios.

#[test]
fn every_pair_gets_its_own_test_line_and_the_run_is_saved() {
    let scenario = Scenario::start();
    let run = scenario.run(&[], &[]);

    let mut expected = all_pairs_ok();
    expected.insert(WEAK_PAIR.to_owned(), "FAILED".to_owned());
    assert_eq!(run.results(), expected, "{run}");
    assert_eq!(run.code(), 101, "{run}");
    assert!(
        run.failure(WEAK_PAIR)
            .contains("new failure: `city_matches` gives fail on task `atlantis`"),
        "{run}"
    );

    let mut agents_started = scenario.take_calls();
    agents_started.sort();
    let mut every_task: Vec<String> = WEATHER_TASKS.iter().map(|t| format!("weather {t}")).collect();
    every_task.extend(many_task_ids().map(|t| format!("many {t}")));
    every_task.sort();
    assert_eq!(agents_started, every_task, "each agent runs once");

    let weather = run.saved_run("weather");
    assert!(
        weather.path.starts_with(scenario.store_dir()),
        "{}",
        weather.path.display()
    );
    let tasks: Vec<&str> = weather.run.tasks().iter().map(|t| t.task_id.as_str()).collect();
    assert_eq!(tasks.len(), WEATHER_TASKS.len());
    for task in weather.run.tasks() {
        let keys: Vec<&str> = task.feedback.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, WEATHER_SCORERS, "task {}", task.task_id);
    }
    let weak = weather
        .run
        .task("atlantis")
        .and_then(|t| t.feedback_for("city_matches"))
        .unwrap();
    assert_eq!(weak.as_bool(), Some(false));
    assert_eq!(
        weak.comment.as_deref(),
        Some("expected Atlantis, answered the sunken city")
    );
    assert_eq!(run.saved_run("many").run.tasks().len(), MANY_TASKS);
}

#[test]
fn list_prints_every_pair_and_starts_no_agent() {
    let scenario = Scenario::start();
    let run = scenario.run(&["--list"], &[]);

    assert_eq!(run.code(), 0, "{run}");
    let lines: Vec<&str> = run.stdout.lines().filter(|line| !line.is_empty()).collect();
    let listed: BTreeSet<String> = lines
        .iter()
        .filter_map(|line| line.strip_suffix(": test"))
        .map(|name| name.to_owned())
        .collect();
    assert_eq!(listed.len(), lines.len(), "only `<name>: test` lines: {run}");
    let mut every_test: BTreeSet<String> = all_pairs_ok().into_keys().collect();
    for gate in [
        "weather::gate::called_tool",
        "weather::gate::city_matches",
        "weather::gate::answer_length",
        "many::gate::called_tool",
    ] {
        every_test.insert(gate.to_owned());
    }
    assert_eq!(listed, every_test, "every pair and every suite gate: {run}");
    assert!(scenario.take_calls().is_empty(), "no agent may start");
    assert!(!scenario.store_dir().exists(), "no run is saved");
    assert!(
        !scenario.crate_dir.join("tests/snapshots").exists(),
        "no snapshot is written"
    );
}

/// The command lines rust-analyzer and its Test Explorer issue, and what each one runs.
#[test]
fn ide_command_lines_run_the_intended_pairs_and_only_their_agents() {
    let scenario = Scenario::start();

    // "Run test" on one pair.
    let run = scenario.run(
        &[
            "weather::paris::called_tool",
            "--exact",
            "--nocapture",
            "--include-ignored",
        ],
        &[],
    );
    assert_eq!(
        run.results(),
        outcomes(&[("weather::paris::called_tool", "ok")]),
        "{run}"
    );
    assert_eq!(scenario.take_calls(), ["weather paris"]);

    // "Run" on a task module: libtest's substring rule also takes `paris_2`.
    let run = scenario.run(&["weather::paris", "--nocapture"], &[]);
    assert_eq!(run.results(), pairs_of(&["paris", "paris_2"], "ok"), "{run}");
    assert_eq!(sorted(scenario.take_calls()), ["weather paris", "weather paris_2"]);

    // `--exact` on a task path: all of its pairs, nothing else.
    let run = scenario.run(&["--exact", "weather::paris"], &[]);
    assert_eq!(run.results(), pairs_of(&["paris"], "ok"), "{run}");
    assert_eq!(scenario.take_calls(), ["weather paris"]);

    // `--exact` on a suite path: all of its pairs, none of the other suite's.
    let mut every_weather_pair = pairs_of(&WEATHER_TASKS, "ok");
    every_weather_pair.insert(WEAK_PAIR.to_owned(), "FAILED".to_owned());
    let run = scenario.run(&["--exact", "weather"], &[]);
    assert_eq!(run.results(), every_weather_pair, "{run}");
    assert_eq!(scenario.take_calls().len(), WEATHER_TASKS.len());

    // The Test Explorer runs a suite with JSON output.
    let run = scenario.run(
        &["weather", "-Z", "unstable-options", "--format=json", "--nocapture"],
        &[("RUSTC_BOOTSTRAP", "1")],
    );
    let finished: BTreeMap<String, String> = run
        .json_events()
        .into_iter()
        .filter(|e| e["type"] == "test" && e["event"] != "started")
        .filter(|e| !e["name"].as_str().unwrap().contains("::gate::"))
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_owned(),
                e["event"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut expected = pairs_of(&WEATHER_TASKS, "ok");
    expected.insert(WEAK_PAIR.to_owned(), "failed".to_owned());
    assert_eq!(finished, expected, "{run}");
    let weather_tasks: Vec<String> = WEATHER_TASKS.iter().map(|t| format!("weather {t}")).collect();
    assert_eq!(
        sorted(scenario.take_calls()),
        sorted(weather_tasks),
        "no agent of `many` starts"
    );
}

#[test]
fn json_format_keeps_stdout_pure_json_even_when_insta_writes() {
    let scenario = Scenario::start();
    let json = ["--format", "json", "-Z", "unstable-options"];

    // No baseline yet: insta records a pending snapshot, and would print its diff to stdout.
    let run = scenario.run(&json, &[]);
    let events = run.json_events();
    assert!(
        events.iter().any(|e| e["name"] == WEAK_PAIR && e["event"] == "failed"),
        "{run}"
    );
    assert!(scenario.pending("weather").exists(), "insta wrote the pending snapshot");
    assert!(run.stderr.contains("eval summary"), "the summary goes to stderr: {run}");
    assert_eq!(run.code(), 101, "{run}");

    // A regression: its failure message travels inside the JSON.
    scenario.accept_pending_by_renaming();
    let run = scenario.run(&json, &[("E2E_WRONG", "paris")]);
    let events = run.json_events();
    let regression = events
        .iter()
        .find(|e| e["name"] == "weather::paris::city_matches" && e["event"] == "failed")
        .unwrap_or_else(|| panic!("{run}"));
    assert!(regression["stdout"].as_str().unwrap().contains("regression"), "{run}");
    assert!(run.stderr.contains("regressions:"), "{run}");
}

#[test]
fn a_scorer_flipping_to_fail_fails_exactly_its_pair() {
    let scenario = Scenario::start();
    let first = scenario.run(&[], &[]);
    assert_eq!(
        first.results().get(WEAK_PAIR).map(String::as_str),
        Some("FAILED"),
        "{first}"
    );
    scenario.accept_pending_by_renaming();
    let accepted = fs::read(scenario.crate_dir.join(WEATHER_SNAPSHOT)).unwrap();

    let run = scenario.run(&[], &[("E2E_WRONG", "paris")]);

    let mut expected = all_pairs_ok();
    expected.insert("weather::paris::city_matches".to_owned(), "FAILED".to_owned());
    expected.insert(WEAK_PAIR.to_owned(), "ignored (known failure)".to_owned());
    assert_eq!(run.results(), expected, "{run}");
    assert_eq!(run.code(), 101, "{run}");
    let message = run.failure("weather::paris::city_matches");
    assert!(message.starts_with("regression:"), "{message}");
    assert!(message.contains(WEATHER_SNAPSHOT), "names the baseline file: {message}");
    assert!(
        message.contains("expected Paris, answered Nowhere"),
        "names the comment: {message}"
    );

    let summary = run.summary();
    assert!(summary.contains("1 regression(s)"), "{summary}");
    assert!(
        summary.contains("  regressions:\n    paris · city_matches: pass → fail — expected Paris, answered Nowhere"),
        "{summary}"
    );
    let saved = run.saved_run("weather");
    let flipped = saved
        .run
        .task("paris")
        .and_then(|t| t.feedback_for("city_matches"))
        .unwrap();
    assert_eq!(flipped.as_bool(), Some(false));

    // The committed baseline is left alone; the change waits for review.
    assert_eq!(fs::read(scenario.crate_dir.join(WEATHER_SNAPSHOT)).unwrap(), accepted);
    let pending = fs::read_to_string(scenario.pending("weather")).unwrap();
    assert_eq!(
        scorecard_verdict(&pending, "paris", "city_matches"),
        Some("fail"),
        "{pending}"
    );
}

#[test]
fn a_known_failure_is_ignored_and_an_improvement_is_reported_for_review() {
    let scenario = Scenario::start();
    scenario.run(&[], &[]);
    scenario.accept_pending_by_renaming();

    let run = scenario.run(&[], &[]);
    let mut expected = all_pairs_ok();
    expected.insert(WEAK_PAIR.to_owned(), "ignored (known failure)".to_owned());
    assert_eq!(run.results(), expected, "{run}");
    assert_eq!(run.code(), 0, "{run}");
    assert!(run.summary().contains("1 known failure(s)"), "{run}");
    assert!(
        run.summary()
            .contains(&format!("baseline: {WEATHER_SNAPSHOT} (unchanged)")),
        "{run}"
    );
    assert!(!scenario.pending("weather").exists(), "nothing to review");

    let run = scenario.run(&[], &[("E2E_FIX", "atlantis")]);
    assert_eq!(run.results(), all_pairs_ok(), "{run}");
    assert_eq!(run.code(), 0, "{run}");
    assert!(
        run.summary()
            .contains("  improvements:\n    atlantis · city_matches: fail → pass\n"),
        "{run}"
    );
    let pending = fs::read_to_string(scenario.pending("weather")).unwrap();
    assert_eq!(
        scorecard_verdict(&pending, "atlantis", "city_matches"),
        Some("pass"),
        "{pending}"
    );
}

#[test]
fn a_failing_pair_missing_from_the_baseline_is_a_new_failure() {
    let scenario = Scenario::start();
    // A baseline recorded by a filtered run holds only the pairs that ran.
    scenario.run(&["--exact", "weather::paris"], &[]);
    let pending = fs::read_to_string(scenario.pending("weather")).unwrap();
    assert_eq!(
        scorecard_verdict(&pending, "paris", "city_matches"),
        Some("pass"),
        "{pending}"
    );
    assert_eq!(scorecard_verdict(&pending, "rome", "city_matches"), None, "{pending}");
    scenario.accept_pending_by_renaming();

    let run = scenario.run(&["weather"], &[("E2E_WRONG", "rome")]);
    let mut expected = pairs_of(&WEATHER_TASKS, "ok");
    expected.insert("weather::rome::city_matches".to_owned(), "FAILED".to_owned());
    expected.insert(WEAK_PAIR.to_owned(), "FAILED".to_owned());
    assert_eq!(run.results(), expected, "{run}");
    assert_eq!(run.code(), 101, "{run}");
    let message = run.failure("weather::rome::city_matches");
    assert!(message.starts_with("new failure:"), "{message}");
    assert!(message.contains("the baseline has no entry for it"), "{message}");
    assert!(message.contains("expected Rome, answered Nowhere"), "{message}");
    assert!(run.summary().contains("  new failures:\n"), "{run}");
    assert!(
        run.summary().contains("    rome · city_matches: fail — expected Rome"),
        "{run}"
    );

    // A task whose content changed since the baseline is judged as new, not as known.
    scenario.run(&[], &[]);
    scenario.accept_pending_by_renaming();
    let dataset = scenario.crate_dir.join("tests/data/weather.jsonl");
    let original = fs::read_to_string(&dataset).unwrap();
    let _restore = FileRestorer::new(&dataset);
    fs::write(
        &dataset,
        original.replace("weather in the sunken city", "weather in the drowned city"),
    )
    .unwrap();
    let run = scenario.run(&["weather::atlantis"], &[]);
    assert_eq!(
        run.results().get(WEAK_PAIR).map(String::as_str),
        Some("FAILED"),
        "{run}"
    );
    assert!(
        run.failure(WEAK_PAIR)
            .contains("the task's content changed since the baseline"),
        "{run}"
    );
}

#[test]
fn ci_writes_nothing_next_to_the_sources_and_still_gates() {
    let scenario = Scenario::start();
    let ci = ("CI", "true");

    let before = scenario.source_tree();
    let run = scenario.run(&[], &[ci]);
    assert_eq!(
        run.results().get(WEAK_PAIR).map(String::as_str),
        Some("FAILED"),
        "{run}"
    );
    assert_eq!(run.code(), 101, "{run}");
    assert_eq!(scenario.source_tree(), before, "no baseline is created in CI");
    assert!(run.summary().contains("not written"), "{run}");

    scenario.run(&[], &[]);
    scenario.accept_pending_by_renaming();
    let before = scenario.source_tree();

    let run = scenario.run(&[], &[ci]);
    let mut expected = all_pairs_ok();
    expected.insert(WEAK_PAIR.to_owned(), "ignored (known failure)".to_owned());
    assert_eq!(run.results(), expected, "{run}");
    assert_eq!(run.code(), 0, "the known failure does not gate: {run}");

    let run = scenario.run(&[], &[ci, ("E2E_WRONG", "paris")]);
    expected.insert("weather::paris::city_matches".to_owned(), "FAILED".to_owned());
    assert_eq!(run.results(), expected, "{run}");
    assert!(
        run.failure("weather::paris::city_matches").starts_with("regression:"),
        "{run}"
    );
    assert_eq!(run.code(), 101, "{run}");
    assert_eq!(scenario.source_tree(), before, "no pending snapshot in CI");
}

#[test]
fn accepting_with_cargo_insta_makes_the_next_run_green() {
    let Some(cargo_insta) = cargo_insta() else { return };
    let scenario = Scenario::start();
    let first = scenario.run(&[], &[]);
    assert_eq!(first.code(), 101, "{first}");

    let mut accept = scenario.command(&cargo_insta.program);
    let accepted = run_to_end(accept.args(&cargo_insta.args).arg("accept"));
    assert!(accepted.status.success(), "{}", Run::from(accepted));
    assert!(!scenario.pending("weather").exists());
    assert!(scenario.crate_dir.join(WEATHER_SNAPSHOT).exists());

    let run = scenario.run(&[], &[]);
    assert_eq!(run.code(), 0, "{run}");
    assert_eq!(
        run.results().get(WEAK_PAIR).map(String::as_str),
        Some("ignored (known failure)"),
        "{run}"
    );
    assert!(!scenario.pending("weather").exists(), "{run}");
}

#[test]
fn insta_update_always_replaces_the_baseline_whole_and_leaves_nothing_pending() {
    let scenario = Scenario::start();
    let baseline = scenario.crate_dir.join(WEATHER_SNAPSHOT);
    let first = scenario.run(&["weather"], &[("INSTA_UPDATE", "always")]);
    assert!(first.summary().contains("updated"), "{first}");
    assert!(baseline.exists(), "{first}");
    assert!(!scenario.pending("weather").exists(), "{first}");
    assert_eq!(
        scorecard_verdict(&fs::read_to_string(&baseline).unwrap(), "atlantis", "city_matches"),
        Some("fail")
    );

    // A changed scorecard replaces the file by a rename of the new one over it (a new inode),
    // never by rewriting it where it is, which a crash could leave half written.
    let inode = |path: &Path| std::os::unix::fs::MetadataExt::ino(&fs::metadata(path).unwrap());
    let before = inode(&baseline);
    let fixed = scenario.run(&["weather"], &[("INSTA_UPDATE", "always"), ("E2E_FIX", "atlantis")]);
    assert_eq!(fixed.code(), 0, "{fixed}");
    assert_ne!(inode(&baseline), before, "replaced whole, not rewritten in place");
    let text = fs::read_to_string(&baseline).unwrap();
    assert_eq!(
        scorecard_verdict(&text, "atlantis", "city_matches"),
        Some("pass"),
        "{text}"
    );
    assert!(text.starts_with("---\n"), "insta's header is kept: {text}");
    assert!(!scenario.pending("weather").exists(), "{fixed}");
    let next = scenario.run(&["weather"], &[("E2E_FIX", "atlantis")]);
    assert!(next.summary().contains("(unchanged)"), "insta reads it back: {next}");
}

#[test]
fn nextest_runs_each_pair_in_its_own_process_with_the_same_outcomes() {
    if !cargo_subcommand_works("nextest") {
        skip("cargo-nextest is not installed");
        return;
    }
    let scenario = Scenario::start();
    let cargo_test_run = scenario.run(&[], &[]).saved_run("weather").run;
    scenario.accept_pending_by_renaming();
    let before = scenario.source_tree();

    let green = scenario.nextest(&[]);
    let mut expected = pairs_of(&WEATHER_TASKS, "PASS");
    assert_eq!(green.nextest_results(), expected, "{green}");
    assert!(green.status.success(), "{green}");

    let shared_dirs = scenario.nextest_run_dirs("weather");
    assert_eq!(
        shared_dirs.len(),
        1,
        "one shared directory per nextest run: {shared_dirs:?}"
    );
    let assembled = scenario.assemble(&shared_dirs[0]);
    assert_eq!(assembled.meta.suite.name, "weather");
    assert_eq!(assembled.meta.status, eval_engine::result::RunStatus::Completed);
    let task_ids = |run: &eval_engine::RunResult| run.tasks().iter().map(|t| t.task_id.clone()).collect::<Vec<_>>();
    assert_eq!(task_ids(&assembled), task_ids(&cargo_test_run));
    assert_eq!(verdicts(&assembled), verdicts(&cargo_test_run));
    let fragments = fs::read_dir(&shared_dirs[0])
        .unwrap()
        .filter(|entry| {
            entry
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".pair.json")
        })
        .count();
    assert_eq!(fragments, WEATHER_TASKS.len() * WEATHER_SCORERS.len());

    let red = scenario.nextest(&[("E2E_WRONG", "paris")]);
    expected.insert("weather::paris::city_matches".to_owned(), "FAIL".to_owned());
    assert_eq!(red.nextest_results(), expected, "{red}");
    assert!(!red.status.success(), "{red}");
    assert!(red.all_output().contains("regression:"), "{red}");
    let after_red = scenario.nextest_run_dirs("weather");
    assert_eq!(
        after_red.len(),
        1,
        "the newer run superseded the older directory: {after_red:?}"
    );
    assert_ne!(after_red[0], shared_dirs[0]);

    assert_eq!(scenario.source_tree(), before, "no baseline is written under nextest");
}

#[test]
fn under_nextest_each_agent_runs_once() {
    if !cargo_subcommand_works("nextest") {
        skip("cargo-nextest is not installed");
        return;
    }
    let scenario = Scenario::start();
    let run = scenario.nextest(&[]);
    assert_eq!(
        run.nextest_results().len(),
        WEATHER_TASKS.len() * WEATHER_SCORERS.len(),
        "{run}"
    );
    // The gates' processes read the tasks other processes ran: no agent runs twice.
    assert!(
        run.all_output().contains("PASS") && run.all_output().contains("weather::gate::city_matches"),
        "{run}"
    );
    let weather_tasks: Vec<String> = WEATHER_TASKS.iter().map(|t| format!("weather {t}")).collect();
    assert_eq!(sorted(scenario.take_calls()), sorted(weather_tasks));
}

#[test]
fn sixty_four_slow_agents_each_run_once_with_two_test_threads() {
    let scenario = Scenario::start();
    let run = scenario.run(&["many", "--test-threads=2"], &[("E2E_SLEEP_MS", "200")]);

    let every_many_pair: BTreeMap<String, String> = many_task_ids()
        .map(|t| (format!("many::{t}::called_tool"), "ok".to_owned()))
        .collect();
    assert_eq!(run.results(), every_many_pair, "{run}");
    assert_eq!(run.code(), 0, "{run}");
    let expected: Vec<String> = many_task_ids().map(|t| format!("many {t}")).collect();
    assert_eq!(sorted(scenario.take_calls()), expected, "each agent runs exactly once");
    assert_eq!(run.saved_run("many").run.meta.concurrency, 64);
}

#[test]
fn a_corrupt_baseline_is_a_failing_test_and_the_pairs_still_run() {
    let scenario = Scenario::start();
    scenario.run(&[], &[]);
    scenario.accept_pending_by_renaming();
    let snapshot = scenario.crate_dir.join(WEATHER_SNAPSHOT);
    let text = fs::read_to_string(&snapshot).unwrap();
    fs::write(
        &snapshot,
        text.replacen(
            " called_tool pass\n",
            " called_tool pass\nthis line was edited by hand\n",
            1,
        ),
    )
    .unwrap();

    let run = scenario.run(&[], &[]);
    assert_eq!(run.code(), 101, "a failing test, not a crash: {run}");
    assert!(!run.stderr.contains("panicked"), "{run}");
    let message = run.failure("weather::baseline");
    assert!(message.contains(WEATHER_SNAPSHOT), "names the file: {message}");
    assert!(message.contains(": line "), "names the line: {message}");
    let results = run.results();
    assert_eq!(results.get("weather::baseline").map(String::as_str), Some("FAILED"));
    for pair in all_pairs_ok().keys() {
        assert!(results.contains_key(pair), "{pair} still runs: {run}");
    }
    assert_eq!(
        results.get("weather::paris::city_matches").map(String::as_str),
        Some("ok")
    );
    let failing = run.failure("weather::atlantis::city_matches");
    assert!(
        failing.contains("the baseline could not be read"),
        "says why there is no entry: {failing}"
    );
}

#[test]
fn a_corrupt_baseline_names_the_line_of_the_file() {
    let scenario = Scenario::start();
    scenario.run(&[], &[]);
    scenario.accept_pending_by_renaming();
    let snapshot = scenario.crate_dir.join(WEATHER_SNAPSHOT);
    let text = fs::read_to_string(&snapshot).unwrap();
    let edited = text.replacen(
        " called_tool pass\n",
        " called_tool pass\nthis line was edited by hand\n",
        1,
    );
    let line = edited
        .lines()
        .position(|l| l == "this line was edited by hand")
        .unwrap()
        + 1;
    fs::write(&snapshot, edited).unwrap();

    let run = scenario.run(&["weather"], &[]);
    let message = run.failure("weather::baseline");
    assert!(
        message.contains(&format!(": line {line}:")),
        "the file's line {line}: {message}"
    );
}

#[test]
fn a_full_disk_under_insta_update_always_keeps_the_baseline_and_says_what_failed() {
    use std::os::unix::process::CommandExt as _;
    let scenario = Scenario::start();
    let baseline = scenario.crate_dir.join(WEATHER_SNAPSHOT);
    let first = scenario.run(&["weather"], &[("INSTA_UPDATE", "always")]);
    assert!(first.summary().contains("updated"), "{first}");
    let before = fs::read(&baseline).unwrap();

    // No file may grow past half the baseline: insta's write of the changed scorecard stops
    // there, as it would on a full disk (`EFBIG` instead of `ENOSPC`).
    let limit = (before.len() / 2) as libc::rlim_t;
    let mut command = scenario.command(&scenario.binary);
    command
        .arg("weather")
        .env("INSTA_UPDATE", "always")
        .env("E2E_FIX", "atlantis");
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            let rlimit = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &rlimit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Without this the kernel kills the writer with SIGXFSZ instead of failing the write.
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let full = Run::from(run_to_end(&mut command));
    assert!(!full.stderr.contains("panicked"), "{full}");
    let summary = full.summary();
    assert!(
        summary.contains("could not be updated (it is left as it was)")
            && summary.contains("evals__weather.snap.new is not the one asked for: line ")
            && summary.contains("File too large"),
        "{full}"
    );
    assert!(!summary.contains("updated\n"), "{full}");
    assert_eq!(fs::read(&baseline).unwrap(), before, "the baseline is untouched");
    assert!(
        !scenario.pending("weather").exists(),
        "no cut-short file is left for review"
    );
    let next = scenario.run(&["weather"], &[]);
    assert!(next.summary().contains("(unchanged)"), "it still reads whole: {next}");
}

#[test]
fn a_baseline_that_does_not_read_whole_or_belongs_elsewhere_fails_its_test() {
    let scenario = Scenario::start();
    scenario.run(&[], &[("INSTA_UPDATE", "always")]);
    let snapshot = scenario.crate_dir.join(WEATHER_SNAPSHOT);
    let text = fs::read_to_string(&snapshot).unwrap();
    let other_suite = fs::read_to_string(scenario.crate_dir.join("tests/snapshots/evals__many.snap")).unwrap();
    let last_entry = text.find("\n\n# Pass rates").unwrap() + 1;
    let cases = [
        (
            format!("<<<<<<< HEAD\n{text}=======\n{text}>>>>>>> other\n"),
            "line 1: a merge conflict marker (`<<<<<<< HEAD`)".to_owned(),
        ),
        (
            text[..last_entry].to_owned(),
            format!(
                "line {}: the scorecard ends without its `# Pass rates` section",
                text[..last_entry].lines().count()
            ),
        ),
        (
            other_suite.clone(),
            format!(
                "line {}: it is the scorecard of suite `many`, not of `weather`",
                other_suite.lines().position(|l| l.starts_with("description:")).unwrap() + 1
            ),
        ),
    ];
    for (contents, expected) in cases {
        fs::write(&snapshot, &contents).unwrap();
        let run = scenario.run(&["weather"], &[]);
        let message = run.failure("weather::baseline");
        assert!(
            message.contains(&format!("{WEATHER_SNAPSHOT}: {expected}")),
            "{expected}: {message}"
        );
        assert!(!run.stderr.contains("panicked"), "{run}");
        // Every pair is judged as if there were no baseline, and nothing replaced the file.
        assert!(
            run.failure(WEAK_PAIR).contains("the baseline could not be read"),
            "{run}"
        );
        assert_eq!(fs::read_to_string(&snapshot).unwrap(), contents);
    }
    // A run of one task would replace the unreadable file with a scorecard of that task alone.
    let partial = scenario.run(&["weather::paris::"], &[("INSTA_UPDATE", "always")]);
    assert!(
        partial
            .summary()
            .contains("not written: the baseline could not be read and this run covers only part of the suite"),
        "{partial}"
    );
    assert_eq!(fs::read_to_string(&snapshot).unwrap(), other_suite);
}

#[test]
fn a_malformed_dataset_line_is_a_failing_load_test() {
    let scenario = Scenario::start();
    let dataset = scenario.crate_dir.join("tests/data/weather.jsonl");
    let _restore = FileRestorer::new(&dataset);
    let mut lines: Vec<String> = fs::read_to_string(&dataset)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    lines[2] = r#"{"task_id": "rome", "inputs": {"input": "forecast in Rome""#.to_owned();
    fs::write(&dataset, lines.join("\n") + "\n").unwrap();

    let run = scenario.run(&[], &[]);
    assert_eq!(run.code(), 101, "{run}");
    let results = run.results();
    assert_eq!(
        results.get("weather::load").map(String::as_str),
        Some("FAILED"),
        "{run}"
    );
    let message = run.failure("weather::load");
    assert!(
        message.contains("tests/data/weather.jsonl:3:"),
        "names the file and line: {message}"
    );
    let many_pairs = results.keys().filter(|name| name.starts_with("many::")).count();
    assert_eq!(many_pairs, MANY_TASKS, "the other suite still runs: {run}");
    assert!(scenario.take_calls().iter().all(|call| call.starts_with("many ")));
}

#[test]
fn an_emptied_dataset_is_a_failing_load_test_naming_the_file() {
    let scenario = Scenario::start();
    scenario.run(&["weather"], &[]);
    scenario.accept_pending_by_renaming();
    let baseline = scenario.crate_dir.join(WEATHER_SNAPSHOT);
    let accepted = fs::read(&baseline).unwrap();
    scenario.take_calls();

    let dataset = scenario.crate_dir.join("tests/data/weather.jsonl");
    let _restore = FileRestorer::new(&dataset);
    for emptied in ["", "\n  \n\t\n"] {
        fs::write(&dataset, emptied).unwrap();
        let run = scenario.run(&[], &[]);
        assert_eq!(run.code(), 101, "{emptied:?}: {run}");
        let results = run.results();
        let weather: Vec<&String> = results.keys().filter(|name| name.starts_with("weather::")).collect();
        assert_eq!(weather, ["weather::load"], "{run}");
        assert_eq!(results["weather::load"], "FAILED", "{run}");
        let message = run.failure("weather::load");
        assert!(
            message.contains("suite `weather` has no tasks: dataset file ")
                && message.contains("tests/data/weather.jsonl holds no task"),
            "names the file: {message}"
        );
        assert!(
            message.contains("evals__weather.snap still holds 15 pair(s)"),
            "{message}"
        );
        assert!(scenario.take_calls().iter().all(|call| call.starts_with("many ")));
        assert!(!run.summary().contains("\nweather: "), "{run}");
        // The baseline stays as it was, and nothing waits for review.
        assert_eq!(fs::read(&baseline).unwrap(), accepted, "{run}");
        assert!(!scenario.pending("weather").exists(), "{run}");
    }
}

#[test]
fn the_pairs_of_a_task_removed_since_the_baseline_are_named_in_the_summary() {
    let scenario = Scenario::start();
    scenario.run(&["weather"], &[]);
    scenario.accept_pending_by_renaming();
    let dataset = scenario.crate_dir.join("tests/data/weather.jsonl");
    let _restore = FileRestorer::new(&dataset);
    let original = fs::read_to_string(&dataset).unwrap();
    let without_rome: String = original
        .lines()
        .filter(|line| !line.contains(r#""task_id": "rome""#))
        .map(|line| format!("{line}\n"))
        .collect();
    assert_eq!(without_rome.lines().count(), WEATHER_TASKS.len() - 1);
    fs::write(&dataset, without_rome).unwrap();
    let gone = "    rome · answer_length\n    rome · called_tool\n    rome · city_matches\n";

    // A run of part of the suite merges into the baseline: the vanished pairs stay in it.
    let run = scenario.run(&["weather::paris"], &[]);
    assert_eq!(run.code(), 0, "{run}");
    let expected = format!(
        "  gone since the baseline (3; their task or scorer is no longer in the suite; a run of part of the suite \
         keeps them in the scorecard; a run of all of it drops them):\n{gone}"
    );
    assert!(run.summary().contains(&expected), "{run}");
    assert!(!scenario.pending("weather").exists(), "{run}");

    // A run of all of it replaces the baseline's scorecard: they drop out.
    let run = scenario.run(&["weather"], &[]);
    assert_eq!(run.code(), 0, "{run}");
    assert!(!run.results().keys().any(|name| name.contains("::rome::")), "{run}");
    let expected = format!(
        "  gone since the baseline (3; their task or scorer is no longer in the suite; the new scorecard drops \
         them):\n{gone}"
    );
    assert!(run.summary().contains(&expected), "{run}");
    let pending = fs::read_to_string(scenario.pending("weather")).unwrap();
    assert_eq!(scorecard_verdict(&pending, "rome", "city_matches"), None, "{pending}");
    assert_eq!(
        scorecard_verdict(&pending, "paris", "city_matches"),
        Some("pass"),
        "{pending}"
    );
}

#[test]
fn a_killed_run_resumes_without_running_its_finished_tasks_again() {
    let scenario = Scenario::start();
    let uninterrupted = scenario.run(&["weather"], &[]);
    let expected_verdicts = verdicts(&uninterrupted.saved_run("weather").run);
    scenario.take_calls();

    // Four agents run at once (the suite's concurrency); the fifth starts as they finish.
    let mut child = scenario.spawn(&["weather"], &[("E2E_SLEEP_MS", "1500")]);
    let journal = scenario.wait_for_journaled_tasks("weather", &mut child);
    child.kill().unwrap();
    child.wait().unwrap();
    let finished = journaled_task_ids(&journal);
    assert!(
        !finished.is_empty() && finished.len() < WEATHER_TASKS.len(),
        "killed half-way: {finished:?}"
    );
    scenario.take_calls();

    let resumed = scenario.run(&["weather"], &[("EVAL_RESUME", "last")]);
    let killed_id = journal
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .trim_end_matches(".journal.jsonl");
    assert!(
        resumed.stderr.contains(&format!(
            "EVAL_RESUME=last: resuming run {killed_id} of suite weather (the newest journal, written after the latest complete run {} started)",
            uninterrupted.saved_run("weather").run.run_id()
        )),
        "{resumed}"
    );
    let ran_again: BTreeSet<String> = scenario
        .take_calls()
        .into_iter()
        .map(|call| call.trim_start_matches("weather ").to_owned())
        .collect();
    assert!(ran_again.is_disjoint(&finished), "{ran_again:?} vs {finished:?}");
    let every_task: BTreeSet<String> = WEATHER_TASKS.iter().map(|t| (*t).to_owned()).collect();
    assert_eq!(&ran_again | &finished, every_task);

    let saved = resumed.saved_run("weather");
    let ids: Vec<&str> = saved.run.tasks().iter().map(|t| t.task_id.as_str()).collect();
    assert_eq!(ids, WEATHER_TASKS, "every task, in suite order: {resumed}");
    let resumed_from = saved.run.meta.resumed.as_ref().expect("the run says it was resumed");
    assert_eq!(resumed_from.reused, finished.len());
    assert!(
        resumed.summary().contains(&format!(
            "resumed run {}: {} task record(s) reused from its journal",
            resumed_from.from,
            finished.len()
        )),
        "{resumed}"
    );
    assert_eq!(
        saved.path.file_stem().unwrap().to_str(),
        Some(resumed_from.from.as_str())
    );
    assert_eq!(saved.run.meta.status, eval_engine::result::RunStatus::Completed);
    assert_eq!(verdicts(&saved.run), expected_verdicts);
    assert!(!journal.exists(), "the journal is removed once the run is saved");
    assert_eq!(resumed.results(), uninterrupted.results(), "{resumed}");
}

#[test]
fn an_interrupted_run_saves_what_finished_and_tells_how_to_resume() {
    let scenario = Scenario::start();
    let mut child = scenario.spawn(&["weather"], &[("E2E_SLEEP_MS", "1500"), ("EVAL_GRACE_SECONDS", "0.2")]);
    let journal = scenario.wait_for_journaled_tasks("weather", &mut child);
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: sends a signal to the child this test spawned and has not reaped yet.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let run = Run::from(wait_with_deadline(child, Duration::from_secs(120)));

    assert_ne!(run.code(), 0, "{run}");
    let saved = run.saved_run("weather");
    assert_eq!(saved.run.meta.status, eval_engine::result::RunStatus::Interrupted);
    let run_id = saved.run.run_id().to_owned();
    let finished = journaled_task_ids(&journal);
    let saved_ids: BTreeSet<String> = saved.run.tasks().iter().map(|t| t.task_id.clone()).collect();
    assert_eq!(saved_ids, finished, "only the finished tasks: {run}");
    assert!(finished.len() < WEATHER_TASKS.len(), "{run}");
    assert!(
        run.stderr.contains(&format!(
            "interrupted: resume with EVAL_RESUME={run_id} cargo test --test evals"
        )),
        "{run}"
    );
    let not_run = WEATHER_TASKS.iter().find(|t| !finished.contains(**t)).unwrap();
    assert!(
        run.failure(&format!("weather::{not_run}::called_tool"))
            .contains("interrupted: not run"),
        "{run}"
    );
    assert!(journal.exists(), "the journal stays for resuming");
    scenario.take_calls();

    // Resuming by id runs only what did not finish and replaces the interrupted run's file.
    let resumed = scenario.run(&["weather"], &[("EVAL_RESUME", run_id.as_str())]);
    let ran_again: BTreeSet<String> = scenario
        .take_calls()
        .into_iter()
        .map(|call| call.trim_start_matches("weather ").to_owned())
        .collect();
    assert!(ran_again.is_disjoint(&finished), "{resumed}");
    let replaced = resumed.saved_run("weather");
    assert_eq!(replaced.path, saved.path);
    assert_eq!(replaced.run.meta.status, eval_engine::result::RunStatus::Completed);
    assert_eq!(replaced.run.tasks().len(), WEATHER_TASKS.len());
    assert!(!journal.exists());
}

#[test]
fn resuming_a_run_without_a_journal_stops_before_anything_runs() {
    let scenario = Scenario::start();
    let run = scenario.run(&["weather"], &[("EVAL_RESUME", "01JD0000000000000000000000")]);
    assert_eq!(run.code(), 2, "{run}");
    assert!(
        run.stderr
            .contains("EVAL_RESUME=01JD0000000000000000000000: run `01JD0000000000000000000000` has no journal"),
        "{run}"
    );
    assert!(scenario.take_calls().is_empty(), "no agent may start");
}

#[test]
fn a_journal_that_is_a_symbolic_link_is_never_resumed() {
    let scenario = Scenario::start();
    let run_id = "01JD0000000000000000000001";
    let outside = scenario.scratch.path().join("outside.journal.jsonl");
    let header = serde_json::json!({
        "run_id": run_id,
        "suite": "weather",
        "created_at": "2026-11-22T08:19:58Z",
        "scorers": WEATHER_SCORERS,
    });
    fs::write(&outside, format!("{header}\n")).unwrap();
    let link = scenario
        .store_dir()
        .join("weather")
        .join(format!("{run_id}.journal.jsonl"));
    fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(&outside, &link).unwrap();

    let by_id = scenario.run(&["weather"], &[("EVAL_RESUME", run_id)]);
    assert_eq!(by_id.code(), 2, "{by_id}");
    assert!(
        by_id.stderr.contains(&format!(
            "EVAL_RESUME={run_id}: journal {} is a symbolic link, and a run never writes through a link in the store",
            link.display()
        )),
        "{by_id}"
    );
    let last = scenario.run(&["weather"], &[("EVAL_RESUME", "last")]);
    assert_eq!(last.code(), 2, "{last}");
    assert!(scenario.take_calls().is_empty(), "no agent may start");
    assert_eq!(
        fs::read_to_string(&outside).unwrap(),
        format!("{header}\n"),
        "the target is untouched"
    );
}

#[test]
fn a_regrade_grades_the_stored_run_with_the_changed_scorer_and_runs_no_agent() {
    let scenario = Scenario::start();
    let first = scenario.run(&["weather"], &[]);
    assert_eq!(first.results()[WEAK_PAIR], "FAILED", "{first}");
    let stored = first.saved_run("weather");
    assert_eq!(scenario.take_calls().len(), WEATHER_TASKS.len());

    // The scorer now accepts what the agent answered for Atlantis.
    let regrade = scenario.run(
        &["weather"],
        &[("EVAL_REGRADE", "last"), ("E2E_ALSO_ACCEPT", "the sunken city")],
    );
    assert!(scenario.take_calls().is_empty(), "no agent may run: {regrade}");
    assert_eq!(regrade.results(), pairs_of(&WEATHER_TASKS, "ok"), "{regrade}");
    assert_eq!(regrade.code(), 0, "{regrade}");
    assert!(
        regrade.summary().contains(&format!(
            "regrade of run {}: no agent ran; its outputs and traces were graded again",
            stored.run.run_id()
        )),
        "{regrade}"
    );

    let regraded = regrade.saved_run("weather");
    assert_ne!(regraded.path, stored.path, "a regrade is a run of its own");
    assert_eq!(regraded.run.meta.regraded_from.as_deref(), Some(stored.run.run_id()));
    let mut expected = verdicts(&stored.run);
    expected.insert(("atlantis".to_owned(), "city_matches".to_owned()), "Pass".to_owned());
    assert_eq!(
        verdicts(&regraded.run),
        expected,
        "only the changed scorer's verdict moved"
    );
    for (old, new) in stored.run.tasks().iter().zip(regraded.run.tasks()) {
        assert_eq!(
            (&old.outputs, &old.trace),
            (&new.outputs, &new.trace),
            "task {}",
            old.task_id
        );
    }
}

#[test]
fn a_regrade_grades_only_what_the_stored_run_holds() {
    let scenario = Scenario::start();
    let partial = scenario.run(&["--exact", "weather::paris"], &[]);
    let run_id = partial.saved_run("weather").run.run_id().to_owned();
    scenario.take_calls();

    let regrade = scenario.run(&["weather"], &[("EVAL_REGRADE", run_id.as_str())]);
    assert!(scenario.take_calls().is_empty(), "no agent may run: {regrade}");
    let mut expected = pairs_of(&WEATHER_TASKS, "FAILED");
    expected.extend(pairs_of(&["paris"], "ok"));
    assert_eq!(regrade.results(), expected, "{regrade}");
    assert!(
        regrade
            .failure("weather::rome::called_tool")
            .contains(&format!("not re-graded: run {run_id} has no record of this task")),
        "{regrade}"
    );

    // A suite without that run stops the regrade before anything runs: its agent would have to.
    let every_suite = scenario.run(&[], &[("EVAL_REGRADE", run_id.as_str())]);
    assert_eq!(every_suite.code(), 2, "{every_suite}");
    assert!(
        every_suite
            .stderr
            .contains(&format!("EVAL_REGRADE={run_id}: suite `many` has no run `{run_id}` in")),
        "{every_suite}"
    );
    let both = scenario.run(&["weather"], &[("EVAL_REPLAY", "last"), ("EVAL_RESUME", "last")]);
    assert_eq!(both.code(), 2, "{both}");
    assert!(scenario.take_calls().is_empty(), "no agent may start");
}

#[test]
fn eval_tags_select_tasks_and_only_their_agents_run() {
    let scenario = Scenario::start();
    let every_test = scenario
        .run(&["--list"], &[])
        .stdout
        .lines()
        .filter(|l| l.ends_with(": test"))
        .count();

    let run = scenario.run(&[], &[("EVAL_TAGS", "smoke, !slow")]);
    assert_eq!(run.results(), pairs_of(&["paris"], "ok"), "{run}");
    assert_eq!(
        scenario.take_calls(),
        ["weather paris"],
        "only the tagged task's agent runs"
    );
    assert!(
        run.stdout.contains(&format!(
            "test result: ok. 5 passed; 0 failed; 1 ignored; 0 measured; {} filtered out;",
            every_test - 6
        )),
        "libtest's line counts the tests left out: {run}"
    );
    // The gates judge the tagged tasks only; `many` has none left, so no gate either.
    assert_eq!(run.gates().len(), 3, "{run}");
    assert!(
        run.stderr
            .contains("note: EVAL_TAGS=smoke, !slow selects no task of suite `many` (its tasks have no tags)"),
        "{run}"
    );
    let selection = run.saved_run("weather").run.meta.selection.clone().unwrap();
    assert_eq!(selection.filter.as_deref(), Some("EVAL_TAGS=smoke, !slow"));
    assert!(!selection.complete);

    // Tags and a filter narrow each other.
    let run = scenario.run(&["weather::paris"], &[("EVAL_TAGS", "slow")]);
    assert_eq!(run.results(), pairs_of(&["paris_2"], "ok"), "{run}");
    assert_eq!(scenario.take_calls(), ["weather paris_2"]);

    let bad = scenario.run(&[], &[("EVAL_TAGS", "smoke,,slow")]);
    assert_eq!(bad.code(), 2, "{bad}");
    assert!(bad.stderr.contains("EVAL_TAGS=smoke,,slow: an empty tag"), "{bad}");
    assert!(scenario.take_calls().is_empty(), "a bad tag list starts no agent");
}

#[test]
fn a_closed_stdout_stops_the_run_like_an_interrupt_and_saves_it() {
    use std::io::BufRead as _;
    let scenario = Scenario::start();
    // Four of the five tasks start at once (concurrency 4) and take a while: the reader is
    // gone before the first test line is written.
    let mut child = scenario.spawn(&["weather"], &[("E2E_SLEEP_MS", "400")]);
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.starts_with("running ") {
        line.clear();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "no `running` line");
    }
    drop(stdout);
    let output = wait_with_deadline(child, std::time::Duration::from_secs(120));
    let run = Run::from(output);
    assert!(run.stderr.contains("stdout was closed: no new task starts"), "{run}");
    assert!(!run.stderr.contains("panicked"), "{run}");
    let saved: Vec<PathBuf> = fs::read_dir(scenario.store_dir().join("weather"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_string_lossy().ends_with(".json") && !path.to_string_lossy().ends_with(".journal.jsonl"))
        .collect();
    assert_eq!(saved.len(), 1, "one run JSON: {saved:?} {run}");
    let saved = eval_engine::load_run(&saved[0]).unwrap();
    // The fifth task starts as soon as one of the first four ends, which may be before the
    // closed stdout is noticed: then every task had started and the run completes.
    match run.code() {
        130 => {
            assert_eq!(saved.meta.status, eval_engine::result::RunStatus::Interrupted, "{run}");
            assert_eq!(saved.tasks().len(), 4, "the tasks that had started finished: {run}");
        }
        1 => {
            assert_eq!(saved.meta.status, eval_engine::result::RunStatus::Completed, "{run}");
            assert_eq!(saved.tasks().len(), 5, "{run}");
            assert!(
                run.stderr.contains("stdout was closed before every test was reported"),
                "{run}"
            );
        }
        code => panic!("a closed stdout exits with 130 (interrupted) or 1 (completed), not {code}: {run}"),
    }
}

#[test]
fn reports_say_what_the_harness_decided_not_what_insta_would() {
    let scenario = Scenario::start();
    let first = scenario.run(&[], &[]);
    for leaked in [
        "Stopped on the first failure",
        "cargo insta test",
        "INSTA_UPDATE",
        "Snapshot Summary",
    ] {
        assert!(
            !first.all_output().contains(leaked),
            "insta's `{leaked}` leaked: {first}"
        );
    }
    let summary = first.summary();
    assert!(summary.contains("  scorecard changes ("), "{summary}");
    assert!(summary.contains("    + atlantis · city_matches: fail\n"), "{summary}");
    assert!(summary.contains("    … and "), "a long list is cut: {summary}");
    scenario.accept_pending_by_renaming();

    let run = scenario.run(&["weather"], &[("E2E_WRONG", "paris")]);
    let summary = run.summary();
    assert!(
        summary.contains("  scorecard changes (1):\n    ~ paris · city_matches: pass → fail\n"),
        "{summary}"
    );
    assert!(!run.all_output().contains("INSTA_UPDATE"), "{run}");

    // `--format json`: an ignored pair's event says why, as libtest's own events do.
    let run = scenario.run(&["weather", "--format", "json", "-Z", "unstable-options"], &[]);
    let known = run
        .json_events()
        .into_iter()
        .find(|e| e["name"] == WEAK_PAIR && e["event"] == "ignored")
        .unwrap_or_else(|| panic!("{run}"));
    assert_eq!(known["message"], "known failure", "{run}");
}

#[test]
fn a_regrade_of_last_grades_the_latest_complete_run_not_a_filtered_one() {
    let scenario = Scenario::start();
    let complete = scenario.run(&["weather"], &[]);
    let complete_id = complete.saved_run("weather").run.run_id().to_owned();
    let filtered = scenario.run(&["--exact", "weather::paris"], &[]);
    assert_eq!(filtered.results(), pairs_of(&["paris"], "ok"), "{filtered}");
    scenario.take_calls();

    // Re-grading the one-task run would fail every other task's pairs (`not re-graded`).
    let regrade = scenario.run(&["weather"], &[("EVAL_REGRADE", "last")]);
    assert!(scenario.take_calls().is_empty(), "no agent may run: {regrade}");
    let mut expected = pairs_of(&WEATHER_TASKS, "ok");
    expected.insert(WEAK_PAIR.to_owned(), "FAILED".to_owned());
    assert_eq!(regrade.results(), expected, "{regrade}");
    assert!(
        regrade.stderr.contains(&format!(
            "EVAL_REGRADE=last: regrading run {complete_id} of suite weather \
             (the latest completed run of every task; passed over 1 newer: 1 partial)"
        )),
        "{regrade}"
    );
    let regraded = regrade.saved_run("weather");
    assert_eq!(regraded.run.meta.regraded_from.as_deref(), Some(complete_id.as_str()));

    // A regrade does not become `last` either; `EVAL_REPLAY`, the variable's older name,
    // still asks for one.
    let again = scenario.run(&["weather"], &[("EVAL_REPLAY", "last")]);
    assert_eq!(again.results(), expected, "{again}");
    assert!(
        again.stderr.contains(&format!(
            "EVAL_REPLAY=last: regrading run {complete_id} of suite weather \
             (the latest completed run of every task; passed over 2 newer: 1 partial, 1 regrade)"
        )),
        "{again}"
    );
}

#[test]
fn an_abandoned_journal_is_not_resumed_and_goes_when_the_next_run_completes() {
    let scenario = Scenario::start();
    let complete = scenario.run(&["weather"], &[]);
    let complete_id = complete.saved_run("weather").run.run_id().to_owned();

    // A run killed half-way leaves its journal; dated before the complete run started, it is
    // one that run superseded.
    let mut child = scenario.spawn(&["weather"], &[("E2E_SLEEP_MS", "1500")]);
    let journal = scenario.wait_for_journaled_tasks("weather", &mut child);
    child.kill().unwrap();
    child.wait().unwrap();
    let killed_id = journal
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .trim_end_matches(".journal.jsonl")
        .to_owned();
    let a_day_ago = SystemTime::now() - std::time::Duration::from_secs(24 * 3600);
    File::options()
        .append(true)
        .open(&journal)
        .unwrap()
        .set_modified(a_day_ago)
        .unwrap();
    scenario.take_calls();

    let resume = scenario.run(&["weather"], &[("EVAL_RESUME", "last")]);
    assert_eq!(resume.code(), 2, "{resume}");
    assert!(
        resume.stderr.contains(&format!(
            "EVAL_RESUME=last: suite `weather` has no journal of an interrupted run newer than its latest complete run \
             {complete_id} (passed over 1 abandoned: {killed_id})"
        )),
        "{resume}"
    );
    assert!(scenario.take_calls().is_empty(), "no agent may start");
    assert!(journal.exists(), "a failed lookup removes nothing");

    let next = scenario.run(&["weather"], &[]);
    let next_id = next.saved_run("weather").run.run_id().to_owned();
    assert!(!journal.exists(), "the next complete run removes it: {next}");
    assert!(
        next.stderr.contains(&format!(
            "note: suite weather: removed abandoned journal {killed_id}.journal.jsonl \
             (run {killed_id}: last written before complete run {next_id} started)"
        )),
        "{next}"
    );
}

#[test]
fn eval_repeats_records_a_stronger_baseline_that_a_shorter_run_is_gated_against() {
    let scenario = Scenario::start();
    let baseline = scenario.run(&["weather"], &[("EVAL_REPEATS", "4")]);
    let saved = baseline.saved_run("weather").run;
    assert_eq!(saved.meta.repeats, 4, "{baseline}");
    assert!(
        saved.task("paris#4").is_some(),
        "attempts are recorded as <id>#<n>: {baseline}"
    );
    assert_eq!(scenario.take_calls().len(), WEATHER_TASKS.len() * 4);
    let pending = fs::read_to_string(scenario.pending("weather")).unwrap();
    assert_eq!(
        scorecard_verdict(&pending, "paris", "city_matches"),
        Some("4/4"),
        "{pending}"
    );
    // Every task but atlantis passes: the rate with its 95% interval, and pass@k / pass^k.
    let summary = baseline.summary();
    assert!(summary.contains("80.0% (16/20) [58–92%]"), "{summary}");
    assert!(summary.contains("pass@4  80.0%  pass^4  80.0%"), "{summary}");
    scenario.accept_pending_by_renaming();

    // CI runs fewer attempts against it: an unchanged agent is green, a broken pair regresses
    // and says which counts decided it.
    let unchanged = scenario.run(&["weather"], &[("EVAL_REPEATS", "2"), ("CI", "true")]);
    assert_eq!(unchanged.code(), 0, "{unchanged}");
    let broken = scenario.run(
        &["weather"],
        &[("EVAL_REPEATS", "2"), ("CI", "true"), ("E2E_WRONG", "paris")],
    );
    assert_eq!(broken.results()["weather::paris::city_matches"], "FAILED", "{broken}");
    assert!(
        broken
            .failure("weather::paris::city_matches")
            .contains("(0/2 now vs 4/4 in the baseline: it passed every attempt and now passes none)"),
        "{broken}"
    );

    let bad = scenario.run(&["weather"], &[("EVAL_REPEATS", "0")]);
    assert_eq!(bad.code(), 2, "{bad}");
    assert!(
        bad.stderr.contains("EVAL_REPEATS=0 is not a number of attempts"),
        "{bad}"
    );
}

#[test]
fn adaptive_repeats_add_attempts_only_where_the_gate_is_undecided() {
    let scenario = Scenario::start();
    let baseline = scenario.run(&["weather"], &[("EVAL_REPEATS", "20")]);
    assert_eq!(baseline.code(), 101, "atlantis is a new failure: {baseline}");
    scenario.accept_pending_by_renaming();
    scenario.take_calls();

    // An unchanged agent: green, and fewer attempts than always running ten.
    let unchanged = scenario.run(&["weather"], &[("EVAL_REPEATS", "3..=10"), ("CI", "true")]);
    assert_eq!(unchanged.code(), 0, "{unchanged}");
    let run = unchanged.saved_run("weather").run;
    assert_eq!((run.meta.fewest_repeats, run.meta.repeats), (Some(3), 10));
    let attempts = &run.aggregates().attempts;
    assert_eq!(attempts.len(), WEATHER_TASKS.len(), "{attempts:?}");
    // Every task passed `called_tool` in all 20 baseline attempts (atlantis fails only
    // `city_matches`), and passes it still: each task takes the attempts the plan needs to rule
    // a drop from 20/20 out, fewer than ten.
    let plan = eval_engine::gate::adaptive_plan(3, 10, 20, eval_engine::gate::RegressionPolicy::default());
    let needed = (3..=10)
        .find(|n| plan.look(20, *n, *n) == eval_engine::stats::Look::Settled)
        .unwrap();
    assert!(needed < 10, "{needed}");
    assert!(attempts.values().all(|n| *n == needed), "{attempts:?}");
    let made: u32 = attempts.values().sum();
    assert_eq!(scenario.take_calls().len(), made as usize);
    assert_eq!(run.tasks().len(), made as usize);
    let summary = unchanged.summary();
    assert!(
        summary.contains(&format!(
            "  adaptive repeats 3..=10: {made} attempt(s) of 50 at most ({:.0}% saved)",
            f64::from(50 - made) / 50.0 * 100.0
        )),
        "{summary}"
    );

    // A broken pair regresses: its task goes on only as long as its other pairs need.
    let broken = scenario.run(
        &["weather"],
        &[("EVAL_REPEATS", "3..=10"), ("CI", "true"), ("E2E_WRONG", "paris")],
    );
    assert_eq!(broken.results()["weather::paris::city_matches"], "FAILED", "{broken}");
    assert_eq!(broken.code(), 101, "{broken}");
    let run = broken.saved_run("weather").run;
    assert_eq!(run.aggregates().attempts["paris"], needed, "{broken}");
    // The pair was decided at its first look; the attempts made for `called_tool` after that
    // are in the verdict, not in the numbers that decided it.
    assert!(
        broken.failure("weather::paris::city_matches").contains(&format!(
            "gives 0/{needed} (0/3 now vs 20/20 in the baseline: it passed every attempt and now passes none)"
        )),
        "{broken}"
    );
}

#[test]
fn the_evals_spans_reach_an_otlp_collector_as_one_trace_per_run() {
    let scenario = Scenario::start();
    let collector = OtlpCollector::start();
    let exported = scenario.run(&["weather"], &[("EVAL_OTLP_ENDPOINT", &collector.endpoint())]);
    let run = exported.saved_run("weather").run;
    let spans = collector.spans();
    let named = |name: &str| -> Vec<&ExportedSpan> { spans.iter().filter(|s| s.name == name).collect() };

    let runs = named("eval_run");
    assert_eq!(runs.len(), 1, "{spans:#?}");
    let root = runs[0];
    assert_eq!(root.attribute("suite"), Some("weather"));
    assert_eq!(root.attribute("run_id"), Some(run.meta.run_id.as_str()));
    assert!(root.parent.is_empty(), "the run is the trace's root");
    assert!(spans.iter().all(|s| s.trace == root.trace), "one trace: {spans:#?}");

    let attempts = named("eval_attempt");
    assert_eq!(attempts.len(), run.tasks().len(), "{spans:#?}");
    assert!(attempts.iter().all(|a| a.parent == root.id));
    let mut tasks: Vec<&str> = attempts.iter().filter_map(|a| a.attribute("task_id")).collect();
    tasks.sort();
    let mut expected: Vec<&str> = WEATHER_TASKS.to_vec();
    expected.sort();
    assert_eq!(tasks, expected);
    let attempt_ids: BTreeSet<&[u8]> = attempts.iter().map(|a| a.id.as_slice()).collect();
    let agent_spans = named("eval_task");
    assert_eq!(agent_spans.len(), run.tasks().len(), "{spans:#?}");
    assert!(agent_spans.iter().all(|t| attempt_ids.contains(t.parent.as_slice())));

    // Every scorer of every task, inside its attempt, with the verdict the run file has.
    let exported_verdicts: BTreeSet<(String, String, String)> = named("eval_scorer")
        .iter()
        .inspect(|s| assert!(attempt_ids.contains(s.parent.as_slice()), "{s:?}"))
        .map(|s| {
            let attribute = |name: &str| {
                s.attribute(name)
                    .unwrap_or_else(|| panic!("{name} of {s:?}"))
                    .to_owned()
            };
            (attribute("task_id"), attribute("scorer"), attribute("verdict"))
        })
        .collect();
    let recorded: BTreeSet<(String, String, String)> = run
        .tasks()
        .iter()
        .flat_map(|t| {
            t.feedback
                .iter()
                .map(|f| (t.task_id.clone(), f.key.clone(), f.verdict().name().to_owned()))
        })
        .collect();
    assert_eq!(exported_verdicts, recorded);
    assert_eq!(exported_verdicts.len(), WEATHER_TASKS.len() * WEATHER_SCORERS.len());

    // A collector that cannot be reached is a warning; the run reports as it did.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let unexported = scenario.run(&["weather"], &[("EVAL_OTLP_ENDPOINT", &nowhere)]);
    assert_eq!(unexported.code(), exported.code(), "{unexported}");
    assert_eq!(unexported.results(), exported.results());
    assert!(
        unexported.stderr.contains(&format!(
            "warning: the eval's spans could not all be exported to {nowhere}/v1/traces: "
        )),
        "{unexported}"
    );
}

#[test]
fn junit_and_the_github_step_summary_report_what_the_harness_decided() {
    let scenario = Scenario::start();
    let first = scenario.run(&["weather"], &[]);
    assert_eq!(first.code(), 101, "{first}");
    scenario.accept_pending_by_renaming();

    let junit_path = scenario.scratch.path().join("reports/junit.xml");
    let summary_path = scenario.scratch.path().join("step_summary.md");
    std::fs::write(&summary_path, "earlier steps wrote this\n").unwrap();
    let junit_var = junit_path.to_str().unwrap();
    let summary_var = summary_path.to_str().unwrap();
    let broken = scenario.run(
        &["weather"],
        &[
            ("E2E_WRONG", "paris"),
            ("CI", "true"),
            ("EVAL_JUNIT", junit_var),
            ("GITHUB_STEP_SUMMARY", summary_var),
            ("EVAL_HTML_REPORT", "1"),
        ],
    );
    assert_eq!(broken.code(), 101, "{broken}");

    // `cargo eval junit` on the saved run against the same baseline snapshot decides and words
    // every pair as the harness did.
    let cli_junit = scenario.scratch.path().join("cli-junit.xml");
    let from_cli: Run = run_to_end(
        scenario
            .command(cargo_eval())
            .arg("junit")
            .arg(&broken.saved_run("weather").path)
            .arg("--baseline")
            .arg(scenario.crate_dir.join(WEATHER_SNAPSHOT))
            .arg("-o")
            .arg(&cli_junit),
    )
    .into();
    assert_eq!(from_cli.code(), 0, "{from_cli}");
    let cases = |xml: &str| -> BTreeSet<(String, String)> {
        let report = quick_junit::Report::deserialize_from_str(xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
        report.test_suites[0]
            .test_cases
            .iter()
            .filter(|case| !case.name.as_str().contains("::gate::"))
            .map(|case| {
                let status = match &case.status {
                    quick_junit::TestCaseStatus::Success { .. } => "ok".to_owned(),
                    quick_junit::TestCaseStatus::NonSuccess { description, .. } => {
                        format!(
                            "FAILED {}",
                            description.as_ref().map(|d| d.as_str()).unwrap_or_default()
                        )
                    }
                    quick_junit::TestCaseStatus::Skipped { message, .. } => {
                        format!("skipped {}", message.as_ref().map(|m| m.as_str()).unwrap_or_default())
                    }
                };
                (case.name.as_str().to_owned(), status)
            })
            .collect()
    };
    assert_eq!(
        cases(&std::fs::read_to_string(&cli_junit).unwrap()),
        cases(&std::fs::read_to_string(&junit_path).unwrap())
    );

    // A baseline of another suite is refused, naming the file and the line.
    let travel_snapshot = scenario.scratch.path().join("evals__travel.snap");
    let weather_snapshot = fs::read_to_string(scenario.crate_dir.join(WEATHER_SNAPSHOT)).unwrap();
    fs::write(&travel_snapshot, weather_snapshot.replace("`weather`", "`travel`")).unwrap();
    let other_suite: Run = run_to_end(
        scenario
            .command(cargo_eval())
            .arg("comment")
            .arg(&broken.saved_run("weather").path)
            .arg("--baseline")
            .arg(&travel_snapshot),
    )
    .into();
    assert_eq!(other_suite.code(), 2, "{other_suite}");
    assert!(
        other_suite
            .stderr
            .contains("evals__travel.snap: line 4: it is the scorecard of suite `travel`, not of `weather`"),
        "{other_suite}"
    );

    // The HTML report beside the run file, from the same decided outcomes.
    let saved = broken.saved_run("weather");
    let page_path = saved.path.with_extension("html");
    assert!(
        broken.summary().contains(&format!("report: {}", page_path.display())),
        "{broken}"
    );
    let page = std::fs::read_to_string(&page_path).unwrap();
    assert!(page.contains("<title>weather · "), "{page}");
    let data_start = page.find(r#"id="report-data">"#).unwrap() + r#"id="report-data">"#.len();
    let data_len = page[data_start..].find("</script>").unwrap();
    let data: Value = serde_json::from_str(&page[data_start..data_start + data_len]).unwrap();
    let tasks = data["tasks"].as_array().unwrap();
    let paris = data["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| tasks[p["task"].as_u64().unwrap() as usize]["id"] == "paris" && p["key"] == "city_matches")
        .unwrap_or_else(|| panic!("{data}"));
    assert_eq!(paris["outcome"], "regression", "{data}");
    assert_eq!(paris["status"], "failed", "{data}");
    assert_eq!(
        paris["comment"].as_str(),
        Some(broken.failure("weather::paris::city_matches"))
    );
    assert_eq!(
        data["pairs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["status"] == "failed")
            .count(),
        broken.results().values().filter(|r| *r == "FAILED").count(),
        "{data}"
    );

    // The JUnit report: one suite, a case per test the run printed, with the same outcomes.
    let xml = std::fs::read_to_string(&junit_path).unwrap();
    match junit_schema::check_junit(&junit_path, Path::new(env!("CARGO_TARGET_TMPDIR"))) {
        junit_schema::SchemaCheck::Valid => {}
        junit_schema::SchemaCheck::Invalid(violations) => {
            panic!("the JUnit report breaks the JUnit XSD:\n{violations}\n{xml}")
        }
        junit_schema::SchemaCheck::Unavailable(why) => skip(&format!("no JUnit XSD check: {why}")),
    }
    let report = quick_junit::Report::deserialize_from_str(&xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
    assert_eq!(report.test_suites.len(), 1, "{xml}");
    let suite = &report.test_suites[0];
    assert_eq!(suite.name.as_str(), "weather");
    let mut printed = broken.results();
    printed.extend(broken.gates());
    let weather_tests: BTreeMap<&String, &String> = printed
        .iter()
        .filter(|(name, _)| name.starts_with("weather::"))
        .collect();
    assert_eq!(suite.test_cases.len(), weather_tests.len(), "{xml}");
    for case in &suite.test_cases {
        let name = case.name.as_str().to_owned();
        let expected = weather_tests
            .get(&name)
            .unwrap_or_else(|| panic!("{name} is not a test the run printed: {xml}"));
        let status = match &case.status {
            quick_junit::TestCaseStatus::Success { .. } => "ok",
            quick_junit::TestCaseStatus::NonSuccess { .. } => "FAILED",
            quick_junit::TestCaseStatus::Skipped { .. } => "skipped",
        };
        let same = match status {
            "skipped" => expected.starts_with("ignored"),
            other => *expected == other,
        };
        assert!(same, "{name}: JUnit {status}, the run printed {expected}: {xml}");
    }
    let regression = suite
        .test_cases
        .iter()
        .find(|c| c.name.as_str() == "weather::paris::city_matches")
        .unwrap();
    let quick_junit::TestCaseStatus::NonSuccess {
        message,
        ty,
        description,
        ..
    } = &regression.status
    else {
        panic!("{xml}")
    };
    assert_eq!(ty.as_ref().map(|t| t.as_str()), Some("regression"));
    assert!(
        message
            .as_ref()
            .unwrap()
            .as_str()
            .starts_with("regression: `city_matches` passed on task `paris`")
    );
    assert_eq!(
        description.as_ref().map(|d| d.as_str()),
        Some(broken.failure("weather::paris::city_matches"))
    );
    // A case's facts are `name: value` lines of its system-out (the XSD has no case properties).
    let property = |case: &quick_junit::TestCase, name: &str| {
        let facts = case.system_out.as_ref()?.as_str();
        let prefix = format!("{name}: ");
        facts
            .lines()
            .find_map(|line| line.strip_prefix(&prefix).map(str::to_owned))
    };
    assert_eq!(property(regression, "verdict").as_deref(), Some("fail"));
    assert_eq!(property(regression, "baseline_verdict").as_deref(), Some("pass"));
    assert_eq!(property(regression, "score").as_deref(), Some("0"));
    assert!(
        property(regression, "comment").is_some_and(|c| c.contains("Nowhere")),
        "{xml}"
    );
    let known = suite
        .test_cases
        .iter()
        .find(|c| c.name.as_str() == "weather::atlantis::city_matches")
        .unwrap();
    assert!(
        matches!(&known.status, quick_junit::TestCaseStatus::Skipped { message: Some(m), .. } if m.as_str() == "known failure"),
        "{xml}"
    );

    // The step summary: appended after what was there, with the regression and the rates.
    let summary = std::fs::read_to_string(&summary_path).unwrap();
    assert!(summary.starts_with("earlier steps wrote this\n## Evals\n"), "{summary}");
    assert!(summary.contains("### ❌ `weather`: "), "{summary}");
    assert!(
        summary.contains("| `city_matches` | 60.0% (3/5) | -20.0 |"),
        "{summary}"
    );
    assert!(
        summary.contains("- **`paris` · `city_matches`**: regression: `city_matches` passed on task `paris`"),
        "{summary}"
    );
    assert!(
        summary.contains("<details><summary>Known failures (1)</summary>"),
        "{summary}"
    );

    // A report that cannot be written is an error naming it; the run is still saved and gated.
    let unchanged = scenario.run(&["weather"], &[("CI", "true"), ("EVAL_JUNIT", "/dev/null/junit.xml")]);
    assert_eq!(unchanged.code(), 0, "{unchanged}");
    assert!(
        unchanged
            .stderr
            .contains("error: cannot write the JUnit report /dev/null/junit.xml: "),
        "{unchanged}"
    );
    unchanged.saved_run("weather");
}

#[test]
fn three_shards_merged_equal_the_unsharded_run() {
    let scenario = Scenario::start();
    let whole = scenario.run(&["weather"], &[("CI", "true")]).saved_run("weather").run;
    scenario.take_calls();
    let mut parts = Vec::new();
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let run = scenario.run(&["weather"], &[("CI", "true"), ("EVAL_SHARD", &shard)]);
        assert!(run.code() == 0 || run.code() == 101, "{run}");
        // A shard may hold no task of a suite this small: it saves nothing then.
        if let Some(line) = run.summary().lines().find_map(|l| l.trim().strip_prefix("run: ")) {
            let saved = run.saved_run("weather");
            assert_eq!(saved.path, PathBuf::from(line));
            let selection = saved.run.meta.selection.clone().unwrap();
            assert_eq!(
                selection.filter.as_deref(),
                Some(format!("weather EVAL_SHARD={shard}").as_str())
            );
            assert!(!selection.complete || saved.run.tasks().len() == WEATHER_TASKS.len());
            parts.push(saved.path);
        }
    }
    // Every agent ran once across the shards, as in the unsharded run.
    let mut calls = scenario.take_calls();
    calls.sort();
    let mut every_task: Vec<String> = WEATHER_TASKS.iter().map(|t| format!("weather {t}")).collect();
    every_task.sort();
    assert_eq!(calls, every_task);

    let merged_path = scenario.scratch.path().join("merged.json");
    let merged: Run = run_to_end(
        scenario
            .command(cargo_eval())
            .arg("merge")
            .args(&parts)
            .arg("-o")
            .arg(&merged_path),
    )
    .into();
    assert_eq!(merged.code(), 0, "{merged}");
    assert!(merged.stderr.contains("every task of the suite"), "{merged}");
    let merged = eval_engine::load_run(&merged_path).unwrap();
    assert!(merged.meta.selection.clone().unwrap().complete);
    let verdicts = |run: &eval_engine::RunResult| -> BTreeSet<(String, String, String)> {
        run.tasks()
            .iter()
            .flat_map(|t| {
                t.feedback
                    .iter()
                    .map(|f| (t.task_id.clone(), f.key.clone(), format!("{:?}", f.verdict())))
            })
            .collect()
    };
    assert_eq!(verdicts(&merged), verdicts(&whole));
    assert_eq!(merged.tasks().len(), whole.tasks().len());

    // A part given twice overlaps; a bad shard is refused before any agent runs.
    let twice: Run = run_to_end(
        scenario
            .command(cargo_eval())
            .arg("merge")
            .arg(&parts[0])
            .arg(&parts[0]),
    )
    .into();
    assert_eq!(twice.code(), 2, "{twice}");
    assert!(twice.stderr.contains("the runs overlap"), "{twice}");
    let bad = scenario.run(&["weather"], &[("EVAL_SHARD", "4/3")]);
    assert_eq!(bad.code(), 2, "{bad}");
    assert!(bad.stderr.contains("EVAL_SHARD=4/3 is not a shard"), "{bad}");
    assert!(scenario.take_calls().is_empty());
}

#[test]
fn suite_gates_judge_a_key_across_the_suite() {
    let scenario = Scenario::start();
    let first = scenario.run(&["weather"], &[("EVAL_REPEATS", "4")]);
    assert_eq!(
        first.gates(),
        outcomes(&[
            ("weather::gate::answer_length", "ignored (not a pass/fail key)"),
            ("weather::gate::called_tool", "ok"),
            ("weather::gate::city_matches", "ok"),
        ]),
        "{first}"
    );
    assert!(first.summary().contains("  suite gates:\n"), "{first}");
    scenario.accept_pending_by_renaming();

    // One task falls from 4/4 to 0/4: its pair regresses, and the key's rate across the suite
    // (3/5 of the tasks now, 4/5 before) falls below its minimum of 70%.
    let broken = scenario.run(&["weather"], &[("EVAL_REPEATS", "4"), ("E2E_WRONG", "paris")]);
    assert_eq!(broken.gates()["weather::gate::city_matches"], "FAILED", "{broken}");
    assert_eq!(broken.gates()["weather::gate::called_tool"], "ok", "{broken}");
    let message = broken.failure("weather::gate::city_matches");
    assert!(
        message.starts_with(
            "regression: the pass rate of `city_matches` fell across the suite: 60.0% over 5 task(s) now, 80.0% over the same tasks in the baseline"
        ),
        "{message}"
    );
    assert!(message.contains("below the minimum 70.0%"), "{message}");
    assert!(broken.summary().contains("    city_matches: REGRESSION — "), "{broken}");

    // `--exact` on a gate runs every task it judges, and only the gate is reported.
    scenario.take_calls();
    let alone = scenario.run(&["--exact", "weather::gate::called_tool"], &[]);
    assert_eq!(
        alone.gates(),
        outcomes(&[("weather::gate::called_tool", "ok")]),
        "{alone}"
    );
    assert!(alone.results().is_empty(), "{alone}");
    assert_eq!(scenario.take_calls().len(), WEATHER_TASKS.len(), "{alone}");
}

/// Three runs of the real suite with a change in between, then the history's questions asked
/// with `cargo eval`; every answer is checked against the saved run files.
#[test]
fn the_history_answers_across_runs_of_the_real_suite() {
    let scenario = Scenario::start();
    let saved: Vec<SavedRun> = [
        scenario.run(&["weather"], &[]),
        scenario.run(&["weather"], &[("E2E_WRONG", "paris")]),
        scenario.run(&["weather"], &[("E2E_FIX", "atlantis")]),
    ]
    .iter()
    .map(|run| run.saved_run("weather"))
    .collect();
    assert!(
        !scenario.store_dir().join("history.sqlite").exists(),
        "a test run leaves the index to the first question"
    );
    let ask = |args: &[&str], code: i32| -> Value {
        let run: Run = run_to_end(scenario.command(cargo_eval()).args(args).arg("--json")).into();
        assert_eq!(run.code(), code, "{args:?}: {run}");
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {run}"))
    };

    let runs = ask(&["runs", "--suite", "weather"], 0);
    let listed: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap())
        .collect();
    let newest_first: Vec<&str> = saved.iter().rev().map(|s| s.run.meta.run_id.as_str()).collect();
    assert_eq!(listed, newest_first);

    let latest = ask(&["latest", "weather"], 0);
    assert_eq!(latest["run"]["run_id"], saved[2].run.meta.run_id.as_str());

    for run in saved.iter().map(|s| &s.run) {
        let from_file: BTreeSet<(String, String)> = verdicts(run)
            .into_iter()
            .filter(|(_, verdict)| verdict == "Fail" || verdict == "Ungradeable")
            .map(|(pair, _)| pair)
            .collect();
        let code = if from_file.is_empty() { 1 } else { 0 };
        let failing = ask(&["failing", &run.meta.run_id], code);
        let answered: BTreeSet<(String, String)> = failing["cases"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|case| {
                case["scores"].as_array().unwrap().iter().map(move |score| {
                    (
                        case["task_id"].as_str().unwrap().to_owned(),
                        score["key"].as_str().unwrap().to_owned(),
                    )
                })
            })
            .collect();
        assert_eq!(answered, from_file, "run {}", run.meta.run_id);
    }

    let trend = ask(&["trend", "weather", "--key", "city_matches"], 0);
    let rates: Vec<Option<f64>> = trend["keys"]["city_matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|point| point["pass_rate"].as_f64())
        .collect();
    let from_files: Vec<Option<f64>> = saved.iter().map(|s| s.run.pass_rate("city_matches", None)).collect();
    assert_eq!(rates, from_files);

    let pair = ask(&["pair", "weather", "paris", "city_matches"], 0);
    let history: Vec<&str> = pair["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|point| point["verdicts"][0].as_str().unwrap())
        .collect();
    assert_eq!(history, ["pass", "fail", "pass"]);
}

/// Verdict of every (task, key) of a run.
fn verdicts(run: &eval_engine::RunResult) -> BTreeMap<(String, String), String> {
    run.tasks()
        .iter()
        .flat_map(|task| {
            task.feedback
                .iter()
                .map(|fb| ((task.task_id.clone(), fb.key.clone()), format!("{:?}", fb.verdict())))
        })
        .collect()
}

/// The ids of the tasks a journal holds.
fn journaled_task_ids(journal: &Path) -> BTreeSet<String> {
    let contents = eval_engine::__harness::read_journal(journal).unwrap_or_else(|e| panic!("{e}"));
    contents.tasks.into_iter().map(|t| t.task_id).collect()
}

/// An OTLP JSON export of the weather agent's runs, as an OpenTelemetry collector would write
/// it: per task an `invoke_agent` span carrying the task id and the answer, around the tool's
/// `execute_tool` span; and one trace that names no task.
fn otlp_export(answers: &[(&str, &str)]) -> Value {
    let attr = |key: &str, value: &str| serde_json::json!({"key": key, "value": {"stringValue": value}});
    let mut spans = Vec::new();
    for (i, (task, city)) in answers.iter().enumerate() {
        let trace = format!("{:032x}", i + 1);
        let outputs = serde_json::json!({"city": city, "text": format!("It is sunny in {city}.")}).to_string();
        spans.push(serde_json::json!({
            "traceId": trace, "spanId": format!("{:016x}", 2 * i + 1), "name": "invoke_agent weather",
            "startTimeUnixNano": "1000000", "endTimeUnixNano": "9000000",
            "attributes": [attr("gen_ai.operation.name", "invoke_agent"), attr("eval.task_id", task), attr("eval.outputs", &outputs)],
        }));
        spans.push(serde_json::json!({
            "traceId": trace, "spanId": format!("{:016x}", 2 * i + 2), "parentSpanId": format!("{:016x}", 2 * i + 1),
            "name": "execute_tool lookup_weather", "startTimeUnixNano": "2000000", "endTimeUnixNano": "3000000",
            "attributes": [attr("gen_ai.operation.name", "execute_tool"), attr("gen_ai.tool.name", "lookup_weather"),
                           attr("gen_ai.tool.call.arguments", &serde_json::json!({"city": city}).to_string()),
                           attr("gen_ai.tool.call.result", "{\"conditions\": \"sunny\"}")],
        }));
    }
    spans.push(serde_json::json!({
        "traceId": "f".repeat(32), "spanId": "e".repeat(16), "name": "health check",
        "startTimeUnixNano": "1", "endTimeUnixNano": "2", "attributes": [attr("gen_ai.operation.name", "chat")],
    }));
    serde_json::json!({"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": spans}]}]})
}

#[test]
fn traces_recorded_elsewhere_are_graded_as_a_run_without_running_the_agent() {
    let scenario = Scenario::start();
    let export = scenario.scratch.path().join("traces.json");
    let answers = [
        ("paris", "Paris"),
        ("paris_2", "Paris"),
        ("rome", "Rome"),
        ("tokyo", "Tokyo"),
        ("atlantis", "the sunken city"),
    ];
    fs::write(&export, otlp_export(&answers).to_string()).unwrap();
    let run = scenario.run(&["weather::"], &[("EVAL_TRACES", export.to_str().unwrap())]);
    let mut expected = pairs_of(&WEATHER_TASKS, "ok");
    expected.insert(WEAK_PAIR.to_owned(), "FAILED".to_owned());
    assert_eq!(run.results(), expected, "{run}");
    assert!(scenario.take_calls().is_empty(), "no agent ran: {run}");
    assert!(
        run.stderr.contains(&format!(
            "warning: EVAL_TRACES: {}: span `health check` ({}): no span of trace {} has the attribute `eval.task_id`; left out",
            export.display(),
            "e".repeat(16),
            "f".repeat(32)
        )),
        "{run}"
    );
    let saved = run.saved_run("weather");
    assert_eq!(saved.run.meta.regraded_from.as_deref(), Some("otlp:traces.json"));
    let rome = saved.run.task("rome").unwrap();
    assert_eq!(
        rome.trace.tool_calls().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["lookup_weather"]
    );
    assert_eq!(rome.outputs["city"], "Rome");
    assert_eq!(rome.trace_ref.as_ref().unwrap()["otlp_trace_id"], format!("{:032x}", 3));

    // A task without a trace is not graded; a file that is not OTLP stops the run at once.
    fs::write(&export, otlp_export(&answers[..4]).to_string()).unwrap();
    let partial = scenario.run(&["weather::"], &[("EVAL_TRACES", export.to_str().unwrap())]);
    assert!(
        partial
            .failure("weather::atlantis::called_tool")
            .contains("has no record of this task"),
        "{partial}"
    );
    fs::write(&export, "{\"resourceSpans\": [").unwrap();
    let cut = scenario.run(&["weather::"], &[("EVAL_TRACES", export.to_str().unwrap())]);
    assert_eq!(cut.code(), 2, "{cut}");
    assert!(cut.stderr.contains("not OTLP JSON"), "{cut}");
    assert!(scenario.take_calls().is_empty());
}

/// The variants of `tests/variants.rs` in the fixture crate, and the test-name segment of each.
const VARIANTS: [(&str, &str); 3] = [("mini", "mini"), ("base", "base"), ("large-2", "large_2")];
const VARIANT_SCORERS: [&str; 2] = ["called_tool", "city_matches"];

/// Every pair of the weather suite's variants, `ok` but where `not_ok` says otherwise, and the
/// two pairs of the `greet` suite (variants from a function).
fn variant_pairs(not_ok: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut pairs = BTreeMap::new();
    for (_, segment) in VARIANTS {
        for task in WEATHER_TASKS {
            for scorer in VARIANT_SCORERS {
                pairs.insert(format!("weather::{segment}::{task}::{scorer}"), "ok".to_owned());
            }
        }
    }
    for variant in ["terse", "chatty"] {
        pairs.insert(format!("greet::{variant}::hello::called_tool"), "ok".to_owned());
    }
    for (name, status) in not_ok {
        pairs.insert((*name).to_owned(), (*status).to_owned());
    }
    pairs
}

#[test]
fn three_variants_run_as_one_suite_with_their_own_tests_baselines_and_runs() {
    let scenario = Scenario::start();
    let first = scenario.run_variants(&[], &[]);
    let new_failure = "FAILED";
    let expected = variant_pairs(&[
        ("weather::mini::atlantis::city_matches", new_failure),
        ("weather::base::atlantis::city_matches", new_failure),
    ]);
    assert_eq!(first.results(), expected, "{first}");
    assert_eq!(first.code(), 101, "{first}");
    let mut gates: Vec<String> = first.gates().into_keys().collect();
    gates.sort();
    let mut expected_gates: Vec<String> = VARIANTS
        .iter()
        .flat_map(|(_, segment)| VARIANT_SCORERS.map(|key| format!("weather::{segment}::gate::{key}")))
        .chain(["terse", "chatty"].map(|v| format!("greet::{v}::gate::called_tool")))
        .collect();
    expected_gates.sort();
    assert_eq!(gates, expected_gates, "each variant gates on its own");
    let mut calls = scenario.take_calls();
    calls.sort();
    let mut every: Vec<String> = VARIANTS
        .iter()
        .flat_map(|(name, _)| WEATHER_TASKS.map(|task| format!("weather@{name} {task}")))
        .chain(["greet@terse hello".to_owned(), "greet@chatty hello".to_owned()])
        .collect();
    every.sort();
    assert_eq!(
        calls, every,
        "each variant's agent runs each task once, knowing its variant"
    );

    // A baseline per variant, through insta's snapshot suffix.
    let snapshots = scenario.crate_dir.join("tests/snapshots");
    for (name, segment) in VARIANTS {
        let pending = snapshots.join(format!("variants__weather@{name}.snap.new"));
        let text = fs::read_to_string(&pending).unwrap_or_else(|e| panic!("{}: {e}{first}", pending.display()));
        assert!(
            text.contains(&format!("Scorecard of eval suite `weather::{segment}`")),
            "{text}"
        );
        let atlantis = if name == "large-2" { "pass" } else { "fail" };
        assert!(
            text.lines()
                .any(|l| l.starts_with("atlantis ") && l.ends_with(&format!(" city_matches {atlantis}"))),
            "{name}: {text}"
        );
    }

    // A run file per variant, in a directory of its own, carrying its variant; one file groups them.
    let store = scenario.store_dir();
    let groups: Vec<PathBuf> = sorted(
        fs::read_dir(&store)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().ends_with(".variants.json"))
            .collect(),
    );
    assert_eq!(groups.len(), 2, "one group file per suite with variants: {groups:?}");
    let weather_group = groups
        .iter()
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("weather."))
        .unwrap();
    let group: Value = serde_json::from_str(&fs::read_to_string(weather_group).unwrap()).unwrap();
    let grouped: Vec<&str> = group["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["variant"].as_str().unwrap())
        .collect();
    assert_eq!(grouped, ["mini", "base", "large-2"]);
    for entry in group["runs"].as_array().unwrap() {
        let variant = entry["variant"].as_str().unwrap();
        let file = store.join(entry["file"].as_str().unwrap());
        assert!(
            file.starts_with(store.join(format!("weather@{variant}"))),
            "{}",
            file.display()
        );
        let run = eval_engine::load_run(&file).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(run.meta.suite.name, "weather", "a variant's run is a run of its suite");
        assert_eq!(run.meta.run_id, entry["run_id"].as_str().unwrap());
        let recorded = run.meta.variant.as_ref().unwrap();
        assert_eq!(recorded.name(), variant);
        assert_eq!(recorded.group(), group["group"].as_str());
        assert_eq!(recorded.config(), &entry["config"]);
    }

    // The leaderboard: large-2 is best on city_matches and the variants disagree on atlantis.
    let board = first.all_output();
    let board = &board[board
        .find("variants of weather: leaderboard")
        .unwrap_or_else(|| panic!("no leaderboard: {first}"))..];
    assert!(
        board
            .lines()
            .any(|l| l.trim_start().starts_with("large-2") && l.trim_end().ends_with("best") && l.contains("100.0%")),
        "{board}"
    );
    assert!(
        board.contains("atlantis: mini fail · base fail · large-2 pass"),
        "{board}"
    );

    // Two variants' run files compared pairwise by people: a blinded sheet, labelled, read back.
    let file_of = |variant: &str| {
        let entry = group["runs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["variant"] == variant)
            .unwrap();
        store.join(entry["file"].as_str().unwrap())
    };
    let (mini_file, large_file) = (file_of("mini"), file_of("large-2"));
    let sheet = scenario.scratch.path().join("sheet.jsonl");
    let criterion = "Which answer names the right city?";
    let wrote = run_to_end(
        scenario
            .command(cargo_eval())
            .arg("pairwise-sheet")
            .args([&mini_file, &large_file])
            .args(["--criterion", criterion, "-o"])
            .arg(&sheet),
    );
    assert!(wrote.status.success(), "{}", String::from_utf8_lossy(&wrote.stderr));
    let labelled: Vec<String> = fs::read_to_string(&sheet)
        .unwrap()
        .lines()
        .map(|line| {
            let mut row: Value = serde_json::from_str(line).unwrap();
            let (one, two) = (row["response_1"]["city"].clone(), row["response_2"]["city"].clone());
            row["preferred"] = match (one == "Atlantis", two == "Atlantis") {
                (true, false) => "1".into(),
                (false, true) => "2".into(),
                _ => "tie".into(),
            };
            row.to_string()
        })
        .collect();
    fs::write(&sheet, labelled.join("\n")).unwrap();
    let compared = run_to_end(
        scenario
            .command(cargo_eval())
            .arg("pairwise")
            .args([&mini_file, &large_file])
            .args(["--criterion", criterion, "--json", "--labels"])
            .arg(&sheet),
    );
    assert!(
        compared.status.success(),
        "{}",
        String::from_utf8_lossy(&compared.stderr)
    );
    let pairwise: Value = serde_json::from_slice(&compared.stdout).unwrap();
    assert_eq!(
        (pairwise["variant_a"].clone(), pairwise["variant_b"].clone()),
        ("mini".into(), "large-2".into())
    );
    let people = &pairwise["win_rates"]["people"];
    assert_eq!(
        (
            people["wins"].as_u64(),
            people["losses"].as_u64(),
            people["ties"].as_u64()
        ),
        (Some(1), Some(0), Some(4))
    );

    // Accepted, the variants are green; a regression in one variant fails only its pair.
    scenario.accept_pending_by_renaming();
    let green = scenario.run_variants(&[], &[]);
    assert_eq!(green.code(), 0, "{green}");
    let regressed = scenario.run_variants(&[], &[("E2E_WRONG", "base/rome")]);
    let known = "ignored (known failure)";
    let expected = variant_pairs(&[
        ("weather::mini::atlantis::city_matches", known),
        ("weather::base::atlantis::city_matches", known),
        ("weather::base::rome::city_matches", "FAILED"),
    ]);
    assert_eq!(regressed.results(), expected, "{regressed}");
    assert!(
        regressed
            .failure("weather::base::rome::city_matches")
            .contains("regression"),
        "{regressed}"
    );
    assert!(
        regressed
            .failure("weather::base::rome::city_matches")
            .contains("variants__weather@base.snap"),
        "the message names the variant's baseline: {regressed}"
    );
    scenario.take_calls();

    // EVAL_VARIANTS picks variants; a filter picks a variant's tests, as the IDE's anchors do.
    let picked = scenario.run_variants(&[], &[("EVAL_VARIANTS", "large-2,terse")]);
    let names: Vec<String> = picked.results().into_keys().collect();
    assert!(
        names
            .iter()
            .all(|n| n.starts_with("weather::large_2::") || n.starts_with("greet::terse::")),
        "{picked}"
    );
    assert_eq!(names.len(), WEATHER_TASKS.len() * 2 + 1, "{picked}");
    assert_eq!(picked.code(), 0, "{picked}");
    let mut calls = scenario.take_calls();
    calls.sort();
    assert_eq!(calls.len(), WEATHER_TASKS.len() + 1, "{calls:?}");
    assert!(
        !picked.all_output().contains("variants of weather: leaderboard"),
        "one variant has no leaderboard"
    );

    let filtered = scenario.run_variants(&["weather::mini::paris", "--exact"], &[]);
    assert_eq!(
        filtered.results().into_keys().collect::<Vec<_>>(),
        [
            "weather::mini::paris::called_tool",
            "weather::mini::paris::city_matches"
        ],
        "{filtered}"
    );
    assert_eq!(scenario.take_calls(), ["weather@mini paris"]);

    // A regrade grades each variant's own last run again, running no agent: base's is the one
    // that regressed.
    let regraded = scenario.run_variants(&[], &[("EVAL_REGRADE", "last")]);
    assert_eq!(regraded.results(), expected, "{regraded}");
    assert!(scenario.take_calls().is_empty(), "{regraded}");
    for (name, _) in VARIANTS {
        assert!(
            regraded
                .all_output()
                .contains(&format!("of suite weather@{name} (the latest completed run")),
            "{regraded}"
        );
    }

    // A variant without a baseline has new failures of its own; the others keep theirs.
    fs::remove_file(snapshots.join("variants__weather@mini.snap")).unwrap();
    let without = scenario.run_variants(&["weather::"], &[]);
    let expected: BTreeMap<String, String> = variant_pairs(&[
        ("weather::mini::atlantis::city_matches", "FAILED"),
        ("weather::base::atlantis::city_matches", known),
    ])
    .into_iter()
    .filter(|(name, _)| name.starts_with("weather::"))
    .collect();
    assert_eq!(without.results(), expected, "{without}");
    assert!(
        without
            .failure("weather::mini::atlantis::city_matches")
            .contains("new failure"),
        "{without}"
    );
    scenario.take_calls();

    let unknown = scenario.run_variants(&[], &[("EVAL_VARIANTS", "mini,huge")]);
    assert_eq!(unknown.code(), 2, "{unknown}");
    assert!(
        unknown.stderr.contains(
            "EVAL_VARIANTS names `huge`, which no suite has: suite `greet` has terse, chatty; suite `weather` has mini, base, large-2"
        ),
        "{unknown}"
    );
    assert!(scenario.take_calls().is_empty(), "no agent runs on a bad selection");
}

// ---------------------------------------------------------------------------------------------
// Expected test names.

fn many_task_ids() -> impl Iterator<Item = String> {
    (0..MANY_TASKS).map(|i| format!("t{i:02}"))
}

/// Every pair of both suites, each `ok`.
fn all_pairs_ok() -> BTreeMap<String, String> {
    let mut pairs = pairs_of(&WEATHER_TASKS, "ok");
    pairs.extend(many_task_ids().map(|t| (format!("many::{t}::called_tool"), "ok".to_owned())));
    pairs
}

/// Every pair of these weather tasks, each with `status`.
fn pairs_of(tasks: &[&str], status: &str) -> BTreeMap<String, String> {
    tasks
        .iter()
        .flat_map(|task| {
            WEATHER_SCORERS
                .iter()
                .map(move |scorer| format!("weather::{task}::{scorer}"))
        })
        .map(|name| (name, status.to_owned()))
        .collect()
}

fn outcomes(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(n, s)| ((*n).to_owned(), (*s).to_owned())).collect()
}

/// The verdict of (`task`, `key`) in a scorecard snapshot (`<task> <hash> <key> <verdict>` lines).
fn scorecard_verdict<'a>(snapshot: &'a str, task: &str, key: &str) -> Option<&'a str> {
    snapshot
        .lines()
        .find_map(|line| match line.split_whitespace().collect::<Vec<_>>()[..] {
            [t, _hash, k, verdict] if t == task && k == key => Some(verdict),
            _ => None,
        })
}

fn sorted<T: Ord>(mut items: Vec<T>) -> Vec<T> {
    items.sort();
    items
}

// ---------------------------------------------------------------------------------------------
// Agents and scorers that never return. The weather suite has `timeout = "5s"` and
// `scorer_timeout = "3s"`; every subprocess here has a deadline far below how long the stuck
// agent or scorer would hold it.

#[test]
fn an_agent_blocking_its_thread_times_out_and_the_run_is_saved() {
    let scenario = Scenario::start();
    let started = std::time::Instant::now();
    // Four agents block their threads at once (the suite's concurrency), the fifth after them.
    let child = scenario.spawn(&["weather"], &[("E2E_BLOCK_MS", "60000")]);
    let run = Run::from(wait_with_deadline(child, Duration::from_secs(45)));
    assert!(started.elapsed() < Duration::from_secs(45), "{run}");

    assert_eq!(run.code(), 101, "{run}");
    // Timed out before it looked anything up, the agent has no tool call and no output: every
    // pair fails, saying why.
    assert_eq!(run.results(), pairs_of(&WEATHER_TASKS, "FAILED"), "{run}");
    for pair in pairs_of(&WEATHER_TASKS, "FAILED").keys() {
        let message = run.failure(pair);
        assert!(message.contains("the agent did not finish within 5s"), "{message}");
    }
    let saved = run.saved_run("weather");
    assert_eq!(saved.run.meta.status, eval_engine::result::RunStatus::Completed);
    assert_eq!(saved.run.tasks().len(), WEATHER_TASKS.len());
    for task in saved.run.tasks() {
        let exception = task.trace.exception.as_ref().expect("timed out");
        assert_eq!(
            exception.kind,
            eval_engine::trace::Exception::TIMEOUT,
            "{}",
            task.task_id
        );
        let called_tool = task.feedback_for("called_tool").unwrap();
        assert_eq!(
            called_tool.as_bool(),
            Some(false),
            "graded, not given up: {called_tool:?}"
        );
    }
}

#[test]
fn scorers_that_spin_or_never_complete_are_ungradeable_and_the_rest_is_reported() {
    let scenario = Scenario::start();
    let started = std::time::Instant::now();
    let child = scenario.spawn(
        &["weather"],
        &[("E2E_SCORER_SPIN", "rome"), ("E2E_SCORER_PENDING", "tokyo")],
    );
    let run = Run::from(wait_with_deadline(child, Duration::from_secs(45)));
    assert!(started.elapsed() < Duration::from_secs(45), "{run}");

    let mut expected = pairs_of(&WEATHER_TASKS, "ok");
    expected.insert(WEAK_PAIR.to_owned(), "FAILED".to_owned());
    expected.insert("weather::rome::called_tool".to_owned(), "FAILED".to_owned());
    expected.insert("weather::tokyo::called_tool".to_owned(), "FAILED".to_owned());
    assert_eq!(run.results(), expected, "{run}");
    assert_eq!(run.code(), 101, "{run}");
    let saved = run.saved_run("weather");
    assert_eq!(saved.run.meta.status, eval_engine::result::RunStatus::Completed);
    for task in ["rome", "tokyo"] {
        let message = run.failure(&format!("weather::{task}::called_tool"));
        assert!(
            message.contains("is ungradeable (counts as a fail)")
                && message.contains("the scorer did not finish within 3s"),
            "{message}"
        );
        let record = saved.run.task(task).unwrap();
        let given_up = record.feedback_for("called_tool").unwrap();
        assert_eq!(given_up.as_bool(), None, "{given_up:?}");
        assert_eq!(given_up.comment.as_deref(), Some("the scorer did not finish within 3s"));
        // The scorers after it graded, on the agent's output.
        assert_eq!(record.feedback_for("city_matches").unwrap().as_bool(), Some(true));
        assert!(record.feedback_for("answer_length").is_some());
        assert_eq!(record.trace.exception, None, "the agent itself was fine");
    }
}

#[test]
fn a_sigterm_while_every_agent_blocks_stops_the_run_at_once() {
    let scenario = Scenario::start();
    let mut child = scenario.spawn(
        &["weather"],
        &[("E2E_BLOCK_MS", "60000"), ("EVAL_GRACE_SECONDS", "0.5")],
    );
    // The agents record their start before they block; four run at once.
    wait_until(&mut child, "four agents started", || scenario.calls().len() >= 4);
    let signalled = std::time::Instant::now();
    signal(&child, libc::SIGTERM);
    let run = Run::from(wait_with_deadline(child, Duration::from_secs(30)));
    let took = signalled.elapsed();

    // Well before the agents' 5 s timeout: the signal did not wait for them.
    assert!(took < Duration::from_secs(4), "exited {took:?} after the signal: {run}");
    assert_eq!(run.code(), 130, "{run}");
    assert!(run.stderr.contains("interrupted: no new task starts"), "{run}");
    let saved = run.saved_run("weather");
    assert_eq!(saved.run.meta.status, eval_engine::result::RunStatus::Interrupted);
    assert!(saved.run.tasks().is_empty(), "no agent finished: {run}");
    assert!(
        run.failure("weather::paris::called_tool")
            .contains("interrupted: not run"),
        "{run}"
    );
    assert_eq!(scenario.take_calls().len(), 4, "no new task started");
}

#[test]
fn two_sigterms_after_the_tests_printed_exit_at_once() {
    let scenario = Scenario::start();
    // A `git` that takes its time stands for a slow conclusion: the harness waits for the
    // commit it asked for after the tests have reported, before it saves the run.
    let bin = scenario.scratch.path().join("bin");
    fs::create_dir_all(&bin).unwrap();
    let git = bin.join("git");
    fs::write(&git, "#!/bin/sh\nexec sleep 30\n").unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(&git, fs::Permissions::from_mode(0o755)).unwrap();
    let path = std::env::join_paths(
        std::iter::once(bin.clone()).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .unwrap();
    let stdout_file = scenario.scratch.path().join("stdout");
    let mut command = scenario.command(&scenario.binary);
    command
        .arg("weather")
        .env("PATH", path)
        .stdin(Stdio::null())
        .stdout(File::create(&stdout_file).unwrap())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    wait_until(&mut child, "the tests reported", || {
        fs::read_to_string(&stdout_file).unwrap().contains("test result:")
    });
    signal(&child, libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, libc::SIGTERM);
    let output = wait_with_deadline(child, Duration::from_secs(10));
    let run = Run {
        stdout: fs::read_to_string(&stdout_file).unwrap(),
        ..Run::from(output)
    };

    assert_eq!(run.code(), 130, "{run}");
    assert!(
        run.stderr
            .contains("interrupted: every task has ended; the runs are being saved (interrupt again to exit at once)"),
        "{run}"
    );
}

/// Polls `done` until it holds; kills the child and fails the test if the child ends first or
/// a minute passes.
fn wait_until(child: &mut Child, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !done() {
        let ended = child.try_wait().unwrap();
        if ended.is_some() || std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("waited in vain for this: {what} (the test binary ended: {ended:?})");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends `signal` to a child this test spawned and has not reaped yet.
fn signal(child: &Child, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: the child is alive or a zombie until waited for, so the pid is still its own.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
}

// ---------------------------------------------------------------------------------------------
// The scratch crate.

/// Where everything of these tests lives: the crate, its target directory, the tool cache.
fn work_root() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e")
}

fn fixture_source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/e2e_crate")
}

fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// One scenario's exclusive use of the scratch crate, with its own store and call log.
struct Scenario {
    crate_dir: PathBuf,
    binary: PathBuf,
    scratch: tempfile::TempDir,
    _file_lock: File,
    _thread_lock: MutexGuard<'static, ()>,
}

impl Scenario {
    fn start() -> Self {
        static THREADS: Mutex<()> = Mutex::new(());
        // A build that fails is reported by every scenario, not retried by each.
        static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
        let thread_lock = THREADS.lock().unwrap_or_else(PoisonError::into_inner);
        let file_lock = lock_file(&work_root().join("crate.lock"));

        let crate_dir = work_root().join("crate");
        copy_fixture(&crate_dir);
        // A killed earlier run may have left snapshots behind.
        remove_snapshots(&crate_dir);
        let binary = BINARY
            .get_or_init(|| build(&crate_dir))
            .clone()
            .unwrap_or_else(|why| panic!("{why}"));
        Scenario {
            crate_dir,
            binary,
            scratch: tempfile::tempdir().unwrap(),
            _file_lock: file_lock,
            _thread_lock: thread_lock,
        }
    }

    fn store_dir(&self) -> PathBuf {
        self.scratch.path().join("store")
    }

    fn calls_file(&self) -> PathBuf {
        self.scratch.path().join("calls")
    }

    /// A command run in the crate's directory with a clean environment: none of the variables
    /// that steer the harness, insta or nextest leak in from the environment of this test.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command.current_dir(&self.crate_dir);
        for (name, _) in std::env::vars_os() {
            let name_text = name.to_string_lossy();
            let steers = [
                "CI",
                "TF_BUILD",
                "CARGO_TARGET_DIR",
                "RUSTC_BOOTSTRAP",
                "GITHUB_STEP_SUMMARY",
            ]
            .contains(&name_text.as_ref())
                || ["INSTA_", "NEXTEST", "EVAL_", "E2E_"]
                    .iter()
                    .any(|prefix| name_text.starts_with(prefix));
            if steers {
                command.env_remove(&name);
            }
        }
        command
            .env("CARGO", cargo())
            .env("CARGO_TARGET_DIR", work_root().join("target"))
            .env("EVAL_STORE_DIR", self.store_dir())
            .env("E2E_CALLS", self.calls_file());
        command
    }

    /// Runs the test binary as cargo would.
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = self.command(&self.binary);
        command.args(args).envs(env.iter().copied());
        run_to_end(&mut command).into()
    }

    /// Runs the crate's `variants` test binary (built the first time it is asked for).
    fn run_variants(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
        let binary = BINARY
            .get_or_init(|| build_target(&self.crate_dir, "variants"))
            .clone()
            .unwrap_or_else(|why| panic!("{why}"));
        let mut command = self.command(binary);
        command.args(args).envs(env.iter().copied());
        run_to_end(&mut command).into()
    }

    /// Runs the weather suite under `cargo nextest run`.
    fn nextest(&self, env: &[(&str, &str)]) -> Run {
        let mut command = self.command(cargo());
        command
            .args([
                "nextest",
                "run",
                "--no-fail-fast",
                "--color",
                "never",
                "--test",
                "evals",
                "weather::",
            ])
            .envs(env.iter().copied());
        run_to_end(&mut command).into()
    }

    /// The directories the processes of each nextest run shared for `suite`.
    fn nextest_run_dirs(&self, suite: &str) -> Vec<PathBuf> {
        let dirs = fs::read_dir(self.store_dir().join(suite)).into_iter().flatten();
        let dirs = dirs.map(|entry| entry.unwrap().path());
        sorted(
            dirs.filter(|path| path.is_dir() && path.file_name().unwrap().to_string_lossy().starts_with("nextest-"))
                .collect(),
        )
    }

    /// Runs `cargo eval assemble <dir>` and loads the run JSON whose path it prints.
    fn assemble(&self, dir: &Path) -> eval_engine::RunResult {
        let output = run_to_end(self.command(cargo_eval()).arg("assemble").arg(dir));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "cargo eval assemble failed: {}{stdout}",
            String::from_utf8_lossy(&output.stderr)
        );
        eval_engine::load_run(stdout.trim()).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts the test binary without waiting for it, its output captured.
    fn spawn(&self, args: &[&str], env: &[(&str, &str)]) -> Child {
        let mut command = self.command(&self.binary);
        command
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", command.get_program()))
    }

    /// Waits until the journal of `suite` holds a graded task, and returns its path.
    fn wait_for_journaled_tasks(&self, suite: &str, child: &mut Child) -> PathBuf {
        let dir = self.store_dir().join(suite);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let journal = fs::read_dir(&dir).into_iter().flatten().find_map(|entry| {
                let path = entry.ok()?.path();
                path.to_str()?.ends_with(".journal.jsonl").then_some(path)
            });
            if let Some(journal) = journal
                && fs::read_to_string(&journal).unwrap_or_default().lines().count() > 1
            {
                return journal;
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the run ended ({status}) before any task was journaled");
            }
            assert!(std::time::Instant::now() < deadline, "no task was journaled");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// The agent invocations so far, one `<suite> <task id>` each, leaving them in place.
    fn calls(&self) -> Vec<String> {
        let calls = fs::read_to_string(self.calls_file()).unwrap_or_default();
        calls.lines().map(str::to_owned).collect()
    }

    /// The agent invocations since the last call, one `<suite> <task id>` each.
    fn take_calls(&self) -> Vec<String> {
        let calls = fs::read_to_string(self.calls_file()).unwrap_or_default();
        let _ = fs::remove_file(self.calls_file());
        calls.lines().map(str::to_owned).collect()
    }

    fn pending(&self, suite: &str) -> PathBuf {
        self.crate_dir.join(format!("tests/snapshots/evals__{suite}.snap.new"))
    }

    /// What `cargo insta accept` does: every pending snapshot replaces its baseline.
    fn accept_pending_by_renaming(&self) {
        let dir = self.crate_dir.join("tests/snapshots");
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if let Some(snapshot) = path.to_str().and_then(|p| p.strip_suffix(".new")) {
                fs::rename(&path, snapshot).unwrap();
            }
        }
    }

    /// Every file and directory of the crate with its contents.
    fn source_tree(&self) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
        let mut tree = BTreeMap::new();
        walk(&self.crate_dir, &mut |path| {
            let contents = path.is_file().then(|| fs::read(path).unwrap());
            tree.insert(path.strip_prefix(&self.crate_dir).unwrap().to_path_buf(), contents);
        });
        tree
    }
}

impl Drop for Scenario {
    fn drop(&mut self) {
        remove_snapshots(&self.crate_dir);
    }
}

fn remove_snapshots(crate_dir: &Path) {
    let _ = fs::remove_dir_all(crate_dir.join("tests/snapshots"));
}

/// Holds an exclusive lock on `path` until the file is dropped.
fn lock_file(path: &Path) -> File {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .unwrap();
    file.lock().unwrap();
    file
}

/// Brings the scratch crate in line with the fixture, writing only files whose contents differ
/// so that cargo sees nothing new when nothing changed.
fn copy_fixture(crate_dir: &Path) {
    let source = fixture_source();
    walk(&source, &mut |path| {
        if !path.is_file() {
            return;
        }
        let relative = path.strip_prefix(&source).unwrap();
        let mut contents = fs::read(path).unwrap();
        let mut target = crate_dir.join(relative);
        if relative == Path::new("Cargo.toml.in") {
            let harness = Path::new(env!("CARGO_MANIFEST_DIR")).join("eval-harness");
            let manifest = String::from_utf8(contents).unwrap();
            contents = manifest
                .replace("@EVAL_HARNESS@", harness.to_str().unwrap())
                .into_bytes();
            target = crate_dir.join("Cargo.toml");
        }
        if fs::read(&target).ok().as_ref() != Some(&contents) {
            fs::create_dir_all(target.parent().unwrap()).unwrap();
            fs::write(&target, contents).unwrap();
        }
    });
    // Start from this repository's lock file: the same dependency versions, already downloaded.
    let lock = crate_dir.join("Cargo.lock");
    if !lock.exists() {
        fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock"), lock).unwrap();
    }
}

fn walk(dir: &Path, visit: &mut dyn FnMut(&Path)) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        visit(&path);
        if path.is_dir() {
            walk(&path, visit);
        }
    }
}

/// Builds the crate's `evals` target and returns the test executable.
fn build(crate_dir: &Path) -> Result<PathBuf, String> {
    build_target(crate_dir, "evals")
}

/// Builds the crate's test target `target` and returns the test executable.
fn build_target(crate_dir: &Path, target: &str) -> Result<PathBuf, String> {
    let mut command = Command::new(cargo());
    command
        .args(["test", "--no-run", "--message-format=json", "--test", target])
        .current_dir(crate_dir)
        .env("CARGO_TARGET_DIR", work_root().join("target"))
        .env_remove("RUSTC_BOOTSTRAP");
    let output = run_to_end(&mut command);
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "the fixture crate does not build:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|message| {
            message["reason"] == "compiler-artifact"
                && message["profile"]["test"] == true
                && message["target"]["name"] == target
        })
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| format!("cargo reported no test executable for `{target}`:\n{stdout}"))
}

/// The `cargo-eval` executable, built once into the scratch target directory (not this
/// workspace's, whose lock the running `cargo test` holds).
fn cargo_eval() -> PathBuf {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = BINARY.get_or_init(|| {
        let mut command = Command::new(cargo());
        command
            .args([
                "build",
                "-q",
                "-p",
                "eval-harness",
                "--bin",
                "cargo-eval",
                "--message-format=json",
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("CARGO_TARGET_DIR", work_root().join("target"))
            .env_remove("RUSTC_BOOTSTRAP");
        let output = run_to_end(&mut command);
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            return Err(format!(
                "cargo-eval does not build:\n{}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        stdout
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|message| message["reason"] == "compiler-artifact" && message["target"]["name"] == "cargo-eval")
            .find_map(|message| message["executable"].as_str().map(PathBuf::from))
            .ok_or_else(|| format!("cargo reported no executable for `cargo-eval`:\n{stdout}"))
    });
    built.clone().unwrap_or_else(|why| panic!("{why}"))
}

/// Runs `command` to its end with its output captured, failing the test (and killing it) if
/// it runs past a deadline generous enough for a cold build.
fn run_to_end(command: &mut Command) -> Output {
    const DEADLINE: std::time::Duration = std::time::Duration::from_secs(15 * 60);
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", command.get_program()));
    wait_with_deadline(child, DEADLINE)
}

/// Waits for a spawned child, reading what is left of its output while it runs (a child blocked
/// on a full pipe would never end); kills it and fails the test when it outlives `limit`.
fn wait_with_deadline(mut child: Child, limit: std::time::Duration) -> Output {
    use std::io::Read as _;
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    );
    let deadline = std::time::Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the test binary did not exit within {limit:?}: {}",
                String::from_utf8_lossy(&stderr.join().unwrap())
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// Puts a file's contents and modification time back when dropped, so cargo does not rebuild
/// the crate because a scenario edited its dataset.
struct FileRestorer {
    path: PathBuf,
    contents: Vec<u8>,
    modified: SystemTime,
}

impl FileRestorer {
    fn new(path: &Path) -> Self {
        FileRestorer {
            path: path.to_path_buf(),
            contents: fs::read(path).unwrap(),
            modified: fs::metadata(path).unwrap().modified().unwrap(),
        }
    }
}

impl Drop for FileRestorer {
    fn drop(&mut self) {
        fs::write(&self.path, &self.contents).unwrap();
        File::options()
            .write(true)
            .open(&self.path)
            .and_then(|file| file.set_modified(self.modified))
            .unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// An OTLP/HTTP collector on 127.0.0.1: it takes `POST /v1/traces` requests (protobuf) and keeps
// their spans.

#[derive(Debug)]
struct ExportedSpan {
    name: String,
    trace: Vec<u8>,
    id: Vec<u8>,
    parent: Vec<u8>,
    attributes: BTreeMap<String, String>,
}

impl ExportedSpan {
    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(String::as_str)
    }
}

struct OtlpCollector {
    address: std::net::SocketAddr,
    bodies: std::sync::Arc<Mutex<Vec<Vec<u8>>>>,
}

impl OtlpCollector {
    fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let bodies = std::sync::Arc::new(Mutex::new(Vec::new()));
        let kept = bodies.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let kept = kept.clone();
                std::thread::spawn(move || serve_otlp(stream, &kept));
            }
        });
        OtlpCollector { address, bodies }
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Every span received so far.
    fn spans(&self) -> Vec<ExportedSpan> {
        use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
        use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
        use prost::Message;
        let bodies = self.bodies.lock().unwrap();
        let mut spans = Vec::new();
        for body in bodies.iter() {
            let request = ExportTraceServiceRequest::decode(body.as_slice()).expect("an OTLP trace request");
            for span in request
                .resource_spans
                .into_iter()
                .flat_map(|r| r.scope_spans)
                .flat_map(|s| s.spans)
            {
                let attributes = span
                    .attributes
                    .into_iter()
                    .filter_map(|kv| {
                        let value = match kv.value?.value? {
                            Any::StringValue(s) => s,
                            Any::IntValue(i) => i.to_string(),
                            Any::BoolValue(b) => b.to_string(),
                            Any::DoubleValue(d) => d.to_string(),
                            other => format!("{other:?}"),
                        };
                        Some((kv.key, value))
                    })
                    .collect();
                spans.push(ExportedSpan {
                    name: span.name,
                    trace: span.trace_id,
                    id: span.span_id,
                    parent: span.parent_span_id,
                    attributes,
                });
            }
        }
        spans
    }
}

/// Answers the requests of one connection (keep-alive), keeping each body.
fn serve_otlp(stream: std::net::TcpStream, bodies: &Mutex<Vec<Vec<u8>>>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        // The request line and headers, up to the blank line.
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        bodies.lock().unwrap().push(body);
        let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
        if writer.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tools that may be missing.

/// A scenario that needs a missing tool passes with a note outside CI and fails in CI. The note
/// is only seen with `--nocapture`: libtest captures the output of passing tests.
fn skip(why: &str) {
    assert!(!venv::in_ci(), "{why}, and CI must run this test");
    eprintln!("note: skipped: {why}");
}

fn cargo_subcommand_works(name: &str) -> bool {
    Command::new(cargo())
        .args([name, "--version"])
        .output()
        .is_ok_and(|out| out.status.success())
}

/// How to run `cargo insta`.
struct Tool {
    program: OsString,
    args: Vec<&'static str>,
}

/// `cargo insta` if installed; otherwise cargo-insta installed into a cache under the target
/// directory (once per machine, a few minutes). `None` when it cannot be had (see [`skip`]).
fn cargo_insta() -> Option<Tool> {
    if cargo_subcommand_works("insta") {
        return Some(Tool {
            program: cargo(),
            args: vec!["insta"],
        });
    }
    let root = work_root().join("cargo-insta");
    let binary = root
        .join("bin")
        .join(format!("cargo-insta{}", std::env::consts::EXE_SUFFIX));
    let tool = || Tool {
        program: binary.clone().into(),
        args: vec!["insta"],
    };
    let _installing = lock_file(&work_root().join("cargo-insta.lock"));
    if binary.is_file() {
        return Some(tool());
    }
    let installed = Command::new(cargo())
        .args(["install", "cargo-insta", "--locked", "--version", "1.49.0", "--root"])
        .arg(&root)
        .arg("--target-dir")
        .arg(work_root().join("cargo-insta-build"))
        .env_remove("RUSTC_BOOTSTRAP")
        .output();
    match installed {
        Ok(out) if out.status.success() => Some(tool()),
        Ok(out) => {
            skip(&format!(
                "cargo-insta could not be installed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            ));
            None
        }
        Err(e) => {
            skip(&format!("cargo-insta could not be installed: {e}"));
            None
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reading what a run printed.

struct Run {
    status: std::process::ExitStatus,
    stdout: String,
    stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Run {
            status: output.status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "\nexit status: {}\n--- stdout\n{}\n--- stderr\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// A run JSON named on the summary's `run:` line.
struct SavedRun {
    path: PathBuf,
    run: eval_engine::RunResult,
}

impl Run {
    /// The exit code; a run killed by a signal fails the test here.
    fn code(&self) -> i32 {
        self.status
            .code()
            .unwrap_or_else(|| panic!("killed by a signal: {self}"))
    }

    fn all_output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// `test NAME ... STATUS` lines of the pairs: name → `ok`, `FAILED`, `ignored (reason)`.
    /// Each test is reported once. The suite-level gates are in [`Run::gates`].
    fn results(&self) -> BTreeMap<String, String> {
        let mut results = self.all_results();
        results.retain(|name, _| !name.contains("::gate::"));
        results
    }

    /// The `<suite>::gate::<key>` tests' lines.
    fn gates(&self) -> BTreeMap<String, String> {
        let mut results = self.all_results();
        results.retain(|name, _| name.contains("::gate::"));
        results
    }

    fn all_results(&self) -> BTreeMap<String, String> {
        let mut results = BTreeMap::new();
        for line in self.stdout.lines() {
            let Some((name, status)) = line.strip_prefix("test ").and_then(|rest| rest.split_once(" ... ")) else {
                continue;
            };
            let previous = results.insert(name.trim().to_owned(), status.trim().to_owned());
            assert!(previous.is_none(), "{} is reported twice: {self}", name.trim());
        }
        results
    }

    /// The failure message printed for `name`.
    fn failure(&self, name: &str) -> &str {
        let header = format!("---- {name} ----\n");
        let start = self
            .stdout
            .find(&header)
            .unwrap_or_else(|| panic!("no failure message for {name}: {self}"))
            + header.len();
        let rest = &self.stdout[start..];
        let end = ["\n---- ", "\nfailures:"]
            .iter()
            .filter_map(|marker| rest.find(marker))
            .min()
            .unwrap_or(rest.len());
        rest[..end].trim_end()
    }

    /// The harness's closing summary (on stdout, or on stderr in JSON mode).
    fn summary(&self) -> &str {
        for out in [&self.stdout, &self.stderr] {
            if let Some(start) = out.find("\neval summary\n") {
                return &out[start..];
            }
        }
        panic!("no eval summary: {self}")
    }

    /// The run JSON of `suite`, loaded from the path on the summary's `run:` line.
    fn saved_run(&self, suite: &str) -> SavedRun {
        self.summary()
            .lines()
            .filter_map(|line| line.trim().strip_prefix("run: "))
            .map(|path| SavedRun {
                path: PathBuf::from(path),
                run: eval_engine::load_run(path).unwrap_or_else(|e| panic!("{e}")),
            })
            .find(|saved| saved.run.meta.suite.name == suite)
            .unwrap_or_else(|| panic!("no run JSON of suite {suite}: {self}"))
    }

    /// Every stdout line as JSON; a line that is not JSON fails the test.
    fn json_events(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|line| {
                serde_json::from_str(line).unwrap_or_else(|e| panic!("stdout line {line:?} is not JSON ({e}): {self}"))
            })
            .collect()
    }

    /// nextest's `PASS [..] (i/n) crate::binary NAME` lines: name → `PASS`, `FAIL`, ….
    fn nextest_results(&self) -> BTreeMap<String, String> {
        let mut results = BTreeMap::new();
        for line in self.stderr.lines().chain(self.stdout.lines()) {
            let words: Vec<&str> = line.split_whitespace().collect();
            let is_result = words.len() >= 3
                && ["PASS", "FAIL", "SKIP", "SIGSEGV", "SIGABRT", "TIMEOUT", "LEAK"].contains(&words[0])
                && words[1].starts_with('[');
            // The suite gates are checked apart from the pairs.
            if is_result && let Some(name) = words.last().filter(|name| !name.contains("::gate::")) {
                results.insert((*name).to_owned(), words[0].to_owned());
            }
        }
        results
    }
}
