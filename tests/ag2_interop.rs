//! AG2 reads what we write: two runs made by our engine (one of them a variant's) are saved as
//! run JSON, then loaded and diffed by AG2 1.2.1 itself (`ag2.eval.load_run`, `RunResult.diff`),
//! and AG2's view must equal ours; a pairwise comparison of the two, saved as AG2's pairwise
//! JSON, is read into AG2's `PairwiseRunResult`, whose win rates and flips must be ours.
//!
//! A plain `main` (harness = false) so that a skip is printed, not swallowed: outside CI, a
//! machine without Python or without access to PyPI skips with a note; with `CI` set the check
//! must run. AG2 comes from `AG2_PYTHON` (a Python with `ag2==1.2.1`), else from a virtual
//! environment this test creates once under cargo's target directory.

use eval_engine::pairwise::{
    Comparator, Comparison, ComparisonFuture, Pair, PairwiseOptions, PairwiseRun, Winner, evaluate_pairwise,
};
use eval_engine::store::save_run;
use eval_engine::{Ctx, DiffMode, RunOptions, RunResult, ScoreInput, Scorer, ScorerSpec, Suite, Task, run, scorer_fn};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, ExitCode};
use std::sync::Arc;

const AG2_VERSION: &str = "1.2.1";

#[path = "support/venv.rs"]
mod venv;

fn main() -> ExitCode {
    let package = format!("ag2=={AG2_VERSION}");
    let importable = format!("import ag2, ag2.eval; assert ag2.__version__ == '{AG2_VERSION}', ag2.__version__");
    let need = venv::PythonNeed {
        variable: "AG2_PYTHON",
        venv: &format!("ag2-{AG2_VERSION}-venv"),
        packages: &[&package],
        check: &importable,
    };
    let python = match venv::find_python(&need, Path::new(env!("CARGO_TARGET_TMPDIR"))) {
        Ok(python) => python,
        Err(why) if venv::in_ci() => {
            eprintln!("ag2_interop: FAILED: AG2 {AG2_VERSION} is required in CI: {why}");
            return ExitCode::FAILURE;
        }
        Err(why) => {
            println!("\nag2_interop: skipped (AG2 {AG2_VERSION} not available: {why})\n");
            return ExitCode::SUCCESS;
        }
    };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    match runtime.block_on(check(&python)) {
        Ok(()) => {
            println!("\nag2_interop: AG2 {AG2_VERSION} read our runs and found the same regressions: ok\n");
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("ag2_interop: FAILED: {why}");
            ExitCode::FAILURE
        }
    }
}

type Input<'a> = ScoreInput<'a, Value, Value, String>;

fn suite() -> Suite {
    let tasks = (0..6)
        .map(|i| {
            json!({
                "task_id": format!("reg-{i}"),
                "inputs": {"input": format!("What is the canonical answer for item {i}?"), "code": i.to_string()},
                "reference_outputs": {"answer": format!("ANS-{i}")},
                "tags": if i % 2 == 0 { json!(["smoke", "even"]) } else { json!("odd") },
                "metadata": {"difficulty": i},
            })
        })
        .collect();
    Suite::from_values("interop", tasks).expect("a valid inline suite")
}

