//! Scorers: what grades a task, and how their many return types become feedback.

use crate::feedback::{Feedback, Score};
use crate::score_ctx::ScoreCtx;
use crate::task::Task;
use crate::trace::Trace;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use crate::score_ctx::ScorerTrace;

/// How a scorer's feedback is used: its key, an optional threshold, whether it gates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScorerSpec {
    /// The feedback key (by default the scorer's name).
    pub key: String,
    /// Turns a numeric score into pass/fail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<Threshold>,
    /// Recorded and shown, never failing a test.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub advisory: bool,
}

impl ScorerSpec {
    /// A spec reporting under `key`, without threshold, gating.
    pub fn new(key: impl Into<String>) -> Self {
        ScorerSpec {
            key: key.into(),
            threshold: None,
            advisory: false,
        }
    }

    /// Adds a threshold.
    pub fn with_threshold(mut self, threshold: Threshold) -> Self {
        self.threshold = Some(threshold);
        self
    }

    /// Marks the scorer advisory.
    pub fn advisory(mut self) -> Self {
        self.advisory = true;
        self
    }

    /// Whether the scorer's failures fail a test.
    pub fn gates(&self) -> bool {
        !self.advisory
    }
}

/// Inclusive bounds a numeric score must meet to pass.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    /// The least a passing score may be.
    #[serde(default)]
    pub at_least: Option<f64>,
    /// The most a passing score may be.
    #[serde(default)]
    pub at_most: Option<f64>,
}

impl Threshold {
    /// Pass when the score is at least `min`.
    pub fn at_least(min: f64) -> Self {
        Threshold {
            at_least: Some(min),
            at_most: None,
        }
    }

    /// Pass when the score is at most `max`.
    pub fn at_most(max: f64) -> Self {
        Threshold {
            at_least: None,
            at_most: Some(max),
        }
    }

    /// Whether `score` meets the bounds.
    pub fn passes(&self, score: f64) -> bool {
        self.at_least.is_none_or(|min| score >= min) && self.at_most.is_none_or(|max| score <= max)
    }

    fn describe(&self) -> String {
        match (self.at_least, self.at_most) {
            (Some(min), Some(max)) => format!(">= {min} and <= {max}"),
            (Some(min), None) => format!(">= {min}"),
            (None, Some(max)) => format!("<= {max}"),
            (None, None) => "unbounded".to_owned(),
        }
    }

    /// Reshapes one feedback the way AG2's `threshold` does: a number becomes pass/fail (the
    /// number and bounds go into `detail`), an ungradeable feedback becomes a fail, anything
    /// else is kept.
    pub fn apply(&self, feedback: Feedback) -> Feedback {
        let bounds = |score: Value, detail: Option<Value>| {
            let mut map = match detail {
                Some(Value::Object(map)) => map,
                _ => serde_json::Map::new(),
            };
            map.insert("score".into(), score);
            map.insert("at_least".into(), json!(self.at_least));
            map.insert("at_most".into(), json!(self.at_most));
            Some(Value::Object(map))
        };
        let with_reason = |message: String, comment: Option<String>| match comment {
            Some(comment) => Some(format!("{message}; {comment}")),
            None => Some(message),
        };
        match (feedback.score, &feedback.value) {
            (Some(Score::Number(n)), _) => {
                let passed = self.passes(n);
                let verdict = if passed { "pass" } else { "fail" };
                Feedback {
                    score: Some(Score::Bool(passed)),
                    comment: with_reason(
                        format!("score {n} (pass: {}) → {verdict}", self.describe()),
                        feedback.comment,
                    ),
                    detail: bounds(json!(n), feedback.detail),
                    ..feedback
                }
            }
            (None, None) => Feedback {
                score: Some(Score::Bool(false)),
                comment: with_reason("ungradeable (counts as a fail)".to_owned(), feedback.comment),
                detail: bounds(Value::Null, feedback.detail),
                ..feedback
            },
            _ => feedback,
        }
    }
}

