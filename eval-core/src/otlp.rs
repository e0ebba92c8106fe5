//! Traces recorded outside the eval: OpenTelemetry spans exported as OTLP JSON (a file, or a
//! directory of them), grouped into one trace per task, and put into [`Trace`](crate::Trace)s
//! by the same span → event rules as the live capture (the GenAI conventions' model calls,
//! tool executions and usage). Graded with a suite's scorers without running the agent:
//! [`stored_run`] makes a run of them that [`regrade`](fn@crate::regrade) grades.
//!
//! A span's task is the `eval.task_id` attribute (or another, [`TaskKey::Attribute`]) of any
//! span of its trace or of its resource, or the trace id's entry in a mapping
//! ([`TaskKey::Mapping`]). The answer is the `eval.outputs` attribute (JSON) when a span has
//! one; else the trace's final model response is what answer scorers read.

mod read;
mod traces;

pub use read::{OtlpError, OtlpSpan, read_spans};
pub use traces::{
    ImportedTraces, OUTPUTS_ATTRIBUTE, Skipped, TASK_ID_ATTRIBUTE, TaskKey, TaskTrace, import_traces, stored_run,
};
