//! Judges: scorers that ask a model to grade what no exact matcher can (an open answer's
//! helpfulness, whether it keeps to a policy), recorded so that CI replays their verdicts.
//!
//! - [`judge`] builds the built-in judge: one criterion, a [`Scale`], a structured verdict.
//! - [`pairwise_judge`] compares two runs' answers, asking in both orders (see
//!   [`pairwise`](crate::pairwise)).
//! - [`ChatModel`] is all it needs of a model: [`OpenAiChat`] (feature `openai`) speaks the
//!   OpenAI-compatible chat-completions API (OpenAI, vLLM, Ollama, llama.cpp's server);
//!   `RigModel` (feature `rig`) wraps any rig completion model; implement the trait for
//!   anything else.
//! - A scorer of your own calls a model through its [`ScoreCtx`](crate::ScoreCtx), which
//!   records and replays the calls like an agent's and keeps their cost apart.

mod from_env;
mod grader;
mod model;
#[cfg(feature = "openai")]
mod openai;
mod pairwise;
mod prompt;
#[cfg(feature = "rig")]
mod rig;
mod verdict;

pub use from_env::model_from_env;
pub use grader::{JUDGE_KIND, Judge, judge};
pub use model::{ChatFuture, ChatMessage, ChatModel, ChatReply, ChatRequest, ModelError, ReplySchema, Role};
#[cfg(feature = "openai")]
pub use openai::OpenAiChat;
pub use pairwise::{PAIRWISE_JUDGE_KIND, PAIRWISE_TEMPLATE_VERSION, PairwiseJudge, pairwise_judge};
pub use prompt::TEMPLATE_VERSION;
#[cfg(feature = "rig")]
pub use rig::RigModel;
pub use verdict::Scale;