/// What a scorer is given: the task, the agent's outputs (absent when the agent failed), the
/// trace, and for a scorer that [uses one](Scorer::uses_ctx), its scoring context.
pub struct ScoreInput<'a, I, R, O> {
    /// The task graded.
    pub task: &'a Task<I, R>,
    /// The agent's typed output; `None` when the agent errored, panicked or timed out.
    pub outputs: Option<&'a O>,
    /// The same output as JSON (`null` when absent), for scorers that are not typed.
    pub outputs_json: &'a Value,
    /// What the agent did.
    pub trace: &'a Trace,
    /// The scorer's own context: set by the runner for a scorer that [uses
    /// one](Scorer::uses_ctx), `None` otherwise.
    pub ctx: Option<&'a ScoreCtx>,
}

impl<I, R, O> Clone for ScoreInput<'_, I, R, O> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<I, R, O> Copy for ScoreInput<'_, I, R, O> {}

impl<'a, I, R, O> ScoreInput<'a, I, R, O> {
    /// What a scorer reads of one attempt, without a scoring context.
    pub fn new(task: &'a Task<I, R>, outputs: Option<&'a O>, outputs_json: &'a Value, trace: &'a Trace) -> Self {
        ScoreInput {
            task,
            outputs,
            outputs_json,
            trace,
            ctx: None,
        }
    }

    /// The same, with `ctx` as the scorer's context.
    pub fn with_ctx(self, ctx: &'a ScoreCtx) -> Self {
        ScoreInput { ctx: Some(ctx), ..self }
    }

    /// The scorer's context; [`ScoreCtx::detached`] when it was given none.
    pub fn ctx(&self) -> &'a ScoreCtx {
        match self.ctx {
            Some(ctx) => ctx,
            None => ScoreCtx::detached(),
        }
    }
}

impl<I, R, O> ScoreInput<'_, I, R, O> {
    /// The task's inputs.
    pub fn inputs(&self) -> &I {
        self.task.inputs()
    }

    /// The task's reference outputs.
    pub fn reference_outputs(&self) -> &R {
        self.task.reference_outputs()
    }
}

/// A boxed future of a scorer's feedback.
pub type ScoreFuture<'a> = Pin<Box<dyn Future<Output = Vec<Feedback>> + Send + 'a>>;

/// Grades one task. Implemented by `#[scorer]` functions, by the built-in factories and by
/// [`scorer_fn`]; implement it by hand for a stateful or async scorer.
///
/// The runner applies the spec's threshold, fills in missing keys, and turns a panic into an
/// ungradeable feedback, so implementations only grade.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot grade this suite: it is not a scorer of `Task<{I}, {R}>` with outputs of type `{O}`",
    label = "this scorer's parameter types do not match the suite",
    note = "a scorer's `outputs`, `inputs` and `reference_outputs` parameters must have the types the suite's agent returns and its dataset holds"
)]
pub trait Scorer<I, R, O>: Send + Sync {
    /// Key, threshold, advisory.
    fn spec(&self) -> &ScorerSpec;

    /// Grades one task.
    fn score<'a>(&'a self, input: &'a ScoreInput<'a, I, R, O>) -> ScoreFuture<'a>;

    /// Whether the scorer makes calls of its own (a judge's model calls): the runner then gives
    /// it a [`ScoreCtx`] in [`ScoreInput::ctx`] and stores what it records as the scorer's trace.
    /// `false` by default, which costs nothing per task.
    fn uses_ctx(&self) -> bool {
        false
    }

    /// Whether the scorer can grade at all (a judge without a model cannot), asked before any
    /// agent runs: an `Err` says what is missing and how to fix it. `Ok` by default.
    fn check(&self) -> Result<(), String> {
        Ok(())
    }

    /// The agreement with people's labels the scorer needs to gate (a judge's, see
    /// [`Judge::require_agreement`](crate::judge::Judge::require_agreement)); `None` by
    /// default. The harness makes a scorer that falls below it advisory, saying why.
    fn agreement(&self) -> Option<&crate::calibration::requirement::Requirement> {
        None
    }
}

