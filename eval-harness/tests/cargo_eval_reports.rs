//! `cargo eval report`, `junit` and `comment` on runs the tests write into a store. The HTML
//! page's content and escaping are checked in its text, and the page is used in a real headless
//! Chromium (driven by playwright-core from the npm registry): filters, sorting, a transcript, no
//! console errors, no network, no injected markup; a screenshot is saved under cargo's target
//! directory. The JUnit XML is checked against the common JUnit XSD.
//!
//! Outside CI the browser and XSD parts skip with a note when Chromium, Node.js, Python or the
//! registries are missing; with `CI` set they must run.

use eval_engine::result::{RunMeta, SuiteInfo};
use eval_engine::task::ContentHash;
use eval_engine::trace::{Event, ModelResponse, ToolCall, ToolResult};
use eval_engine::{Feedback, RunResult, TaskRecord, Trace};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "../../tests/support/junit_schema.rs"]
mod junit_schema;
mod support;
#[path = "../../tests/support/venv.rs"]
mod venv;

use support::{cargo_eval_command, run_with_deadline, stderr, stdout};

/// The playwright-core release checked against Debian's Chromium.
const PLAYWRIGHT_CORE: &str = "1.64.1";
const HOSTILE_TASK: &str = r#"<img src=x onerror="window.__pwned=1">"#;
const HOSTILE_OUTPUT: &str = "</script><script>window.__pwned=2</script>";
const HOSTILE_COMMENT: &str = "<b onmouseover=\"window.__pwned=3\">bold</b> & more";
const HUGE_CHARS: usize = 100_000;

fn task(id: &str, events: Vec<Event>, outputs: Value, feedback: Vec<Feedback>) -> TaskRecord {
    let inputs = json!({ "question": format!("What is the weather in {id}?") });
    TaskRecord {
        task_id: id.to_owned(),
        content_hash: ContentHash::of(&inputs, &Value::Null),
        inputs,
        reference_outputs: json!({ "city": id }),
        tags: Vec::new(),
        metadata: Map::new(),
        trace: Trace::new(events, None, 12),
        feedback,
        budget_violation: false,
        scorer_traces: Vec::new(),
        trace_ref: None,
        outputs,
        attempt: None,
    }
}

/// A run of suite `weather`: `paris` passes `city_matches` when `paris_passes`, `oslo` never
/// does; the hostile and the huge task pass.
fn run(run_id: &str, created_at: &str, paris_passes: bool) -> RunResult {
    let mut meta = RunMeta::new(
        run_id,
        SuiteInfo {
            name: "weather".to_owned(),
            size: 5,
            source: "inline".to_owned(),
        },
    );
    meta.created_at = created_at.to_owned();
    let grade = |passed: bool, polite: f64| {
        vec![
            Feedback::pass_fail("city_matches", passed),
            Feedback::number("polite", polite),
        ]
    };
    let paris_events = vec![
        Event::ToolCall(ToolCall {
            id: Some("c1".to_owned()),
            name: "get_weather".to_owned(),
            arguments: json!({ "city": "Paris" }),
        }),
        Event::ToolResult(ToolResult {
            id: Some("c1".to_owned()),
            name: "get_weather".to_owned(),
            result: json!({ "temp_c": 18 }),
        }),
        Event::ModelResponse(ModelResponse {
            model: Some("gpt-4o-mini".to_owned()),
            text: Some("It is 18°C in Paris.".to_owned()),
            finish_reason: Some("stop".to_owned()),
        }),
    ];
    let mut paris_feedback = grade(paris_passes, 0.9);
    paris_feedback[0].comment = (!paris_passes).then(|| "answered about Nowhere".to_owned());
    let mut hostile_feedback = grade(true, 0.5);
    hostile_feedback[0].comment = Some(HOSTILE_COMMENT.to_owned());
    let tasks = vec![
        task("paris", paris_events, json!({ "city": "Paris" }), paris_feedback),
        task("rome", Vec::new(), json!({ "city": "Rome" }), grade(true, 0.7)),
        task("oslo", Vec::new(), json!({ "city": "Bergen" }), grade(false, 0.2)),
        task(HOSTILE_TASK, Vec::new(), json!(HOSTILE_OUTPUT), hostile_feedback),
        task("huge", Vec::new(), json!("x".repeat(HUGE_CHARS)), grade(true, 1.0)),
    ];
    RunResult::new(meta, tasks)
}

/// A store with three runs of `weather`; the last one regressed on `paris`.
fn store(dir: &Path) -> PathBuf {
    let store = dir.join("store");
    let runs = [
        run("01A", "2026-11-01T10:00:00Z", true),
        run("01B", "2026-11-15T10:00:00Z", true),
        run("01C", "2026-12-01T10:00:00Z", false),
    ];
    for run in &runs {
        let path = store.join("weather").join(format!("{}.json", run.meta.run_id));
        eval_engine::store::save_run(run, &path).expect("the run saves");
    }
    store
}

