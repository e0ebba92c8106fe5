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
use tracing::{Instrument, Span};

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
    pub(crate) attempt: u32,
    /// The attempt's span when the run opens spans (else none): the agent and every scorer
    /// run inside it, and each scorer gets a span of its own.
    pub(crate) span: Span,
}

impl Scoring {
    /// Contexts replaying through `cassettes`, for attempt `attempt` (1-based).
    pub(crate) fn new(cassettes: Option<Cassettes>, attempt: u32) -> Self {
        Scoring {
            cassettes,
            attempt,
            span: Span::none(),
        }
    }

    /// The same, inside the attempt's `span`.
    pub(crate) fn with_span(self, span: Span) -> Self {
        Scoring { span, ..self }
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
    let (produced, trace, span) = if scorer.uses_ctx() {
        let ctx = ScoreCtx::new(input.task.id(), scoring.attempt, scoring.cassettes.clone());
        let with_ctx = input.with_ctx(&ctx);
        // What the scorer emits through `tracing` is its own, not the agent's.
        let span = TaskSpan::open_scorer(ctx.recorder(), key);
        let started = Instant::now();
        let produced = TaskSpan::instrument(&span, || caught(scorer, &with_ctx)).await;
        let trace = ctx.finish(key, started.elapsed().as_millis() as u64);
        (produced, trace, Some(span.span().clone()))
    } else if !scoring.span.is_none() {
        // Only for a run that opens spans: a span per scorer costs.
        let span = tracing::info_span!(
            "eval_scorer",
            task_id = input.task.id(),
            attempt = scoring.attempt,
            scorer = key.as_str(),
            verdict = tracing::field::Empty,
        );
        let produced = caught(scorer, input).instrument(span.clone()).await;
        (produced, None, Some(span))
    } else {
        (caught(scorer, input).await, None, None)
    };
    let feedback = sanitised(scorer.spec(), produced);
    if let Some(span) = span
        && let Some(first) = feedback.iter().find(|f| &f.key == key).or(feedback.first())
    {
        span.record("verdict", first.verdict().name());
    }
    (feedback, trace)
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
