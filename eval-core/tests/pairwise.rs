//! Pairwise comparison of two runs: the judge asking in both orders (a flip is a tie), its
//! calls recorded and replayed, unparseable verdicts counted apart, people's labels from a
//! blinded sheet, and the agreement between the two.

use eval_engine::judge::{ChatFuture, ChatModel, ChatReply, ChatRequest, pairwise_judge};
use eval_engine::pairwise::{
    Comparator, HumanLabels, PairwiseOptions, PairwiseRun, Winner, evaluate_pairwise, pairwise_sheet, write_sheet,
};
use eval_engine::{CassetteMode, Cassettes, Ctx, RunOptions, RunResult, Suite, Task, run};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Four tasks; each variant answers with its word for the task.
async fn run_of(label: &str, answers: [&'static str; 4]) -> RunResult {
    let values = (0..4)
        .map(|i| json!({"task_id": format!("t{i}"), "inputs": {"input": format!("question {i}")}}))
        .collect();
    let suite: Suite = Suite::from_values("pairs", values).unwrap();
    let agent = move |task: Arc<Task>, _ctx: Ctx| async move {
        let i: usize = task.id()[1..].parse().unwrap();
        Ok::<_, std::io::Error>(answers[i].to_owned())
    };
    run(&suite, agent, Vec::new(), RunOptions::default().label(label).unwrap()).await
}

/// A judge model: prefers the response holding "good", else says tie; `biased` always prefers
/// the first response shown; `broken` never gives a preference. Counts its calls.
struct Scripted {
    name: &'static str,
    calls: AtomicUsize,
}

impl Scripted {
    fn new(name: &'static str) -> Arc<Scripted> {
        Arc::new(Scripted {
            name,
            calls: AtomicUsize::new(0),
        })
    }
}

impl ChatModel for Scripted {
    fn name(&self) -> &str {
        self.name
    }

    fn complete<'a>(&'a self, request: &'a ChatRequest) -> ChatFuture<'a> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let user = &request.messages[1].content;
        let first = user.split("## First response\n").nth(1).unwrap_or_default();
        let (first, second) = first.split_once("## Second response\n").unwrap_or_default();
        let preferred = match self.name {
            "biased" => "first",
            "broken" => "whichever",
            _ if first.contains("good") && !second.contains("good") => "first",
            _ if second.contains("good") && !first.contains("good") => "second",
            _ => "tie",
        };
        let text = json!({"reasoning": format!("{preferred} is better"), "preferred": preferred}).to_string();
        Box::pin(async move {
            Ok(ChatReply {
                text,
                ..ChatReply::default()
            })
        })
    }
}

