//! Runs the real `cargo-eval compare` on runs the tests write into temporary directories and on
//! AG2's run files, and checks the leaderboard, the paired tests and the exit codes.

use eval_engine::result::{RunMeta, SuiteInfo};
use eval_engine::task::ContentHash;
use eval_engine::{Feedback, RunResult, Store, TaskRecord, Trace};
use serde_json::{Map, Value, json};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Output;

mod support;

use support::{cargo_eval_command, fixture, run_with_deadline, stderr, stdout};

fn cargo_eval<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_with_deadline(cargo_eval_command().args(args))
}

fn task(id: &str, feedback: Vec<Feedback>) -> TaskRecord {
    let inputs = json!({ "question": id });
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
        outputs: Value::Null,
        attempt: None,
    }
}

/// A run of `suite` labelled `label`: task `t<i>` passes `exact` when `passes[i]` and scores
/// `overlap[i]`.
fn run(suite: &str, run_id: &str, label: &str, passes: &[bool], overlap: &[f64]) -> RunResult {
    let mut meta = RunMeta::new(
        run_id,
        SuiteInfo {
            name: suite.to_owned(),
            size: passes.len(),
            source: "inline".to_owned(),
        },
    );
    meta.label = Some(label.to_owned());
    meta.created_at = "2026-01-01T00:00:00Z".to_owned();
    meta.duration_ms = 10;
    meta.target = "evals::weather".to_owned();
    let tasks = passes
        .iter()
        .zip(overlap)
        .enumerate()
        .map(|(i, (passed, score))| {
            task(
                &format!("t{}", i + 1),
                vec![
                    Feedback::pass_fail("exact", *passed),
                    Feedback::number("overlap", *score),
                ],
            )
        })
        .collect();
    RunResult::new(meta, tasks)
}

fn write(dir: &Path, run: &RunResult) -> PathBuf {
    let path = dir.join(format!("{}.json", run.meta.run_id));
    eval_engine::store::save_run(run, &path).expect("the run saves");
    path
}

const SCORES: [f64; 6] = [1.0, 0.9, 0.8, 0.7, 0.6, 0.5];

/// alpha passes all six tasks; beta the first three, scoring 0.1 less on each; gamma all but
/// the last, scoring as alpha.
fn three_runs(dir: &Path) -> Vec<PathBuf> {
    let lower = SCORES.map(|s| s - 0.1);
    vec![
        write(dir, &run("weather", "01A", "alpha", &[true; 6], &SCORES)),
        write(
            dir,
            &run(
                "weather",
                "01B",
                "beta",
                &[true, true, true, false, false, false],
                &lower,
            ),
        ),
        write(
            dir,
            &run(
                "weather",
                "01C",
                "gamma",
                &[true, true, true, true, true, false],
                &SCORES,
            ),
        ),
    ]
}

fn compare_paths(paths: &[PathBuf], extra: &[&str]) -> Output {
    let mut args: Vec<&OsStr> = vec![OsStr::new("compare")];
    args.extend(paths.iter().map(|p| p.as_os_str()));
    args.extend(extra.iter().map(OsStr::new));
    cargo_eval(args)
}

