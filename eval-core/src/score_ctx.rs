//! What a scorer that calls models gets: the run's cassettes for its calls, and a trace of its
//! own, kept apart from the agent's.

use crate::cassette::{CassetteError, Cassettes};
use crate::ctx::Ctx;
use crate::trace::{Event, ModelResponse, TokenUsage, Trace};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::sync::LazyLock;

/// A scorer's handle on its own calls: cassettes to record and replay them (the agent's, under
/// the kind the scorer names, `"judge"` by convention) and a trace of what it spends (model
/// responses, token usage). The run stores that trace on the task's record as the scorer's
/// ([`TaskRecord::scorer_traces`](crate::TaskRecord::scorer_traces)), never in the agent's:
/// a judge's tokens never count against the agent's budgets. What the scorer emits through
/// `tracing` (a rig model's GenAI spans) lands in it too.
///
/// A `#[scorer]` asks for it with a parameter `ctx: &ScoreCtx`; a hand-written
/// [`Scorer`](crate::Scorer) says so with [`Scorer::uses_ctx`](crate::Scorer::uses_ctx) and
/// reads [`ScoreInput::ctx`](crate::ScoreInput::ctx).
///
/// ```
/// use eval_engine::ScoreCtx;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let ctx = ScoreCtx::new("paris", 1, None);
/// let verdict: Result<String, String> = ctx.replay("judge", &"Is it helpful?", || async { Ok("yes".to_owned()) }).await;
/// ctx.usage(120, 8);
/// assert_eq!(verdict.as_deref(), Ok("yes"));
/// assert_eq!(ctx.events().len(), 1);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ScoreCtx {
    recorder: Ctx,
}

impl ScoreCtx {
    /// A context for a scorer grading attempt `attempt` (1-based) of `task_id`, replaying its
    /// calls through `cassettes` when given.
    pub fn new(task_id: impl Into<String>, attempt: u32, cassettes: Option<Cassettes>) -> Self {
        let recorder = Ctx::new(task_id, attempt);
        let recorder = match cassettes {
            Some(cassettes) => recorder.with_cassettes(cassettes),
            None => recorder,
        };
        ScoreCtx { recorder }
    }

    /// The context of a scorer graded outside a run, when none was given: no cassettes, and
    /// what is recorded into it is kept nowhere that matters.
    pub fn detached() -> &'static ScoreCtx {
        static DETACHED: LazyLock<ScoreCtx> = LazyLock::new(|| ScoreCtx::new("", 1, None));
        &DETACHED
    }

    /// The task being graded.
    pub fn task_id(&self) -> &str {
        self.recorder.task_id()
    }

    /// The attempt being graded: 1, or 1..=k with repeats.
    pub fn attempt(&self) -> u32 {
        self.recorder.attempt()
    }

    /// The cassettes [`ScoreCtx::replay`] uses, if any.
    pub fn cassettes(&self) -> Option<&Cassettes> {
        self.recorder.cassettes()
    }

    /// Makes a call through the run's cassettes, exactly as [`Ctx::replay`] does for an agent:
    /// same keys, modes and strictness; only an `Ok` is recorded.
    pub async fn replay<Req, T, E, F, Fut>(&self, kind: &str, request: &Req, call: F) -> Result<T, E>
    where
        Req: Serialize + ?Sized,
        T: Serialize + DeserializeOwned,
        E: From<CassetteError>,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.recorder.replay(kind, request, call).await
    }

    /// Records the token usage of one of the scorer's model calls.
    pub fn usage(&self, input: u64, output: u64) {
        self.recorder.usage(input, output);
    }

    /// Records token usage including cache tokens.
    pub fn usage_detailed(&self, usage: TokenUsage) {
        self.recorder.usage_detailed(usage);
    }

    /// Records a model's reply to the scorer.
    pub fn model_response(&self, response: ModelResponse) {
        self.recorder.model_response_from(response);
    }

    /// Records a custom event (a retry, a clamped score).
    pub fn custom(&self, name: impl Into<String>, data: serde_json::Value) {
        self.recorder.custom(name, data);
    }

    /// A copy of what was recorded so far.
    pub fn events(&self) -> Vec<Event> {
        self.recorder.events()
    }

    /// The context whose trace the capture layer records into.
    pub(crate) fn recorder(&self) -> &Ctx {
        &self.recorder
    }

    /// What the scorer under `key` recorded, as its trace of `duration_ms`; `None` when it
    /// recorded nothing.
    pub(crate) fn finish(&self, key: &str, duration_ms: u64) -> Option<ScorerTrace> {
        let events = self.recorder.take_events();
        (!events.is_empty()).then(|| ScorerTrace {
            scorer: key.to_owned(),
            trace: Trace::new(events, None, duration_ms),
        })
    }
}

/// What one scorer did while grading one attempt: its model calls, tokens and time, apart
/// from the agent's trace.
#[derive(Debug, Clone, PartialEq)]
pub struct ScorerTrace {
    /// The scorer's key.
    pub scorer: String,
    /// Its events, token totals and how long it graded.
    pub trace: Trace,
}