/// The scorers of a run, shared between tasks.
pub type Scorers<I, R, O> = Vec<Arc<dyn Scorer<I, R, O>>>;

/// Turns a synchronous closure into a scorer.
///
/// ```
/// use eval_engine::{scorer_fn, Scorer, ScorerSpec};
/// use serde_json::Value;
///
/// let s = scorer_fn(ScorerSpec::new("answered"), |input: &eval_engine::ScoreInput<Value, Value, String>| {
///     input.outputs.is_some_and(|o| !o.is_empty())
/// });
/// assert_eq!(s.spec().key, "answered");
/// ```
pub fn scorer_fn<I, R, O, F, T>(spec: ScorerSpec, f: F) -> FnScorer<F>
where
    F: Fn(&ScoreInput<'_, I, R, O>) -> T + Send + Sync,
    T: IntoFeedback,
{
    FnScorer { spec, f }
}

/// A scorer made from a closure by [`scorer_fn`].
pub struct FnScorer<F> {
    spec: ScorerSpec,
    f: F,
}

impl<I, R, O, F, T> Scorer<I, R, O> for FnScorer<F>
where
    F: Fn(&ScoreInput<'_, I, R, O>) -> T + Send + Sync,
    T: IntoFeedback,
{
    fn spec(&self) -> &ScorerSpec {
        &self.spec
    }

    fn score<'a>(&'a self, input: &'a ScoreInput<'a, I, R, O>) -> ScoreFuture<'a> {
        let feedback = (self.f)(input).into_feedback(&self.spec.key);
        Box::pin(std::future::ready(feedback))
    }
}

/// A value a scorer may return. `key` is the scorer's key, used where the value carries none.
///
/// | returned | feedback |
/// |---|---|
/// | `bool` | pass/fail |
/// | a number | numeric score (NaN → ungradeable) |
/// | `&str`, `String` | label |
/// | `Feedback`, `Vec<Feedback>` | as is |
/// | `Option<T>` | `None`: no feedback (not applicable) |
/// | `Result<T, E>` | `Err(e)`: ungradeable, `e` as comment |
#[diagnostic::on_unimplemented(
    message = "a scorer cannot return `{Self}`",
    note = "a scorer returns bool, a number, a label (&str or String), Feedback, Vec<Feedback>, an Option<_> of those, or a Result<_, E>"
)]
pub trait IntoFeedback {
    /// The feedback under `key` this value stands for.
    fn into_feedback(self, key: &str) -> Vec<Feedback>;
}

impl IntoFeedback for bool {
    fn into_feedback(self, key: &str) -> Vec<Feedback> {
        vec![Feedback::pass_fail(key, self)]
    }
}

