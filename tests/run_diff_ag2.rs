//! Our diff reaches AG2's verdict on AG2's own run files: the same regressions and, line for
//! line, the same summary.

use eval_engine::diff::Flip;
use eval_engine::{DiffMode, RunResult, load_run};
use std::path::PathBuf;

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ag2")
        .join(name)
}

fn load_fixture_run(name: &str) -> RunResult {
    let path = fixture_path(name);
    load_run(&path).unwrap_or_else(|e| panic!("cannot load {}: {e}", path.display()))
}

fn read_fixture_text(name: &str) -> String {
    let path = fixture_path(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Python's `repr()` of a tuple of `(key, task_id)` tuples, as AG2 prints `regressions`.
fn python_tuple_repr(flips: &[&Flip]) -> String {
    let items: Vec<String> = flips
        .iter()
        .map(|flip| format!("('{}', '{}')", flip.key, flip.task_id))
        .collect();
    match items.len() {
        1 => format!("({},)", items[0]),
        _ => format!("({})", items.join(", ")),
    }
}

#[test]
fn regressions_match_ag2() {
    let run_a = load_fixture_run("run_a.json");
    let run_b = load_fixture_run("run_b.json");
    let diff = run_b
        .diff(&run_a, DiffMode::Strict)
        .expect("the two runs grade the same eval");

    let regressions: Vec<&Flip> = diff.regressions().collect();
    let pairs: Vec<(&str, &str)> = regressions
        .iter()
        .map(|flip| (flip.key.as_str(), flip.task_id.as_str()))
        .collect();
    assert_eq!(pairs, [("final_answer_matches", "reg-2")]);
    assert_eq!(
        python_tuple_repr(&regressions),
        read_fixture_text("diff_run_b_vs_run_a.regressions.txt").trim_end()
    );
    assert!(diff.has_regressions());
    assert!(diff.flipped_to_pass.is_empty());
}

#[test]
fn summary_matches_ag2_verbatim() {
    let run_a = load_fixture_run("run_a.json");
    let run_b = load_fixture_run("run_b.json");
    let diff = run_b
        .diff(&run_a, DiffMode::Strict)
        .expect("the two runs grade the same eval");
    let expected = read_fixture_text("diff_run_b_vs_run_a.summary.txt");
    assert_eq!(diff.summary(), expected.trim_end_matches('\n'));
}

#[test]
fn the_reverse_diff_is_an_improvement() {
    let run_a = load_fixture_run("run_a.json");
    let run_b = load_fixture_run("run_b.json");
    let diff = run_a
        .diff(&run_b, DiffMode::Strict)
        .expect("the two runs grade the same eval");
    assert!(!diff.has_regressions());
    let improved: Vec<String> = diff.flipped_to_pass.iter().map(ToString::to_string).collect();
    assert_eq!(improved, ["final_answer_matches:reg-2"]);
}

#[test]
fn a_run_diffed_with_itself_has_no_flips() {
    for name in ["run_a.json", "run_b.json"] {
        let run = load_fixture_run(name);
        let diff = run
            .diff(&run, DiffMode::Strict)
            .expect("a run grades the same eval as itself");
        assert_eq!(diff.comparable_tasks.len(), 5, "{name}");
        assert!(!diff.has_regressions(), "{name}");
        assert!(
            diff.flipped_to_fail.is_empty() && diff.flipped_to_pass.is_empty(),
            "{name}"
        );
        assert!(diff.excluded.is_empty(), "{name}");
        assert!(!diff.summary().contains("REGRESSION"), "{name}");
    }
}