#[test]
fn three_runs_of_one_suite_make_a_leaderboard() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = compare_paths(&three_runs(dir.path()), &[]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let out = stdout(&output);
    assert!(
        out.starts_with("Comparing 3 runs over 6 task(s): alpha (run 01A), beta (run 01B), gamma (run 01C)"),
        "{out}"
    );
    // exact: 6/6, 3/6, 5/6; Wilson of 6/6 is [61.0%, 100.0%].
    assert!(
        out.contains("exact  (pass rate, Wilson 95% interval, n attempts)"),
        "{out}"
    );
    assert!(out.contains("  alpha  100.0%  [61.0%, 100.0%]  6  best\n"), "{out}");
    assert!(out.contains("  beta    50.0%   [18.8%, 81.2%]  6\n"), "{out}");
    // alpha is ahead of beta on 3 tasks, behind on none: p = 2 · (1/2)³ = 0.25.
    assert!(
        out.contains("  alpha vs beta: ahead on 3, behind on 0 of 6 task(s) (sign test), p = 0.250 : within noise"),
        "{out}"
    );
    assert!(
        out.contains("  tasks where the runs disagree (3):\n    t4: alpha pass · beta fail · gamma pass\n"),
        "{out}"
    );
    assert!(out.contains("    t6: alpha pass · beta fail · gamma fail"), "{out}");
    // overlap: alpha and gamma tie at 0.75; alpha − beta = 0.1 on all six tasks, so W⁺ = 21,
    // the largest of 2⁶ sign assignments: p = 2/64 = 0.03125.
    assert!(out.contains("  alpha  0.750") && out.contains("tie for best"), "{out}");
    assert!(
        out.contains("  alpha vs beta: ahead on 6, behind on 0 of 6 task(s) (Wilcoxon signed-rank, exact), p = 0.031 : more than noise"),
        "{out}"
    );
    assert!(out.contains("  alpha vs gamma: ahead on 0, behind on 0 of 6 task(s) (Wilcoxon signed-rank, exact), p = 1.000 : within noise"), "{out}");
}

#[test]
fn json_has_the_board_per_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = compare_paths(&three_runs(dir.path()), &["--json"]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let board: Value = serde_json::from_str(&stdout(&output)).expect("stdout is JSON");
    assert_eq!(
        board["runs"][1],
        json!({"name": "beta", "run_id": "01B", "suite": "weather"})
    );
    assert_eq!(board["tasks"].as_array().map(Vec::len), Some(6));
    let exact = &board["keys"][0];
    assert_eq!(
        (exact["key"].as_str(), exact["kind"].as_str()),
        (Some("exact"), Some("pass_fail"))
    );
    assert_eq!(exact["best"], json!(["alpha"]));
    assert_eq!(exact["standings"][1]["passed"], json!(3));
    assert_eq!(exact["standings"][1]["n"], json!(6));
    assert_eq!(exact["paired"][0]["test"], json!("sign_test"));
    let p = exact["paired"][0]["p_value"].as_f64().expect("a p-value");
    assert!((p - 0.25).abs() < 1e-12, "{p}");
    assert_eq!(exact["disagreements"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        exact["disagreements"][0]["verdicts"][1],
        json!(["beta", {"passed": 0, "attempts": 1}])
    );
    let overlap = &board["keys"][1];
    assert_eq!(overlap["kind"], json!("numeric"));
    assert_eq!(overlap["best"], json!(["alpha", "gamma"]));
    let p = overlap["paired"][0]["p_value"].as_f64().expect("a p-value");
    assert!((p - 0.031_25).abs() < 1e-12, "{p}");
    assert_eq!(overlap["paired"][0]["beyond_noise"], json!(true));
    assert!(board["excluded"]["tasks"].as_array().is_some_and(Vec::is_empty));
}

#[test]
fn runs_are_found_by_run_id_in_a_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::new(dir.path());
    store
        .save(&run("weather", "01A", "alpha", &[true; 6], &SCORES))
        .expect("saves");
    store
        .save(&run("weather", "01B", "beta", &[false; 6], &SCORES))
        .expect("saves");
    let store_arg = dir.path().as_os_str();
    let output = cargo_eval([
        OsStr::new("compare"),
        OsStr::new("01A"),
        OsStr::new("01B"),
        OsStr::new("--store"),
        store_arg,
    ]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let out = stdout(&output);
    // Six tasks ahead, none behind: p = 2/64.
    assert!(
        out.contains("alpha vs beta: ahead on 6, behind on 0 of 6 task(s) (sign test), p = 0.031 : more than noise"),
        "{out}"
    );
}

#[test]
fn strict_mode_refuses_other_suites_and_tasks_naming_the_difference() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = write(dir.path(), &run("weather", "01A", "alpha", &[true; 6], &SCORES));
    let other_suite = write(dir.path(), &run("travel", "01B", "beta", &[true; 6], &SCORES));
    let output = compare_paths(&[a.clone(), other_suite], &[]);
    assert_eq!(output.status.code(), Some(2), "stdout: {}", stdout(&output));
    let err = stderr(&output);
    assert!(err.contains("different suites: alpha: weather, beta: travel"), "{err}");
    assert!(err.contains("--lenient"), "{err}");

    let fewer = write(dir.path(), &run("weather", "01C", "gamma", &[true; 4], &SCORES));
    let output = compare_paths(&[a.clone(), fewer.clone()], &[]);
    assert_eq!(output.status.code(), Some(2), "stdout: {}", stdout(&output));
    let err = stderr(&output);
    assert!(
        err.contains("2 task(s) not in every run: t5 (not in gamma), t6 (not in gamma)"),
        "{err}"
    );

    let output = compare_paths(&[a, fewer], &["--lenient"]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let out = stdout(&output);
    assert!(out.starts_with("Comparing 2 runs over 4 task(s)"), "{out}");
    assert!(
        out.contains("Left out (lenient):\n  2 task(s) not in every run: t5 (not in gamma), t6 (not in gamma)"),
        "{out}"
    );
    assert!(out.contains("tie for best"), "{out}");
}

#[test]
fn one_run_or_an_unreadable_one_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = write(dir.path(), &run("weather", "01A", "alpha", &[true; 6], &SCORES));
    let output = compare_paths(std::slice::from_ref(&a), &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("a comparison needs two runs or more, got 1"),
        "{}",
        stderr(&output)
    );
    let output = compare_paths(&[a, dir.path().join("missing.json")], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("missing.json"), "{}", stderr(&output));
    assert_eq!(
        cargo_eval(["compare"]).status.code(),
        Some(2),
        "no runs is an argument error"
    );
}

