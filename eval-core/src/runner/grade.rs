//! Grading one task: every scorer once, in order, a panic made ungradeable, each scorer's
//! feedback sanitised and its threshold applied.

use crate::feedback::Feedback;
use crate::panic::catch_panic;
use crate::scorer::{ScoreInput, Scorer, ScorerSpec, Scorers, sanitize};
use crate::task::Task;
use crate::trace::Trace;
use serde_json::Value;

/// Grades one task with every scorer, in order, on the calling thread: applies each scorer's
/// threshold, and turns a panicking scorer into an ungradeable feedback naming the panic. No
/// scorer timeout applies: [`run`](crate::run) and [`regrade`](fn@crate::regrade) grade under one.
pub async fn grade<I, R, O>(
    task: &Task<I, R>,
    outputs: Option<&O>,
    outputs_json: &Value,
    trace: &Trace,
    scorers: &Scorers<I, R, O>,
) -> Vec<Feedback> {
    let input = ScoreInput {
        task,
        outputs,
        outputs_json,
        trace,
    };
    let mut feedback = Vec::with_capacity(scorers.len());
    for scorer in scorers {
        feedback.extend(score_one(scorer.as_ref(), &input).await);
    }
    feedback
}

/// One scorer's feedback on one task: a panic made ungradeable, then [`sanitised`].
pub(crate) async fn score_one<I, R, O>(scorer: &dyn Scorer<I, R, O>, input: &ScoreInput<'_, I, R, O>) -> Vec<Feedback> {
    // The call itself goes inside the future: a synchronous scorer panics while called.
    let produced = match catch_panic(async { scorer.score(input).await }).await {
        Ok(produced) => produced,
        Err(panic) => vec![Feedback::ungradeable(
            &scorer.spec().key,
            format!("scorer panicked: {panic}"),
        )],
    };
    sanitised(scorer.spec(), produced)
}

/// A scorer's feedback as the run records it, whatever the scorer is (a hand-written
/// [`Scorer`] included): a feedback without key gets the scorer's, a score that is not a finite
/// number is ungradeable, then the spec's threshold applies.
pub(crate) fn sanitised(spec: &ScorerSpec, produced: Vec<Feedback>) -> Vec<Feedback> {
    produced
        .into_iter()
        .map(|fb| sanitize(fb, &spec.key))
        .map(|fb| match &spec.threshold {
            Some(threshold) => threshold.apply(fb),
            None => fb,
        })
        .collect()
}
