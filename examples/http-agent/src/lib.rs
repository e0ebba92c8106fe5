//! A weather assistant whose model is a real OpenAI-compatible endpoint, reached over HTTP, and
//! whose every model and tool call goes through [`Ctx::replay`](eval_engine::Ctx::replay).
//!
//! Recorded once against a live endpoint (`EVAL_CASSETTES=record`), its eval suite then replays
//! the committed recordings: deterministic, offline and free, which is what CI runs.
//!
//! - [`client`]: the chat-completions client (`POST /v1/chat/completions`, JSON in and out);
//! - [`agent`]: the tool loop, recording its trace on the [`Ctx`](eval_engine::Ctx);
//! - [`weather`]: the tool, a stand-in for a weather service;
//! - [`fake_openai`]: a tiny deterministic OpenAI-compatible server on `127.0.0.1`, for the tests
//!   and for re-recording the cassettes without an account.

pub mod agent;
pub mod client;
pub mod fake_openai;
pub mod weather;

pub use agent::{AgentError, Answer, WeatherAgent};
pub use client::{ChatClient, ChatRequest, ChatResponse, ClientError};