fn report(store: &Path, out: &Path) -> String {
    let output = run_with_deadline(
        cargo_eval_command()
            .args(["report", "01C", "--baseline", "01B", "--store"])
            .arg(store)
            .arg("-o")
            .arg(out),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output).trim(), out.display().to_string());
    std::fs::read_to_string(out).unwrap()
}

/// The JSON the page's script reads.
fn page_data(html: &str) -> Value {
    let start = html
        .find(r#"<script type="application/json" id="report-data">"#)
        .unwrap();
    let rest = &html[start..];
    let body = &rest[rest.find('>').unwrap() + 1..rest.find("</script>").unwrap()];
    serde_json::from_str(body).unwrap()
}

#[test]
fn the_page_holds_the_decided_pairs_escaped_and_cut() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let html = report(&store, &dir.path().join("report.html"));

    assert!(
        html.contains("1 of 10 pair(s) fail the run: 1 regression(s), 0 new failure(s); 1 known failure(s)"),
        "{html}"
    );
    assert!(html.contains("compared with <code>run 01B</code>"), "{html}");
    assert!(html.contains("<td><code>city_matches</code></td><td>60.0% (3/5)</td><td>23–88%</td><td><span class=\"down\">-20.0</span></td>"), "{html}");
    assert!(
        html.contains("<tr><td><code>polite</code></td><td>0.660</td><td>0.700</td>"),
        "{html}"
    );
    assert_eq!(
        html.matches("<svg class=\"trend\"").count(),
        1,
        "one pass/fail key, three runs"
    );
    assert_eq!(html.matches("<circle").count(), 3);
    // Nothing from the run is markup: not in the page's text, not able to close the data's script.
    for hostile in ["<img", "<b onmouseover", "window.__pwned=2</script>"] {
        assert!(!html.contains(hostile), "{hostile} is in the page");
    }
    assert_eq!(html.matches("<script").count(), 2, "the data and the page's script");

    let data = page_data(&html);
    let tasks = data["tasks"].as_array().unwrap();
    let ids: Vec<&str> = tasks.iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&HOSTILE_TASK), "{ids:?}");
    let pairs = data["pairs"].as_array().unwrap();
    let pair = |task: &str, key: &str| {
        pairs
            .iter()
            .find(|p| tasks[p["task"].as_u64().unwrap() as usize]["id"] == task && p["key"] == key)
            .unwrap_or_else(|| panic!("no pair {task} {key}"))
    };
    let paris = pair("paris", "city_matches");
    assert_eq!(paris["outcome"], "regression");
    assert_eq!(paris["status"], "failed");
    assert_eq!(
        (paris["verdict"].as_str(), paris["baseline"].as_str()),
        (Some("fail"), Some("pass"))
    );
    // The message the pair's test would fail with, as the harness words it.
    assert_eq!(
        paris["comment"],
        "regression: `city_matches` passed on task `paris` in the baseline (run 01B) and now gives fail: answered about Nowhere"
    );
    assert_eq!(pair("oslo", "city_matches")["outcome"], "known_failure");
    assert_eq!(pair("oslo", "city_matches")["status"], "skipped");
    assert_eq!(pair("rome", "polite")["score"], 0.7);
    assert_eq!(pair(HOSTILE_TASK, "city_matches")["comment"], HOSTILE_COMMENT);
    let huge = tasks.iter().find(|t| t["id"] == "huge").unwrap();
    let outputs = huge["attempts"][0]["outputs"].as_str().unwrap();
    assert!(
        outputs.ends_with(&format!("… [cut: {} more characters]", HUGE_CHARS - 4_000)),
        "{}",
        &outputs[3_990..]
    );
    assert!(html.len() < 200_000, "the huge output is cut: {} bytes", html.len());
}

#[test]
fn a_baseline_of_another_suite_or_an_unwritable_page_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let mut other = run("02A", "2026-11-20T10:00:00Z", true);
    other.meta.suite.name = "travel".to_owned();
    let other_path = dir.path().join("travel.json");
    eval_engine::store::save_run(&other, &other_path).unwrap();
    let refused = run_with_deadline(
        cargo_eval_command()
            .args(["report", "01C", "--baseline"])
            .arg(&other_path)
            .arg("--store")
            .arg(&store)
            .arg("-o")
            .arg(dir.path().join("r.html")),
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("error: the baseline is a run of suite `travel`, the run one of `weather`"),
        "{}",
        stderr(&refused)
    );
    assert!(!dir.path().join("r.html").exists());

    let unwritable = run_with_deadline(
        cargo_eval_command()
            .args(["report", "01C", "--store"])
            .arg(&store)
            .args(["-o", "/dev/null/r.html"]),
    );
    assert_eq!(unwritable.status.code(), Some(2));
    assert!(
        stderr(&unwritable).contains("error: cannot write the HTML report /dev/null/r.html: "),
        "{}",
        stderr(&unwritable)
    );
    let missing = run_with_deadline(cargo_eval_command().args(["report", "09Z", "--store"]).arg(&store));
    assert_eq!(missing.status.code(), Some(2), "{}", stderr(&missing));
}

