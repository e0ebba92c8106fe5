//! Runs the real `cargo-eval` binary's history commands (`runs`, `latest`, `failing`, `trend`,
//! `pair`, `flaky`, `sql`, `label`, `import`) on stores it did not write itself: AG2's run
//! files, and runs saved through `Store::save` as the harness saves them. Every answer is
//! checked against the run files (read with `load_run`), not against the index.
#![cfg(feature = "history")]

use eval_engine::result::{Budgets, RunMeta, RunStatus, Selection, SuiteInfo};
use eval_engine::task::ContentHash;
use eval_engine::{Feedback, RunResult, ScorerSpec, Store, TaskRecord, Trace, load_run};
use serde_json::{Map, Value, json};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

mod support;

use support::{cargo_eval_command, fixture, run_with_deadline, stderr, stdout};

/// `cargo eval <args>` with `EVAL_STORE_DIR` set to `store`.
fn cargo_eval<I, S>(store: &Path, args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_with_deadline(cargo_eval_command().args(args).env("EVAL_STORE_DIR", store))
}

/// The JSON `cargo eval <args> --json` printed, after checking its exit code.
fn json_of(store: &Path, args: &[&str], code: i32) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    let output = cargo_eval(store, &args);
    assert_eq!(output.status.code(), Some(code), "{args:?}: {}", stderr(&output));
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", stdout(&output)))
}

/// The `(task, key)` pairs of `run` whose verdict fails a gate, as the run file has them.
fn failing_pairs(run: &RunResult) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = run
        .tasks()
        .iter()
        .flat_map(|t| {
            t.feedback
                .iter()
                .filter(|f| f.verdict().fails_gate())
                .map(|f| (t.task_id.clone(), f.key.clone()))
        })
        .collect();
    pairs.sort();
    pairs
}

/// The `(task, key)` pairs of a `failing --json` answer.
fn answered_pairs(answer: &Value) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = answer["cases"]
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
    pairs.sort();
    pairs
}

