//! Cassettes: record an agent's model and tool calls once, replay them afterwards, so that an
//! eval of a real LLM agent is deterministic and costs nothing in CI.
//!
//! An agent wraps each call it wants recorded in [`Ctx::replay`](crate::Ctx::replay) (or
//! [`Cassettes::replay`] outside a run):
//!
//! ```no_run
//! # use eval_engine::Ctx;
//! # use eval_engine::cassette::CassetteError;
//! # #[derive(serde::Serialize)] struct ChatRequest;
//! # #[derive(serde::Serialize, serde::Deserialize)] struct ChatResponse;
//! # #[derive(Debug, thiserror::Error)] enum ClientError { #[error(transparent)] Cassette(#[from] CassetteError) }
//! # struct Client; impl Client { async fn complete(&self, _: &ChatRequest) -> Result<ChatResponse, ClientError> { Ok(ChatResponse) } }
//! # async fn agent(ctx: &Ctx, client: &Client, request: ChatRequest) -> Result<(), ClientError> {
//! let response: ChatResponse = ctx.replay("model", &request, || client.complete(&request)).await?;
//! # Ok(()) }
//! ```
//!
//! Each call is keyed by SHA-256 over its kind and the canonical JSON of its request (after
//! [redaction](Cassettes::with_redaction)) and recorded as one JSON file,
//! `<dir>/<kind>/<key>.json`, meant to be committed. [`CassetteMode`] says whether calls are
//! replayed, recorded or both.
//!
//! **Cassettes record answers, never accidents.** A call that returns `Ok` is recorded; a call
//! that fails is recorded only when the caller says its error is the service's answer, through
//! [`Cassettes::replay_answers`] (an HTTP `503`, a refusal). Every other error (the server is
//! down, no key, DNS, TLS, a timeout) is handed back untouched and nothing is written, in every
//! mode, so a broken setup can never become a recording that CI replays as green: fix it and run
//! again. A service answer can also be returned as an `Ok` value (a tool's "no such city" as
//! `Ok(Err(message))`), which records like any response.

mod mode;
mod recording;
mod redact;

pub use mode::{CASSETTES_VAR, CassetteMode, UnknownCassetteMode};
pub use recording::RECORDING_SCHEMA_VERSION;
pub use redact::{DEFAULT_SECRET_KEYS, redact_secrets};

use crate::atomic_file::{AtomicWriteError, IfExists, write_atomically};
use crate::canonical::{sha256_hex, to_canonical_json};
use recording::{Outcome, ReadError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt;
use std::future::Future;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use thiserror::Error;

/// Why a replayed call failed, besides the call's own errors.
///
/// The error type of a replayed call must be buildable from it (`E: From<CassetteError>`);
/// with a `#[error(transparent)]` variant a recorded error reads exactly as it did live.
/// `String`, `std::io::Error`, `Box<dyn Error + Send + Sync>` and `anyhow::Error` already are.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CassetteError {
    /// The call failed when it was recorded, with an error the caller classified as the
    /// service's answer ([`Cassettes::replay_answers`]); `message` is that error's text.
    #[error("{message}")]
    Recorded {
        /// The kind of call (`model`, `tool`, …).
        kind: String,
        /// The recording's key.
        key: String,
        /// The recording.
        path: PathBuf,
        /// The recorded error's text.
        message: String,
    },
    /// Strict mode, and the call was never recorded.
    #[error(
        "no recording of this `{kind}` call (key {key}): looked for {} \
         (EVAL_CASSETTES=strict, the default in CI; record it with EVAL_CASSETTES=auto or record)",
        path.display()
    )]
    Missing {
        /// The kind of call (`model`, `tool`, …).
        kind: String,
        /// The key the recording would have.
        key: String,
        /// Where the recording was looked for.
        path: PathBuf,
    },
    /// The recording exists but cannot be replayed. It is never re-recorded on its own.
    #[error(
        "cassette {} cannot be replayed: {why}; fix or delete it, or re-record with EVAL_CASSETTES=record",
        path.display()
    )]
    Corrupt {
        /// The recording.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// Reading or writing a recording failed: `action` says which (`read cassette`,
    /// `write cassette`, `create cassette directory`, …).
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The request or the response cannot be recorded as JSON.
    #[error("a `{kind}` call cannot be recorded: {why}")]
    Unrecordable {
        /// The kind of call (`model`, `tool`, …).
        kind: String,
        /// What could not be encoded.
        why: String,
    },
}

impl From<CassetteError> for String {
    fn from(error: CassetteError) -> Self {
        error.to_string()
    }
}

impl From<CassetteError> for io::Error {
    fn from(error: CassetteError) -> Self {
        io::Error::other(error)
    }
}

