//! The history against real SQLite files in temporary stores. Expected answers are read from
//! the run files (with `load_run`), not from the index.

use super::*;
use crate::feedback::Feedback;
use crate::journal::{JournalHeader, JournalWriter};
use crate::record::TaskRecord;
use crate::result::{GitInfo, RunMeta, RunResult, RunStatus, SCHEMA_VERSION as RUN_SCHEMA, Selection, SuiteInfo};
use crate::store::{Store, load_run};
use crate::task::ContentHash;
use crate::trace::{Event, Exception, ModelResponse, TokenUsage, Trace};
use serde_json::{Map, json};
use std::path::Path;

fn meta(suite: &str, run_id: &str, minute: u32) -> RunMeta {
    RunMeta {
        schema_version: RUN_SCHEMA.to_owned(),
        created_at: format!("2026-11-22T08:{minute:02}:00+00:00"),
        duration_ms: 1000,
        suite: SuiteInfo {
            name: suite.to_owned(),
            size: 3,
            source: "tests/data/weather.jsonl".to_owned(),
        },
        target: "evals::weather".to_owned(),
        concurrency: 4,
        selection: Some(Selection {
            filter: None,
            complete: true,
        }),
        git: Some(GitInfo {
            commit: "abc123".to_owned(),
            dirty: false,
        }),
        ..crate::fixtures::run_meta(run_id)
    }
}

/// A task whose `exact` scorer gives `passed`, with a numeric `overlap` and a label `tone`.
fn task(id: &str, passed: bool, overlap: f64, model: &str) -> TaskRecord {
    let inputs = json!({"input": format!("weather in {id}?")});
    let reference_outputs = json!({"city": id});
    let mut trace = Trace::new(
        vec![
            Event::ModelResponse(ModelResponse {
                model: Some(model.to_owned()),
                text: Some("sunny".to_owned()),
                finish_reason: None,
            }),
            Event::Usage(TokenUsage {
                input: 100,
                output: 20,
                cache_creation: 0,
                cache_read: 0,
            }),
        ],
        (!passed && overlap < 0.1).then(|| Exception::new("agent_error", "the tool failed")),
        40,
    );
    trace.tokens = TokenUsage {
        input: 100,
        output: 20,
        cache_creation: 0,
        cache_read: 0,
    };
    TaskRecord {
        task_id: id.to_owned(),
        content_hash: ContentHash::of(&inputs, &reference_outputs),
        inputs,
        reference_outputs,
        tags: Vec::new(),
        metadata: Map::new(),
        trace,
        feedback: vec![
            Feedback::pass_fail("exact", passed).with_comment(format!("{id}: {passed}")),
            Feedback::number("overlap", overlap),
            Feedback::label("tone", "calm"),
        ],
        budget_violation: false,
        scorer_traces: Vec::new(),
        trace_ref: None,
        outputs: json!({"answer": "sunny"}),
        attempt: None,
    }
}

/// Saves a run of `weather` over paris, rome, tokyo: `fails` lists the tasks whose `exact`
/// fails.
fn save(store: &Store, run_id: &str, minute: u32, fails: &[&str]) -> PathBuf {
    let tasks = ["paris", "rome", "tokyo"]
        .iter()
        .map(|id| {
            let failed = fails.contains(id);
            task(id, !failed, if failed { 0.4 } else { 0.9 }, "m-1")
        })
        .collect();
    store
        .save(&RunResult::new(meta("weather", run_id, minute), tasks))
        .unwrap()
}

fn verdict_name(feedback: &Feedback) -> &'static str {
    match feedback.verdict() {
        crate::feedback::Verdict::Pass => "pass",
        crate::feedback::Verdict::Fail => "fail",
        crate::feedback::Verdict::Informational => "informational",
        crate::feedback::Verdict::Ungradeable => "ungradeable",
    }
}

fn count(history: &History, sql: &str) -> i64 {
    history.sql(sql).unwrap().rows[0][0].as_i64().unwrap()
}

