//! Turning a numeric scorer into a pass/fail gate.

use crate::feedback::Feedback;
use crate::scorer::{ScoreFuture, ScoreInput, Scorer, ScorerSpec, Threshold};
use std::ops::{RangeFrom, RangeInclusive, RangeToInclusive};
use std::sync::OnceLock;

/// Wraps `scorer` so that its numeric grade becomes pass/fail: `bounds` is a number (at least
/// that), `0.7..`, `..=0.3`, `0.2..=0.8` (inclusive, as AG2's `at_least`/`at_most`) or a
/// [`Threshold`].
///
/// The wrapped scorer's spec is the inner one with this threshold (replacing any it had), and
/// the runner applies it as AG2's `threshold` does: a number becomes `true`/`false` with the
/// number and bounds in `detail`; an ungradeable feedback (no score, no label) becomes a fail;
/// a boolean or a label passes through unchanged. The key stays the inner scorer's unless set
/// with [`key`](Thresholded::key).
///
/// ```
/// use eval_engine::scorers::{grade_blocking, threshold};
/// use eval_engine::{ScoreInput, Scorer, ScorerSpec, Task, Trace, Verdict, scorer_fn};
/// use serde_json::{Value, json};
///
/// let overlap = scorer_fn(ScorerSpec::new("overlap"), |_: &ScoreInput<Value, Value, Value>| 0.8);
/// let gate = threshold(overlap, 0.7);
/// assert_eq!(Scorer::<Value, Value, Value>::spec(&gate).threshold.unwrap().at_least, Some(0.7));
///
/// let task = Task::new("t", json!({"input": "Summarize"}), Value::Null);
/// let feedback = grade_blocking(gate, &task, &json!("a summary"), &Trace::default());
/// assert_eq!(feedback[0].key, "overlap");
/// assert_eq!(feedback[0].verdict(), Verdict::Pass);
/// assert_eq!(feedback[0].detail, Some(json!({"score": 0.8, "at_least": 0.7, "at_most": null})));
/// ```
pub fn threshold<S>(scorer: S, bounds: impl Into<Threshold>) -> Thresholded<S> {
    Thresholded {
        inner: scorer,
        threshold: bounds.into(),
        key: None,
        advisory: false,
        spec: OnceLock::new(),
    }
}

/// The scorer made by [`threshold`].
#[derive(Debug, Clone)]
pub struct Thresholded<S> {
    inner: S,
    threshold: Threshold,
    key: Option<String>,
    advisory: bool,
    /// Built on first use: the inner spec can only be read once the suite's types are known.
    spec: OnceLock<ScorerSpec>,
}

impl<S> Thresholded<S> {
    /// Reports every feedback of the inner scorer under `key`, as AG2's `key=` does.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self.spec = OnceLock::new();
        self
    }

    /// Records and shows the result, never failing a test.
    pub fn advisory(mut self) -> Self {
        self.advisory = true;
        self.spec = OnceLock::new();
        self
    }
}

impl<I, R, O, S: Scorer<I, R, O>> Scorer<I, R, O> for Thresholded<S> {
    fn spec(&self) -> &ScorerSpec {
        self.spec.get_or_init(|| {
            let mut spec = self.inner.spec().clone().with_threshold(self.threshold);
            if let Some(key) = &self.key {
                spec.key.clone_from(key);
            }
            spec.advisory |= self.advisory;
            spec
        })
    }

    fn score<'a>(&'a self, input: &'a ScoreInput<'a, I, R, O>) -> ScoreFuture<'a> {
        let graded = self.inner.score(input);
        match &self.key {
            None => graded,
            Some(key) => Box::pin(async move {
                let mut feedback: Vec<Feedback> = graded.await;
                for one in &mut feedback {
                    one.key.clone_from(key);
                }
                feedback
            }),
        }
    }
}

/// A bare number is a lower bound, as in `#[scorer(threshold = 0.7)]`.
impl From<f64> for Threshold {
    fn from(at_least: f64) -> Self {
        Threshold::at_least(at_least)
    }
}

impl From<RangeFrom<f64>> for Threshold {
    fn from(range: RangeFrom<f64>) -> Self {
        Threshold::at_least(range.start)
    }
}

impl From<RangeToInclusive<f64>> for Threshold {
    fn from(range: RangeToInclusive<f64>) -> Self {
        Threshold::at_most(range.end)
    }
}

impl From<RangeInclusive<f64>> for Threshold {
    fn from(range: RangeInclusive<f64>) -> Self {
        Threshold {
            at_least: Some(*range.start()),
            at_most: Some(*range.end()),
        }
    }
}