#[tokio::test]
async fn the_judge_asks_in_both_orders_and_a_flip_is_a_tie() {
    let mini = run_of("mini", ["good", "bad", "good", "same"]).await;
    let large = run_of("large", ["bad", "good", "good", "same"]).await;
    let model = Scripted::new("fair");
    let judge = pairwise_judge("helpful", ArcModel(model.clone()), "Which answer is good?");
    let result = evaluate_pairwise(&mini, &large, &[&judge], PairwiseOptions::default())
        .await
        .unwrap();
    assert_eq!(
        (result.variant_a.as_str(), result.variant_b.as_str()),
        ("mini", "large")
    );
    assert_eq!(result.n_pairs, 4);
    assert_eq!(model.calls.load(Ordering::SeqCst), 8, "two orders per task");
    let winners: Vec<Option<Winner>> = result.cases.iter().map(|c| c.winner).collect();
    assert_eq!(
        winners,
        [Some(Winner::A), Some(Winner::B), Some(Winner::Tie), Some(Winner::Tie)]
    );
    let rate = result.win_rate("helpful");
    assert_eq!((rate.wins, rate.losses, rate.ties, rate.n), (1, 1, 2, 4));
    assert_eq!(rate.rate, 0.5);
    assert_eq!(result.flips("helpful"), 0);

    // A judge that prefers whatever comes first decides nothing: every case is a flip.
    let biased = pairwise_judge("helpful", ArcModel(Scripted::new("biased")), "Which answer is good?");
    let result = evaluate_pairwise(&mini, &large, &[&biased], PairwiseOptions::default())
        .await
        .unwrap();
    assert_eq!(result.flips("helpful"), 4);
    assert!(result.cases.iter().all(|c| c.winner == Some(Winner::Tie)));
    assert!(
        result.cases[0]
            .reasoning
            .as_deref()
            .unwrap()
            .starts_with("the two orders disagree")
    );

    // No valid preference: ungradeable, counted apart, in no win rate.
    let broken_model = Scripted::new("broken");
    let broken = pairwise_judge("helpful", ArcModel(broken_model.clone()), "Which answer is good?").retries(1);
    let result = evaluate_pairwise(&mini, &large, &[&broken], PairwiseOptions::default())
        .await
        .unwrap();
    assert_eq!(result.ungradeable("helpful"), 4);
    assert_eq!(result.win_rate("helpful").n, 0);
    assert!(
        result.cases[0]
            .reasoning
            .as_deref()
            .unwrap()
            .contains("gave no valid preference in 2 replies"),
        "{:?}",
        result.cases[0]
    );
    assert_eq!(result.to_json()["ungradeable"]["helpful"], 4);
}

#[tokio::test]
async fn judge_calls_are_recorded_and_replayed() {
    let mini = run_of("mini", ["good", "bad", "good", "same"]).await;
    let large = run_of("large", ["bad", "good", "good", "same"]).await;
    let dir = tempfile::tempdir().unwrap();
    let options = |mode| PairwiseOptions {
        cassettes: Some(Cassettes::new(dir.path(), mode)),
        ..PairwiseOptions::default()
    };
    let model = Scripted::new("fair");
    let judge = pairwise_judge("helpful", ArcModel(model.clone()), "Which answer is good?");
    let recorded = evaluate_pairwise(&mini, &large, &[&judge], options(CassetteMode::Record))
        .await
        .unwrap();
    assert_eq!(model.calls.load(Ordering::SeqCst), 8);
    let replayed = evaluate_pairwise(&mini, &large, &[&judge], options(CassetteMode::Strict))
        .await
        .unwrap();
    assert_eq!(model.calls.load(Ordering::SeqCst), 8, "replayed, not asked");
    let winners = |run: &PairwiseRun| run.cases.iter().map(|c| c.winner).collect::<Vec<_>>();
    assert_eq!(winners(&replayed), winners(&recorded));

    // Another criterion is another question: strict replay has no recording of it.
    let other = pairwise_judge("concise", ArcModel(model.clone()), "Which answer is shorter?");
    let missing = evaluate_pairwise(&mini, &large, &[&other], options(CassetteMode::Strict))
        .await
        .unwrap();
    assert_eq!(missing.ungradeable("concise"), 4);
    assert_eq!(model.calls.load(Ordering::SeqCst), 8);
}