fn run_ids(answer: &Value) -> Vec<String> {
    answer
        .as_array()
        .unwrap()
        .iter()
        .map(|run| run["run_id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn an_ag2_store_imports_and_answers_every_question() {
    let store = tempfile::tempdir().unwrap();
    let output = cargo_eval(store.path(), [OsStr::new("import"), fixture("").as_os_str()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output).matches(": added").count(), 2, "{}", stdout(&output));

    let run_a = load_run(fixture("run_a.json")).unwrap();
    let run_b = load_run(fixture("run_b.json")).unwrap();
    let suite = run_b.meta.suite.name.as_str();

    let runs = json_of(store.path(), &["runs", "--suite", suite], 0);
    assert_eq!(run_ids(&runs), [run_b.meta.run_id.as_str(), run_a.meta.run_id.as_str()]);
    assert_eq!(runs[0]["label"], json!(run_b.meta.label));

    let latest = json_of(store.path(), &["latest", suite], 0);
    assert_eq!(latest["run"]["run_id"], "run_b");
    assert_eq!(latest["cases"], run_b.tasks().len());
    for key in run_b.keys() {
        let summary = latest["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["key"] == key)
            .unwrap();
        assert_eq!(summary["pass_rate"].as_f64(), run_b.pass_rate(key, None), "{key}");
        let mean = run_b.aggregates().score_stats.get(key).map(|s| s.mean);
        assert_eq!(summary["mean"].as_f64(), mean, "{key}");
    }

    let failing = json_of(store.path(), &["failing", "run_b"], 0);
    assert_eq!(answered_pairs(&failing), failing_pairs(&run_b));
    // `last` is the latest completed run, and it is named.
    let output = cargo_eval(store.path(), ["failing", "last"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(stderr(&output).contains("last: run run_b"), "{}", stderr(&output));
    // A run without failures answers "nothing", for scripts.
    json_of(store.path(), &["failing", "run_a"], 1);

    let trend = json_of(store.path(), &["trend", suite, "--key", "final_answer_matches"], 0);
    let rates: Vec<Option<f64>> = trend["keys"]["final_answer_matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pass_rate"].as_f64())
        .collect();
    assert_eq!(
        rates,
        [
            run_a.pass_rate("final_answer_matches", None),
            run_b.pass_rate("final_answer_matches", None)
        ]
    );

    let pair = json_of(store.path(), &["pair", suite, "reg-2", "final_answer_matches"], 0);
    let verdicts: Vec<&str> = pair["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["verdicts"][0].as_str().unwrap())
        .collect();
    let from_files: Vec<&str> = [&run_a, &run_b]
        .iter()
        .map(|run| {
            match run
                .task("reg-2")
                .unwrap()
                .feedback_for("final_answer_matches")
                .unwrap()
                .as_bool()
            {
                Some(true) => "pass",
                _ => "fail",
            }
        })
        .collect();
    assert_eq!(verdicts, from_files);

    // Importing the same files again adds nothing.
    let output = cargo_eval(store.path(), [OsStr::new("import"), fixture("run_a.json").as_os_str()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("already in the store"), "{}", stdout(&output));
    let count = json_of(store.path(), &["sql", "SELECT COUNT(*) AS n FROM runs"], 0);
    assert_eq!(count[0]["n"], 2);
}

fn task(id: &str, city_ok: bool, overlap: f64) -> TaskRecord {
    let inputs = json!({ "input": format!("Weather in {id}?") });
    TaskRecord {
        task_id: id.to_owned(),
        content_hash: ContentHash::of(&inputs, &Value::Null),
        inputs,
        reference_outputs: Value::Null,
        tags: Vec::new(),
        metadata: Map::new(),
        trace: Trace::default(),
        feedback: vec![
            Feedback::pass_fail("called_tool", true),
            if city_ok {
                Feedback::pass_fail("city_matches", true)
            } else {
                Feedback::pass_fail("city_matches", false).with_comment(format!("expected {id}"))
            },
            Feedback::number("overlap", overlap),
        ],
        budget_violation: false,
        scorer_traces: Vec::new(),
        trace_ref: None,
        outputs: json!("sunny"),
        attempt: None,
    }
}

/// A completed run of `weather` started at `minute` past eight, in which `wrong` fail
/// `city_matches`.
fn weather_run(run_id: &str, minute: u32, wrong: &[&str]) -> RunResult {
    let meta = RunMeta {
        schema_version: eval_engine::result::SCHEMA_VERSION.to_owned(),
        run_id: run_id.to_owned(),
        label: None,
        created_at: format!("2026-11-22T08:{minute:02}:00Z"),
        duration_ms: 10,
        suite: SuiteInfo {
            name: "weather".to_owned(),
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
        scorers: vec![ScorerSpec::new("called_tool"), ScorerSpec::new("city_matches")],
        resumed: None,
        variant: None,
        regraded_from: None,
    };
    let tasks = ["paris", "rome", "tokyo"]
        .iter()
        .map(|id| task(id, !wrong.contains(id), if wrong.contains(id) { 0.2 } else { 0.9 }))
        .collect();
    RunResult::new(meta, tasks)
}

/// Four runs saved as the harness saves them: `rome` flips back and forth.
fn four_runs(root: &Path) -> Vec<PathBuf> {
    let store = Store::new(root);
    [
        weather_run("01A", 1, &[]),
        weather_run("01B", 2, &["rome"]),
        weather_run("01C", 3, &[]),
        weather_run("01D", 4, &["rome", "tokyo"]),
    ]
    .iter()
    .map(|run| store.save(run).unwrap())
    .collect()
}

#[test]
fn saved_runs_are_in_the_history_without_another_step_and_answer_as_their_files() {
    let store = tempfile::tempdir().unwrap();
    let paths = four_runs(store.path());
    // Saved through the library, not the harness: the first query indexes them.
    assert!(
        !store.path().join("history.sqlite").exists(),
        "a library save writes no index"
    );
    let files: Vec<RunResult> = paths.iter().map(|p| load_run(p).unwrap()).collect();

    let runs = json_of(store.path(), &["runs"], 0);
    assert_eq!(run_ids(&runs), ["01D", "01C", "01B", "01A"]);
    assert_eq!(runs[0]["path"], json!(paths[3]));
    let since = json_of(
        store.path(),
        &[
            "runs",
            "--since",
            "2026-11-22T08:02:00Z",
            "--until",
            "2026-11-22T08:04:00Z",
        ],
        0,
    );
    assert_eq!(run_ids(&since), ["01C", "01B"]);
    json_of(store.path(), &["runs", "--status", "interrupted"], 1);

    let latest = json_of(store.path(), &["latest", "weather"], 0);
    assert_eq!(latest["run"]["run_id"], "01D");
    assert_eq!(latest["fails"], failing_pairs(&files[3]).len());

    for (file, path) in files.iter().zip(&paths) {
        let id = file.meta.run_id.as_str();
        let code = if failing_pairs(file).is_empty() { 1 } else { 0 };
        let failing = json_of(store.path(), &["failing", id], code);
        assert_eq!(answered_pairs(&failing), failing_pairs(file), "{}", path.display());
    }
    let below = json_of(store.path(), &["failing", "01C", "--threshold", "0.95"], 0);
    let keys: Vec<(String, String)> = answered_pairs(&below);
    assert_eq!(keys.len(), 3, "every overlap of 0.9 is below 0.95: {keys:?}");

    let trend = json_of(store.path(), &["trend", "weather", "--last", "3"], 0);
    let points = trend["keys"]["city_matches"].as_array().unwrap();
    assert_eq!(points.len(), 3);
    for (point, file) in points.iter().zip(&files[1..]) {
        assert_eq!(point["run_id"], file.meta.run_id.as_str());
        assert_eq!(point["pass_rate"].as_f64(), file.pass_rate("city_matches", None));
    }
    let mean = trend["keys"]["overlap"][2]["mean"].as_f64().unwrap();
    let from_file = files[3].aggregates().score_stats["overlap"].mean;
    assert!((mean - from_file).abs() < 1e-12, "{mean} vs {from_file}");

    let text = cargo_eval(store.path(), ["trend", "weather"]);
    assert_eq!(text.status.code(), Some(0));
    let out = stdout(&text);
    let line = out.lines().find(|l| l.starts_with("city_matches")).unwrap();
    assert!(line.contains("█▆█▃"), "a sparkline of 100%, 67%, 100%, 33%: {out}");
    assert!(line.contains("100% → 33%"), "{out}");

    let pair = json_of(store.path(), &["pair", "weather", "rome", "city_matches"], 0);
    let verdicts: Vec<&str> = pair["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["verdicts"][0].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["pass", "fail", "pass", "fail"]);
    let flaky = json_of(store.path(), &["flaky", "weather"], 0);
    assert_eq!(flaky[0]["task_id"], "rome");
    assert_eq!(flaky[0]["flips"], 3);
}

#[test]
fn a_label_is_written_into_the_run_file_and_found_again() {
    let store = tempfile::tempdir().unwrap();
    let paths = four_runs(store.path());
    let output = cargo_eval(store.path(), ["label", "01B", "candidate"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(load_run(&paths[1]).unwrap().meta.label.as_deref(), Some("candidate"));
    let labelled = json_of(store.path(), &["runs", "--label", "candidate"], 0);
    assert_eq!(run_ids(&labelled), ["01B"]);
    // A label that is not a plain name is refused, and the file stays.
    let before = std::fs::read(&paths[1]).unwrap();
    let output = cargo_eval(store.path(), ["label", "01B", "../up"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("label"), "{}", stderr(&output));
    assert_eq!(std::fs::read(&paths[1]).unwrap(), before);
}

#[test]
fn bad_input_exits_2_naming_what_exists() {
    let store = tempfile::tempdir().unwrap();
    four_runs(store.path());
    let cases: [(&[&str], &str); 6] = [
        (&["latest", "travel"], "`weather`"),
        (&["failing", "01Z"], "`01D`"),
        (&["trend", "weather", "--key", "speed"], "`city_matches`"),
        (&["pair", "weather", "oslo", "city_matches"], "`paris`"),
        (&["sql", "DELETE FROM runs"], "read-only"),
        (&["runs", "--since", "last tuesday"], "not a time"),
    ];
    for (args, named) in cases {
        let output = cargo_eval(store.path(), args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
        assert!(stderr(&output).contains(named), "{args:?}: {}", stderr(&output));
    }
    let missing = store.path().join("nowhere");
    let output = cargo_eval(&missing, ["runs"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(&missing.display().to_string()),
        "{}",
        stderr(&output)
    );
    // `--store` wins over the environment.
    let output = cargo_eval(
        &missing,
        [OsStr::new("runs"), OsStr::new("--store"), store.path().as_os_str()],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let count = json_of(store.path(), &["sql", "SELECT COUNT(*) AS n FROM runs"], 0);
    assert_eq!(count[0]["n"], 4, "the refused write changed nothing");
    json_of(
        store.path(),
        &["sql", "SELECT run_id FROM runs WHERE label = 'none'"],
        1,
    );
}

#[test]
fn a_broken_run_file_or_index_is_noted_and_the_rest_answers() {
    let store = tempfile::tempdir().unwrap();
    let paths = four_runs(store.path());
    let text = std::fs::read_to_string(&paths[2]).unwrap();
    std::fs::write(&paths[2], &text[..text.len() / 3]).unwrap();
    let output = cargo_eval(store.path(), ["runs", "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&paths[2].display().to_string()),
        "{}",
        stderr(&output)
    );
    let runs: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(run_ids(&runs), ["01D", "01B", "01A"]);

    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(store.path().join(format!("history.sqlite{suffix}")));
    }
    std::fs::write(store.path().join("history.sqlite"), "not a database").unwrap();
    let output = cargo_eval(store.path(), ["latest", "weather"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let said = stderr(&output);
    let notes: Vec<&str> = said.lines().filter(|l| l.contains("rebuilt")).collect();
    assert_eq!(notes.len(), 1, "{}", stderr(&output));
    assert!(
        stdout(&output).starts_with("run 01D of suite weather"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn an_import_of_something_that_is_not_a_run_exits_2_naming_it() {
    let store = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let broken = elsewhere.path().join("ci-run.json");
    std::fs::write(&broken, "{\"schema_version\": \"0.2\", \"run_id\": ").unwrap();
    let output = cargo_eval(
        store.path(),
        [
            OsStr::new("import"),
            broken.as_os_str(),
            fixture("run_a.json").as_os_str(),
        ],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&broken.display().to_string()),
        "{}",
        stderr(&output)
    );
    assert_eq!(run_ids(&json_of(store.path(), &["runs"], 0)), ["run_a"]);
}

#[test]
fn a_process_killed_while_indexing_leaves_an_index_the_next_one_completes() {
    let store = tempfile::tempdir().unwrap();
    let saved = Store::new(store.path());
    for i in 0..150 {
        let mut run = weather_run(&format!("01K{i:03}"), i % 60, &["rome"]);
        run.meta.created_at = format!("2026-11-22T{:02}:{:02}:00Z", 8 + i / 60, i % 60);
        saved.save(&run).unwrap();
    }
    // Killed at later and later moments of a rebuild from the files.
    for delay_ms in [5, 20, 40, 80, 160] {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(store.path().join(format!("history.sqlite{suffix}")));
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_cargo-eval"))
            .args(["runs", "--json"])
            .env("EVAL_STORE_DIR", store.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();

        let output = cargo_eval(store.path(), ["runs", "--json"]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "after {delay_ms} ms: {}",
            stderr(&output)
        );
        let runs: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(runs.as_array().unwrap().len(), 150, "after {delay_ms} ms");
        let check = json_of(store.path(), &["sql", "PRAGMA integrity_check"], 0);
        assert_eq!(check[0]["integrity_check"], "ok", "after {delay_ms} ms");
        let cases = json_of(store.path(), &["sql", "SELECT COUNT(*) AS n FROM cases"], 0);
        assert_eq!(cases[0]["n"], 450, "after {delay_ms} ms: no case twice");
    }
}

#[test]
fn prompt_versions_are_listed_in_order_of_first_appearance() {
    let store = tempfile::tempdir().unwrap();
    let saved = Store::new(store.path());
    for (run_id, minute, text, wrong) in [
        ("01A", 1, "Be brief.", &["rome"][..]),
        ("01B", 2, "Be thorough.", &[][..]),
        ("01C", 3, "Be brief.", &["rome", "tokyo"][..]),
    ] {
        let mut run = weather_run(run_id, minute, wrong);
        let (meta, mut tasks) = run.into_parts();
        for task in &mut tasks {
            let ctx = eval_engine::Ctx::new(task.task_id.clone(), 1);
            ctx.prompt("system", text);
            task.trace.events.extend(ctx.events());
        }
        run = RunResult::new(meta, tasks);
        saved.save(&run).unwrap();
    }
    let versions = json_of(store.path(), &["prompts", "weather"], 0);
    let shown: Vec<(u64, &str, u64)> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_u64().unwrap(),
                v["first_run"].as_str().unwrap(),
                v["runs"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(shown, [(1, "01A", 2), (2, "01B", 1)]);
    // "Be brief." failed rome in 01A and rome and tokyo in 01C: 3 of 6 cases pass.
    let city = versions[0]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key"] == "city_matches")
        .unwrap();
    assert_eq!(city["pass_rate"].as_f64(), Some(0.5));
    let output = cargo_eval(store.path(), ["prompts", "weather", "--name", "user"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("`system`"), "{}", stderr(&output));
}

/// The DuckDB the export test reads with.
#[cfg(feature = "export")]
const DUCKDB_VERSION: &str = "1.5.6";

#[cfg(feature = "export")]
/// A Python that imports duckdb at the pinned version: `DUCKDB_PYTHON`, else a virtual
/// environment made once under cargo's target directory. `None` (after a visible note) when
/// there is none and `CI` is not set; in CI its absence fails the test.
fn duckdb_python() -> Option<PathBuf> {
    let has_duckdb = |python: &Path| {
        Command::new(python)
            .args([
                "-c",
                &format!("import duckdb; assert duckdb.__version__ == '{DUCKDB_VERSION}', duckdb.__version__"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let found = || -> Result<PathBuf, String> {
        if let Some(python) = std::env::var_os("DUCKDB_PYTHON") {
            let python = PathBuf::from(python);
            return has_duckdb(&python).then_some(python.clone()).ok_or_else(|| {
                format!(
                    "DUCKDB_PYTHON={} cannot import duckdb {DUCKDB_VERSION}",
                    python.display()
                )
            });
        }
        let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("duckdb-{DUCKDB_VERSION}-venv"));
        let python = venv.join("bin").join("python");
        if has_duckdb(&python) {
            return Ok(python);
        }
        let quietly = |command: &mut Command, what: &str| -> Result<(), String> {
            let output = command.output().map_err(|e| format!("{what}: {e}"))?;
            match output.status.success() {
                true => Ok(()),
                false => Err(format!(
                    "{what} failed: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                )),
            }
        };
        quietly(
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
            "python3 -m venv",
        )?;
        quietly(
            Command::new(venv.join("bin").join("pip")).args([
                "install",
                "--quiet",
                "--disable-pip-version-check",
                &format!("duckdb=={DUCKDB_VERSION}"),
            ]),
            "pip install duckdb",
        )?;
        has_duckdb(&python)
            .then_some(python)
            .ok_or_else(|| "duckdb installed but cannot be imported".to_owned())
    };
    match found() {
        Ok(python) => Some(python),
        Err(why) if std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0") => {
            panic!("DuckDB {DUCKDB_VERSION} is required in CI: {why}")
        }
        Err(why) => {
            // Straight to the process's stderr: a skip must be seen, not captured.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "\nthe_export_reads_in_duckdb_with_the_numbers_of_the_history: skipped (DuckDB {DUCKDB_VERSION} not available: {why})\n"
            );
            None
        }
    }
}

#[cfg(feature = "export")]
/// The answers DuckDB gives on an export at `dir` (tables read with `reader`, e.g.
/// `read_parquet`), as JSON.
fn duckdb_answers(python: &Path, dir: &Path, reader: &str, extension: &str) -> Value {
    let script = format!(
        r#"
import duckdb, json, sys
d = sys.argv[1]
def table(name):
    return f"{reader}('{{d}}/{{name}}/*/*.{extension}', hive_partitioning = true)"
con = duckdb.connect()
q = lambda sql: con.execute(sql).fetchall()
out = {{}}
out["runs_per_suite"] = dict(q(f"SELECT suite, count(*) FROM {{table('runs')}} GROUP BY suite"))
out["latest_completed"] = q(f"SELECT run_id FROM {{table('runs')}} WHERE suite = 'weather' AND status = 'completed' ORDER BY created_ms DESC LIMIT 1")[0][0]
out["failing_01D"] = [list(r) for r in q(f"SELECT task_id, key FROM {{table('scores')}} WHERE suite = 'weather' AND run_id = '01D' AND verdict IN ('fail', 'ungradeable') ORDER BY task_id, key")]
out["trend_city_matches"] = [[r, float(p)] for r, p in q(f"SELECT s.run_id, avg(CASE WHEN s.verdict = 'pass' THEN 1.0 ELSE 0.0 END) FROM {{table('scores')}} s JOIN {{table('runs')}} r USING (suite, run_id) WHERE s.suite = 'weather' AND s.key = 'city_matches' GROUP BY s.run_id, r.created_ms ORDER BY r.created_ms")]
out["by_mean_overlap"] = [[r, float(m)] for r, m in q(f"SELECT r.run_id, avg(s.score) AS m FROM {{table('runs')}} r JOIN {{table('scores')}} s USING (suite, run_id) WHERE r.suite = 'weather' AND r.created_at BETWEEN '2026-11-22T08:02:00Z' AND '2026-11-22T08:04:00Z' AND s.key = 'overlap' GROUP BY r.run_id ORDER BY m DESC, r.run_id")]
print(json.dumps(out))
"#
    );
    let output = Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(dir)
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "duckdb: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the script prints JSON")
}

#[cfg(feature = "export")]
#[test]
fn the_export_reads_in_duckdb_with_the_numbers_of_the_history() {
    let Some(python) = duckdb_python() else { return };
    let store = tempfile::tempdir().unwrap();
    let paths = four_runs(store.path());
    let files: Vec<RunResult> = paths.iter().map(|p| load_run(p).unwrap()).collect();
    // A second suite, interrupted: a partition of its own, never the latest completed run.
    let mut other = weather_run("01E", 5, &["paris"]);
    other.meta.suite.name = "search".to_owned();
    other.meta.status = RunStatus::Interrupted;
    Store::new(store.path()).save(&other).unwrap();

    // What the history says, and what the run files say.
    let latest = json_of(store.path(), &["latest", "weather"], 0);
    let failing = answered_pairs(&json_of(store.path(), &["failing", "01D"], 0));
    assert_eq!(failing, failing_pairs(&files[3]));
    let trend = json_of(store.path(), &["trend", "weather"], 0);
    let trend: Vec<(String, f64)> = trend["keys"]["city_matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["run_id"].as_str().unwrap().to_owned(),
                p["pass_rate"].as_f64().unwrap(),
            )
        })
        .collect();
    let mut by_mean: Vec<(String, f64)> = files[1..=3]
        .iter()
        .map(|f| (f.meta.run_id.clone(), f.aggregates().score_stats["overlap"].mean))
        .collect();
    by_mean.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));

    for (format, reader, extension) in [
        ("parquet", "read_parquet", "parquet"),
        ("jsonl", "read_json_auto", "jsonl"),
        ("csv", "read_csv_auto", "csv"),
    ] {
        let out = tempfile::tempdir().unwrap();
        let dir = out.path().join("history");
        let exported = json_of(
            store.path(),
            &["export", "--format", format, "--out", dir.to_str().unwrap()],
            0,
        );
        assert_eq!(exported["rows"]["runs"], 5, "{exported}");
        assert_eq!(exported["rows"]["scores"], 5 * 3 * 3, "{exported}");
        assert!(dir.join("runs/suite=weather").is_dir() && dir.join("scores/suite=search").is_dir());

        let answers = duckdb_answers(&python, &dir, reader, extension);
        assert_eq!(
            answers["runs_per_suite"],
            json!({"weather": 4, "search": 1}),
            "{format}"
        );
        assert_eq!(answers["latest_completed"], latest["run"]["run_id"], "{format}");
        let from_duckdb: Vec<(String, String)> = serde_json::from_value(answers["failing_01D"].clone()).unwrap();
        assert_eq!(from_duckdb, failing, "{format}");
        let duck_trend: Vec<(String, f64)> = serde_json::from_value(answers["trend_city_matches"].clone()).unwrap();
        assert_eq!(duck_trend.len(), trend.len(), "{format}");
        for ((run, rate), (want_run, want)) in duck_trend.iter().zip(&trend) {
            assert_eq!(run, want_run, "{format}");
            assert!((rate - want).abs() < 1e-9, "{format}: {rate} vs {want}");
        }
        let duck_by_mean: Vec<(String, f64)> = serde_json::from_value(answers["by_mean_overlap"].clone()).unwrap();
        let ids = |v: &[(String, f64)]| v.iter().map(|(r, _)| r.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&duck_by_mean), ids(&by_mean), "{format}");
        for ((_, got), (_, want)) in duck_by_mean.iter().zip(&by_mean) {
            assert!((got - want).abs() < 1e-9, "{format}: {got} vs {want}");
        }
    }
}

#[test]
fn an_export_replaces_only_an_earlier_export() {
    let store = tempfile::tempdir().unwrap();
    four_runs(store.path());
    let out = tempfile::tempdir().unwrap();
    let foreign = out.path().join("mine");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "keep me").unwrap();
    let refused = cargo_eval(
        store.path(),
        ["export", "--format", "jsonl", "--out", foreign.to_str().unwrap()],
    );
    if !cfg!(feature = "export") {
        assert_eq!(refused.status.code(), Some(2));
        assert!(
            stderr(&refused).contains("built without the export feature"),
            "{}",
            stderr(&refused)
        );
        return;
    }
    assert_eq!(refused.status.code(), Some(2), "{}", stdout(&refused));
    assert!(
        stderr(&refused).contains("it holds files that are not an earlier export"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(std::fs::read_to_string(foreign.join("notes.txt")).unwrap(), "keep me");

    let dir = out.path().join("export");
    let first = json_of(
        store.path(),
        &["export", "--format", "jsonl", "--out", dir.to_str().unwrap()],
        0,
    );
    assert_eq!(first["rows"]["runs"], 4);
    Store::new(store.path()).save(&weather_run("01E", 5, &[])).unwrap();
    let second = json_of(
        store.path(),
        &["export", "--format", "csv", "--out", dir.to_str().unwrap()],
        0,
    );
    assert_eq!(second["rows"]["runs"], 5);
    // Replaced whole: nothing of the JSON Lines export is left, and nothing was left beside it.
    assert!(!dir.join("runs/suite=weather/runs.jsonl").exists());
    let runs = std::fs::read_to_string(dir.join("runs/suite=weather/runs.csv")).unwrap();
    assert_eq!(runs.lines().count(), 6, "a header and five runs: {runs}");
    let beside: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(beside.len(), 2, "{beside:?}");
    let bad = cargo_eval(
        store.path(),
        ["export", "--format", "xml", "--out", dir.to_str().unwrap()],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("--format xml: give parquet, jsonl or csv"),
        "{}",
        stderr(&bad)
    );
}