fn three_runs(dir: &Path) -> Store {
    let store = Store::new(dir);
    save(&store, "01A", 1, &[]);
    save(&store, "01B", 2, &["rome"]);
    save(&store, "01C", 3, &["rome", "tokyo"]);
    store
}

#[test]
fn a_saved_run_is_indexed_when_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    save(&store, "01A", 1, &[]);
    let path = store.run_path("weather", "01A").unwrap();
    record_run(dir.path(), &path, &load_run(&path).unwrap()).unwrap();
    let index = dir.path().join(INDEX_FILE);
    assert!(index.is_file(), "the save wrote the index");
    // Read the index as it is, without the refresh an open does.
    let conn = Connection::open(&index).unwrap();
    let runs: i64 = conn
        .query_row("SELECT COUNT(*) FROM runs", [], |row| row.get(0))
        .unwrap();
    assert_eq!(runs, 1);
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |row| row.get(0)).unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn a_run_reads_back_as_its_file_says() {
    let dir = tempfile::tempdir().unwrap();
    let store = three_runs(dir.path());
    let history = History::open(dir.path()).unwrap();
    assert!(history.notes().is_empty(), "{:?}", history.notes());
    assert_eq!(history.suites().unwrap(), ["weather"]);

    let path = store.run_path("weather", "01B").unwrap();
    let file = load_run(&path).unwrap();
    let run = history.run("01B").unwrap();
    assert_eq!(run.path, path);
    assert_eq!(run.suite, file.meta.suite.name);
    assert_eq!(run.created_at, file.meta.created_at);
    assert_eq!(run.status, RunState::Completed);
    assert_eq!(run.selection_complete, Some(true));
    assert_eq!(run.git_commit.as_deref(), Some("abc123"));
    assert_eq!(run.models, ["m-1"]);
    assert_eq!(run.cases, file.tasks().len() as u64);
    assert_eq!(run.config["target"], "evals::weather");

    let cases = history.cases("01B").unwrap();
    assert_eq!(cases.len(), file.tasks().len());
    for (case, task) in cases.iter().zip(file.tasks()) {
        assert_eq!(case.task_id, task.task_id);
        assert_eq!(case.content_hash, task.content_hash.as_str());
        assert_eq!(case.inputs, task.inputs);
        assert_eq!(case.outputs, task.outputs);
        assert_eq!(case.reference_outputs, task.reference_outputs);
        assert_eq!(case.tokens_in, task.trace.tokens.input);
        assert_eq!(case.tokens_out, task.trace.tokens.output);
        for score in &case.scores {
            let feedback = task.feedback_for(&score.key).unwrap();
            assert_eq!(score.verdict, verdict_name(feedback));
            assert_eq!(score.comment, feedback.comment);
            assert_eq!(score.value, feedback.value);
        }
    }
}