#[test]
fn many_disagreements_are_capped_with_a_count() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut failing = vec![false; 12];
    failing.extend([true, true]);
    let scores = [0.5; 14];
    let a = write(dir.path(), &run("weather", "01A", "alpha", &[true; 14], &scores));
    let b = write(dir.path(), &run("weather", "01B", "beta", &failing, &scores));
    let output = compare_paths(&[a, b], &[]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let out = stdout(&output);
    assert!(out.contains("tasks where the runs disagree (12):"), "{out}");
    assert!(
        out.contains("    … and 2 more (`cargo eval compare --json` lists them all)"),
        "{out}"
    );
    assert_eq!(out.matches(": alpha pass · beta fail").count(), 10, "{out}");
    // 12 ahead, none behind: p = 2/4096.
    assert!(out.contains("p = < 0.001 : more than noise"), "{out}");
}

#[test]
fn two_ag2_runs_of_one_suite() {
    let output = cargo_eval([
        OsStr::new("compare"),
        fixture("run_a.json").as_os_str(),
        fixture("run_b.json").as_os_str(),
    ]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let out = stdout(&output);
    // Both are labelled `regression-demo`: the run ids tell them apart.
    assert!(
        out.starts_with("Comparing 2 runs over 5 task(s): regression-demo (run_a), regression-demo (run_b)"),
        "{out}"
    );
    assert!(
        out.contains("  regression-demo (run_a)  100.0%  [56.6%, 100.0%]  5  best\n"),
        "{out}"
    );
    assert!(
        out.contains("  regression-demo (run_b)   80.0%   [37.6%, 96.4%]  5\n"),
        "{out}"
    );
    // One discordant task: p = 2 · 1/2, capped at 1.
    assert!(
        out.contains("ahead on 1, behind on 0 of 5 task(s) (sign test), p = 1.000 : within noise"),
        "{out}"
    );
    assert!(
        out.contains("    reg-2: regression-demo (run_a) pass · regression-demo (run_b) fail"),
        "{out}"
    );
    assert!(
        out.contains("answer_overlap  (mean, Student's t 95% interval, n scores)"),
        "{out}"
    );
}
