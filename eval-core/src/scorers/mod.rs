//! Built-in scorers: ready-made checks of tool use, final answers and budgets, and
//! [`threshold`] to turn any numeric scorer into a gate.
//!
//! Each factory returns a value that implements [`Scorer`](crate::Scorer) for every suite it
//! can grade, so it sits next to user scorers in `scorers = [...]`. Keys follow AG2's
//! (`tool_called[get_weather]`, `no_tool_errors`, `final_answer_matches`, `token_budget`), so
//! runs of either side diff against each other. Every built-in also has `.key("…")` (two
//! instances of one factory in a suite need distinct keys) and `.advisory()`.
//!
//! A scorer is driven like any other: build a [`ScoreInput`](crate::ScoreInput) and await
//! [`Scorer::score`](crate::Scorer::score).
//!
//! ```
//! use eval_engine::scorers::tool_called;
//! use eval_engine::{ScoreInput, Scorer, Task, Trace, Verdict};
//! use eval_engine::trace::Event;
//! use serde_json::{Value, json};
//!
//! let trace = Trace::new(vec![Event::tool_call("get_weather", json!({"city": "Paris"}))], None, 12);
//! let task = Task::new("paris", json!({"input": "Weather in Paris?"}), Value::Null);
//! let input: ScoreInput<'_, Value, Value, Value> = ScoreInput::new(&task, None, &Value::Null, &trace);
//! let scorer = tool_called("get_weather");
//! let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! let feedback = runtime.block_on(scorer.score(&input));
//! assert_eq!(feedback[0].key, "tool_called[get_weather]");
//! assert_eq!(feedback[0].verdict(), Verdict::Pass);
//! ```

/// The builders every built-in has: the inherent `spec()` (callable without naming a suite's
/// types), `key` and `advisory`. Invoked next to each type, which keeps its spec in a `spec`
/// field.
macro_rules! spec_builders {
    ($($scorer:ty),* $(,)?) => {$(
        impl $scorer {
            /// The scorer's key, threshold and whether it is advisory.
            pub fn spec(&self) -> &$crate::scorer::ScorerSpec {
                &self.spec
            }

            /// Reports under `key` instead of the default key.
            pub fn key(mut self, key: impl Into<String>) -> Self {
                self.spec.key = key.into();
                self
            }

            /// Records and shows the result, never failing a test.
            pub fn advisory(mut self) -> Self {
                self.spec = self.spec.advisory();
                self
            }
        }
    )*};
}
pub(crate) use spec_builders;

mod answer_source;
mod blocking;
mod budgets;
mod common;
mod final_answer;
mod final_number;
mod json_match;
mod threshold;
mod tool_arguments;
mod tool_calls;
mod tool_errors;

pub use blocking::grade_blocking;
pub use budgets::{LatencyUnder, TokenBudget, latency_under, token_budget};
pub use final_answer::{FinalAnswerMatches, Matcher, final_answer_matches};
pub use final_number::{FinalNumber, final_number_equals, final_number_matches};
pub use threshold::{Thresholded, threshold};
pub use tool_arguments::{ToolCalledWith, tool_called_with};
pub use tool_calls::{
    NoToolCalls, ToolCallCount, ToolCalled, ToolsCalledInOrder, no_tool_calls, tool_call_count, tool_called,
    tools_called_in_order,
};
pub use tool_errors::{NoToolErrors, no_tool_errors};
