//! Runs the real `cargo-eval` binary's `label-sheet` and `calibrate` on runs written here into
//! temporary directories, and checks the numbers against ones worked out by hand, the sheet's
//! blinding and order, and that every bad labels file is named with its line.

use eval_engine::result::{RunMeta, SCHEMA_VERSION, SuiteInfo};
use eval_engine::task::ContentHash;
use eval_engine::{Feedback, RunResult, Store, TaskRecord, Trace};
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

mod support;

use support::{cargo_eval_command, run_with_deadline, stderr, stdout};

/// `cargo eval <args>`, run in `dir` so that nothing can land in the source tree.
fn cargo_eval<I, S>(dir: &Path, args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_with_deadline(cargo_eval_command().args(args).current_dir(dir))
}

/// A record of task `id` (attempt `attempt` with repeats), graded by `feedback`.
fn record(id: &str, attempt: Option<u32>, feedback: Vec<Feedback>) -> TaskRecord {
    let inputs = json!({ "input": format!("What is the capital in {id}?") });
    let reference_outputs = json!({ "answer": format!("capital of {id}") });
    TaskRecord {
        task_id: TaskRecord::id_of(id, attempt),
        content_hash: ContentHash::of(&inputs, &reference_outputs),
        inputs,
        reference_outputs,
        tags: Vec::new(),
        metadata: Map::new(),
        trace: Trace::default(),
        feedback,
        budget_violation: false,
        scorer_traces: Vec::new(),
        trace_ref: None,
        outputs: json!(format!("answer {id} #{}", attempt.unwrap_or(1))),
        attempt,
    }
}

fn run_of(run_id: &str, repeats: u32, records: Vec<TaskRecord>) -> RunResult {
    let meta = RunMeta {
        schema_version: SCHEMA_VERSION.to_owned(),
        run_id: run_id.to_owned(),
        label: None,
        created_at: "2026-11-22T08:00:00Z".to_owned(),
        duration_ms: 10,
        suite: SuiteInfo {
            name: "capitals".to_owned(),
            size: records.len() / repeats as usize,
            source: "tests/data/capitals.jsonl".to_owned(),
        },
        target: "evals::capitals".to_owned(),
        concurrency: 4,
        status: eval_engine::result::RunStatus::Completed,
        selection: None,
        repeats,
        fewest_repeats: None,
        model: None,
        budgets: Default::default(),
        producer: None,
        git: None,
        scorers: Vec::new(),
        resumed: None,
        variant: None,
        regraded_from: None,
    };
    RunResult::new(meta, records)
}

/// Writes `run` as `<dir>/<run id>.json`.
fn write_run(dir: &Path, run: &RunResult) -> PathBuf {
    let path = dir.join(format!("{}.json", run.run_id()));
    eval_engine::store::save_run(run, &path).expect("the run saves");
    path
}

/// Writes `lines` (JSON values or raw text) as a labels file named `name` in `dir`.
fn write_labels(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).expect("tempdir is writable");
    path
}

fn label(task: &str, key: &str, label: Value) -> String {
    json!({"task_id": task, "key": key, "label": label}).to_string()
}

/// People pass t0–t4 and fail t5–t9; the judge passes t0–t3, fails t4, passes t5–t6, fails
/// t7–t9:
///
/// ```text
///                judge fail  judge pass
/// people fail        3           2        5
/// people pass        1           4        5
///                    4           6       10
/// ```
///
/// Agreement (3 + 4) / 10 = 0.7; chance agreement 0.5·0.4 + 0.5·0.6 = 0.5;
/// κ = (0.7 − 0.5) / (1 − 0.5) = 0.4.
fn two_by_two(dir: &Path) -> (PathBuf, PathBuf) {
    let judge = [true, true, true, true, false, true, true, false, false, false];
    let records = (0..10)
        .map(|i| {
            let verdict = Feedback::pass_fail("judge", judge[i]).with_comment(format!("the judge's reason {i}"));
            record(&format!("t{i}"), None, vec![verdict, Feedback::number("overlap", 0.5)])
        })
        .collect();
    let run = write_run(dir, &run_of("01KAPPA", 1, records));
    let lines: Vec<String> = (0..10)
        .map(|i| label(&format!("t{i}"), "judge", json!(if i < 5 { "pass" } else { "fail" })))
        .collect();
    (run, write_labels(dir, "labels.jsonl", &lines))
}

