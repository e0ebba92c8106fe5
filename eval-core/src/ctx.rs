//! What an agent gets besides its task: a handle to record what it does.

use crate::cassette::{CassetteError, Cassettes};
use crate::trace::{Event, ModelResponse, TokenUsage, ToolCall, ToolError, ToolResult};
use crate::variant::Variant;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt::Display;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

/// The name of the custom event [`Ctx::prompt`] records: `{"name": …, "hash": …}`.
pub const PROMPT_EVENT: &str = "eval.prompt";

/// Hex digits of a prompt's hash kept: as many as a task's content hash.
const PROMPT_HASH_LEN: usize = 16;

/// The agent's handle on its task's trace. Cheap to clone; clones record into the same trace,
/// so an agent can hand it to the futures it spawns.
///
/// ```
/// use eval_engine::Ctx;
/// use serde_json::json;
///
/// let ctx = Ctx::new("task-0000", 1);
/// ctx.tool_call("get_weather", json!({"city": "Paris"}));
/// ctx.tool_result("get_weather", json!({"temp_c": 18}));
/// ctx.usage(120, 30);
/// ctx.model_response("It is 18°C in Paris.");
/// assert_eq!(ctx.events().len(), 4);
/// ```
#[derive(Debug, Clone)]
pub struct Ctx {
    inner: Arc<Inner>,
    /// Where [`Ctx::replay`] records and replays calls; `None` calls straight through.
    cassettes: Option<Cassettes>,
    /// The variant of the suite this attempt runs, when the suite has variants.
    variant: Option<Arc<Variant>>,
}

#[derive(Debug)]
struct Inner {
    task_id: String,
    attempt: u32,
    events: Mutex<Vec<Event>>,
}

impl Ctx {
    /// A fresh context for attempt `attempt` (1-based) of task `task_id`.
    pub fn new(task_id: impl Into<String>, attempt: u32) -> Self {
        Ctx {
            inner: Arc::new(Inner {
                task_id: task_id.into(),
                attempt,
                events: Mutex::new(Vec::new()),
            }),
            cassettes: None,
            variant: None,
        }
    }

    /// This context with `cassettes` for [`Ctx::replay`]. Clones made from it afterwards share
    /// them; the runner sets them from [`RunOptions::cassettes`](crate::RunOptions::cassettes).
    pub fn with_cassettes(mut self, cassettes: Cassettes) -> Self {
        self.cassettes = Some(cassettes);
        self
    }

    /// Gives the attempt the variant it runs; the runner sets it from
    /// [`RunOptions::variant`](crate::RunOptions::variant).
    pub fn with_variant(mut self, variant: Arc<Variant>) -> Self {
        self.variant = Some(variant);
        self
    }

    /// The variant of the suite this attempt runs, when the suite has variants: the agent
    /// configures itself from [`Variant::config`].
    ///
    /// ```
    /// use eval_engine::Ctx;
    /// use eval_engine::variant::Variant;
    /// use std::sync::Arc;
    ///
    /// let variant = Variant::new("cheap", serde_json::json!({"model": "gpt-4o-mini"})).unwrap();
    /// let ctx = Ctx::new("paris", 1).with_variant(Arc::new(variant));
    /// let model = ctx.variant().and_then(|v| v.config()["model"].as_str()).unwrap_or("gpt-4o");
    /// assert_eq!(model, "gpt-4o-mini");
    /// assert!(Ctx::new("paris", 1).variant().is_none());
    /// ```
    pub fn variant(&self) -> Option<&Variant> {
        self.variant.as_deref()
    }

    /// The cassettes [`Ctx::replay`] uses, if any.
    pub fn cassettes(&self) -> Option<&Cassettes> {
        self.cassettes.as_ref()
    }