#[test]
fn latest_failing_summary_and_trend_agree_with_the_run_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = three_runs(dir.path());
    // A later interrupted run is not the latest completed one.
    let mut interrupted = meta("weather", "01D", 4);
    interrupted.status = RunStatus::Interrupted;
    store
        .save(&RunResult::new(interrupted, vec![task("paris", true, 1.0, "m-1")]))
        .unwrap();
    let history = History::open(dir.path()).unwrap();

    let latest = history.latest_completed(&RunFilter::suite("weather")).unwrap();
    assert_eq!(latest.run_id, "01C");

    let file = load_run(store.run_path("weather", "01C").unwrap()).unwrap();
    let failing: Vec<(String, String)> = history
        .failing_cases("01C", None)
        .unwrap()
        .into_iter()
        .flat_map(|case| case.scores.into_iter().map(move |s| (case.task_id.clone(), s.key)))
        .collect();
    let expected: Vec<(String, String)> = file
        .tasks()
        .iter()
        .flat_map(|t| {
            t.feedback
                .iter()
                .filter(|f| f.verdict().fails_gate())
                .map(|f| (t.task_id.clone(), f.key.clone()))
        })
        .collect();
    assert_eq!(failing, expected);
    // Below 0.5, the numeric overlap of the failing tasks counts too.
    let below: usize = history
        .failing_cases("01C", Some(0.5))
        .unwrap()
        .iter()
        .map(|c| c.scores.len())
        .sum();
    assert_eq!(below, expected.len() * 2);

    let summary = history.summary("01C").unwrap();
    assert_eq!(summary.cases, file.tasks().len() as u64);
    let exact = summary.keys.iter().find(|k| k.key == "exact").unwrap();
    assert_eq!(exact.pass_rate, file.pass_rate("exact", None));
    let overlap = summary.keys.iter().find(|k| k.key == "overlap").unwrap();
    assert_eq!(
        overlap.mean,
        file.aggregates().score_stats.get("overlap").map(|s| s.mean)
    );
    assert_eq!(summary.passes, 1);
    assert_eq!(summary.fails, 2);
    assert_eq!(
        summary.tokens_in,
        file.tasks().iter().map(|t| t.trace.tokens.input).sum::<u64>()
    );
    assert_eq!(
        summary.total_duration_ms,
        file.tasks().iter().map(|t| t.trace.duration_ms).sum::<u64>()
    );

    let trend = history.trend("weather", "exact", 10).unwrap();
    let ids: Vec<&str> = trend.iter().map(|p| p.run_id.as_str()).collect();
    assert_eq!(ids, ["01A", "01B", "01C"], "oldest first, completed only");
    for point in &trend {
        let file = load_run(store.run_path("weather", &point.run_id).unwrap()).unwrap();
        assert_eq!(point.pass_rate, file.pass_rate("exact", None), "{}", point.run_id);
    }
    let last_two = history.trend("weather", "overlap", 2).unwrap();
    assert_eq!(last_two.len(), 2);
    assert_eq!(last_two[0].run_id, "01B");
}

#[test]
fn a_pair_history_and_the_pairs_that_flip_most() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    save(&store, "01A", 1, &[]);
    save(&store, "01B", 2, &["rome"]);
    save(&store, "01C", 3, &[]);
    save(&store, "01D", 4, &["rome", "tokyo"]);
    let history = History::open(dir.path()).unwrap();

    let pair = history.pair_history("weather", "rome", "exact").unwrap();
    let verdicts: Vec<&str> = pair.iter().map(|p| p.verdicts[0].as_str()).collect();
    assert_eq!(verdicts, ["pass", "fail", "pass", "fail"]);

    let flaky = history.flaky_pairs("weather", 10).unwrap();
    assert_eq!(flaky.len(), 2, "{flaky:?}");
    assert_eq!(
        (flaky[0].task_id.as_str(), flaky[0].key.as_str(), flaky[0].flips),
        ("rome", "exact", 3)
    );
    assert_eq!((flaky[1].task_id.as_str(), flaky[1].flips), ("tokyo", 1));
}

#[test]
fn the_model_a_run_names_is_one_of_its_models() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    // Named by the suite, its traces naming another (a router behind the agent, say).
    let mut named = meta("weather", "01A", 1);
    named.model = Some("claude-x".to_owned());
    store
        .save(&RunResult::new(named, vec![task("paris", true, 1.0, "gpt-x")]))
        .unwrap();
    save(&store, "01B", 2, &[]);
    let history = History::open(dir.path()).unwrap();
    assert_eq!(history.run("01A").unwrap().models, ["claude-x", "gpt-x"]);
    let by_model = RunFilter {
        model: Some("claude-x".to_owned()),
        ..RunFilter::default()
    };
    let found: Vec<String> = history.runs(&by_model).unwrap().into_iter().map(|r| r.run_id).collect();
    assert_eq!(found, ["01A"]);
}