#[test]
fn calibrate_prints_agreement_kappa_the_confusion_matrix_and_the_disagreements() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (run, labels) = two_by_two(dir.path());
    let output = cargo_eval(
        dir.path(),
        [
            OsStr::new("calibrate"),
            OsStr::new("--labels"),
            labels.as_os_str(),
            OsStr::new("--key"),
            OsStr::new("judge"),
            run.as_os_str(),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let expected = format!(
        "key `judge` of run 01KAPPA (suite capitals) against {}\n\
         \x20 judgements   10 (of 10 labelled task(s))\n\
         \x20 agreement    70.0% (7 of 10)\n\
         \x20 κ            0.400\n\
         \x20 ungradeable  0\n\
         \n\
         Confusion (rows: people, columns: the judge):\n\
         \x20 people \\ judge  fail  pass\n\
         \x20 fail               3     2\n\
         \x20 pass               1     4\n\
         \n\
         Disagreements (3):\n\
         \x20 t4: people pass, judge fail: the judge's reason 4\n\
         \x20 t5: people fail, judge pass: the judge's reason 5\n\
         \x20 t6: people fail, judge pass: the judge's reason 6\n",
        labels.display()
    );
    assert_eq!(stdout(&output), expected);
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));

    let output = cargo_eval(
        dir.path(),
        [
            OsStr::new("calibrate"),
            OsStr::new("--labels"),
            labels.as_os_str(),
            OsStr::new("--key"),
            OsStr::new("judge"),
            run.as_os_str(),
            OsStr::new("--json"),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let json: Value = serde_json::from_str(&stdout(&output)).expect("--json prints JSON");
    assert_eq!(json["agreement"], json!(0.7));
    assert!((json["kappa"]["value"].as_f64().unwrap() - 0.4).abs() < 1e-12, "{json}");
    assert_eq!(
        json["confusion"],
        json!({"categories": ["fail", "pass"], "counts": [[3, 2], [1, 4]]})
    );
    assert_eq!(
        (json["judgements"].clone(), json["agreements"].clone()),
        (json!(10), json!(7))
    );
    assert_eq!(json["scale"], "categories");
    assert_eq!(json["suite"], "capitals");
    assert_eq!(json["disagreements"][0]["task_id"], "t4");
    assert_eq!(json["disagreements"][0]["comment"], "the judge's reason 4");
}

#[test]
fn with_repeats_every_attempt_is_a_judgement_and_ungradeable_ones_are_listed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let verdicts: [(&str, u32, Option<bool>); 6] = [
        ("a", 1, Some(true)),
        ("a", 2, Some(false)),
        ("a", 3, Some(true)),
        ("b", 1, Some(false)),
        ("b", 2, None),
        ("b", 3, Some(false)),
    ];
    let records = verdicts
        .iter()
        .map(|&(id, attempt, verdict)| {
            let feedback = match verdict {
                Some(passed) => Feedback::pass_fail("judge", passed),
                None => Feedback::ungradeable("judge", "no valid verdict after 3 retries"),
            };
            record(id, Some(attempt), vec![feedback])
        })
        .collect();
    let run = write_run(dir.path(), &run_of("01REP", 3, records));
    let labels = write_labels(
        dir.path(),
        "labels.jsonl",
        &[label("a", "judge", json!(true)), label("b", "judge", json!(false))],
    );
    let output = cargo_eval(
        dir.path(),
        [
            OsStr::new("calibrate"),
            OsStr::new("--labels"),
            labels.as_os_str(),
            OsStr::new("--key"),
            OsStr::new("judge"),
            run.as_os_str(),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let out = stdout(&output);
    // a: 2 of 3 attempts agree; b: both graded attempts do. People's labels are 1 pass (a) and
    // 1 fail (b) per attempt: rows pass 3, fail 2.
    for line in [
        "  judgements   5 (of 2 labelled task(s))",
        "  agreement    80.0% (4 of 5)",
        "  ungradeable  1",
        "Disagreements (1):\n  a#2: people pass, judge fail",
        "Ungradeable (1):\n  b#2: people fail: no valid verdict after 3 retries",
    ] {
        assert!(out.contains(line), "{line:?} in {out}");
    }
}

/// Six tasks on a 1–3 scale, (people, judge): (1,1) (2,2) (3,3) (1,2) (2,3) (3,2). Squared
/// differences sum to 3; people give each value twice, the judge 1 once, 2 three times, 3
/// twice, so the chance sum Σ r·c·d² is 2·1·(0+1+4) + 2·3·(1+0+1) + 2·2·(4+1+0) = 42, and
/// κw = 1 − n·3 / 42 = 1 − 18/42 = 4/7 ≈ 0.571. Unweighted κ: (3/6 − 1/3) / (1 − 1/3) = 0.25.
/// Spearman: ranks 1.5 3.5 5.5 1.5 3.5 5.5 and 1 3 5.5 3 5.5 3, ρ = 9 / √(16·15) ≈ 0.581.
#[test]
fn scores_get_weighted_kappa_and_spearman() {
    let dir = tempfile::tempdir().expect("tempdir");
    let people = [1, 2, 3, 1, 2, 3];
    let judge = [1.0, 2.0, 3.0, 2.0, 3.0, 2.0];
    let records = (0..6)
        .map(|i| record(&format!("s{i}"), None, vec![Feedback::number("stars", judge[i])]))
        .collect();
    let run = write_run(dir.path(), &run_of("01STARS", 1, records));
    let lines: Vec<String> = (0..6)
        .map(|i| json!({"task_id": format!("s{i}"), "key": "stars", "score": people[i]}).to_string())
        .collect();
    let labels = write_labels(dir.path(), "stars.jsonl", &lines);
    let output = cargo_eval(
        dir.path(),
        [
            OsStr::new("calibrate"),
            OsStr::new("--labels"),
            labels.as_os_str(),
            OsStr::new("--key"),
            OsStr::new("stars"),
            run.as_os_str(),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let out = stdout(&output);
    for line in [
        "  agreement          50.0% (3 of 6)",
        "  weighted κ         0.571 (quadratic weights)",
        "  κ                  0.250",
        "  Spearman ρ         0.581",
        "  mean |difference|  0.500",
        "  people \\ judge  1  2  3\n  1               1  1  0\n  2               0  1  1\n  3               0  1  1",
        "  s3: people 1, judge 2",
    ] {
        assert!(out.contains(line), "{line:?} in {out}");
    }
}

#[test]
fn the_label_sheet_is_blinded_deterministic_and_never_overwritten_unasked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ids = ["lima", "oslo", "rome", "kyiv", "doha", "bern"];
    let records: Vec<TaskRecord> = ids
        .iter()
        .flat_map(|id| {
            (1..=2).map(move |attempt| {
                let judge = Feedback::pass_fail("judge", attempt == 1).with_comment("JUDGE REASONING");
                record(id, Some(attempt), vec![judge, Feedback::label("tone", "warm")])
            })
        })
        .collect();
    let run = write_run(dir.path(), &run_of("01SHEET", 2, records.clone()));
    let sheet_args = |run: &Path| {
        vec![
            OsStr::new("label-sheet").to_owned(),
            run.into(),
            "--key".into(),
            "judge".into(),
        ]
    };

    let first = cargo_eval(dir.path(), sheet_args(&run));
    assert_eq!(first.status.code(), Some(0), "stderr: {}", stderr(&first));
    let text = stdout(&first);
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), ids.len(), "one line per task, not per attempt: {text}");
    let mut by_hash: Vec<&str> = ids.to_vec();
    by_hash.sort_by_key(|id| <[u8; 32]>::from(Sha256::digest(id.as_bytes())));
    let order: Vec<&str> = lines.iter().map(|line| line["task_id"].as_str().unwrap()).collect();
    assert_eq!(order, by_hash, "sorted by a SHA-256 of the task id");
    for line in &lines {
        let id = line["task_id"].as_str().unwrap();
        assert_eq!(
            *line,
            json!({
                "task_id": id,
                "key": "judge",
                "inputs": {"input": format!("What is the capital in {id}?")},
                "outputs": format!("answer {id} #1"),
                "reference_outputs": {"answer": format!("capital of {id}")},
                "label": null,
            })
        );
    }
    for secret in ["JUDGE REASONING", "score", "true", "false", "warm", "#2"] {
        assert!(
            !text.contains(secret),
            "the sheet shows nothing of the judge ({secret}): {text}"
        );
    }

    // The same sheet again, and from the same run with its records in another order.
    assert_eq!(stdout(&cargo_eval(dir.path(), sheet_args(&run))), text);
    let other_dir = dir.path().join("reversed");
    fs::create_dir(&other_dir).expect("tempdir is writable");
    let reversed = write_run(&other_dir, &run_of("01SHEET", 2, records.into_iter().rev().collect()));
    assert_eq!(stdout(&cargo_eval(dir.path(), sheet_args(&reversed))), text);

    // -o writes the same bytes, and refuses to replace a file without --force.
    let sheet = dir.path().join("sheet.jsonl");
    let mut args = sheet_args(&run);
    args.extend(["-o".into(), sheet.clone().into_os_string()]);
    let written = cargo_eval(dir.path(), &args);
    assert_eq!(written.status.code(), Some(0), "stderr: {}", stderr(&written));
    assert_eq!(fs::read_to_string(&sheet).unwrap(), text);
    assert_eq!(stdout(&written).trim(), sheet.display().to_string());
    assert!(
        stderr(&written).contains(&format!(
            "label sheet of key `judge`: 6 task(s) of run 01SHEET; fill in each `label`, then run \
             `cargo eval calibrate --labels {} --key judge {}`",
            sheet.display(),
            run.display()
        )),
        "{}",
        stderr(&written)
    );
    fs::write(&sheet, "half my labels\n").unwrap();
    let refused = cargo_eval(dir.path(), &args);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains(&format!(
            "error: label sheet {} exists already; pass --force to replace it",
            sheet.display()
        )),
        "{}",
        stderr(&refused)
    );
    assert_eq!(
        fs::read_to_string(&sheet).unwrap(),
        "half my labels\n",
        "left as it was"
    );
    args.push("--force".into());
    let forced = cargo_eval(dir.path(), &args);
    assert_eq!(forced.status.code(), Some(0), "stderr: {}", stderr(&forced));
    assert_eq!(fs::read_to_string(&sheet).unwrap(), text);
    let entries: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(entries.is_empty(), "no temporary file left: {entries:?}");

    // The filled-in sheet is a labels file: four lines filled in, two left null.
    let filled: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let mut line = line.clone();
            if i < 4 {
                line["label"] = json!("pass");
            }
            line.to_string()
        })
        .collect();
    fs::write(&sheet, filled.join("\n")).unwrap();
    let output = cargo_eval(
        dir.path(),
        [
            OsStr::new("calibrate"),
            OsStr::new("--labels"),
            sheet.as_os_str(),
            OsStr::new("--key"),
            OsStr::new("judge"),
            run.as_os_str(),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    // Four tasks, two attempts each: attempt 1 passes, attempt 2 fails.
    assert!(
        stdout(&output).contains("  agreement    50.0% (4 of 8)"),
        "{}",
        stdout(&output)
    );
    assert!(
        stderr(&output).contains(&format!(
            "note: {}: 2 line(s) have no label yet and are left out (lines 5, 6)",
            sheet.display()
        )),
        "{}",
        stderr(&output)
    );
}

#[test]
fn every_bad_labels_file_exits_2_naming_the_file_and_the_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (run, _) = two_by_two(dir.path());
    let ok = |task: &str| label(task, "judge", json!("pass"));
    let cases: Vec<(&str, Vec<String>, String)> = vec![
        (
            "truncated.jsonl",
            vec![ok("t0"), "{\"task_id\": \"t1\", \"key\": \"judge\", \"la".to_owned()],
            ":2: not valid JSON: ".to_owned(),
        ),
        (
            "array.jsonl",
            vec![ok("t0"), String::new(), "[\"t1\", \"pass\"]".to_owned()],
            ":3: a label must be a JSON object".to_owned(),
        ),
        (
            "no_task.jsonl",
            vec![json!({"key": "judge", "label": "pass"}).to_string()],
            ":1: the label has no `task_id`".to_owned(),
        ),
        (
            "no_key.jsonl",
            vec![ok("t0"), json!({"task_id": "t1", "label": "pass"}).to_string()],
            ":2: the label has no `key`".to_owned(),
        ),
        (
            "both.jsonl",
            vec![json!({"task_id": "t0", "key": "judge", "label": "pass", "score": 1}).to_string()],
            ":1: the line has both a `label` and a `score`".to_owned(),
        ),
        (
            "neither.jsonl",
            vec![ok("t0"), ok("t1"), json!({"task_id": "t2", "key": "judge"}).to_string()],
            ":3: the line has neither a `label` nor a `score`".to_owned(),
        ),
        (
            "wrong_type.jsonl",
            vec![json!({"task_id": "t0", "key": "judge", "score": "high"}).to_string()],
            ":1: field `score` must be a number, found a string".to_owned(),
        ),
        (
            "duplicate.jsonl",
            vec![ok("t0"), ok("t1"), ok("t2"), label("t1", "judge", json!("fail"))],
            ": task `t1` is labelled under key `judge` twice: at line 2 and again at line 4".to_owned(),
        ),
        (
            "unknown.jsonl",
            vec![
                ok("t0"),
                ok("paris"),
                ok("t1"),
                ok("t1#2"),
                label("t2", "judge", json!("fail")),
            ],
            ": 2 labelled task id(s) are not in run 01KAPPA: `paris` (line 2), `t1#2` (line 4); \
             the run's tasks: t0, t1, t2, t3, t4, t5, t6, t7, t8, t9"
                .to_owned(),
        ),
        (
            "mixed.jsonl",
            vec![
                ok("t0"),
                json!({"task_id": "t1", "key": "judge", "score": 1}).to_string(),
            ],
            ": the labels of key `judge` mix categories (first at line 1) and numbers (first at line 2)".to_owned(),
        ),
        (
            "other_key.jsonl",
            vec![label("t0", "tone", json!("warm"))],
            ": no line labels key `judge`; it labels: tone".to_owned(),
        ),
    ];
    for (name, lines, expected) in cases {
        let labels = write_labels(dir.path(), name, &lines);
        let output = cargo_eval(
            dir.path(),
            [
                OsStr::new("calibrate"),
                OsStr::new("--labels"),
                labels.as_os_str(),
                OsStr::new("--key"),
                OsStr::new("judge"),
                run.as_os_str(),
            ],
        );
        assert_eq!(output.status.code(), Some(2), "{name}: {}", stderr(&output));
        let err = stderr(&output);
        let expected = format!("error: {}{expected}", labels.display());
        assert!(err.contains(&expected), "{name}: expected {expected:?} in {err}");
        assert!(stdout(&output).is_empty(), "{name}: {}", stdout(&output));
    }

    let not_utf8 = dir.path().join("latin1.jsonl");
    fs::write(
        &not_utf8,
        b"{\"task_id\": \"t0\", \"key\": \"judge\", \"label\": \"r\xe9ussi\"}\n",
    )
    .unwrap();
    let output = cargo_eval(
        dir.path(),
        [
            OsStr::new("calibrate"),
            OsStr::new("--labels"),
            not_utf8.as_os_str(),
            OsStr::new("--key"),
            OsStr::new("judge"),
            run.as_os_str(),
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(&format!("error: {}:1: the line is not valid UTF-8", not_utf8.display())),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_missing_labels_file_a_fifo_and_an_unknown_key_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (run, labels) = two_by_two(dir.path());
    let calibrate = |labels: &Path, key: &str| {
        cargo_eval(
            dir.path(),
            [
                OsStr::new("calibrate"),
                OsStr::new("--labels"),
                labels.as_os_str(),
                OsStr::new("--key"),
                OsStr::new(key),
                run.as_os_str(),
            ],
        )
    };
    let missing = dir.path().join("no_labels.jsonl");
    let output = calibrate(&missing, "judge");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(&format!("error: labels file {} does not exist", missing.display())),
        "{}",
        stderr(&output)
    );

    let fifo = dir.path().join("labels.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo runs");
    assert!(made.success(), "mkfifo {}", fifo.display());
    let started = Instant::now();
    let output = calibrate(&fifo, "judge");
    assert!(started.elapsed() < Duration::from_secs(30), "a FIFO is not waited on");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(&format!(
            "error: cannot read labels file {}: it is a FIFO (named pipe), not a regular file",
            fifo.display()
        )),
        "{}",
        stderr(&output)
    );

    let output = calibrate(&labels, "tone");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("error: run 01KAPPA has no feedback under key `tone`; its keys: judge, overlap"),
        "{}",
        stderr(&output)
    );
    let output = cargo_eval(
        dir.path(),
        [
            OsStr::new("label-sheet"),
            run.as_os_str(),
            OsStr::new("--key"),
            OsStr::new("tone"),
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("error: run 01KAPPA has no feedback under key `tone`"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn the_run_defaults_to_the_last_one_in_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("store");
    let (run, labels) = two_by_two(dir.path());
    let saved = Store::new(&store)
        .save(&eval_engine::load_run(&run).expect("the run loads"))
        .expect("the run saves");
    let output = cargo_eval(
        dir.path(),
        [
            OsStr::new("calibrate"),
            OsStr::new("--labels"),
            labels.as_os_str(),
            OsStr::new("--key"),
            OsStr::new("judge"),
            OsStr::new("--store"),
            store.as_os_str(),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    assert!(stdout(&output).contains("  κ            0.400"), "{}", stdout(&output));
    assert!(
        stderr(&output).contains(&format!(
            "last: run 01KAPPA of suite capitals, the run saved last in {}",
            store.display()
        )),
        "{}",
        stderr(&output)
    );
    let sheet = cargo_eval(
        dir.path(),
        [
            OsStr::new("label-sheet"),
            OsStr::new("--key"),
            OsStr::new("judge"),
            OsStr::new("--store"),
            store.as_os_str(),
        ],
    );
    assert_eq!(sheet.status.code(), Some(0), "stderr: {}", stderr(&sheet));
    assert_eq!(stdout(&sheet).lines().count(), 10);
    assert!(saved.is_file());
}