    /// Makes a model or tool call through the run's cassettes: replays its recording, or calls
    /// `call` and records the result, as `EVAL_CASSETTES` says (see [`Cassettes::replay`]).
    /// Without cassettes it simply awaits `call()`.
    ///
    /// `kind` names the sort of call (`"model"`, `"tool:get_weather"`); together with the JSON
    /// of `request` it keys the recording. Only an `Ok` is recorded: an `Err` reaches the agent
    /// untouched and writes nothing, so a server that is down or a missing key never becomes a
    /// recording. Errors that are the service's answer are recorded with
    /// [`Ctx::replay_answers`].
    ///
    /// ```
    /// use eval_engine::{CassetteMode, Cassettes, Ctx};
    /// use serde_json::json;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let dir = tempfile::tempdir().unwrap();
    /// let ctx = Ctx::new("paris", 1).with_cassettes(Cassettes::new(dir.path(), CassetteMode::Auto));
    /// let request = json!({"city": "Paris"});
    /// let first: Result<f64, String> = ctx.replay("tool:get_weather", &request, || async { Ok(18.5) }).await;
    /// // Recorded: the second call is answered from the file.
    /// let again: Result<f64, String> = ctx.replay("tool:get_weather", &request, || async { Ok(-1.0) }).await;
    /// assert_eq!((first, again), (Ok(18.5), Ok(18.5)));
    ///
    /// // A failure is not recorded: the next run calls again.
    /// let oslo = json!({"city": "Oslo"});
    /// let down: Result<f64, String> =
    ///     ctx.replay("tool:get_weather", &oslo, || async { Err("connection refused".to_owned()) }).await;
    /// let up: Result<f64, String> = ctx.replay("tool:get_weather", &oslo, || async { Ok(-3.5) }).await;
    /// assert_eq!((down, up), (Err("connection refused".to_owned()), Ok(-3.5)));
    /// # }
    /// ```
    pub async fn replay<Req, T, E, F, Fut>(&self, kind: &str, request: &Req, call: F) -> Result<T, E>
    where
        Req: Serialize + ?Sized,
        T: Serialize + DeserializeOwned,
        E: From<CassetteError>,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        match &self.cassettes {
            Some(cassettes) => cassettes.replay(kind, request, call).await,
            None => call().await,
        }
    }

    /// [`Ctx::replay`], also recording the errors `is_answer` says are the service's answer
    /// (an HTTP `503`, a refusal); see [`Cassettes::replay_answers`]. Those replay as errors:
    /// `E::from(CassetteError::Recorded { message, .. })` displays the recorded text. Other
    /// errors are handed back untouched and write nothing.
    ///
    /// ```
    /// use eval_engine::{CassetteMode, Cassettes, Ctx};
    /// use serde_json::json;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let dir = tempfile::tempdir().unwrap();
    /// let ctx = Ctx::new("atlantis", 1).with_cassettes(Cassettes::new(dir.path(), CassetteMode::Auto));
    /// let request = json!({"city": "Atlantis"});
    /// // The weather service's refusals start with "unknown"; anything else is the network.
    /// let is_answer = |error: &String| error.starts_with("unknown");
    ///
    /// let failed: Result<f64, String> =
    ///     ctx.replay_answers("tool:get_weather", &request, is_answer, || async { Err("unknown city".to_owned()) }).await;
    /// let replayed: Result<f64, String> =
    ///     ctx.replay_answers("tool:get_weather", &request, is_answer, || async { Ok(0.0) }).await;
    /// assert_eq!((failed, replayed), (Err("unknown city".to_owned()), Err("unknown city".to_owned())));
    /// # }
    /// ```
    pub async fn replay_answers<Req, T, E, A, F, Fut>(
        &self,
        kind: &str,
        request: &Req,
        is_answer: A,
        call: F,
    ) -> Result<T, E>
    where
        Req: Serialize + ?Sized,
        T: Serialize + DeserializeOwned,
        E: Display + From<CassetteError>,
        A: FnOnce(&E) -> bool,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        match &self.cassettes {
            Some(cassettes) => cassettes.replay_answers(kind, request, is_answer, call).await,
            None => call().await,
        }
    }

    /// The id of the task being run.
    pub fn task_id(&self) -> &str {
        &self.inner.task_id
    }

    /// Which attempt this is: 1, or 1..=k with `repeats = k`.
    pub fn attempt(&self) -> u32 {
        self.inner.attempt
    }

    /// Appends an event to the trace.
    pub fn record(&self, event: Event) {
        // A panic elsewhere must not make the trace unreadable.
        self.inner
            .events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event);
    }

    /// Records a tool call.
    pub fn tool_call(&self, name: impl Into<String>, arguments: Value) {
        self.record(Event::tool_call(name, arguments));
    }

    /// Records a tool call with the id the model gave it.
    pub fn tool_call_with_id(&self, id: impl Into<String>, name: impl Into<String>, arguments: Value) {
        self.record(Event::ToolCall(ToolCall {
            id: Some(id.into()),
            name: name.into(),
            arguments,
        }));
    }

    /// Records a tool's result.
    pub fn tool_result(&self, name: impl Into<String>, result: Value) {
        self.record(Event::ToolResult(ToolResult {
            id: None,
            name: name.into(),
            result,
        }));
    }

    /// Records a tool's failure.
    pub fn tool_error(&self, name: impl Into<String>, message: impl Into<String>) {
        self.record(Event::ToolError(ToolError {
            id: None,
            name: name.into(),
            message: message.into(),
        }));
    }

    /// Records a model's reply.
    pub fn model_response(&self, text: impl Into<String>) {
        self.record(Event::model_response(text));
    }

    /// Records a model's reply with its model name and finish reason.
    pub fn model_response_from(&self, response: ModelResponse) {
        self.record(Event::ModelResponse(response));
    }

    /// Records token usage of one model call.
    pub fn usage(&self, input: u64, output: u64) {
        self.record(Event::Usage(TokenUsage {
            input,
            output,
            ..TokenUsage::default()
        }));
    }

    /// Records token usage including cache tokens.
    pub fn usage_detailed(&self, usage: TokenUsage) {
        self.record(Event::Usage(usage));
    }

    /// Records a custom event.
    pub fn custom(&self, name: impl Into<String>, data: Value) {
        self.record(Event::custom(name, data));
    }

    /// Names a prompt the agent uses (`"system"`, a template) and gives the text back. The
    /// trace records the name and a hash of the text (a custom event [`PROMPT_EVENT`]), so that
    /// the run history can number each name's distinct texts 1, 2, 3… and read pass rates per
    /// prompt version. Name the template, not a rendering that differs from task to task.
    ///
    /// ```
    /// use eval_engine::Ctx;
    ///
    /// let ctx = Ctx::new("task-0000", 1);
    /// let system = ctx.prompt("system", "You answer weather questions.");
    /// assert_eq!(system, "You answer weather questions.");
    /// ```
    pub fn prompt<'a>(&self, name: impl Into<String>, text: &'a str) -> &'a str {
        let hash = crate::canonical::sha256_hex(&[text]);
        let data = serde_json::json!({ "name": name.into(), "hash": &hash[..PROMPT_HASH_LEN] });
        self.record(Event::custom(PROMPT_EVENT, data));
        text
    }

    /// A copy of the events recorded so far.
    pub fn events(&self) -> Vec<Event> {
        self.inner.events.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Takes the events recorded so far, leaving the trace empty.
    pub(crate) fn take_events(&self) -> Vec<Event> {
        std::mem::take(&mut *self.inner.events.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Whether the trace has a tool call with this id (the capture records a call only once).
    pub(crate) fn has_tool_call(&self, id: &str) -> bool {
        let events = self.inner.events.lock().unwrap_or_else(PoisonError::into_inner);
        events
            .iter()
            .any(|event| matches!(event, Event::ToolCall(call) if call.id.as_deref() == Some(id)))
    }
}