#[test]
fn runs_filter_by_label_model_status_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    let mut nightly = meta("weather", "01A", 1);
    nightly.label = Some("nightly".to_owned());
    store
        .save(&RunResult::new(nightly, vec![task("paris", true, 1.0, "gpt-x")]))
        .unwrap();
    save(&store, "01B", 2, &[]);
    let mut failed = meta("travel", "01C", 3);
    failed.status = RunStatus::Failed;
    store
        .save(&RunResult::new(failed, vec![task("rome", true, 1.0, "m-1")]))
        .unwrap();
    let history = History::open(dir.path()).unwrap();

    let ids =
        |filter: RunFilter| -> Vec<String> { history.runs(&filter).unwrap().into_iter().map(|r| r.run_id).collect() };
    assert_eq!(ids(RunFilter::default()), ["01C", "01B", "01A"], "newest first");
    assert_eq!(ids(RunFilter::suite("weather")), ["01B", "01A"]);
    let label = RunFilter {
        label: Some("nightly".to_owned()),
        ..RunFilter::default()
    };
    assert_eq!(ids(label), ["01A"]);
    let model = RunFilter {
        model: Some("gpt-x".to_owned()),
        ..RunFilter::default()
    };
    assert_eq!(ids(model.clone()), ["01A"]);
    assert_eq!(history.latest_completed(&model).unwrap().run_id, "01A");
    let failed = RunFilter {
        status: Some(RunState::Failed),
        ..RunFilter::default()
    };
    assert_eq!(ids(failed), ["01C"]);
    let since = RunFilter {
        since: Some(at("2026-11-22T08:02:00+00:00")),
        until: Some(at("2026-11-22T08:03:00+00:00")),
        ..RunFilter::default()
    };
    assert_eq!(ids(since), ["01B"]);
}

fn at(text: &str) -> std::time::SystemTime {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap()
        .into()
}

#[test]
fn unknown_names_say_what_exists() {
    let dir = tempfile::tempdir().unwrap();
    three_runs(dir.path());
    let history = History::open(dir.path()).unwrap();
    let error = history.run("nope").unwrap_err().to_string();
    assert!(error.contains("`nope`") && error.contains("`01C`"), "{error}");
    let error = history.runs(&RunFilter::suite("travel")).unwrap_err().to_string();
    assert!(error.contains("`travel`") && error.contains("`weather`"), "{error}");
    let error = history.trend("weather", "speed", 5).unwrap_err().to_string();
    assert!(
        error.contains("`speed`") && error.contains("`exact`, `overlap`, `tone`"),
        "{error}"
    );
    let error = history
        .pair_history("weather", "oslo", "exact")
        .unwrap_err()
        .to_string();
    assert!(error.contains("`oslo`") && error.contains("`paris`"), "{error}");
}

#[test]
fn sql_answers_reads_and_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    three_runs(dir.path());
    let history = History::open(dir.path()).unwrap();
    let answer = history
        .sql("SELECT run_id, duration_ms FROM runs ORDER BY run_id")
        .unwrap();
    assert_eq!(answer.columns, ["run_id", "duration_ms"]);
    assert_eq!(answer.rows.len(), 3);
    assert_eq!(answer.rows[0], [json!("01A"), json!(1000)]);
    for write in [
        "DELETE FROM runs",
        "UPDATE runs SET label = 'x'",
        "DROP TABLE scores",
        "SELECT 1; DELETE FROM runs",
        "PRAGMA user_version = 7",
    ] {
        let error = history.sql(write).unwrap_err();
        assert!(matches!(error, HistoryError::NotReadOnly { .. }), "{write}: {error}");
    }
    assert_eq!(count(&history, "SELECT COUNT(*) FROM runs"), 3);
}

#[test]
fn a_rebuild_from_the_files_gives_the_same_answers() {
    let dir = tempfile::tempdir().unwrap();
    three_runs(dir.path());
    let before = History::open(dir.path()).unwrap().runs(&RunFilter::default()).unwrap();
    remove_index(&dir.path().join(INDEX_FILE)).unwrap();
    let mut history = History::open(dir.path()).unwrap();
    assert_eq!(history.runs(&RunFilter::default()).unwrap(), before);
    history.rebuild().unwrap();
    assert_eq!(history.runs(&RunFilter::default()).unwrap(), before);
    assert_eq!(count(&history, "SELECT COUNT(*) FROM scores"), 27);
}

