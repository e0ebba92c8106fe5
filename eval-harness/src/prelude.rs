//! Everything a test file needs: `use eval_harness::prelude::*;`.

pub use eval_engine::scorers::{
    Matcher, final_answer_matches, final_number_equals, final_number_matches, latency_under, no_tool_calls,
    no_tool_errors, threshold, token_budget, tool_call_count, tool_called, tool_called_with, tools_called_in_order,
};
pub use eval_engine::{
    Ctx, Event, Exception, Feedback, Score, ScoreInput, Scorer, ScorerSpec, Suite, Task, Threshold, TokenUsage,
    ToolCall, ToolError, ToolResult, Trace, Verdict,
};
pub use eval_macros::{eval_suite, scorer};
pub use serde_json::{Value, json};
