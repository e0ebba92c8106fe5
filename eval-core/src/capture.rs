//! Traces from `tracing`: a [`tracing_subscriber::Layer`] that records what an agent emits
//! through `tracing`, following the OpenTelemetry GenAI semantic conventions, into the trace of
//! the task it belongs to. An agent built on a framework that emits these spans (rig, for one)
//! gets its tokens, model responses and tool calls into the run JSON without recording anything
//! through [`Ctx`](crate::Ctx).
//!
//! # Attribution
//!
//! The runner runs every agent inside a span `eval_task{task_id, attempt, capture_key}`. The layer
//! links that span to the task's `Ctx` and passes the link down to every span opened inside it,
//! so whatever happens under it lands in that task's trace, whichever worker thread polls it. A
//! future the agent spawns belongs to the task when it carries the span along
//! (`tokio::spawn(future.in_current_span())`, with [`tracing::Instrument`]); one spawned bare
//! starts outside any task and is ignored, as is everything emitted outside a task.
//!
//! # What is recorded
//!
//! A span is read when it closes, with every field recorded on it until then:
//!
//! | span (`gen_ai.operation.name`, else its name) | trace events |
//! |---|---|
//! | `chat`, `text_completion`, `generate_content` | a model response: model from `gen_ai.response.model` (else `gen_ai.request.model`), finish reason from `gen_ai.response.finish_reasons` (else the output messages'), text from the text parts of `gen_ai.output.messages`; a tool call per tool-call part of the output messages |
//! | `execute_tool` | a tool call (`gen_ai.tool.name`, `gen_ai.tool.call.id`, `gen_ai.tool.call.arguments` parsed as JSON) and its result (`gen_ai.tool.call.result`), or a tool error when `gen_ai.tool.error.type` or `error.type` is set or `gen_ai.tool.call.outcome` is `error`, `failure`, `failed` or `denied` |
//! | any span with `gen_ai.usage.input_tokens`, `output_tokens`, `cache_read.input_tokens`, `cache_creation.input_tokens` | a usage event |
//!
//! Message content (output messages, tool arguments and results) is only there when the
//! framework records it; rig does with `AgentBuilder::record_content_telemetry(true)`.
//!
//! # Nothing counted twice
//!
//! - Usage of `invoke_agent`, `create_agent` and `invoke_workflow` spans is never counted: it is
//!   the sum of the model calls below them. Nor is the usage of any span with a span below it
//!   that reported usage itself.
//! - A tool call appears once per call id: a tool-call part of an output message and the
//!   `execute_tool` span of the same call give one tool call (with the span's result).
//! - What the agent records through `Ctx` wins. A tool call the agent recorded with its id
//!   ([`Ctx::tool_call_with_id`](crate::Ctx::tool_call_with_id)) before the span reporting it closed is not captured again,
//!   nor is its result. For everything else (usage above all), open the calls the agent records
//!   itself inside a span with [`SKIP_FIELD`] set to `true`: neither that span nor anything below
//!   it is captured.
//!
//! # Installing it
//!
//! The eval harness (`eval_harness::main!()`) installs the layer as the global subscriber itself,
//! unless the process already has a global subscriber; then that subscriber must include the
//! layer. Driving [`run`](crate::run) from your own code, install it next to your own layers:
//!
//! ```text
//! use tracing_subscriber::prelude::*;
//! tracing_subscriber::registry()
//!     .with(eval_engine::capture::layer())
//!     .with(tracing_subscriber::fmt::layer().with_filter(EnvFilter::from_default_env()))
//!     .init();
//! ```
//!
//! Filter other layers with per-layer filters (`.with_filter(..)`) as above: a global filter
//! that disables a span hides it from the capture too. Leave the capture layer itself
//! unfiltered: behind a per-layer filter it occasionally misses spans on a multi-thread runtime
//! (see `tokio-rs/tracing` issue 2519).
//!
//! ```
//! use eval_engine::{capture, run, Ctx, RunOptions, Suite, Task};
//! use serde_json::json;
//! use std::sync::Arc;
//! use tracing_subscriber::prelude::*;
//!
//! let subscriber = tracing_subscriber::registry().with(capture::layer());
//! let _default = tracing::subscriber::set_default(subscriber);
//!
//! let suite: Suite = Suite::from_values("demo", vec![json!({"inputs": {"input": "hi"}})]).unwrap();
//! let agent = |_task: Arc<Task>, _ctx: Ctx| async move {
//!     let call = tracing::info_span!(
//!         "chat",
//!         gen_ai.request.model = "small",
//!         gen_ai.usage.input_tokens = tracing::field::Empty,
//!     );
//!     call.record("gen_ai.usage.input_tokens", 12_u64);
//!     drop(call);
//!     Ok::<_, String>("hello")
//! };
//! let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! let result = runtime.block_on(run(&suite, agent, Vec::new(), RunOptions::default()));
//! let trace = &result.tasks()[0].trace;
//! assert_eq!(trace.tokens.input, 12);
//! assert_eq!(trace.model_responses().next().unwrap().model.as_deref(), Some("small"));
//! ```

mod genai;
mod layer;
mod log_event;
mod recorded;
mod task_span;

pub use layer::{CaptureLayer, SKIP_FIELD};
pub(crate) use recorded::SpanRecorder;
pub(crate) use task_span::TaskSpan;

use tracing::subscriber::Interest;
use tracing::{Metadata, Subscriber};
use tracing_subscriber::Registry;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// The capture layer, recording GenAI spans into the trace of the task they belong to.
pub fn layer() -> CaptureLayer {
    CaptureLayer::default()
}

/// Installs `registry().with(layer())` as the process's global `tracing` subscriber, unless the
/// process has one already. Returns whether it did.
///
/// This is what the eval harness calls before it starts its runtime.
pub fn install_default() -> bool {
    if tracing::dispatcher::has_been_set() {
        return false;
    }
    let subscriber = tracing_subscriber::registry().with(SpansOnly).with(layer());
    tracing::subscriber::set_global_default(subscriber).is_ok()
}

/// Installs, as [`install_default`] does, a subscriber with `extra` before the capture layer:
/// a layer that exports spans (OpenTelemetry's, for a run opened with
/// [`RunOptions::spans`](crate::RunOptions::spans)) sees every span the capture sees. Returns
/// whether it did (`false` when the process has a subscriber already).
pub fn install_default_with(extra: Box<dyn Layer<Registry> + Send + Sync>) -> bool {
    if tracing::dispatcher::has_been_set() {
        return false;
    }
    let subscriber = tracing_subscriber::registry().with(extra).with(SpansOnly).with(layer());
    tracing::subscriber::set_global_default(subscriber).is_ok()
}

/// A global filter letting spans through and no events: the capture reads only spans, and
/// `tracing` then skips events at their call sites.
///
/// Global rather than a per-layer filter (`layer().with_filter(..)`): a per-layer filter passes
/// its decision to its layer through a thread-local that can be stale (tokio-rs/tracing #2519,
/// #2704), and with one, about one rig `execute_tool` span in a thousand never reached the layer.
struct SpansOnly;

impl<S: Subscriber> Layer<S> for SpansOnly {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if metadata.is_span() {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        metadata.is_span()
    }
}
