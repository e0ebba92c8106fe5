//! Whether the agent's final answer matches the task's reference.

use super::answer_source::{Answer, NotCompared, as_text, expected_value, find_answer};
use super::common::{excerpt, ready};
use super::json_match::json_equal;
use crate::feedback::Feedback;
use crate::scorer::{ScoreFuture, ScoreInput, Scorer, ScorerSpec};
use regex::Regex;
use serde::Serialize;
use serde_json::{Value, json};
use std::fmt;

/// How [`final_answer_matches`] compares the answer with the reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matcher {
    /// Equal as JSON values (numbers by value): `"Paris"` ≠ `"paris"`, `42` = `42.0`.
    Exact,
    /// Equal as text, ignoring case (Unicode lowercase: `ß` stays `ß`, unlike Python's
    /// `casefold`). AG2's default.
    Casefold,
    /// The answer's text contains the reference's text.
    Contains,
    /// The answer's text has a match of this pattern (`regex` crate syntax; anchor it with
    /// `^…$` to match the whole answer). The pattern is the expectation: the reference is not
    /// read.
    Regex(String),
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Matcher::Exact => f.write_str("exact"),
            Matcher::Casefold => f.write_str("casefold"),
            Matcher::Contains => f.write_str("contains"),
            Matcher::Regex(pattern) => write!(f, "regex {pattern:?}"),
        }
    }
}

/// Passes when the agent's answer matches `reference_outputs[field]` under `matcher`.
///
/// The answer is `outputs[field]` when the agent's output is a JSON object carrying `field`,
/// else the output itself when it is a string, number or boolean, else the text of the last
/// model response. A task without a reference value fails, with a comment saying so (as in
/// AG2: wrap it in your own scorer to skip such tasks). Key `final_answer_matches`, as AG2's.
///
/// A [`Matcher::Regex`] pattern is compiled once, here; an invalid one makes every grade
/// ungradeable, naming the pattern and the error.
///
/// ```
/// use eval_engine::scorers::{Matcher, final_answer_matches, grade_blocking};
/// use eval_engine::{Task, Trace, Verdict};
/// use eval_engine::trace::Event;
/// use serde_json::json;
///
/// let trace = Trace::new(vec![Event::model_response("Sunny, 21 °C")], None, 12);
/// let task = Task::new("paris", json!({"input": "Weather in Paris?"}), json!({"city": "paris"}));
/// let outputs = json!({"city": "Paris", "temp_c": 21});
///
/// let casefold = grade_blocking(final_answer_matches("city", Matcher::Casefold), &task, &outputs, &trace);
/// assert_eq!(casefold[0].key, "final_answer_matches");
/// assert_eq!(casefold[0].verdict(), Verdict::Pass);
/// let exact = grade_blocking(final_answer_matches("city", Matcher::Exact), &task, &outputs, &trace);
/// assert_eq!(exact[0].verdict(), Verdict::Fail);
/// assert_eq!(exact[0].comment.as_deref(), Some(r#"expected "paris" (exact), got "Paris" from outputs["city"]"#));
/// ```
pub fn final_answer_matches(field: impl Into<String>, matcher: Matcher) -> FinalAnswerMatches {
    let comparison = match &matcher {
        Matcher::Exact => Comparison::Reference(Rule::Exact),
        Matcher::Casefold => Comparison::Reference(Rule::Casefold),
        Matcher::Contains => Comparison::Reference(Rule::Contains),
        Matcher::Regex(pattern) => match Regex::new(pattern) {
            Ok(regex) => Comparison::Pattern(regex),
            Err(error) => Comparison::InvalidPattern(error.to_string()),
        },
    };
    FinalAnswerMatches {
        spec: ScorerSpec::new("final_answer_matches"),
        field: field.into(),
        matcher,
        comparison,
    }
}

/// The scorer made by [`final_answer_matches`].
#[derive(Debug, Clone)]
pub struct FinalAnswerMatches {
    spec: ScorerSpec,
    field: String,
    matcher: Matcher,
    comparison: Comparison,
}

spec_builders!(FinalAnswerMatches);

/// The matcher, ready to compare.
#[derive(Debug, Clone)]
enum Comparison {
    /// Against the task's reference value.
    Reference(Rule),
    /// Against a pattern, compiled once.
    Pattern(Regex),
    /// A pattern that did not compile, with the error.
    InvalidPattern(String),
}

#[derive(Debug, Clone, Copy)]
enum Rule {
    Exact,
    Casefold,
    Contains,
}

impl Rule {
    fn matches(self, answer: &Value, expected: &Value) -> bool {
        match self {
            Rule::Exact => json_equal(answer, expected),
            Rule::Casefold => as_text(answer).to_lowercase() == as_text(expected).to_lowercase(),
            Rule::Contains => as_text(answer).contains(as_text(expected).as_ref()),
        }
    }
}

impl FinalAnswerMatches {
    fn check<I, R: Serialize, O>(&self, input: &ScoreInput<'_, I, R, O>) -> Feedback {
        self.compare(input)
            .unwrap_or_else(|why| why.into_feedback(&self.spec.key))
    }

    fn compare<I, R: Serialize, O>(&self, input: &ScoreInput<'_, I, R, O>) -> Result<Feedback, NotCompared> {
        let answer = || find_answer(input.outputs_json, Some(&self.field), input.trace).map_err(NotCompared::Fail);
        let (answer, expected, passed) = match &self.comparison {
            Comparison::InvalidPattern(error) => {
                return Err(NotCompared::Ungradeable(format!(
                    "{}: invalid pattern: {error}",
                    self.matcher
                )));
            }
            Comparison::Pattern(regex) => {
                let answer = answer()?;
                let passed = regex.is_match(&as_text(&answer.value));
                (answer, None, passed)
            }
            Comparison::Reference(rule) => {
                let expected = expected_value(input.reference_outputs(), &self.field)?;
                let answer = answer()?;
                let passed = rule.matches(&answer.value, &expected);
                (answer, Some(expected), passed)
            }
        };
        let feedback = Feedback::pass_fail(&self.spec.key, passed);
        if passed {
            return Ok(feedback);
        }
        Ok(self.explain_mismatch(feedback, &answer, expected.as_ref()))
    }

    fn explain_mismatch(&self, feedback: Feedback, answer: &Answer<'_>, expected: Option<&Value>) -> Feedback {
        let got = excerpt(&answer.value.to_string());
        let comment = match expected {
            Some(expected) => format!(
                "expected {} ({}), got {got} from {}",
                excerpt(&expected.to_string()),
                self.matcher,
                answer.source
            ),
            None => format!("{got} from {} does not match {}", answer.source, self.matcher),
        };
        feedback.with_comment(comment).with_detail(json!({
            "matcher": self.matcher.to_string(),
            "expected": expected,
            "actual": answer.value,
            "source": answer.source.label(),
        }))
    }
}

impl<I, R: Serialize, O> Scorer<I, R, O> for FinalAnswerMatches {
    fn spec(&self) -> &ScorerSpec {
        &self.spec
    }

    fn score<'a>(&'a self, input: &'a ScoreInput<'a, I, R, O>) -> ScoreFuture<'a> {
        ready(self.check(input))
    }
}
