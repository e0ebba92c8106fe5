//! People's labels against a judge's feedback in one run: which tasks they agree on, and the
//! statistics of how well.
//!
//! Each labelled task is paired with the judge's feedback under the key. With repeats, every
//! attempt (`<id>#1`, `<id>#2`, …) is one judgement of its own against the task's one label: a
//! judge that is right on two attempts of three agrees two times of three. A judge's feedback
//! reads as the labels do: pass/fail as the categories `pass` and `fail`, a label as that
//! category, a number as a number.

use super::agreement::{Confusion, Measure, cohen_kappa, quadratic_weighted_kappa, spearman};
use super::error::CalibrationError;
use super::labels::{Label, LabelLine, Labels};
use crate::feedback::{Feedback, Score};
use crate::record::TaskRecord;
use crate::result::RunResult;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};

/// The widest integer scale treated as one: `0..=10` (eleven values). Numbers on it get a
/// confusion matrix and κ; wider or fractional scores get Spearman's ρ only.
pub const MAX_SCALE_SPAN: i64 = 10;

/// What the labels of a key are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scale {
    /// Named categories (`pass`/`fail` or others): agreement, κ and the confusion matrix.
    Categories,
    /// Numbers: agreement, Spearman's ρ, the mean absolute difference; on an integer scale of
    /// at most eleven values also κ, quadratically weighted κ and the confusion matrix.
    Numbers,
}

/// A judgement where the judge and people disagree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Disagreement {
    /// The task, without an attempt suffix.
    pub task_id: String,
    /// The attempt, with repeats.
    pub attempt: Option<u32>,
    /// What people said.
    pub human: Label,
    /// What the judge said.
    pub judge: Label,
    /// The judge's comment (its reasoning), if any.
    pub comment: Option<String>,
}

/// A judgement the judge could not make (its feedback under the key is ungradeable).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ungradeable {
    /// The task, without an attempt suffix.
    pub task_id: String,
    /// The attempt, with repeats.
    pub attempt: Option<u32>,
    /// What people said.
    pub human: Label,
    /// The judge's comment: why it could not grade.
    pub comment: Option<String>,
}

/// A labelled judgement left out for another reason than an ungradeable verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotCompared {
    /// The task, without an attempt suffix.
    pub task_id: String,
    /// The attempt, with repeats.
    pub attempt: Option<u32>,
    /// What people said.
    pub human: Label,
    /// Why: no feedback under the key, or an answer of the other kind (a number against
    /// categories).
    pub why: String,
}

/// How a judge's feedback under one key compares with people's labels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    /// The run the judge's feedback is from.
    pub run_id: String,
    /// The key compared.
    pub key: String,
    /// What the labels are.
    pub scale: Scale,
    /// The tasks labelled under the key.
    pub labelled_tasks: usize,
    /// The tasks of the run with no label under the key, left out.
    pub unlabelled_tasks: usize,
    /// The judgements compared: one per labelled task, or per attempt with repeats.
    pub judgements: usize,
    /// The judgements where the judge said what people said.
    pub agreements: usize,
    /// `agreements / judgements` (`None` without judgements).
    pub agreement: Option<f64>,
    /// Cohen's κ, unweighted: for categories, and for numbers on an integer scale.
    pub kappa: Option<Measure>,
    /// Cohen's κ with quadratic weights: for numbers on an integer scale.
    pub weighted_kappa: Option<Measure>,
    /// Spearman's ρ: for numbers.
    pub spearman: Option<Measure>,
    /// The mean of |people − judge|: for numbers, with judgements.
    pub mean_absolute_difference: Option<f64>,
    /// Rows people's answers, columns the judge's: for categories, and for numbers on an integer
    /// scale.
    pub confusion: Option<Confusion>,
    /// Every judgement where the two differ, in the run's order.
    pub disagreements: Vec<Disagreement>,
    /// Every labelled judgement the judge could not grade; counted in neither agreements nor
    /// judgements.
    pub ungradeable: Vec<Ungradeable>,
    /// Every labelled judgement left out otherwise (no feedback, an answer of the other kind).
    pub not_compared: Vec<NotCompared>,
}