type Redaction = dyn Fn(&str, &mut Value) + Send + Sync;

/// A directory of recordings and the mode to use them in. Cheap to clone.
///
/// ```
/// use eval_engine::{CassetteMode, Cassettes};
/// use serde_json::json;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let dir = tempfile::tempdir().unwrap();
/// let request = json!({"city": "Paris"});
///
/// let recording = Cassettes::new(dir.path(), CassetteMode::Record);
/// let live: Result<i64, String> = recording.replay("tool:get_weather", &request, || async { Ok(18) }).await;
/// assert_eq!(live, Ok(18));
///
/// let replaying = Cassettes::new(dir.path(), CassetteMode::Strict);
/// let replayed: Result<i64, String> =
///     replaying.replay("tool:get_weather", &request, || async { unreachable!("not called") }).await;
/// assert_eq!(replayed, Ok(18));
/// assert!(replaying.path("tool:get_weather", &request).unwrap().is_file());
/// # }
/// ```
#[derive(Clone)]
pub struct Cassettes {
    dir: PathBuf,
    mode: CassetteMode,
    redaction: Arc<Redaction>,
}

impl fmt::Debug for Cassettes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cassettes")
            .field("dir", &self.dir)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// One call, identified: what is keyed and stored, and where.
struct CallSite<'a> {
    kind: &'a str,
    request: Value,
    key: String,
    path: PathBuf,
}

impl Cassettes {
    /// Recordings under `dir`, used in `mode`, with the default redaction
    /// ([`redact_secrets`]).
    pub fn new(dir: impl Into<PathBuf>, mode: CassetteMode) -> Self {
        Cassettes {
            dir: dir.into(),
            mode,
            redaction: Arc::new(|_kind: &str, request: &mut Value| redact_secrets(request)),
        }
    }

    /// Replaces the redaction: `redact(kind, request)` edits the request's JSON before it is
    /// keyed and written, so what it removes is neither stored nor able to change a key. Call
    /// [`redact_secrets`] inside to keep the default as well.
    pub fn with_redaction(mut self, redact: impl Fn(&str, &mut Value) + Send + Sync + 'static) -> Self {
        self.redaction = Arc::new(redact);
        self
    }

    /// The same recordings in another mode.
    pub fn with_mode(mut self, mode: CassetteMode) -> Self {
        self.mode = mode;
        self
    }

    /// The directory holding the recordings.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The mode in force.
    pub fn mode(&self) -> CassetteMode {
        self.mode
    }

    /// The key of a call: SHA-256 (hex) over `kind` and the canonical JSON of the redacted
    /// request, so key order and `1` vs `1.0` do not matter.
    pub fn key(&self, kind: &str, request: &(impl Serialize + ?Sized)) -> Result<String, CassetteError> {
        Ok(self.locate(kind, request)?.key)
    }

    /// Where the recording of a call is (or would be): `<dir>/<kind, made a file name>/<key>.json`.
    pub fn path(&self, kind: &str, request: &(impl Serialize + ?Sized)) -> Result<PathBuf, CassetteError> {
        Ok(self.locate(kind, request)?.path)
    }