#[tokio::test]
async fn people_label_a_blinded_sheet_and_agree_with_the_judge_or_not() {
    let mini = run_of("mini", ["good", "bad", "good", "same"]).await;
    let large = run_of("large", ["bad", "good", "good", "same"]).await;
    let criterion = "Which answer is good?";
    let rows = pairwise_sheet(&mini, &large, criterion, 7);
    assert_eq!(rows.len(), 4);
    assert_eq!(
        pairwise_sheet(&mini, &large, criterion, 7),
        rows,
        "the same seed, the same sheet"
    );
    let firsts: Vec<&str> = rows.iter().map(|r| r.first_variant.as_str()).collect();
    assert!(firsts.contains(&"a") || firsts.contains(&"b"));
    // People prefer the good answer where there is one and call t3 a tie; they leave t2 out.
    let dir = tempfile::tempdir().unwrap();
    let mut labelled = Vec::new();
    for mut row in rows {
        let good_first = row.response_1 == json!("good") && row.response_2 != json!("good");
        let good_second = row.response_2 == json!("good") && row.response_1 != json!("good");
        row.preferred = match row.task_id.as_str() {
            "t2" => None,
            _ if good_first => Some(json!("1")),
            _ if good_second => Some(json!(2)),
            _ => Some(json!("tie")),
        };
        labelled.push(row);
    }
    let sheet = dir.path().join("sheet.jsonl");
    write_sheet(&labelled, &sheet).unwrap();
    let people = HumanLabels::read(&sheet, criterion, "people").unwrap();
    assert_eq!(people.labelled(), 3);
    let judge = pairwise_judge("judge", ArcModel(Scripted::new("fair")), criterion);
    let comparators: [&dyn Comparator; 2] = [&judge, &people];
    let result = evaluate_pairwise(&mini, &large, &comparators, PairwiseOptions::default())
        .await
        .unwrap();
    let of =
        |key: &str| -> Vec<Option<Winner>> { result.cases.iter().filter(|c| c.key == key).map(|c| c.winner).collect() };
    assert_eq!(
        of("people"),
        [Some(Winner::A), Some(Winner::B), None, Some(Winner::Tie)],
        "unblinded"
    );
    let agreement = result.agreement("judge", "people");
    assert_eq!((agreement.n, agreement.rate), (3, 1.0));
    assert_eq!(agreement.kappa, Some(1.0));
}

/// `impl ChatModel` for a shared model, so a test can count its calls.
struct ArcModel(Arc<Scripted>);

impl ChatModel for ArcModel {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn complete<'a>(&'a self, request: &'a ChatRequest) -> ChatFuture<'a> {
        self.0.complete(request)
    }
}

#[test]
fn a_bad_label_names_its_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let sheet = dir.path().join("sheet.jsonl");
    let row = json!({"case_id": "t0::c", "task_id": "t0", "criterion": "c", "task_input": "q",
                     "response_1": "x", "response_2": "y", "first_variant": "b", "preferred": "1"});
    let mut bad = row.clone();
    bad["preferred"] = json!("3");
    std::fs::write(&sheet, format!("{row}\n\n{bad}\n")).unwrap();
    let error = HumanLabels::read(&sheet, "c", "people").unwrap_err();
    assert_eq!(
        error,
        format!(
            "{}:3: `preferred` is \"3\": write \"1\", \"2\" or \"tie\"",
            sheet.display()
        )
    );
    std::fs::write(&sheet, "{\"task_id\": \"t0\"}\n").unwrap();
    assert!(
        HumanLabels::read(&sheet, "c", "people")
            .unwrap_err()
            .starts_with(&format!("{}:1: not a sheet line", sheet.display()))
    );
}

#[tokio::test]
async fn runs_of_different_suites_or_comparators_sharing_a_key_are_refused() {
    let mini = run_of("mini", ["good", "bad", "good", "same"]).await;
    let mut other = run_of("large", ["bad", "good", "good", "same"]).await;
    let judge = pairwise_judge("helpful", ArcModel(Scripted::new("fair")), "Which answer is good?");
    let twice: [&dyn Comparator; 2] = [&judge, &judge];
    let error = evaluate_pairwise(&mini, &other, &twice, PairwiseOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "two comparators report under key `helpful`; give each its own"
    );
    assert_eq!(
        evaluate_pairwise(&mini, &other, &[], PairwiseOptions::default())
            .await
            .unwrap_err()
            .to_string(),
        "no comparator to ask"
    );
    other.meta.suite.name = "travel".to_owned();
    let error = evaluate_pairwise(&mini, &other, &[&judge], PairwiseOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "the runs are of different suites: `pairs` and `travel`"
    );
}
