//! The graded signal a scorer produces for one task.

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use std::fmt;

/// One piece of feedback: a grade (`score`), a label (`value`), or neither (ungradeable).
///
/// ```
/// use eval_engine::{Feedback, Verdict};
///
/// assert_eq!(Feedback::pass_fail("exact", true).verdict(), Verdict::Pass);
/// assert_eq!(Feedback::number("overlap", 0.8).verdict(), Verdict::Informational);
/// assert_eq!(Feedback::ungradeable("judge", "timed out").verdict(), Verdict::Ungradeable);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feedback {
    /// What is measured; pass rates and diffs are keyed by it.
    pub key: String,
    /// The grade: `true`/`false` gate, a number is informational (unless thresholded).
    #[serde(default)]
    pub score: Option<Score>,
    /// A categorical label.
    #[serde(default)]
    pub value: Option<String>,
    /// Why: a judge's rationale, a scorer's error.
    #[serde(default)]
    pub comment: Option<String>,
    /// Structured evidence; never aggregated.
    #[serde(default)]
    pub detail: Option<Value>,
}

impl Feedback {
    /// Feedback with a pass/fail grade.
    pub fn pass_fail(key: impl Into<String>, passed: bool) -> Self {
        Feedback::with_score(key, Some(Score::Bool(passed)))
    }

    /// Feedback with a numeric grade.
    pub fn number(key: impl Into<String>, score: f64) -> Self {
        Feedback::with_score(key, Some(Score::Number(score)))
    }

    /// Feedback with a categorical label.
    pub fn label(key: impl Into<String>, value: impl Into<String>) -> Self {
        Feedback {
            value: Some(value.into()),
            ..Feedback::with_score(key, None)
        }
    }

    /// Feedback that could not be graded (the scorer failed); `why` goes into the comment.
    pub fn ungradeable(key: impl Into<String>, why: impl Into<String>) -> Self {
        Feedback {
            comment: Some(why.into()),
            ..Feedback::with_score(key, None)
        }
    }

    fn with_score(key: impl Into<String>, score: Option<Score>) -> Self {
        Feedback {
            key: key.into(),
            score,
            value: None,
            comment: None,
            detail: None,
        }
    }

    /// Sets the comment.
    pub fn with_comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }

    /// Sets the detail.
    pub fn with_detail(mut self, detail: Value) -> Self {
        self.detail = Some(detail);
        self
    }

    /// What this feedback says on its own (a scorer's threshold has already been applied).
    pub fn verdict(&self) -> Verdict {
        match (self.score, &self.value) {
            (Some(Score::Bool(true)), _) => Verdict::Pass,
            (Some(Score::Bool(false)), _) => Verdict::Fail,
            (Some(Score::Number(_)), _) | (None, Some(_)) => Verdict::Informational,
            (None, None) => Verdict::Ungradeable,
        }
    }

    /// The boolean grade, if there is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self.score {
            Some(Score::Bool(b)) => Some(b),
            _ => None,
        }
    }

    /// The numeric grade, if there is one.
    pub fn as_number(&self) -> Option<f64> {
        match self.score {
            Some(Score::Number(n)) => Some(n),
            _ => None,
        }
    }
}

/// A grade: pass/fail, or a number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Score {
    /// Pass (`true`) or fail (`false`).
    Bool(bool),
    /// A number; pass/fail only against a threshold.
    Number(f64),
}

impl Serialize for Score {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            Score::Bool(b) => serializer.serialize_bool(b),
            // Integral grades are written as integers, as Python writers do.
            Score::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => serializer.serialize_i64(n as i64),
            Score::Number(n) => serializer.serialize_f64(n),
        }
    }
}

// A visitor rather than an untagged enum: untagged enums buffer every value first, which
// shows up when loading runs with many thousands of feedback entries.
impl<'de> Deserialize<'de> for Score {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScoreVisitor;

        impl Visitor<'_> for ScoreVisitor {
            type Value = Score;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a boolean or a number")
            }

            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Score, E> {
                Ok(Score::Bool(b))
            }

            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Score, E> {
                Ok(Score::Number(n as f64))
            }

            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Score, E> {
                Ok(Score::Number(n as f64))
            }

            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Score, E> {
                Ok(Score::Number(n))
            }
        }

        deserializer.deserialize_any(ScoreVisitor)
    }
}

/// What one feedback means for a gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Passes the gate.
    Pass,
    /// Fails the gate.
    Fail,
    /// A number without threshold, or a label: shown, never gating.
    Informational,
    /// The scorer could not grade (it failed, or had nothing to grade). Fails a gate.
    Ungradeable,
}

impl Verdict {
    /// Its name in files and spans (`pass`, `fail`, `informational`, `ungradeable`).
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Informational => "informational",
            Verdict::Ungradeable => "ungradeable",
        }
    }

    /// Whether a gating scorer with this verdict fails.
    pub fn fails_gate(self) -> bool {
        matches!(self, Verdict::Fail | Verdict::Ungradeable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_shape_matches_ag2() {
        let fb = Feedback::pass_fail("k", true);
        assert_eq!(
            serde_json::to_value(&fb).unwrap(),
            json!({"key": "k", "score": true, "value": null, "comment": null, "detail": null})
        );
        let back: Feedback = serde_json::from_value(json!({"key": "k", "score": 0.8})).unwrap();
        assert_eq!(back.as_number(), Some(0.8));
        let int: Feedback = serde_json::from_value(json!({"key": "k", "score": 1})).unwrap();
        assert_eq!(int.score, Some(Score::Number(1.0)));
        assert_eq!(serde_json::to_value(&int).unwrap()["score"], json!(1));
    }

    #[test]
    fn verdicts() {
        assert!(Verdict::Ungradeable.fails_gate());
        assert!(!Verdict::Informational.fails_gate());
        assert_eq!(Feedback::label("k", "ok").verdict(), Verdict::Informational);
        assert_eq!(Feedback::pass_fail("k", false).verdict(), Verdict::Fail);
    }
}
