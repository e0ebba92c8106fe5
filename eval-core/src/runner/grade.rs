//! Grading one task: every scorer once, in order, a panic made ungradeable, each scorer's
//! feedback sanitised and its threshold applied; a scorer that makes calls of its own grades
//! with a scoring context, inside a span of its own.

use crate::capture::TaskSpan;
use crate::cassette::Cassettes;
use crate::feedback::Feedback;
use crate::panic::catch_panic;
use crate::score_ctx::{ScoreCtx, ScorerTrace};
use crate::scorer::{ScoreInput, Scorer, ScorerSpec, Scorers, sanitize};
use crate::task::Task;
use crate::trace::Trace;
use serde_json::Value;
use std::time::Instant;

/// Grades one task with every scorer, in order, on the calling thread: applies each scorer's
/// threshold, and turns a panicking scorer into an ungradeable feedback naming the panic. A
/// scorer that [uses a context](Scorer::uses_ctx) gets one without cassettes; what it records
/// is dropped (a run keeps it as the record's scorer traces). No scorer timeout applies:
/// [`run`](crate::run) and [`regrade`](fn@crate::regrade) grade under one.
pub async fn grade<I, R, O>(
    task: &Task<I, R>,
    outputs: Option<&O>,
    outputs_json: &Value,
    trace: &Trace,
    scorers: &Scorers<I, R, O>,
) -> Vec<Feedback> {
    let input = ScoreInput::new(task, outputs, outputs_json, trace);
    let scoring = Scoring::new(None, 1);
    let mut feedback = Vec::with_capacity(scorers.len());
    for scorer in scorers {
        feedback.extend(score_one(scorer.as_ref(), &input, &scoring).await.0);
    }
    feedback
}

/// What the scoring contexts of one attempt are made from.
#[derive(Debug, Clone)]
pub(crate) struct Scoring {
    cassettes: Option<Cassettes>,
    attempt: u32,
}

impl Scoring {
    /// Contexts replaying through `cassettes`, for attempt `attempt` (1-based).
    pub(crate) fn new(cassettes: Option<Cassettes>, attempt: u32) -> Self {
        Scoring { cassettes, attempt }
    }
}

/// One scorer's feedback on one task (a panic made ungradeable, then [`sanitised`]), and what
/// it recorded when it uses a context.
pub(crate) async fn score_one<I, R, O>(
    scorer: &dyn Scorer<I, R, O>,
    input: &ScoreInput<'_, I, R, O>,
    scoring: &Scoring,
) -> (Vec<Feedback>, Option<ScorerTrace>) {
    let key = &scorer.spec().key;
    let (produced, trace) = if scorer.uses_ctx() {
        let ctx = ScoreCtx::new(input.task.id(), scoring.attempt, scoring.cassettes.clone());
        let with_ctx = input.with_ctx(&ctx);
        // What the scorer emits through `tracing` is its own, not the agent's.
        let span = TaskSpan::open_scorer(ctx.recorder(), key);
        let started = Instant::now();
        let produced = span.instrument(|| caught(scorer, &with_ctx)).await;
        let trace = ctx.finish(key, started.elapsed().as_millis() as u64);
        (produced, trace)
    } else {
        (caught(scorer, input).await, None)
    };
    (sanitised(scorer.spec(), produced), trace)
}

/// The scorer's feedback, or an ungradeable one naming its panic.
async fn caught<I, R, O>(scorer: &dyn Scorer<I, R, O>, input: &ScoreInput<'_, I, R, O>) -> Vec<Feedback> {
    // The call itself goes inside the future: a synchronous scorer panics while called.
    match catch_panic(async { scorer.score(input).await }).await {
        Ok(produced) => produced,
        Err(panic) => vec![Feedback::ungradeable(
            &scorer.spec().key,
            format!("scorer panicked: {panic}"),
        )],
    }
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