/// Compares `labels` under `key` with the feedback under `key` in `run`.
///
/// Errors: a key the run has no feedback under, a key the labels do not label, labels of one key
/// that mix categories and numbers, and labelled task ids the run does not have (all of them,
/// with their lines). Lines of other keys are not looked at.
pub fn calibrate(run: &RunResult, labels: &Labels, key: &str) -> Result<Calibration, CalibrationError> {
    let keys = run.keys();
    if !keys.contains(&key) {
        return Err(CalibrationError::UnknownKey {
            key: key.to_owned(),
            run_id: run.run_id().to_owned(),
            known: keys.into_iter().map(str::to_owned).collect(),
        });
    }
    let lines: Vec<&LabelLine> = labels.for_key(key).collect();
    let scale = scale_of(labels, key, &lines)?;
    let mut tasks: Vec<&str> = Vec::new();
    let mut in_run: BTreeSet<&str> = BTreeSet::new();
    for record in run.tasks() {
        if in_run.insert(record.base_id()) {
            tasks.push(record.base_id());
        }
    }
    let unknown: Vec<(String, usize)> = lines
        .iter()
        .filter(|line| !in_run.contains(line.task_id.as_str()))
        .map(|line| (line.task_id.clone(), line.line))
        .collect();
    if !unknown.is_empty() {
        return Err(CalibrationError::UnknownTasks {
            path: labels.path().to_owned(),
            run_id: run.run_id().to_owned(),
            tasks: unknown,
            known: tasks.iter().map(|id| (*id).to_owned()).collect(),
        });
    }
    let by_task: HashMap<&str, &Label> = lines.iter().map(|line| (line.task_id.as_str(), &line.label)).collect();
    let mut compared = Compared::default();
    for record in run.tasks() {
        if let Some(human) = by_task.get(record.base_id()) {
            compared.add(record, key, human, scale);
        }
    }
    Ok(compared.finish(run, key, scale, by_task.len(), tasks.len() - by_task.len()))
}

/// Whether the labels of `key` are categories or numbers; never both.
fn scale_of(labels: &Labels, key: &str, lines: &[&LabelLine]) -> Result<Scale, CalibrationError> {
    let first_category = lines.iter().find(|line| !line.label.is_number());
    let first_number = lines.iter().find(|line| line.label.is_number());
    match (first_category, first_number) {
        (Some(category), Some(number)) => Err(CalibrationError::MixedScales {
            path: labels.path().to_owned(),
            key: key.to_owned(),
            category_line: category.line,
            number_line: number.line,
        }),
        (Some(_), None) => Ok(Scale::Categories),
        (None, Some(_)) => Ok(Scale::Numbers),
        (None, None) => Err(CalibrationError::NoLabels {
            path: labels.path().to_owned(),
            key: key.to_owned(),
            keys: labels.keys(),
        }),
    }
}

/// What the judge's feedback says, read on the labels' scale when it can be: a number that
/// also carries a label is read as the label against categories.
fn judge_reading(feedback: &Feedback, scale: Scale) -> Option<Label> {
    match (feedback.score, &feedback.value, scale) {
        (Some(Score::Bool(passed)), _, _) => Some(Label::pass_fail(passed)),
        (Some(Score::Number(_)), Some(value), Scale::Categories) => Some(Label::Category(value.clone())),
        (Some(Score::Number(n)), _, _) => Some(Label::Number(n)),
        (None, Some(value), _) => Some(Label::Category(value.clone())),
        (None, None, _) => None,
    }
}

/// The judgements gathered so far.
#[derive(Default)]
struct Compared {
    pairs: Vec<(Label, Label)>,
    disagreements: Vec<Disagreement>,
    ungradeable: Vec<Ungradeable>,
    not_compared: Vec<NotCompared>,
}

impl Compared {
    fn add(&mut self, record: &TaskRecord, key: &str, human: &Label, scale: Scale) {
        let task_id = record.base_id().to_owned();
        let attempt = record.attempt;
        let Some(feedback) = record.feedback_for(key) else {
            self.not_compared.push(NotCompared {
                task_id,
                attempt,
                human: human.clone(),
                why: format!("the run has no feedback under `{key}` for this task"),
            });
            return;
        };
        // No score and no label: the verdict is ungradeable.
        let Some(judge) = judge_reading(feedback, scale) else {
            self.ungradeable.push(Ungradeable {
                task_id,
                attempt,
                human: human.clone(),
                comment: feedback.comment.clone(),
            });
            return;
        };
        if judge.is_number() != human.is_number() {
            let why = match scale {
                Scale::Categories => format!("the judge gave the number {judge}; the labels are categories"),
                Scale::Numbers => format!("the judge gave the category `{judge}`; the labels are numbers"),
            };
            self.not_compared.push(NotCompared {
                task_id,
                attempt,
                human: human.clone(),
                why,
            });
            return;
        }
        if judge != *human {
            self.disagreements.push(Disagreement {
                task_id,
                attempt,
                human: human.clone(),
                judge: judge.clone(),
                comment: feedback.comment.clone(),
            });
        }
        self.pairs.push((human.clone(), judge));
    }