#[test]
fn a_removed_or_changed_file_is_followed() {
    let dir = tempfile::tempdir().unwrap();
    let store = three_runs(dir.path());
    std::fs::remove_file(store.run_path("weather", "01A").unwrap()).unwrap();
    let history = History::open(dir.path()).unwrap();
    let ids: Vec<String> = history
        .runs(&RunFilter::default())
        .unwrap()
        .into_iter()
        .map(|r| r.run_id)
        .collect();
    assert_eq!(ids, ["01C", "01B"]);
    assert_eq!(
        count(&history, "SELECT COUNT(*) FROM cases"),
        6,
        "its cases went with it"
    );
}

#[test]
fn an_index_of_the_first_schema_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    let path = save(&store, "01A", 1, &["rome"]);
    let index = dir.path().join(INDEX_FILE);
    remove_index(&index).unwrap();
    {
        // The index a first release left: schema 1, the run in it, its file seen as it is now.
        let mut conn = Connection::open(&index).unwrap();
        let tx = conn.transaction().unwrap();
        schema::migrate_from(&tx, 0, 1).unwrap();
        tx.commit().unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        let mtime_ns = meta
            .modified()
            .unwrap()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as i64;
        conn.execute_batch(&format!(
            "INSERT INTO suites (id, name) VALUES (1, 'weather');
             INSERT INTO runs (suite_id, run_id, status, created_at, duration_ms, models, config, source_path)
                 VALUES (1, '01A', 'completed', '2026-11-22T08:01:00+00:00', 1000, '[]', '{{}}', 'weather/01A.json');
             INSERT INTO files (path, size, mtime_ns) VALUES ('weather/01A.json', {}, {mtime_ns});",
            meta.len()
        ))
        .unwrap();
        let version: u32 = conn.query_row("PRAGMA user_version", [], |row| row.get(0)).unwrap();
        assert_eq!(version, 1);
    }
    let history = History::open(dir.path()).unwrap();
    assert_eq!(count(&history, "PRAGMA user_version"), i64::from(SCHEMA_VERSION));
    // What schema 2 added came from reading the file again.
    assert_eq!(history.run("01A").unwrap().models, ["m-1"]);
    assert_eq!(count(&history, "SELECT COUNT(*) FROM run_models"), 1);
    assert_eq!(count(&history, "SELECT COUNT(*) FROM runs"), 1);
    assert_eq!(history.failing_cases("01A", None).unwrap().len(), 1);
}

#[test]
fn an_index_of_a_newer_schema_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    three_runs(dir.path());
    let index = dir.path().join(INDEX_FILE);
    Connection::open(&index)
        .unwrap()
        .execute_batch("PRAGMA user_version = 99")
        .unwrap();
    let error = History::open(dir.path()).unwrap_err();
    assert!(matches!(error, HistoryError::NewerSchema { found: 99, .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.contains(&index.display().to_string()) && message.contains("99"),
        "{message}"
    );
}

#[test]
fn a_corrupt_index_is_rebuilt_with_a_one_line_note() {
    let dir = tempfile::tempdir().unwrap();
    three_runs(dir.path());
    let index = dir.path().join(INDEX_FILE);
    remove_index(&index).unwrap();
    std::fs::write(&index, b"this is not an SQLite database, it was damaged").unwrap();
    let history = History::open(dir.path()).unwrap();
    assert_eq!(history.notes().len(), 1, "{:?}", history.notes());
    assert!(history.notes()[0].contains("rebuilt"), "{:?}", history.notes());
    assert!(!history.notes()[0].contains('\n'));
    assert_eq!(history.runs(&RunFilter::default()).unwrap().len(), 3);
}

#[test]
fn a_corrupt_or_truncated_run_file_is_skipped_with_a_warning_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = three_runs(dir.path());
    let path = store.run_path("weather", "01B").unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, &text[..text.len() / 2]).unwrap();
    let history = History::open(dir.path()).unwrap();
    assert_eq!(history.notes().len(), 1, "{:?}", history.notes());
    assert!(
        history.notes()[0].contains(&path.display().to_string()),
        "{:?}",
        history.notes()
    );
    let ids: Vec<String> = history
        .runs(&RunFilter::default())
        .unwrap()
        .into_iter()
        .map(|r| r.run_id)
        .collect();
    assert_eq!(ids, ["01C", "01A"]);
    // The warning stays while the file is broken, and goes when it is mended.
    drop(history);
    assert_eq!(History::open(dir.path()).unwrap().notes().len(), 1);
    std::fs::write(&path, &text).unwrap();
    let history = History::open(dir.path()).unwrap();
    assert!(history.notes().is_empty(), "{:?}", history.notes());
    assert_eq!(history.runs(&RunFilter::default()).unwrap().len(), 3);
}