/// Looks the answer up with a tool; `wrong_on` answers one task wrongly, task `reg-5` errors.
async fn make_run(
    wrong_on: Option<&'static str>,
    run_id: &str,
    variant: Option<eval_engine::variant::Variant>,
) -> RunResult {
    let agent = move |task: Arc<Task>, ctx: Ctx| async move {
        let code = task.inputs()["code"].as_str().unwrap_or_default().to_owned();
        ctx.model_response_from(eval_engine::trace::ModelResponse {
            model: Some("scripted".into()),
            text: None,
            finish_reason: Some("tool_calls".into()),
        });
        ctx.tool_call("lookup", json!({ "code": code }));
        if task.id() == "reg-5" {
            ctx.tool_error("lookup", "record not found");
            return Err(format!("no record for {code}"));
        }
        ctx.tool_result("lookup", json!(format!("record for {code}: ANS-{code}")));
        ctx.usage(40, 8);
        let answer = if Some(task.id()) == wrong_on {
            "ANS-X".to_owned()
        } else {
            format!("ANS-{code}")
        };
        ctx.model_response(answer.clone());
        ctx.custom("step", json!({"turns": 2}));
        Ok(answer)
    };
    let exact: Arc<dyn Scorer<Value, Value, String>> =
        Arc::new(scorer_fn(ScorerSpec::new("final_answer_matches"), |s: &Input| {
            s.outputs.map(|o| s.reference_outputs()["answer"] == o.as_str())
        }));
    let tool: Arc<dyn Scorer<Value, Value, String>> =
        Arc::new(scorer_fn(ScorerSpec::new("tool_called[lookup]"), |s: &Input| {
            s.trace.tool_calls().any(|c| c.name == "lookup")
        }));
    let overlap: Arc<dyn Scorer<Value, Value, String>> =
        Arc::new(scorer_fn(ScorerSpec::new("answer_overlap"), |s: &Input| {
            s.outputs.map(|o| {
                let expected = s.reference_outputs()["answer"].as_str().unwrap_or_default();
                let same = o.chars().zip(expected.chars()).filter(|(a, b)| a == b).count();
                same as f64 / expected.len().max(1) as f64
            })
        }));
    let options = RunOptions::default()
        .concurrency(3)
        .run_id(run_id)
        .expect("a plain run id")
        .target("interop::lookup_agent");
    let options = match variant {
        Some(variant) => options.variant(variant),
        None => options,
    };
    run(&suite(), agent, vec![exact, tool, overlap], options).await
}

