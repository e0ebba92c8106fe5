//! Runs the real `cargo-eval pairwise-sheet` and `cargo-eval pairwise` on AG2's run files: a
//! blinded sheet labelled and read back, a judge model on an endpoint on 127.0.0.1 that the test
//! starts (asked in both orders, recorded, then replayed with the endpoint gone), the pairwise
//! JSON, and the errors.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

mod support;

use support::{cargo_eval_command, fixture, run_with_deadline, stderr, stdout};

const CRITERION: &str = "Which answer gives the canonical answer?";

fn cargo_eval(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = cargo_eval_command();
    command.args(args);
    for (name, value) in env {
        command.env(name, value);
    }
    run_with_deadline(&mut command)
}

fn path_text(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn people_label_a_blinded_sheet_of_two_ag2_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (fixture("run_a.json"), fixture("run_b.json"));
    let sheet = dir.path().join("labels/sheet.jsonl");
    let args = |seed: &str| {
        [
            "pairwise-sheet",
            path_text(&a),
            path_text(&b),
            "--criterion",
            CRITERION,
            "-o",
            path_text(&sheet),
            "--seed",
        ]
        .into_iter()
        .map(str::to_owned)
        .chain([seed.to_owned()])
        .collect::<Vec<_>>()
    };
    let written = run_with_deadline(cargo_eval_command().args(args("3")));
    assert_eq!(written.status.code(), Some(0), "{}", stderr(&written));
    let text = std::fs::read_to_string(&sheet).unwrap();
    let rows: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 5, "{text}");
    assert!(
        rows.iter()
            .all(|r| r["criterion"] == CRITERION && r.get("preferred").is_none())
    );
    // AG2 keeps the answer in the trace: the sheet shows the final response.
    let reg2 = rows.iter().find(|r| r["task_id"] == "reg-2").unwrap();
    let mut shown = [reg2["response_1"].clone(), reg2["response_2"].clone()];
    shown.sort_by_key(|v| v.to_string());
    assert_eq!(shown, [json!("ANS-2"), json!("ANS-2x")]);

    // People prefer the canonical answer: response "1" when it is shown first, else "2"; a tie
    // where both give it; reg-4 is left unlabelled.
    let labelled: Vec<String> = rows
        .iter()
        .map(|row| {
            let mut row = row.clone();
            let reference = format!("ANS-{}", &row["task_id"].as_str().unwrap()[4..]);
            let (one, two) = (
                row["response_1"] == reference.as_str(),
                row["response_2"] == reference.as_str(),
            );
            row["preferred"] = match (row["task_id"].as_str().unwrap(), one, two) {
                ("reg-4", _, _) => Value::Null,
                (_, true, false) => json!("1"),
                (_, false, true) => json!("2"),
                _ => json!("tie"),
            };
            row.to_string()
        })
        .collect();
    std::fs::write(&sheet, labelled.join("\n") + "\n").unwrap();
    let out = dir.path().join("pairwise.json");
    let compared = cargo_eval(
        &[
            "pairwise",
            path_text(&a),
            path_text(&b),
            "--criterion",
            CRITERION,
            "--labels",
            path_text(&sheet),
            "-o",
            path_text(&out),
        ],
        &[],
    );
    assert_eq!(compared.status.code(), Some(0), "{}", stderr(&compared));
    let table = stdout(&compared);
    assert!(
        table.contains("regression-demo (run_b) (B) vs regression-demo (run_a) (A), 5 pair(s)"),
        "{table}"
    );
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let people = &saved["win_rates"]["people"];
    assert_eq!(
        (people["wins"].clone(), people["losses"].clone(), people["ties"].clone()),
        (json!(0), json!(1), json!(3))
    );
    assert_eq!(saved["ungradeable"]["people"], 1, "reg-4 has no label");
    assert_eq!(saved["n_pairs"], 5);
    assert_eq!(saved["schema_version"], "0.1");

    // A label that is not one names the sheet and its line; nothing to compare with is said.
    let mut unreadable: Value = serde_json::from_str(&labelled[0]).unwrap();
    unreadable["preferred"] = json!("maybe");
    std::fs::write(&sheet, format!("{unreadable}\n")).unwrap();
    let bad = cargo_eval(
        &[
            "pairwise",
            path_text(&a),
            path_text(&b),
            "--criterion",
            CRITERION,
            "--labels",
            path_text(&sheet),
        ],
        &[],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains(&format!("{}:1: `preferred` is \"maybe\"", sheet.display())),
        "{}",
        stderr(&bad)
    );
    let nothing = cargo_eval(
        &["pairwise", path_text(&a), path_text(&b), "--criterion", CRITERION],
        &[],
    );
    assert_eq!(nothing.status.code(), Some(2));
    assert!(
        stderr(&nothing).contains("nothing to compare with"),
        "{}",
        stderr(&nothing)
    );
}