    /// Runs a call through the cassette: replays its recording, or makes it with `call` and
    /// records what it returned, as the [mode](CassetteMode) says.
    ///
    /// Only an `Ok` is recorded. An `Err` from `call` is returned to the caller untouched and
    /// nothing is written, in every mode (in `record` mode the existing recording stays): a
    /// server that is down, a missing key, DNS, TLS or a timeout must never become a recording
    /// that CI replays. Use [`Cassettes::replay_answers`] for errors that are the service's
    /// answer and should replay, or return such answers as `Ok` values.
    ///
    /// Whether recorded or replayed, the caller gets what the recording holds: the response read
    /// back from its JSON, so a recording run and its replays see the same values. A recording
    /// made with an error (by [`Cassettes::replay_answers`]) replays as
    /// `E::from(CassetteError::Recorded { message, .. })`. In `off` mode `call`'s result is
    /// returned untouched.
    ///
    /// Fails, as `E::from(CassetteError)`, when a strict replay has no recording, when a
    /// recording is corrupt (it is never re-recorded silently), or when it cannot be written.
    ///
    /// ```
    /// use eval_engine::{CassetteMode, Cassettes};
    /// use serde_json::json;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let dir = tempfile::tempdir().unwrap();
    /// let auto = Cassettes::new(dir.path(), CassetteMode::Auto);
    /// let request = json!({"city": "Paris"});
    ///
    /// // The weather service is down: the error comes back as it is, and nothing is recorded.
    /// let down: Result<f64, String> =
    ///     auto.replay("tool:get_weather", &request, || async { Err("connection refused".to_owned()) }).await;
    /// assert_eq!(down, Err("connection refused".to_owned()));
    /// assert!(!auto.path("tool:get_weather", &request).unwrap().exists());
    ///
    /// // Once it is up, the next run records its answer.
    /// let up: Result<f64, String> = auto.replay("tool:get_weather", &request, || async { Ok(18.5) }).await;
    /// assert_eq!(up, Ok(18.5));
    /// assert!(auto.path("tool:get_weather", &request).unwrap().is_file());
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
        self.run_call(kind, request, |_: &E| None, call).await
    }

    /// [`Cassettes::replay`], also recording the errors that are the service's answer:
    /// `is_answer(&error)` says which (an HTTP `503`, a refusal, a `400` about the request).
    ///
    /// An error `is_answer` accepts is recorded with its `Display` text, like a response, and
    /// replays as `E::from(CassetteError::Recorded { message, .. })`, which displays that text
    /// (while recording too, so both runs see the same error). Any other error is returned
    /// untouched and nothing is written, as with [`Cassettes::replay`]. Keep `is_answer` to what
    /// the service said: a failure of the transport or of your setup (no key, wrong URL) is not
    /// an answer, and recording it would replay a broken setup as if it were the service's word.
    ///
    /// ```
    /// use eval_engine::{CassetteMode, Cassettes};
    /// use serde_json::json;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let dir = tempfile::tempdir().unwrap();
    /// let request = json!({"prompt": "hi"});
    /// // Errors of the form "HTTP <status>" are what the endpoint answered; the rest is the network.
    /// let is_answer = |error: &String| error.starts_with("HTTP ");
    ///
    /// let recording = Cassettes::new(dir.path(), CassetteMode::Auto);
    /// let refused: Result<String, String> =
    ///     recording.replay_answers("model", &request, is_answer, || async { Err("connection refused".to_owned()) }).await;
    /// assert_eq!(refused, Err("connection refused".to_owned()));
    /// assert!(!recording.path("model", &request).unwrap().exists(), "not recorded");
    ///
    /// let overloaded: Result<String, String> =
    ///     recording.replay_answers("model", &request, is_answer, || async { Err("HTTP 503".to_owned()) }).await;
    /// assert_eq!(overloaded, Err("HTTP 503".to_owned()));
    ///
    /// let replayed: Result<String, String> = recording
    ///     .with_mode(CassetteMode::Strict)
    ///     .replay_answers("model", &request, is_answer, || async { unreachable!("not called") })
    ///     .await;
    /// assert_eq!(replayed, Err("HTTP 503".to_owned()));
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
        E: fmt::Display + From<CassetteError>,
        A: FnOnce(&E) -> bool,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let recorded_as = |error: &E| is_answer(error).then(|| error.to_string());
        self.run_call(kind, request, recorded_as, call).await
    }

    /// What both entry points do. `recorded_as(&error)` is the text to record a failed call
    /// with, or `None` to record nothing and hand the error back.
    async fn run_call<Req, T, E, R, F, Fut>(&self, kind: &str, request: &Req, recorded_as: R, call: F) -> Result<T, E>
    where
        Req: Serialize + ?Sized,
        T: Serialize + DeserializeOwned,
        E: From<CassetteError>,
        R: FnOnce(&E) -> Option<String>,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if self.mode == CassetteMode::Off {
            return call().await;
        }
        let site = self.locate(kind, request)?;
        if self.mode != CassetteMode::Record {
            match recording::read(&site.path, kind, &site.request) {
                Ok(Some(outcome)) => return site.deliver(outcome),
                Ok(None) if self.mode == CassetteMode::Strict => {
                    return Err(CassetteError::Missing {
                        kind: kind.to_owned(),
                        key: site.key,
                        path: site.path,
                    }
                    .into());
                }
                Ok(None) => {}
                Err(ReadError::Io(source)) => {
                    return Err(CassetteError::Io {
                        action: "read cassette",
                        path: site.path,
                        source,
                    }
                    .into());
                }
                Err(ReadError::Corrupt(why)) => return Err(CassetteError::Corrupt { path: site.path, why }.into()),
            }
        }

        let outcome = match call().await {
            Ok(value) => Outcome::Response(site.checked_response(&value)?),
            Err(error) => match recorded_as(&error) {
                Some(message) => Outcome::Error(message),
                // Not the service's answer: the caller's own error, so that it can tell what
                // went wrong (and retry), and no file, so that the next run calls again.
                None => return Err(error),
            },
        };
        let bytes = recording::encode(kind, &site.key, &site.request, &outcome);
        let if_exists = match self.mode {
            CassetteMode::Record => IfExists::Replace,
            // Auto never replaces: when two tasks record the same call at once, the first
            // file stays and the other task keeps its own (equivalent) result.
            _ => IfExists::Keep,
        };
        write_recording(site.path.clone(), bytes, if_exists).await?;
        site.deliver(outcome)
    }

    fn locate<'a>(&self, kind: &'a str, request: &(impl Serialize + ?Sized)) -> Result<CallSite<'a>, CassetteError> {
        let mut request = serde_json::to_value(request).map_err(|e| CassetteError::Unrecordable {
            kind: kind.to_owned(),
            why: format!("its request cannot be written as JSON: {e}"),
        })?;
        (self.redaction)(kind, &mut request);
        let key = sha256_hex(&[kind, &to_canonical_json(&request)]);
        let path = self.dir.join(kind_dir(kind)).join(format!("{key}.json"));
        Ok(CallSite {
            kind,
            request,
            key,
            path,
        })
    }
}

