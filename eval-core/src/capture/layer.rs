//! The `tracing` layer: follows spans from a task's `eval_task` span down, reads their GenAI
//! fields as they are recorded, and records what they stand for into the task's trace when they
//! close.

use super::genai::{GenAiFields, Operation, Reported, declares_gen_ai};
use super::log_event::LogEvent;
use super::task_span::{TASK_KEY_FIELD, TaskLink, is_anchor};
use crate::trace::Event;
use std::fmt;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// A span field that hides the span and everything below it from the capture, for calls whose
/// events the agent records itself through [`Ctx`](crate::Ctx). Its value must be `true` when
/// the span is created.
///
/// ```
/// let span = tracing::info_span!("my_model_call", eval.skip_capture = true);
/// # drop(span);
/// assert_eq!(eval_engine::capture::SKIP_FIELD, "eval.skip_capture");
/// ```
pub const SKIP_FIELD: &str = "eval.skip_capture";

/// The capture layer. See the [module documentation](crate::capture) for what it records.
#[derive(Debug, Clone, Default)]
pub struct CaptureLayer {
    log_events: Option<Level>,
}

impl CaptureLayer {
    /// Also records plain `tracing` events at `level` or more severe, emitted inside a task, as
    /// custom events named `log` (data: `level`, `target`, `message` and the other fields).
    /// Off by default: most agents log far more than a trace should hold.
    ///
    /// ```
    /// let layer = eval_engine::capture::layer().with_log_events(tracing::Level::WARN);
    /// # drop(layer);
    /// ```
    pub fn with_log_events(mut self, level: Level) -> Self {
        self.log_events = Some(level);
        self
    }
}

impl<S> Layer<S> for CaptureLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let metadata = attrs.metadata();
        let markers = Markers::of(attrs);
        let link = if is_anchor(metadata.name()) {
            // A task or scorer span starts a new attribution, even inside another task (a
            // nested run, a judge grading inside the task's job).
            markers.task_key.and_then(TaskLink::lookup)
        } else {
            span.parent()
                .and_then(|parent| parent.extensions().get::<TaskLink>().cloned())
        };
        let Some(link) = link else { return };
        if markers.skip {
            // Not linked: neither this span nor any span below it is attributed.
            return;
        }
        let mut extensions = span.extensions_mut();
        if declares_gen_ai(metadata.fields()) {
            let mut fields = GenAiFields::default();
            attrs.record(&mut fields);
            extensions.insert(fields);
        }
        extensions.insert(link);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        if let Some(fields) = span.extensions_mut().get_mut::<GenAiFields>() {
            values.record(fields);
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        let Some(level) = self.log_events else { return };
        // Levels compare by verbosity: TRACE is the greatest.
        if *event.metadata().level() > level {
            return;
        }
        let Some(span) = ctx.event_span(event) else { return };
        let Some(link) = span.extensions().get::<TaskLink>().cloned() else {
            return;
        };
        link.ctx().record(LogEvent::of(event).into_event());
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let (fields, link) = {
            let mut extensions = span.extensions_mut();
            (
                extensions.remove::<GenAiFields>(),
                extensions.get_mut::<TaskLink>().cloned(),
            )
        };
        let (Some(fields), Some(link)) = (fields, link) else {
            return;
        };
        let usage_reported_below = fields.usage_reported_below;
        let reported = fields.reported(span.name());
        if reported.usage.is_some() {
            // Every enclosing span's usage in this task, if it has any, now counts as an
            // aggregate of this one.
            for ancestor in span.scope().skip(1) {
                let mut extensions = ancestor.extensions_mut();
                if is_anchor(ancestor.name()) || extensions.get_mut::<TaskLink>().is_none() {
                    break;
                }
                if let Some(fields) = extensions.get_mut::<GenAiFields>() {
                    fields.usage_reported_below = true;
                }
            }
        }
        record(&link, reported, usage_reported_below);
    }
}

/// Records what a finished span reports into its task's trace, in the order a reader expects:
/// the model's response, the calls it asked for, the tool's call and outcome, the usage.
pub(crate) fn record(link: &TaskLink, reported: Reported, usage_reported_below: bool) {
    let ctx = link.ctx();
    if let Some(response) = reported.model_response {
        ctx.record(Event::ModelResponse(response));
    }
    for call in reported.requested_calls {
        if let Some(id) = &call.id {
            if ctx.has_tool_call(id) {
                continue;
            }
            link.note_captured_call(id);
        }
        ctx.record(Event::ToolCall(call));
    }
    if let Some(execution) = reported.execution {
        match execution.call.id.as_deref() {
            // Captured from the output message that asked for it: add only how it ended.
            Some(id) if link.captured_call(id) => ctx.record(execution.outcome),
            // Recorded by the agent through `Ctx`: the agent reports this call, not the span.
            Some(id) if ctx.has_tool_call(id) => {}
            _ => {
                ctx.record(Event::ToolCall(execution.call));
                ctx.record(execution.outcome);
            }
        }
    }
    let aggregate = reported.operation == Some(Operation::Aggregate) || usage_reported_below;
    if let Some(usage) = reported.usage.filter(|_| !aggregate) {
        ctx.record(Event::Usage(usage));
    }
}

/// The fields of a new span that steer the capture rather than describe GenAI work.
#[derive(Default)]
struct Markers {
    task_key: Option<u64>,
    skip: bool,
}

impl Markers {
    fn of(attrs: &Attributes<'_>) -> Markers {
        let mut markers = Markers::default();
        let fields = attrs.metadata().fields();
        // Most spans have neither field: look before visiting.
        if fields.field(TASK_KEY_FIELD).is_some() || fields.field(SKIP_FIELD).is_some() {
            attrs.record(&mut markers);
        }
        markers
    }
}

impl Visit for Markers {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == TASK_KEY_FIELD {
            self.task_key = Some(value);
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if field.name() == SKIP_FIELD {
            self.skip = value;
        }
    }

    fn record_debug(&mut self, _field: &Field, _value: &dyn fmt::Debug) {}
}