/// A chat-completions endpoint that prefers the response equal to the reference answer, on a
/// thread of its own, counting requests.
fn start_judge() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            counted.fetch_add(1, Ordering::SeqCst);
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let request: Value = serde_json::from_slice(&body).unwrap();
            let user = request["messages"][1]["content"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let section = |title: &str| {
                user.split(&format!("## {title}\n"))
                    .nth(1)
                    .and_then(|rest| rest.split('\n').next())
                    .unwrap_or_default()
                    .to_owned()
            };
            let reference: Value = serde_json::from_str(
                user.split("## Reference answer\n")
                    .nth(1)
                    .unwrap_or("{}")
                    .split("\n\n")
                    .next()
                    .unwrap_or("{}"),
            )
            .unwrap_or(Value::Null);
            let wanted = reference["answer"].as_str().unwrap_or_default();
            let preferred = match (
                section("First response") == wanted,
                section("Second response") == wanted,
            ) {
                (true, false) => "first",
                (false, true) => "second",
                _ => "tie",
            };
            let content = json!({"reasoning": "the canonical answer wins", "preferred": preferred}).to_string();
            let reply =
                json!({"model": "fake-judge", "choices": [{"message": {"content": content}, "finish_reason": "stop"}],
                               "usage": {"prompt_tokens": 10, "completion_tokens": 5}})
                .to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                reply.len()
            );
        }
    });
    (url, count)
}

#[test]
fn a_judge_model_compares_two_ag2_runs_in_both_orders_and_replays() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (fixture("run_a.json"), fixture("run_b.json"));
    let (url, requests) = start_judge();
    let cassettes = dir.path().join("cassettes");
    let args = |out: &Path| {
        vec![
            "pairwise".to_owned(),
            path_text(&a).to_owned(),
            path_text(&b).to_owned(),
            "--criterion".to_owned(),
            CRITERION.to_owned(),
            "--judge".to_owned(),
            "canonical".to_owned(),
            "--cassettes".to_owned(),
            path_text(&cassettes).to_owned(),
            "-o".to_owned(),
            path_text(out).to_owned(),
        ]
    };
    let first = dir.path().join("first.json");
    let env = [
        ("EVAL_JUDGE_MODEL", "fake-judge"),
        ("EVAL_JUDGE_BASE_URL", url.as_str()),
    ];
    let mut command = cargo_eval_command();
    command.args(args(&first)).envs(env);
    let output = run_with_deadline(&mut command);
    if stderr(&output).contains("this build has no judge model client") && std::env::var_os("CI").is_none() {
        println!("cargo_eval_pairwise: skipped: eval-engine is built without `openai` (run the workspace's tests)");
        return;
    }
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // Two orders per pair, but where both runs gave the same answer the two orders are one
    // question, asked once and replayed: reg-2's two orders and one for each other task.
    assert_eq!(requests.load(Ordering::SeqCst), 6);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&first).unwrap()).unwrap();
    let rate = &saved["win_rates"]["canonical"];
    // run_a gives the canonical answer on reg-2 where run_b does not; the rest are ties.
    assert_eq!(
        (rate["wins"].clone(), rate["losses"].clone(), rate["ties"].clone()),
        (json!(0), json!(1), json!(4))
    );
    assert_eq!(rate["rate"], 0.4);
    assert_eq!(saved["flips"]["canonical"], 0);
    let reg2 = saved["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["task_id"] == "reg-2")
        .unwrap();
    assert_eq!(reg2["winner"], "a");
    assert_eq!(reg2["detail"]["order1"], "first");
    assert_eq!(reg2["detail"]["order2"], "second");

    // With the endpoint unreachable the recordings answer.
    let again = dir.path().join("again.json");
    let mut command = cargo_eval_command();
    command
        .args(args(&again))
        .env("EVAL_JUDGE_MODEL", "fake-judge")
        .env("EVAL_JUDGE_BASE_URL", "http://127.0.0.1:9");
    let replayed = run_with_deadline(&mut command);
    assert_eq!(replayed.status.code(), Some(0), "{}", stderr(&replayed));
    assert_eq!(requests.load(Ordering::SeqCst), 6, "nothing asked again");
    let replayed: Value = serde_json::from_str(&std::fs::read_to_string(&again).unwrap()).unwrap();
    assert_eq!(replayed["win_rates"], saved["win_rates"]);

    // No model configured: said before anything is asked.
    let unset = cargo_eval(
        &[
            "pairwise",
            path_text(&a),
            path_text(&b),
            "--criterion",
            CRITERION,
            "--judge",
            "canonical",
        ],
        &[("EVAL_JUDGE_MODEL", "")],
    );
    assert_eq!(unset.status.code(), Some(2), "{}", stderr(&unset));
    assert!(stderr(&unset).contains("`--judge canonical`"), "{}", stderr(&unset));
}