#[test]
fn the_page_works_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let page = dir.path().join("report.html");
    report(&store, &page);
    let playwright = match playwright(Path::new(env!("CARGO_TARGET_TMPDIR"))) {
        Ok(modules) => modules,
        Err(why) => return skip(&why),
    };
    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("html-report.png");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/check_report.cjs");
    let output = run_with_deadline(
        Command::new("node")
            .arg(script)
            .arg(&page)
            .arg(&screenshot)
            .env("NODE_PATH", &playwright),
    );
    assert!(output.status.success(), "the browser check failed: {}", stderr(&output));
    let seen: Value = serde_json::from_str(&stdout(&output)).unwrap();
    eprintln!(
        "note: the report loaded in {} ms; screenshot {}",
        seen["loadMs"],
        screenshot.display()
    );

    assert_eq!(seen["consoleErrors"], json!([]), "{seen}");
    assert_eq!(seen["pageErrors"], json!([]), "{seen}");
    assert_eq!(seen["requests"], json!([]), "the page works offline: {seen}");
    assert_eq!(seen["title"], "weather · 01C · eval report");
    assert!(seen["summary"].as_str().unwrap().contains("1 regression(s)"), "{seen}");
    let rows = |name: &str| seen[name].as_array().unwrap().clone();
    let cells = |row: &Value, i: usize| row["cells"][i].as_str().unwrap().to_owned();
    assert_eq!(rows("all").len(), 10, "{seen}");
    assert_eq!(seen["shown"], "10 of 10 pairs");
    // The hostile task id is text in its cell, and nothing it carries ran.
    assert!(rows("all").iter().any(|row| cells(row, 0) == HOSTILE_TASK), "{seen}");
    assert!(rows("all").iter().any(|row| cells(row, 6) == HOSTILE_COMMENT), "{seen}");
    assert_eq!(
        seen["injected"],
        json!({ "pwned": null, "images": 0, "scripts": 2 }),
        "{seen}"
    );

    let filtered = rows("filtered");
    assert_eq!(filtered.len(), 2, "{seen}");
    assert!(filtered.iter().all(|row| cells(row, 0) == "paris"), "{seen}");
    let failing = rows("failing");
    assert_eq!(failing.len(), 1, "{seen}");
    assert_eq!(
        (cells(&failing[0], 0), cells(&failing[0], 1), cells(&failing[0], 2)),
        ("paris".to_owned(), "city_matches".to_owned(), "regression".to_owned())
    );
    assert_eq!(failing[0]["status"], "failed");
    assert_eq!(rows("changed").len(), 1, "only paris changed verdict: {seen}");

    let scores = |name: &str| -> Vec<f64> {
        rows(name)
            .iter()
            .filter_map(|row| cells(row, 5).parse::<f64>().ok())
            .collect()
    };
    let ascending = scores("byScore");
    assert_eq!(ascending.len(), 10, "{seen}");
    assert!(ascending.windows(2).all(|w| w[0] <= w[1]), "{ascending:?}");
    let descending = scores("byScoreDescending");
    assert!(descending.windows(2).all(|w| w[0] >= w[1]), "{descending:?}");

    assert_eq!(seen["transcriptHidden"], false);
    assert_eq!(seen["transcriptTask"], "paris");
    let transcript = seen["transcript"].as_str().unwrap();
    for expected in [
        "calls get_weather",
        "\"city\": \"Paris\"",
        "\"temp_c\": 18",
        "It is 18°C in Paris.",
        "answered about Nowhere",
    ] {
        assert!(
            transcript.contains(expected),
            "{expected} not in the transcript: {transcript}"
        );
    }
    assert_eq!(seen["trendCharts"], json!([3]), "{seen}");
    assert!(std::fs::metadata(&screenshot).is_ok_and(|m| m.len() > 10_000));
}