impl CallSite<'_> {
    /// The live response as JSON, checked to read back as `T` so that a type whose
    /// deserialisation does not invert its serialisation fails while recording, not in CI.
    fn checked_response<T: Serialize + DeserializeOwned>(&self, value: &T) -> Result<Value, CassetteError> {
        let unrecordable = |why: String| CassetteError::Unrecordable {
            kind: self.kind.to_owned(),
            why,
        };
        let json = serde_json::to_value(value)
            .map_err(|e| unrecordable(format!("its response cannot be written as JSON: {e}")))?;
        serde_json::from_value::<T>(json.clone()).map_err(|e| {
            unrecordable(format!(
                "its response does not read back as `{}` from its JSON: {e}",
                std::any::type_name::<T>()
            ))
        })?;
        Ok(json)
    }

    /// What the caller gets from a recorded outcome.
    fn deliver<T: DeserializeOwned, E: From<CassetteError>>(self, outcome: Outcome) -> Result<T, E> {
        match outcome {
            Outcome::Response(json) => serde_json::from_value(json).map_err(|e| {
                CassetteError::Corrupt {
                    path: self.path,
                    why: format!("its `response` does not fit `{}`: {e}", std::any::type_name::<T>()),
                }
                .into()
            }),
            Outcome::Error(message) => Err(CassetteError::Recorded {
                kind: self.kind.to_owned(),
                key: self.key,
                path: self.path,
                message,
            }
            .into()),
        }
    }
}

/// Writes a recording atomically. Off the async worker threads when there is a runtime: the
/// fsync takes milliseconds.
async fn write_recording(path: PathBuf, bytes: Vec<u8>, if_exists: IfExists) -> Result<(), CassetteError> {
    let write = {
        let path = path.clone();
        move || write_atomically(&path, if_exists, |out| out.write_all(&bytes))
    };
    let written = match tokio::runtime::Handle::try_current() {
        Ok(runtime) => runtime.spawn_blocking(write).await.unwrap_or_else(|e| {
            Err(AtomicWriteError::Io {
                action: "write",
                on_dir: false,
                source: io::Error::other(e),
            })
        }),
        Err(_) => write(),
    };
    match written {
        // Another task recorded the same call first (auto mode); its file is as good as ours.
        Ok(()) | Err(AtomicWriteError::AlreadyExists) => Ok(()),
        Err(AtomicWriteError::Io { action, on_dir, source }) => Err(CassetteError::Io {
            action: match action {
                "create directory" => "create cassette directory",
                "create a temporary file for" => "create a temporary file for cassette",
                "flush to disk" => "sync cassette",
                "rename the temporary file to" => "rename the temporary file to cassette",
                _ => "write cassette",
            },
            path: match path.parent() {
                Some(dir) if on_dir => dir.to_owned(),
                _ => path,
            },
            source,
        }),
    }
}

/// A kind as a directory name: ASCII letters, digits, `-`, `_` and `.` stay, anything else
/// (the `:` of `tool:get_weather`, path separators) becomes `_`. The key hashes the kind
/// itself, so two kinds sharing a directory never share a file.
fn kind_dir(kind: &str) -> String {
    let mut dir: String = kind
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' | '.' => c,
            _ => '_',
        })
        .take(100)
        .collect();
    if dir.is_empty() || dir.starts_with('.') {
        dir.insert(0, '_');
    }
    dir
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_become_plain_directory_names() {
        assert_eq!(kind_dir("model"), "model");
        assert_eq!(kind_dir("tool:get_weather"), "tool_get_weather");
        assert_eq!(kind_dir("../etc"), "_.._etc");
        assert_eq!(kind_dir(".."), "_..");
        assert_eq!(kind_dir(""), "_");
        assert_eq!(kind_dir("ä/b"), "__b");
    }
}