#[test]
fn concurrent_indexers_add_every_run_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    for i in 0..24 {
        save(&store, &format!("01R{i:02}"), i, &["rome"]);
    }
    remove_index(&dir.path().join(INDEX_FILE)).unwrap();
    let root = dir.path().to_owned();
    let workers: Vec<_> = (0..6)
        .map(|_| {
            let root = root.clone();
            std::thread::spawn(move || History::open(&root).map(|h| h.runs(&RunFilter::default()).unwrap().len()))
        })
        .collect();
    for worker in workers {
        assert_eq!(worker.join().unwrap().unwrap(), 24);
    }
    let history = History::open(&root).unwrap();
    assert_eq!(count(&history, "SELECT COUNT(*) FROM runs"), 24);
    assert_eq!(count(&history, "SELECT COUNT(*) FROM cases"), 72);
    assert_eq!(count(&history, "SELECT COUNT(*) FROM scores"), 216);
    assert_eq!(count(&history, "SELECT COUNT(*) FROM files"), 24);
}

#[test]
fn a_store_whose_index_cannot_be_written_answers_from_a_temporary_index() {
    let dir = tempfile::tempdir().unwrap();
    three_runs(dir.path());
    // Something that cannot be opened as a database stands where the index goes.
    let index = dir.path().join(INDEX_FILE);
    remove_index(&index).unwrap();
    std::fs::create_dir(&index).unwrap();
    let history = History::open(dir.path()).unwrap();
    assert!(history.index_path().is_none());
    assert_eq!(history.notes().len(), 1, "{:?}", history.notes());
    assert!(history.notes()[0].contains("temporary index"), "{:?}", history.notes());
    assert_eq!(history.runs(&RunFilter::default()).unwrap().len(), 3);
}

#[cfg(unix)]
#[test]
fn a_read_only_store_answers_from_a_temporary_index() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    // Permissions do not bind root (CI runs as root): a directory made read-only that still
    // takes a file says so, and the test above covers that case.
    let probe = dir.path().join("probe");
    std::fs::create_dir(&probe).unwrap();
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o555)).unwrap();
    let bound = std::fs::write(probe.join("file"), "").is_err();
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::remove_dir_all(&probe).unwrap();
    if !bound {
        return;
    }
    three_runs(dir.path());
    remove_index(&dir.path().join(INDEX_FILE)).unwrap();
    let read_only = |mode| {
        for path in [dir.path().to_owned(), dir.path().join("weather")] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
    };
    read_only(0o555);
    let history = History::open(dir.path());
    read_only(0o755);
    let history = history.unwrap();
    assert!(history.notes()[0].contains("temporary index"), "{:?}", history.notes());
    assert_eq!(history.runs(&RunFilter::default()).unwrap().len(), 3);
}

