//! The judge's model, scripted with rig's test utilities like the agent's: what a grading model
//! would answer about one response, so the judge runs offline through rig's own model call.

use rig_core::completion::Usage;
use rig_core::test_utils::{MockCompletionModel, MockTurn};
use serde_json::json;

/// Tokens of one verdict: (input, output).
pub const VERDICT_TOKENS: (u64, u64) = (310, 30);

/// A model that answers one verdict on `response`: 5 points when it states a temperature in
/// °C, 4 when it says what it can do, 2 when it apologises.
pub fn judge_model_for(response: &str) -> MockCompletionModel {
    let (score, reasoning) = if response.contains("°C") {
        (5, "It states the temperature and the conditions asked about.")
    } else if response.contains("weather assistant") {
        (4, "No city was asked about; it says what it can do.")
    } else {
        (2, "It does not give the weather.")
    };
    let verdict = json!({"reasoning": reasoning, "score": score}).to_string();
    let (input, output) = VERDICT_TOKENS;
    let usage = Usage::new().input_tokens(input).output_tokens(output);
    MockCompletionModel::from_turns([MockTurn::text(verdict).with_usage(usage)])
}
