//! Spans recorded elsewhere (an OTLP export of production runs) put into a trace by the rules
//! the live capture applies to `tracing` spans, so that a trace graded from a file reads like
//! one captured in the eval.

use super::genai::{GenAiFields, declares_gen_ai_name};
use super::layer::record;
use super::task_span::TaskLink;
use crate::ctx::Ctx;
use crate::trace::Event;
use serde_json::Value;

/// Builds one trace from finished spans, given in the order they ended.
pub(crate) struct SpanRecorder {
    link: TaskLink,
}

impl SpanRecorder {
    /// A recorder for task `task_id`.
    pub(crate) fn new(task_id: &str) -> Self {
        SpanRecorder {
            link: TaskLink::new(Ctx::new(task_id, 1)),
        }
    }

    /// Records what a finished span named `name` reports. `usage_reported_below`: a span
    /// inside it reported usage, so this one's is an aggregate. Returns whether it reported
    /// usage (its enclosing spans' then count as aggregates).
    pub(crate) fn finished<'a>(
        &self,
        name: &str,
        attributes: impl IntoIterator<Item = (&'a str, &'a Value)>,
        usage_reported_below: bool,
    ) -> bool {
        let mut fields = GenAiFields::default();
        let mut declares = false;
        for (key, value) in attributes {
            declares |= declares_gen_ai_name(key);
            fields.set_attribute(key, value);
        }
        if !declares {
            return false;
        }
        let reported = fields.reported(name);
        let usage = reported.usage.is_some();
        record(&self.link, reported, usage_reported_below);
        usage
    }

    /// The events recorded, in order.
    pub(crate) fn into_events(self) -> Vec<Event> {
        self.link.ctx().events()
    }
}