/// `node_modules` with playwright-core, installed once under `target_tmpdir`, or why not.
fn playwright(target_tmpdir: &Path) -> Result<PathBuf, String> {
    let chromium = std::env::var_os("CHROMIUM").map_or(PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    if !chromium.exists() {
        return Err(format!(
            "no Chromium at {} (Debian's package `chromium`)",
            chromium.display()
        ));
    }
    if !Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Err("no Node.js (`node`)".to_owned());
    }
    let prefix = target_tmpdir.join(format!("playwright-core-{PLAYWRIGHT_CORE}"));
    let modules = prefix.join("node_modules");
    if modules.join("playwright-core/package.json").exists() {
        return Ok(modules);
    }
    let installed = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
        .arg(&prefix)
        .arg(format!("playwright-core@{PLAYWRIGHT_CORE}"))
        .output()
        .map_err(|e| format!("npm: {e}"))?;
    if !installed.status.success() {
        return Err(format!("npm install playwright-core failed: {}", stderr(&installed)));
    }
    Ok(modules)
}

fn skip(why: &str) {
    assert!(!venv::in_ci(), "{why}, and CI must run this test");
    eprintln!("note: skipped: {why}");
}

#[test]
fn junit_of_a_stored_run_has_a_case_per_pair_and_keeps_to_the_xsd() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let out = dir.path().join("junit.xml");
    let written = run_with_deadline(
        cargo_eval_command()
            .args(["junit", "01C", "--baseline", "01B", "--store"])
            .arg(&store)
            .arg("-o")
            .arg(&out),
    );
    assert!(written.status.success(), "{}", stderr(&written));
    let xml = std::fs::read_to_string(&out).unwrap();
    let printed = run_with_deadline(
        cargo_eval_command()
            .args(["junit", "01C", "--baseline", "01B", "--store"])
            .arg(&store),
    );
    assert_eq!(stdout(&printed), xml, "without -o the same XML goes to stdout");

    let report = quick_junit::Report::deserialize_from_str(&xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
    let suite = &report.test_suites[0];
    assert_eq!(suite.name.as_str(), "weather");
    assert_eq!(suite.test_cases.len(), 10, "{xml}");
    let case = |name: &str| {
        suite
            .test_cases
            .iter()
            .find(|c| c.name.as_str() == name)
            .unwrap_or_else(|| panic!("no case {name}: {xml}"))
    };
    let quick_junit::TestCaseStatus::NonSuccess { message, ty, .. } = &case("weather::paris::city_matches").status
    else {
        panic!("{xml}")
    };
    assert_eq!(ty.as_ref().map(|t| t.as_str()), Some("regression"));
    assert_eq!(
        message.as_ref().map(|m| m.as_str()),
        Some(
            "regression: `city_matches` passed on task `paris` in the baseline (run 01B) and now gives fail: answered about Nowhere"
        )
    );
    assert!(
        matches!(&case("weather::oslo::city_matches").status, quick_junit::TestCaseStatus::Skipped { message: Some(m), .. } if m.as_str() == "known failure"),
        "{xml}"
    );
    assert!(matches!(
        case("weather::img_src_x_onerror_window___pwned_1::city_matches").status,
        quick_junit::TestCaseStatus::Success { .. }
    ));
    match junit_schema::check_junit(&out, Path::new(env!("CARGO_TARGET_TMPDIR"))) {
        junit_schema::SchemaCheck::Valid => {}
        junit_schema::SchemaCheck::Invalid(violations) => panic!("the JUnit XSD is broken:\n{violations}\n{xml}"),
        junit_schema::SchemaCheck::Unavailable(why) => skip(&format!("no JUnit XSD check: {why}")),
    }
}

#[test]
fn comment_prints_what_regressed_against_the_baseline_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let printed = run_with_deadline(
        cargo_eval_command()
            .args(["comment", "01C", "--baseline", "01B", "--store"])
            .arg(&store),
    );
    assert!(printed.status.success(), "{}", stderr(&printed));
    let comment = stdout(&printed);
    for expected in [
        "## Evals\n\n### ❌ `weather`: 3 passed, 1 regression(s), 0 new failure(s), 1 known failure(s), 0 flaky\n",
        "| `city_matches` | 60.0% (3/5) | -20.0 |",
        "- **`paris` · `city_matches`**: regression: `city_matches` passed on task `paris` in the baseline (run 01B) and now gives fail: answered about Nowhere",
        "<details><summary>Known failures (1)</summary>",
        "Run `01C`.",
    ] {
        assert!(comment.contains(expected), "{expected:?} not in:\n{comment}");
    }
    // Without a baseline the run is judged as a first run: its failing pairs are new.
    let first = run_with_deadline(cargo_eval_command().args(["comment", "01C", "--store"]).arg(&store));
    assert!(
        stdout(&first)
            .contains("### ❌ `weather`: 3 passed, 0 regression(s), 2 new failure(s), 0 known failure(s), 0 flaky"),
        "{}",
        stdout(&first)
    );
}