    fn finish(self, run: &RunResult, key: &str, scale: Scale, labelled: usize, unlabelled: usize) -> Calibration {
        let judgements = self.pairs.len();
        let agreements = judgements - self.disagreements.len();
        let mut calibration = Calibration {
            run_id: run.run_id().to_owned(),
            key: key.to_owned(),
            scale,
            labelled_tasks: labelled,
            unlabelled_tasks: unlabelled,
            judgements,
            agreements,
            agreement: (judgements > 0).then(|| agreements as f64 / judgements as f64),
            kappa: None,
            weighted_kappa: None,
            spearman: None,
            mean_absolute_difference: None,
            confusion: None,
            disagreements: self.disagreements,
            ungradeable: self.ungradeable,
            not_compared: self.not_compared,
        };
        match scale {
            Scale::Categories => {
                let names: Vec<(&str, &str)> = self
                    .pairs
                    .iter()
                    .filter_map(|pair| match pair {
                        (Label::Category(human), Label::Category(judge)) => Some((human.as_str(), judge.as_str())),
                        _ => None,
                    })
                    .collect();
                let confusion = Confusion::of_categories(names);
                calibration.kappa = Some(cohen_kappa(&confusion));
                calibration.confusion = Some(confusion);
            }
            Scale::Numbers => {
                let numbers: Vec<(f64, f64)> = self
                    .pairs
                    .iter()
                    .filter_map(|(human, judge)| Some((human.as_number()?, judge.as_number()?)))
                    .collect();
                calibration.spearman = Some(spearman(&numbers));
                calibration.mean_absolute_difference = (!numbers.is_empty())
                    .then(|| numbers.iter().map(|(h, j)| (h - j).abs()).sum::<f64>() / numbers.len() as f64);
                if let Some(integers) = on_a_small_scale(&numbers) {
                    let confusion = Confusion::of_integers(&integers);
                    calibration.kappa = Some(cohen_kappa(&confusion));
                    calibration.weighted_kappa = Some(quadratic_weighted_kappa(&integers));
                    calibration.confusion = Some(confusion);
                }
            }
        }
        calibration
    }
}

