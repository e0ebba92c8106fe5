//! The span a task's agent runs in, and the table of live tasks that leads from that span to the
//! task's [`Ctx`].
//!
//! A `tracing` field cannot carry a `Ctx`, so the runner registers the context under a fresh
//! key, opens the `eval_task` span with that key as its `capture_key` field, and the capture
//! layer looks the key up when it sees the span. The entry lives as long as the agent runs.

use crate::ctx::Ctx;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use tracing::Instrument;
use tracing::instrument::Instrumented;

/// Name of the span every agent run is instrumented with.
pub(crate) const TASK_SPAN_NAME: &str = "eval_task";
/// Name of the span a scorer that makes calls of its own grades in: what it emits is its own.
pub(crate) const SCORER_SPAN_NAME: &str = "eval_scorer";

/// Whether a span of this name starts an attribution of its own.
pub(crate) fn is_anchor(name: &str) -> bool {
    name == TASK_SPAN_NAME || name == SCORER_SPAN_NAME
}
/// Field of the task span holding the key of its entry in the table of live tasks.
pub(crate) const TASK_KEY_FIELD: &str = "capture_key";

static LIVE_TASKS: LazyLock<Mutex<HashMap<u64, TaskLink>>> = LazyLock::new(Default::default);
static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

/// A task as the capture sees it: where to record, and which tool calls it captured itself.
/// Stored in the extensions of the task span and of every span inside it.
#[derive(Debug, Clone)]
pub(crate) struct TaskLink(Arc<LiveTask>);

#[derive(Debug)]
pub(crate) struct LiveTask {
    pub ctx: Ctx,
    /// Ids of the tool calls captured from output messages, so that the `execute_tool` span of
    /// the same call adds its result but not the call a second time.
    captured_calls: Mutex<HashSet<String>>,
}

impl TaskLink {
    pub(crate) fn new(ctx: Ctx) -> Self {
        TaskLink(Arc::new(LiveTask {
            ctx,
            captured_calls: Mutex::new(HashSet::new()),
        }))
    }

    /// The live task registered under `key`, if its agent is still running.
    pub(crate) fn lookup(key: u64) -> Option<TaskLink> {
        live_tasks().get(&key).cloned()
    }

    pub(crate) fn ctx(&self) -> &Ctx {
        &self.0.ctx
    }

    /// Notes that the capture recorded the tool call `id`.
    pub(crate) fn note_captured_call(&self, id: &str) {
        self.captured_calls().insert(id.to_owned());
    }

    /// Whether the capture recorded the tool call `id` (as opposed to the agent, through `Ctx`).
    pub(crate) fn captured_call(&self, id: &str) -> bool {
        self.captured_calls().contains(id)
    }

    fn captured_calls(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.0.captured_calls.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn live_tasks() -> std::sync::MutexGuard<'static, HashMap<u64, TaskLink>> {
    // A panic while the table was locked leaves it consistent: every operation is one call.
    LIVE_TASKS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The `eval_task` span of one agent run, registered in the table of live tasks until dropped.
///
/// The span carries the task id and attempt, so a `fmt` layer shows which task a line belongs to.
pub(crate) struct TaskSpan {
    span: tracing::Span,
    key: u64,
}

impl TaskSpan {
    /// Registers `ctx` and opens its span.
    pub(crate) fn open(ctx: &Ctx) -> TaskSpan {
        let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
        // Registered before the span exists: the layer looks the key up when the span opens.
        live_tasks().insert(key, TaskLink::new(ctx.clone()));
        let span = tracing::info_span!(
            "eval_task",
            task_id = ctx.task_id(),
            attempt = ctx.attempt(),
            capture_key = key,
        );
        TaskSpan { span, key }
    }

    /// Registers `ctx`, a scorer's recorder, and opens its `eval_scorer` span.
    pub(crate) fn open_scorer(ctx: &Ctx, scorer: &str) -> TaskSpan {
        let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
        live_tasks().insert(key, TaskLink::new(ctx.clone()));
        let span = tracing::info_span!(
            "eval_scorer",
            task_id = ctx.task_id(),
            attempt = ctx.attempt(),
            scorer,
            capture_key = key,
            verdict = tracing::field::Empty,
        );
        TaskSpan { span, key }
    }

    /// The span itself.
    pub(crate) fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// The future `make` returns, created and polled inside the span, so that what the agent
    /// emits both while building its future and while running it is attributed to the task.
    pub(crate) fn instrument<F: Future>(&self, make: impl FnOnce() -> F) -> Instrumented<F> {
        self.span.in_scope(make).instrument(self.span.clone())
    }
}

impl Drop for TaskSpan {
    fn drop(&mut self) {
        live_tasks().remove(&self.key);
    }
}
