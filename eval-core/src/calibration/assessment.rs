//! Whether a judge meets its [`Requirement`]: its labels against the verdicts people reviewed
//! (the baseline's).

use super::agreement::{Confusion, Measure, cohen_kappa};
use super::error::CalibrationError;
use super::labels::{Label, Labels};
use super::requirement::Requirement;
use crate::scorecard::{PairVerdict, Scorecard};
use crate::scorer::Threshold;
use std::path::Path;

/// Whether a judge meets its [`Requirement`].
#[derive(Debug, Clone, PartialEq)]
pub enum Assessment {
    /// It agrees enough: κ over `compared` labelled tasks.
    Meets {
        /// Cohen's κ.
        kappa: f64,
        /// Labelled tasks compared.
        compared: usize,
    },
    /// It does not, or cannot be shown to: why, in a sentence.
    Falls(String),
}

impl Requirement {
    /// Compares the labels of `key` with the pass/fail verdicts of `baseline` (the reviewed
    /// ones; `None` before the first review). A numeric label passes when it meets
    /// `threshold`. A labels file that cannot be read is an error, naming the file and line.
    pub fn assess(
        &self,
        key: &str,
        manifest_dir: &Path,
        baseline: Option<&Scorecard>,
        threshold: Option<&Threshold>,
    ) -> Result<Assessment, CalibrationError> {
        let path = manifest_dir.join(&self.labels);
        let labels = Labels::load(&path)?;
        let Some(baseline) = baseline else {
            return Ok(Assessment::Falls(format!(
                "no reviewed verdicts yet to compare with the labels in {}",
                self.labels.display()
            )));
        };
        let mut pairs: Vec<(&'static str, &'static str)> = Vec::new();
        for line in labels.for_key(key) {
            let Some(person) = passes(&line.label, threshold) else {
                continue;
            };
            let judge = match baseline.get(&line.task_id, key).map(|entry| &entry.verdict) {
                Some(PairVerdict::Pass) => true,
                Some(PairVerdict::Fail | PairVerdict::Ungradeable) => false,
                Some(PairVerdict::Repeated { passed, attempts }) => passed * 2 > *attempts,
                _ => continue,
            };
            pairs.push((name(person), name(judge)));
        }
        if pairs.is_empty() {
            return Ok(Assessment::Falls(format!(
                "none of the pass/fail labels of `{key}` in {} is of a task the baseline has a verdict on",
                self.labels.display()
            )));
        }
        let compared = pairs.len();
        Ok(match cohen_kappa(&Confusion::of_categories(pairs)) {
            Measure::Value(kappa) if kappa >= self.min_kappa => Assessment::Meets { kappa, compared },
            Measure::Value(kappa) => Assessment::Falls(format!(
                "κ = {kappa:.2} with the labels in {} over {compared} task(s), below the {} required",
                self.labels.display(),
                self.min_kappa
            )),
            Measure::Undefined(why) => Assessment::Falls(format!(
                "κ with the labels in {} is undefined: {why}",
                self.labels.display()
            )),
        })
    }
}

fn name(passed: bool) -> &'static str {
    if passed { "pass" } else { "fail" }
}

/// A label as pass/fail: `pass`/`fail`, or a number against the judge's threshold.
fn passes(label: &Label, threshold: Option<&Threshold>) -> Option<bool> {
    match label {
        Label::Category(name) if name == "pass" => Some(true),
        Label::Category(name) if name == "fail" => Some(false),
        Label::Number(n) => threshold.map(|t| t.passes(*n)),
        Label::Category(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scorecard of `task key verdict` lines.
    fn baseline(lines: &str) -> Scorecard {
        let mut card = Scorecard::default();
        for line in lines.lines() {
            let [task, _, key, verdict] = line.split_whitespace().collect::<Vec<_>>()[..] else {
                panic!("{line}")
            };
            let verdict = match verdict {
                "pass" => PairVerdict::Pass,
                "fail" => PairVerdict::Fail,
                _ => PairVerdict::Ungradeable,
            };
            let entry = crate::scorecard::ScorecardEntry {
                content_hash: crate::task::ContentHash::default(),
                verdict,
            };
            card.entries.insert((task.to_owned(), key.to_owned()), entry);
        }
        card
    }

    fn requirement(dir: &Path, labels: &str, min_kappa: f64) -> Requirement {
        std::fs::write(dir.join("labels.jsonl"), labels).unwrap();
        Requirement {
            labels: "labels.jsonl".into(),
            min_kappa,
        }
    }

    const LABELS: &str = r#"{"task_id": "a", "key": "judge", "label": "pass"}
{"task_id": "b", "key": "judge", "label": "pass"}
{"task_id": "c", "key": "judge", "label": "fail"}
{"task_id": "d", "key": "judge", "score": 2}
"#;

    #[test]
    fn a_judge_that_agrees_meets_and_one_that_does_not_falls() {
        let dir = tempfile::tempdir().unwrap();
        let card = baseline(
            "a 0000000000000000 judge pass\nb 0000000000000000 judge pass\n\
             c 0000000000000000 judge fail\nd 0000000000000000 judge error\n",
        );
        // d's score 2 fails a threshold of 4: four agreements, κ = 1.
        let threshold = Threshold::at_least(4.0);
        let met = requirement(dir.path(), LABELS, 0.6).assess("judge", dir.path(), Some(&card), Some(&threshold));
        assert_eq!(
            met.unwrap(),
            Assessment::Meets {
                kappa: 1.0,
                compared: 4
            }
        );

        // The judge passes c and d: people 2 pass 2 fail, the judge 4 pass; pₒ = 1/2,
        // pₑ = (2·4 + 2·0)/16 = 1/2, κ = 0.
        let lenient = baseline(
            "a 0000000000000000 judge pass\nb 0000000000000000 judge pass\n\
             c 0000000000000000 judge pass\nd 0000000000000000 judge pass\n",
        );
        let fell = requirement(dir.path(), LABELS, 0.6).assess("judge", dir.path(), Some(&lenient), Some(&threshold));
        let Assessment::Falls(why) = fell.unwrap() else {
            panic!("a judge at chance level meets")
        };
        assert_eq!(
            why,
            "κ = 0.00 with the labels in labels.jsonl over 4 task(s), below the 0.6 required"
        );
    }

    #[test]
    fn without_a_baseline_or_common_tasks_it_falls_saying_why() {
        let dir = tempfile::tempdir().unwrap();
        let req = requirement(dir.path(), LABELS, 0.6);
        let Assessment::Falls(why) = req.assess("judge", dir.path(), None, None).unwrap() else {
            panic!()
        };
        assert!(why.starts_with("no reviewed verdicts yet"), "{why}");
        let other = baseline("z 0000000000000000 judge pass\n");
        let Assessment::Falls(why) = req.assess("judge", dir.path(), Some(&other), None).unwrap() else {
            panic!()
        };
        assert!(why.contains("none of the pass/fail labels"), "{why}");
    }

    #[test]
    fn a_bad_labels_file_is_an_error_naming_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let req = requirement(
            dir.path(),
            "{\"task_id\": \"a\", \"key\": \"judge\", \"label\": \"pass\"}\nnot json\n",
            0.6,
        );
        let error = req.assess("judge", dir.path(), None, None).unwrap_err().to_string();
        assert!(error.contains("labels.jsonl") && error.contains('2'), "{error}");
    }
}