async fn check(python: &Path) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let baseline = make_run(None, "run_a", None).await;
    // A variant's run: AG2 reads it as any run.
    let variant =
        eval_engine::variant::Variant::new("careless", json!({"model": "scripted"})).map_err(|e| e.to_string())?;
    let current = make_run(Some("reg-2"), "run_b", Some(variant)).await;
    let (baseline_path, current_path) = (dir.path().join("run_a.json"), dir.path().join("run_b.json"));
    save_run(&baseline, &baseline_path).map_err(|e| e.to_string())?;
    save_run(&current, &current_path).map_err(|e| e.to_string())?;

    let ours = current.diff(&baseline, DiffMode::Strict).map_err(|e| e.to_string())?;
    let our_regressions: Vec<(String, String)> =
        ours.regressions().map(|f| (f.key.clone(), f.task_id.clone())).collect();
    if our_regressions != [("final_answer_matches".to_owned(), "reg-2".to_owned())] {
        return Err(format!("our own diff found {our_regressions:?}"));
    }

    // A pairwise comparison of the two, saved as AG2's pairwise JSON.
    let pairwise = evaluate_pairwise(&baseline, &current, &[&Canonical], PairwiseOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    let pairwise_path = dir.path().join("pairwise.json");
    eval_engine::store::save_json(&pairwise_path, &pairwise.to_json()).map_err(|e| e.to_string())?;

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/ag2_reads_our_runs.py");
    let out = Command::new(python)
        .arg(&script)
        .arg(&current_path)
        .arg(&baseline_path)
        .arg(&pairwise_path)
        .output()
        .map_err(|e| format!("cannot start {}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(format!(
            "AG2 could not read our runs:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let theirs: Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("AG2's report is not JSON: {e}"))?;

    let their_regressions: Vec<(String, String)> = theirs["regressions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|pair| {
            (
                pair[0].as_str().unwrap_or("").to_owned(),
                pair[1].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    if their_regressions != our_regressions {
        return Err(format!(
            "AG2 found regressions {their_regressions:?}, we found {our_regressions:?}"
        ));
    }
    for (name, run) in [("current", &current), ("baseline", &baseline)] {
        compare_run(name, run, &theirs[name])?;
    }
    compare_pairwise(&pairwise, &theirs["pairwise"])
}

/// Prefers the canonical answer, as a judge would that was asked in both orders: a win where
/// one run has it, a flip on `reg-0` (each order preferred what it saw first), else a tie.
struct Canonical;

impl Comparator for Canonical {
    fn key(&self) -> &str {
        "canonical"
    }

    fn compare<'a>(&'a self, pair: &'a Pair<'a>, _: Option<&'a eval_engine::Cassettes>) -> ComparisonFuture<'a> {
        let right = |outputs: &Value| *outputs == pair.reference["answer"];
        let (a, b) = (right(&pair.a.outputs), right(&pair.b.outputs));
        let (winner, order1, order2) = match (pair.task_id, a, b) {
            ("reg-0", _, _) => (Winner::Tie, "first", "first"),
            (_, true, false) => (Winner::A, "first", "second"),
            (_, false, true) => (Winner::B, "second", "first"),
            _ => (Winner::Tie, "tie", "tie"),
        };
        let comparison = Comparison::decided(winner, Some("canonical".to_owned()))
            .with_detail(json!({"order1": order1, "order2": order2}));
        Box::pin(async move { comparison })
    }
}

/// AG2's win rates and flips, recomputed from our pairwise JSON, must be ours.
fn compare_pairwise(ours: &PairwiseRun, theirs: &Value) -> Result<(), String> {
    let rate = ours.win_rate("canonical");
    let their_rate = &theirs["win_rates"]["canonical"];
    let same = |field: &str, value: f64| their_rate[field].as_f64().is_some_and(|t| (t - value).abs() < 1e-9);
    if !(same("rate", rate.rate)
        && same("wins", rate.wins as f64)
        && same("losses", rate.losses as f64)
        && same("ties", rate.ties as f64)
        && same("n", rate.n as f64))
    {
        return Err(format!("pairwise: AG2 reads win rate {their_rate}, we have {rate:?}"));
    }
    if theirs["flips"]["canonical"] != ours.flips("canonical") || ours.flips("canonical") != 1 {
        return Err(format!(
            "pairwise: AG2 counts {} flip(s), we count {}",
            theirs["flips"]["canonical"],
            ours.flips("canonical")
        ));
    }
    if theirs["n_cases"] != ours.cases.len() || theirs["variant_b"] != ours.variant_b.as_str() {
        return Err(format!(
            "pairwise: AG2 reads {theirs}, we wrote {} case(s)",
            ours.cases.len()
        ));
    }
    Ok(())
}

fn compare_run(name: &str, ours: &RunResult, theirs: &Value) -> Result<(), String> {
    let mismatch = |what: &str, a: &dyn std::fmt::Debug, b: &dyn std::fmt::Debug| {
        Err(format!("{name} run: AG2 reads {what} {b:?}, we have {a:?}"))
    };
    let ids: Vec<&str> = ours.tasks().iter().map(|t| t.task_id.as_str()).collect();
    let their_ids: Vec<&str> = theirs["task_ids"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if ids != their_ids {
        return mismatch("task ids", &ids, &their_ids);
    }
    if theirs["run_id"] != ours.run_id() || theirs["schema_version"] != "0.2" {
        return mismatch("run id / schema", &ours.run_id(), &theirs["run_id"]);
    }
    let agg = ours.aggregates();
    let their_rates = theirs["pass_rate"].as_object().cloned().unwrap_or_default();
    if their_rates.len() != agg.pass_rate.len() {
        return mismatch("pass rates", &agg.pass_rate, &their_rates);
    }
    for (key, rate) in &agg.pass_rate {
        if their_rates
            .get(key)
            .and_then(Value::as_f64)
            .is_none_or(|r| (r - rate).abs() > 1e-9)
        {
            return mismatch("pass rates", &agg.pass_rate, &their_rates);
        }
    }
    for (key, stats) in &agg.score_stats {
        let theirs = &theirs["score_stats"][key];
        let same = |field: &str, ours: f64| theirs[field].as_f64().is_some_and(|t| (t - ours).abs() < 1e-9);
        if !(same("mean", stats.mean) && same("p50", stats.p50) && same("p95", stats.p95) && theirs["n"] == stats.n) {
            return mismatch(&format!("score stats of {key}"), stats, theirs);
        }
    }
    if theirs["errors"] != agg.errors {
        return mismatch("errors", &agg.errors, &theirs["errors"]);
    }
    Ok(())
}
