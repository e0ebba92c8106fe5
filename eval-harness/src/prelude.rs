//! What a suite file uses: `use eval_harness::prelude::*;` brings the macros, the task, the
//! agent's [`Ctx`], the [`Trace`] a scorer reads, a judge's [`ScoreCtx`], [`Feedback`], a suite's
//! [`Variant`]s, JSON values
//! and the built-in scorers (the [`judge`] among them). Anything else is imported from [`eval_engine`](crate::core) by name.

pub use eval_engine::judge::{Scale, judge};
pub use eval_engine::scorers::{
    Matcher, final_answer_matches, final_number_equals, final_number_matches, latency_under, no_tool_calls,
    no_tool_errors, threshold, token_budget, tool_call_count, tool_called, tool_called_with, tools_called_in_order,
};
pub use eval_engine::variant::Variant;
pub use eval_engine::{Ctx, Feedback, ScoreCtx, Task, Trace};
pub use eval_macros::{eval_suite, scorer};
pub use serde_json::{Value, json};