/// The pairs as integers, when every number of both sides is one and they span at most
/// [`MAX_SCALE_SPAN`].
fn on_a_small_scale(numbers: &[(f64, f64)]) -> Option<Vec<(i64, i64)>> {
    let integer = |n: f64| (n.fract() == 0.0 && n.abs() < 1.0e15).then_some(n as i64);
    let integers: Vec<(i64, i64)> = numbers
        .iter()
        .map(|&(h, j)| Some((integer(h)?, integer(j)?)))
        .collect::<Option<_>>()?;
    let all = || integers.iter().flat_map(|&(h, j)| [h, j]);
    let span = all().max()? - all().min()?;
    (span <= MAX_SCALE_SPAN).then_some(integers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::ContentHash;
    use crate::trace::Trace;
    use serde_json::{Map, Value, json};

    fn record(id: &str, attempt: Option<u32>, feedback: Vec<Feedback>) -> TaskRecord {
        let inputs = json!({"input": id});
        TaskRecord {
            task_id: TaskRecord::id_of(id, attempt),
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
            outputs: json!("out"),
            attempt,
        }
    }

    fn run(records: Vec<TaskRecord>) -> RunResult {
        RunResult::new(crate::fixtures::run_meta("01CAL"), records)
    }

    fn labels(lines: &[(&str, &str, Value)]) -> Labels {
        let text: String = lines
            .iter()
            .map(|(task, key, label)| {
                let field = if label.is_number() { "score" } else { "label" };
                format!("{}\n", json!({"task_id": task, "key": key, field: label}))
            })
            .collect();
        Labels::parse("labels.jsonl", text.as_bytes()).unwrap()
    }

    /// The 2×2 example of the agreement tests as a run: people pass t0–t4 and fail t5–t9; the
    /// judge passes t0–t3, fails t4, passes t5–t6 and fails t7–t9. Agreement 7/10, κ = 0.4.
    fn two_by_two() -> (RunResult, Labels) {
        let judge = [true, true, true, true, false, true, true, false, false, false];
        let records = (0..10)
            .map(|i| {
                let verdict = Feedback::pass_fail("judge", judge[i]).with_comment(format!("reason {i}"));
                record(&format!("t{i}"), None, vec![verdict])
            })
            .collect();
        let lines: Vec<(String, Value)> = (0..10).map(|i| (format!("t{i}"), json!(i < 5))).collect();
        let lines: Vec<(&str, &str, Value)> = lines.iter().map(|(t, l)| (t.as_str(), "judge", l.clone())).collect();
        (run(records), labels(&lines))
    }

    #[test]
    fn pass_fail_labels_against_a_pass_fail_judge() {
        let (run, labels) = two_by_two();
        let calibration = calibrate(&run, &labels, "judge").unwrap();
        assert_eq!(calibration.scale, Scale::Categories);
        assert_eq!((calibration.judgements, calibration.agreements), (10, 7));
        assert_eq!(calibration.agreement, Some(0.7));
        assert!((calibration.kappa.as_ref().unwrap().value().unwrap() - 0.4).abs() < 1e-12);
        let confusion = calibration.confusion.as_ref().unwrap();
        assert_eq!(confusion.categories, ["fail", "pass"]);
        assert_eq!(confusion.counts, [[3, 2], [1, 4]]);
        let disagreeing: Vec<(&str, String, String, Option<&str>)> = calibration
            .disagreements
            .iter()
            .map(|d| {
                (
                    d.task_id.as_str(),
                    d.human.to_string(),
                    d.judge.to_string(),
                    d.comment.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            disagreeing,
            vec![
                ("t4", "pass".into(), "fail".into(), Some("reason 4")),
                ("t5", "fail".into(), "pass".into(), Some("reason 5")),
                ("t6", "fail".into(), "pass".into(), Some("reason 6")),
            ]
        );
        assert_eq!((calibration.weighted_kappa, calibration.spearman), (None, None));
        assert_eq!(calibration.mean_absolute_difference, None);
        assert_eq!((calibration.labelled_tasks, calibration.unlabelled_tasks), (10, 0));
    }

    #[test]
    fn each_attempt_is_a_judgement_against_the_tasks_label() {
        let records = vec![
            record("a", Some(1), vec![Feedback::pass_fail("judge", true)]),
            record("a", Some(2), vec![Feedback::pass_fail("judge", false)]),
            record("a", Some(3), vec![Feedback::pass_fail("judge", true)]),
            record("b", Some(1), vec![Feedback::pass_fail("judge", false)]),
            record(
                "b",
                Some(2),
                vec![Feedback::ungradeable("judge", "no verdict after 3 tries")],
            ),
            record("b", Some(3), vec![Feedback::pass_fail("judge", false)]),
            record("c", Some(1), vec![Feedback::pass_fail("judge", true)]),
        ];
        let labels = labels(&[("a", "judge", json!("pass")), ("b", "judge", json!("fail"))]);
        let calibration = calibrate(&run(records), &labels, "judge").unwrap();
        // a: 2 of 3 attempts agree; b: 2 of the 2 graded ones; c is not labelled.
        assert_eq!((calibration.judgements, calibration.agreements), (5, 4));
        assert_eq!((calibration.labelled_tasks, calibration.unlabelled_tasks), (2, 1));
        assert_eq!(calibration.disagreements.len(), 1);
        assert_eq!(
            (
                calibration.disagreements[0].task_id.as_str(),
                calibration.disagreements[0].attempt
            ),
            ("a", Some(2))
        );
        assert_eq!(
            calibration.ungradeable,
            vec![Ungradeable {
                task_id: "b".into(),
                attempt: Some(2),
                human: Label::Category("fail".into()),
                comment: Some("no verdict after 3 tries".into()),
            }]
        );
    }

    #[test]
    fn labels_and_scores_of_a_judge_compare_as_it_gives_them() {
        let records = vec![
            record("a", None, vec![Feedback::label("tone", "curt")]),
            record("b", None, vec![Feedback::label("tone", "warm")]),
            // A number with a label, against categories: the label.
            record("c", None, vec![Feedback::label("tone", "warm").with_detail(json!({}))]),
            record("d", None, vec![Feedback::number("tone", 0.3)]),
            record("e", None, vec![]),
        ];
        let mut records = records;
        records[2].feedback[0].score = Some(Score::Number(0.9));
        let labels = labels(&[
            ("a", "tone", json!("curt")),
            ("b", "tone", json!("curt")),
            ("c", "tone", json!("warm")),
            ("d", "tone", json!("warm")),
            ("e", "tone", json!("warm")),
        ]);
        let calibration = calibrate(&run(records), &labels, "tone").unwrap();
        assert_eq!((calibration.judgements, calibration.agreements), (3, 2));
        assert_eq!(calibration.confusion.as_ref().unwrap().categories, ["curt", "warm"]);
        let why: Vec<(&str, &str)> = calibration
            .not_compared
            .iter()
            .map(|n| (n.task_id.as_str(), n.why.as_str()))
            .collect();
        assert_eq!(
            why,
            vec![
                ("d", "the judge gave the number 0.3; the labels are categories"),
                ("e", "the run has no feedback under `tone` for this task"),
            ]
        );
        assert!(calibration.ungradeable.is_empty());
    }

    /// The weighted example of the agreement tests: people 1 2 3 1 2 3, the judge 1 2 3 2 3 2.
    /// Agreement 3/6, κ = 0.25, κw = 4/7. Ranks: people 1.5 3.5 5.5 1.5 3.5 5.5 (each value
    /// twice), the judge 1 3 5.5 3 5.5 3 (the three 2s share ranks 2–4, the two 3s ranks 5–6).
    /// Deviations from the mean rank 3.5: (−2, 0, 2, −2, 0, 2) and (−2.5, −0.5, 2, −0.5, 2,
    /// −0.5); Σ products = 5 + 0 + 4 + 1 + 0 − 1 = 9, Σ squares 16 and 15, ρ = 9 / √240
    /// ≈ 0.581. Mean absolute difference (0 + 0 + 0 + 1 + 1 + 1) / 6 = 0.5.
    #[test]
    fn scores_on_a_small_scale_get_both_kappas_and_spearman() {
        let people = [1, 2, 3, 1, 2, 3];
        let judge = [1, 2, 3, 2, 3, 2];
        let records = (0..6)
            .map(|i| record(&format!("s{i}"), None, vec![Feedback::number("stars", judge[i] as f64)]))
            .collect();
        let names: Vec<String> = (0..6).map(|i| format!("s{i}")).collect();
        let lines: Vec<(&str, &str, Value)> = (0..6).map(|i| (names[i].as_str(), "stars", json!(people[i]))).collect();
        let calibration = calibrate(&run(records), &labels(&lines), "stars").unwrap();
        assert_eq!(calibration.scale, Scale::Numbers);
        assert_eq!(calibration.agreement, Some(0.5));
        let value = |m: &Option<Measure>| m.as_ref().and_then(Measure::value).unwrap();
        assert!((value(&calibration.kappa) - 0.25).abs() < 1e-12);
        assert!((value(&calibration.weighted_kappa) - 4.0 / 7.0).abs() < 1e-12);
        assert!((value(&calibration.spearman) - 9.0 / 240f64.sqrt()).abs() < 1e-12);
        assert_eq!(calibration.mean_absolute_difference, Some(0.5));
        assert_eq!(calibration.confusion.as_ref().unwrap().categories, ["1", "2", "3"]);
        assert_eq!(calibration.disagreements[0].judge, Label::Number(2.0));
    }

    #[test]
    fn fractional_or_wide_scores_get_spearman_only() {
        for (people, judge) in [
            ([0.0, 0.5, 1.0], [0.1, 0.5, 0.9]),
            ([0.0, 50.0, 100.0], [10.0, 40.0, 100.0]),
        ] {
            let records = (0..3)
                .map(|i| record(&format!("x{i}"), None, vec![Feedback::number("overlap", judge[i])]))
                .collect();
            let names: Vec<String> = (0..3).map(|i| format!("x{i}")).collect();
            let lines: Vec<(&str, &str, Value)> = (0..3)
                .map(|i| (names[i].as_str(), "overlap", json!(people[i])))
                .collect();
            let calibration = calibrate(&run(records), &labels(&lines), "overlap").unwrap();
            assert_eq!((calibration.kappa.clone(), calibration.confusion.clone()), (None, None));
            assert_eq!(calibration.weighted_kappa, None);
            assert_eq!(calibration.spearman.as_ref().and_then(Measure::value), Some(1.0));
        }
    }

    #[test]
    fn degenerate_calibrations_have_no_nan() {
        // Every task passes for both: agreement 1, κ undefined.
        let records = (0..3)
            .map(|i| record(&format!("p{i}"), None, vec![Feedback::pass_fail("judge", true)]))
            .collect();
        let labels_all_pass = labels(&[
            ("p0", "judge", json!("pass")),
            ("p1", "judge", json!("pass")),
            ("p2", "judge", json!("pass")),
        ]);
        let calibration = calibrate(&run(records), &labels_all_pass, "judge").unwrap();
        assert_eq!(calibration.agreement, Some(1.0));
        assert!(
            matches!(calibration.kappa, Some(Measure::Undefined(_))),
            "{:?}",
            calibration.kappa
        );
        let json = serde_json::to_value(&calibration).unwrap();
        assert_eq!(json["kappa"]["value"], Value::Null);
        assert!(json["kappa"]["undefined"].is_string());

        // Every judgement ungradeable: nothing to compare, no statistic.
        let records = vec![record("p0", None, vec![Feedback::ungradeable("judge", "timed out")])];
        let labels_one = labels(&[("p0", "judge", json!("pass"))]);
        let calibration = calibrate(&run(records), &labels_one, "judge").unwrap();
        assert_eq!((calibration.judgements, calibration.agreement), (0, None));
        assert_eq!(calibration.ungradeable.len(), 1);
        assert!(matches!(calibration.kappa, Some(Measure::Undefined(_))));

        // One numeric judgement: ρ undefined, no mean difference is NaN.
        let records = vec![record("p0", None, vec![Feedback::number("stars", 4.0)])];
        let calibration = calibrate(&run(records), &labels(&[("p0", "stars", json!(4))]), "stars").unwrap();
        assert!(matches!(calibration.spearman, Some(Measure::Undefined(_))));
        assert_eq!(calibration.mean_absolute_difference, Some(0.0));
        assert!(matches!(calibration.weighted_kappa, Some(Measure::Undefined(_))));
    }

    #[test]
    fn unknown_tasks_keys_and_mixed_scales_are_errors_naming_what_is_wrong() {
        let (run, _) = two_by_two();
        let labels_unknown = labels(&[
            ("t0", "judge", json!("pass")),
            ("nope", "judge", json!("pass")),
            ("t1", "judge", json!("pass")),
            ("t1#2", "judge", json!("fail")),
            ("gone", "other", json!("fail")),
        ]);
        let error = calibrate(&run, &labels_unknown, "judge").unwrap_err().to_string();
        assert_eq!(
            error,
            "labels.jsonl: 2 labelled task id(s) are not in run 01CAL: `nope` (line 2), `t1#2` (line 4); \
             the run's tasks: t0, t1, t2, t3, t4, t5, t6, t7, t8, t9"
        );

        let error = calibrate(&run, &labels_unknown, "tone").unwrap_err().to_string();
        assert_eq!(error, "run 01CAL has no feedback under key `tone`; its keys: judge");

        let labels_other = labels(&[("t0", "other", json!("pass"))]);
        let run_with_other = {
            let (meta, mut tasks) = run.clone().into_parts();
            tasks[0].feedback.push(Feedback::pass_fail("other", true));
            RunResult::new(meta, tasks)
        };
        let error = calibrate(&run_with_other, &labels_other, "judge")
            .unwrap_err()
            .to_string();
        assert_eq!(error, "labels.jsonl: no line labels key `judge`; it labels: other");

        let mixed = labels(&[
            ("t0", "judge", json!("pass")),
            ("t1", "judge", json!(1)),
            ("t2", "judge", json!("fail")),
        ]);
        let error = calibrate(&run, &mixed, "judge").unwrap_err().to_string();
        assert!(
            error.starts_with(
                "labels.jsonl: the labels of key `judge` mix categories (first at line 1) and numbers (first at line 2)"
            ),
            "{error}"
        );
    }

    #[test]
    fn many_run_tasks_are_listed_in_part() {
        let records = (0..15)
            .map(|i| record(&format!("r{i:02}"), None, vec![Feedback::pass_fail("judge", true)]))
            .collect();
        let error = calibrate(&run(records), &labels(&[("zz", "judge", json!("pass"))]), "judge")
            .unwrap_err()
            .to_string();
        assert!(
            error.ends_with("r00, r01, r02, r03, r04, r05, r06, r07, r08, r09, … (5 more)"),
            "{error}"
        );
    }
}