#[test]
fn journals_are_running_while_written_and_interrupted_after() {
    let dir = tempfile::tempdir().unwrap();
    let store = three_runs(dir.path());
    let path = store.journal_path("weather", "01J").unwrap();
    let header = JournalHeader::new("01J", "weather", vec!["exact".to_owned()]);
    let mut writer = JournalWriter::create(&path, &header).unwrap();
    writer.append(&task("paris", true, 1.0, "m-1")).unwrap();

    let history = History::open(dir.path()).unwrap();
    let run = history.run("01J").unwrap();
    assert_eq!(run.status, RunState::Running);
    assert_eq!(run.cases, 1);
    assert_eq!(
        history.latest_completed(&RunFilter::suite("weather")).unwrap().run_id,
        "01C"
    );
    drop(writer);
    let history = History::open(dir.path()).unwrap();
    assert_eq!(history.run("01J").unwrap().status, RunState::Interrupted);

    // Once its run is saved the journal goes, and the run file is what counts.
    let mut saved = meta("weather", "01J", 59);
    saved.status = RunStatus::Completed;
    store
        .save(&RunResult::new(saved, vec![task("paris", true, 1.0, "m-1")]))
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    let history = History::open(dir.path()).unwrap();
    let run = history.run("01J").unwrap();
    assert_eq!(run.status, RunState::Completed);
    assert!(run.path.ends_with("weather/01J.json"));
    assert_eq!(count(&history, "SELECT COUNT(*) FROM runs WHERE run_id = '01J'"), 1);
}

#[test]
fn a_label_is_written_into_the_run_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = three_runs(dir.path());
    let mut history = History::open(dir.path()).unwrap();
    let path = super::import::relabel(&mut history, "01B", "candidate").unwrap();
    assert_eq!(path, store.run_path("weather", "01B").unwrap());
    assert_eq!(load_run(&path).unwrap().meta.label.as_deref(), Some("candidate"));
    let labelled = RunFilter {
        label: Some("candidate".to_owned()),
        ..RunFilter::default()
    };
    assert_eq!(history.runs(&labelled).unwrap().len(), 1);
    let error = super::import::relabel(&mut history, "01B", "../x")
        .unwrap_err()
        .to_string();
    assert!(error.contains("label"), "{error}");
    assert!(super::import::relabel(&mut history, "nope", "x").is_err());
}

fn ag2_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/ag2")
        .join(name)
}

#[test]
fn an_ag2_store_imports_and_answers_the_same_questions() {
    let dir = tempfile::tempdir().unwrap();
    let mut history = History::open(dir.path()).unwrap();
    let fixtures = ag2_fixture("");
    let imported = history.import(std::slice::from_ref(&fixtures)).unwrap();
    let added: Vec<&str> = imported
        .iter()
        .filter(|i| i.outcome == "added")
        .map(|i| i.stored.as_ref().unwrap().file_name().unwrap().to_str().unwrap())
        .collect();
    assert_eq!(added, ["run_a.json", "run_b.json"], "{imported:?}");

    let run_b = load_run(ag2_fixture("run_b.json")).unwrap();
    assert_eq!(history.suites().unwrap(), [run_b.meta.suite.name.as_str()]);
    let latest = history.latest_completed(&RunFilter::suite("regression5")).unwrap();
    assert_eq!(latest.run_id, "run_b");
    assert_eq!(latest.label, run_b.meta.label);
    let failing: Vec<(String, String)> = history
        .failing_cases("run_b", None)
        .unwrap()
        .into_iter()
        .flat_map(|c| c.scores.into_iter().map(move |s| (c.task_id.clone(), s.key)))
        .collect();
    assert_eq!(failing, [("reg-2".to_owned(), "final_answer_matches".to_owned())]);
    let trend = history.trend("regression5", "final_answer_matches", 10).unwrap();
    let rates: Vec<Option<f64>> = trend.iter().map(|p| p.pass_rate).collect();
    let run_a = load_run(ag2_fixture("run_a.json")).unwrap();
    assert_eq!(
        rates,
        [
            run_a.pass_rate("final_answer_matches", None),
            run_b.pass_rate("final_answer_matches", None)
        ]
    );
    let summary = history.summary("run_b").unwrap();
    let overlap = summary.keys.iter().find(|k| k.key == "answer_overlap").unwrap();
    assert_eq!(
        overlap.mean,
        run_b.aggregates().score_stats.get("answer_overlap").map(|s| s.mean)
    );

    // Importing again adds nothing; the copies are byte for byte the originals.
    let again = history.import(&[fixtures]).unwrap();
    assert!(again.iter().all(|i| i.outcome == "already in the store"), "{again:?}");
    assert_eq!(count(&history, "SELECT COUNT(*) FROM runs"), 2);
    assert_eq!(
        std::fs::read(dir.path().join("regression5/run_b.json")).unwrap(),
        std::fs::read(ag2_fixture("run_b.json")).unwrap()
    );
}

