//! The judge model the environment names, for tools that judge without code of their own
//! (`cargo eval pairwise --judge`).

use super::model::ChatModel;
use std::sync::Arc;

/// The model of `EVAL_JUDGE_MODEL` at `EVAL_JUDGE_BASE_URL` with `EVAL_JUDGE_API_KEY` (see
/// `OpenAiChat::from_env`), checked; `Err` says what to set, or that this build has no client
/// (the `openai` feature is off).
pub fn model_from_env() -> Result<Arc<dyn ChatModel>, String> {
    #[cfg(feature = "openai")]
    {
        let model = super::openai::OpenAiChat::from_env();
        model.check()?;
        Ok(Arc::new(model))
    }
    #[cfg(not(feature = "openai"))]
    {
        Err("this build has no judge model client: build eval-engine with the `openai` feature".to_owned())
    }
}