macro_rules! numeric_into_feedback {
    ($($t:ty),*) => {$(
        impl IntoFeedback for $t {
            #[allow(clippy::cast_lossless, clippy::cast_precision_loss)]
            fn into_feedback(self, key: &str) -> Vec<Feedback> {
                number_feedback(key, self as f64)
            }
        }
    )*};
}
numeric_into_feedback!(f64, f32, i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

fn number_feedback(key: &str, n: f64) -> Vec<Feedback> {
    if n.is_finite() {
        vec![Feedback::number(key, n)]
    } else {
        vec![Feedback::ungradeable(
            key,
            format!("scorer returned {n}, which is not a number that can be graded"),
        )]
    }
}

impl IntoFeedback for &str {
    fn into_feedback(self, key: &str) -> Vec<Feedback> {
        vec![Feedback::label(key, self)]
    }
}

impl IntoFeedback for String {
    fn into_feedback(self, key: &str) -> Vec<Feedback> {
        vec![Feedback::label(key, self)]
    }
}

impl IntoFeedback for Feedback {
    fn into_feedback(self, key: &str) -> Vec<Feedback> {
        vec![sanitize(self, key)]
    }
}

impl IntoFeedback for Vec<Feedback> {
    fn into_feedback(self, key: &str) -> Vec<Feedback> {
        self.into_iter().map(|fb| sanitize(fb, key)).collect()
    }
}

impl<T: IntoFeedback> IntoFeedback for Option<T> {
    fn into_feedback(self, key: &str) -> Vec<Feedback> {
        self.map(|t| t.into_feedback(key)).unwrap_or_default()
    }
}

impl<T: IntoFeedback, E: Display> IntoFeedback for Result<T, E> {
    fn into_feedback(self, key: &str) -> Vec<Feedback> {
        match self {
            Ok(t) => t.into_feedback(key),
            Err(e) => vec![Feedback::ungradeable(key, format!("scorer error: {e}"))],
        }
    }
}

/// A hand-built feedback with an empty key gets the scorer's; a NaN score is not gradeable.
/// The runner applies it to every scorer's feedback; it changes nothing the second time.
pub(crate) fn sanitize(mut fb: Feedback, key: &str) -> Feedback {
    if fb.key.is_empty() {
        fb.key = key.to_owned();
    }
    if let Some(Score::Number(n)) = fb.score
        && !n.is_finite()
    {
        fb.score = None;
        fb.value = None;
        let why = format!("scorer returned {n}, which is not a number that can be graded");
        fb.comment = Some(match fb.comment.take() {
            Some(c) => format!("{why}; {c}"),
            None => why,
        });
    }
    fb
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feedback::Verdict;

    #[test]
    fn return_values_normalise() {
        assert_eq!(true.into_feedback("k")[0].verdict(), Verdict::Pass);
        assert_eq!(0.5f32.into_feedback("k")[0].as_number(), Some(0.5));
        assert_eq!(3u8.into_feedback("k")[0].as_number(), Some(3.0));
        assert_eq!("good".into_feedback("k")[0].value.as_deref(), Some("good"));
        assert!(None::<bool>.into_feedback("k").is_empty());
        assert_eq!(Some(false).into_feedback("k")[0].verdict(), Verdict::Fail);
        let err: Result<bool, String> = Err("judge down".into());
        let fb = err.into_feedback("k");
        assert_eq!(fb[0].verdict(), Verdict::Ungradeable);
        assert_eq!(fb[0].comment.as_deref(), Some("scorer error: judge down"));
        let nan = f64::NAN.into_feedback("k");
        assert_eq!(nan[0].verdict(), Verdict::Ungradeable);
        assert!(nan[0].comment.as_deref().unwrap().contains("NaN"));
        let hand = Feedback::number("", f64::INFINITY).into_feedback("k");
        assert_eq!(hand[0].key, "k");
        assert_eq!(hand[0].verdict(), Verdict::Ungradeable);
    }

    #[test]
    fn threshold_turns_numbers_into_gates() {
        let t = Threshold::at_least(0.7);
        let pass = t.apply(Feedback::number("q", 0.8));
        assert_eq!(pass.verdict(), Verdict::Pass);
        assert_eq!(pass.detail.as_ref().unwrap()["score"], 0.8);
        assert_eq!(t.apply(Feedback::number("q", 0.5)).verdict(), Verdict::Fail);
        assert_eq!(t.apply(Feedback::ungradeable("q", "x")).verdict(), Verdict::Fail);
        assert_eq!(t.apply(Feedback::label("q", "x")).verdict(), Verdict::Informational);
        let both = Threshold {
            at_least: Some(1.0),
            at_most: Some(2.0),
        };
        assert!(both.passes(1.0) && both.passes(2.0) && !both.passes(2.5));
    }
}