#[test]
fn an_import_skips_what_is_not_a_run_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let broken = elsewhere.path().join("broken.json");
    std::fs::write(&broken, b"{\"run_id\": ").unwrap();
    let mut history = History::open(dir.path()).unwrap();
    let imported = history.import(&[broken.clone(), ag2_fixture("run_a.json")]).unwrap();
    assert!(!imported[0].is_in_store());
    assert!(
        imported[0].outcome.contains(&broken.display().to_string()),
        "{imported:?}"
    );
    assert!(imported[1].is_in_store());
    assert_eq!(history.runs(&RunFilter::default()).unwrap().len(), 1);
}

#[test]
fn a_missing_store_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere");
    let error = History::open(&missing).unwrap_err().to_string();
    assert!(error.contains(&missing.display().to_string()), "{error}");
}

#[test]
fn prompt_versions_are_numbered_by_first_appearance_with_their_pass_rates() {
    use crate::ctx::Ctx;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    // A task whose agent named the system prompt `text`.
    let prompted = |id: &str, passed: bool, text: &str| {
        let ctx = Ctx::new(id, 1);
        assert_eq!(ctx.prompt("system", text), text);
        let mut task = task(id, passed, 0.5, "m-1");
        task.trace.events.extend(ctx.events());
        task
    };
    let runs = [
        ("01A", 1, "You are terse.", [true, false]),
        ("01B", 2, "You are terse.", [true, true]),
        ("01C", 3, "You are thorough.", [false, false]),
    ];
    for (run_id, minute, text, passes) in runs {
        let tasks = vec![prompted("paris", passes[0], text), prompted("rome", passes[1], text)];
        store
            .save(&RunResult::new(meta("weather", run_id, minute), tasks))
            .unwrap();
    }
    let history = History::open(dir.path()).unwrap();
    assert_eq!(history.prompts("weather").unwrap(), ["system"]);
    let versions = history.prompt_versions("weather", "system").unwrap();
    let shown: Vec<(u32, &str, u64, u64)> = versions
        .iter()
        .map(|v| (v.version, v.first_run.as_str(), v.runs, v.cases))
        .collect();
    assert_eq!(shown, [(1, "01A", 2, 4), (2, "01C", 1, 2)]);
    assert_ne!(versions[0].hash, versions[1].hash);

    // The pass rates per version, counted from the run files.
    for version in &versions {
        let (mut passes, mut n) = (0, 0);
        for (run_id, ..) in runs {
            let file = load_run(store.run_path("weather", run_id).unwrap()).unwrap();
            for task in file.tasks() {
                let used = task.trace.events.iter().any(|e| {
                    matches!(e, Event::Custom(c) if c.name == crate::ctx::PROMPT_EVENT && c.data["hash"] == version.hash.as_str())
                });
                if used {
                    n += 1;
                    passes += usize::from(task.feedback_for("exact").unwrap().as_bool() == Some(true));
                }
            }
        }
        let exact = version.keys.iter().find(|k| k.key == "exact").unwrap();
        assert_eq!(
            exact.pass_rate,
            Some(passes as f64 / n as f64),
            "version {}",
            version.version
        );
    }
    let error = history.prompt_versions("weather", "user").unwrap_err().to_string();
    assert!(error.contains("`user`") && error.contains("`system`"), "{error}");
}
