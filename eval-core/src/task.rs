//! One unit of evaluation: what the agent is asked and what a good answer looks like.

use crate::canonical::{canonical_sha256, hex_digits};
use serde::Serialize;
use serde_json::{Map, Value};
use std::any::Any;
use std::fmt;
use std::path::PathBuf;

/// One task of a suite.
///
/// `I` and `R` are the types `inputs` and `reference_outputs` deserialize into; both default to
/// [`serde_json::Value`], so untyped datasets need no structs at all.
///
/// ```
/// use eval_engine::Suite;
/// use serde_json::json;
///
/// let suite: Suite = Suite::from_values("weather", vec![json!({
///     "task_id": "paris",
///     "inputs": {"input": "Weather in Paris?"},
///     "reference_outputs": {"city": "Paris"},
/// })]).unwrap();
/// let task = &suite.tasks()[0];
/// assert_eq!(task.id(), "paris");
/// assert_eq!(task.input(), "Weather in Paris?");
/// assert_eq!(task.reference_outputs()["city"], "Paris");
/// ```
#[derive(Debug, Clone)]
pub struct Task<I = Value, R = Value> {
    pub(crate) id: String,
    pub(crate) inputs: I,
    pub(crate) reference_outputs: R,
    pub(crate) tags: Vec<String>,
    pub(crate) metadata: Map<String, Value>,
    pub(crate) content_hash: ContentHash,
    pub(crate) origin: TaskOrigin,
}

impl<I, R> Task<I, R> {
    /// The task id, unique within its suite.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The task's inputs.
    pub fn inputs(&self) -> &I {
        &self.inputs
    }

    /// The expected outputs (`null` when the dataset gives none, for untyped tasks).
    pub fn reference_outputs(&self) -> &R {
        &self.reference_outputs
    }

    /// Free-form labels used to slice results.
    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    /// Whether the task carries `tag`.
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }

    /// Anything else the dataset carries for this task.
    pub fn metadata(&self) -> &Map<String, Value> {
        &self.metadata
    }

    /// Hash of the task's content (inputs and reference outputs), used to detect that a task
    /// changed between two runs.
    pub fn content_hash(&self) -> &ContentHash {
        &self.content_hash
    }

    /// Where the task was defined, for error messages.
    pub fn origin(&self) -> &TaskOrigin {
        &self.origin
    }
}

impl<I: Serialize + 'static, R: Serialize + 'static> Task<I, R> {
    /// The inputs as JSON, as a record keeps them (`null` if they cannot be written as JSON).
    pub(crate) fn inputs_json(&self) -> Value {
        json_of(&self.inputs)
    }

    /// The reference outputs as JSON, as a record keeps them.
    pub(crate) fn reference_outputs_json(&self) -> Value {
        json_of(&self.reference_outputs)
    }

    /// What a record keeps of the task, copied.
    pub(crate) fn record_content(&self) -> RecordContent {
        RecordContent {
            id: self.id.clone(),
            inputs: self.inputs_json(),
            reference_outputs: self.reference_outputs_json(),
            tags: self.tags.clone(),
            metadata: self.metadata.clone(),
            content_hash: self.content_hash.clone(),
        }
    }

    /// What a record keeps of the task, taken from it: no copy, and the task's memory becomes
    /// the record's.
    pub(crate) fn into_record_content(self) -> RecordContent {
        RecordContent {
            id: self.id,
            inputs: into_json(self.inputs),
            reference_outputs: into_json(self.reference_outputs),
            tags: self.tags,
            metadata: self.metadata,
            content_hash: self.content_hash,
        }
    }
}

/// What a task's record keeps of it.
pub(crate) struct RecordContent {
    pub(crate) id: String,
    pub(crate) inputs: Value,
    pub(crate) reference_outputs: Value,
    pub(crate) tags: Vec<String>,
    pub(crate) metadata: Map<String, Value>,
    pub(crate) content_hash: ContentHash,
}

/// `value` as JSON: itself when it is JSON already (the untyped tasks).
fn into_json<T: Serialize + 'static>(value: T) -> Value {
    let mut slot = Some(value);
    if let Some(json) = (&mut slot as &mut dyn Any).downcast_mut::<Option<Value>>() {
        return json.take().unwrap_or(Value::Null);
    }
    slot.map_or(Value::Null, |value| serde_json::to_value(&value).unwrap_or(Value::Null))
}

/// `value` as JSON: a copy when it is JSON already (the untyped tasks), which is much cheaper
/// than writing it out and reading it back.
fn json_of<T: Serialize + 'static>(value: &T) -> Value {
    match (value as &dyn Any).downcast_ref::<Value>() {
        Some(json) => compact_copy(json),
        None => serde_json::to_value(value).unwrap_or(Value::Null),
    }
}

/// A deep copy of `json` that holds no spare room: a cloned map keeps as much as the one it
/// copies (a parser's or `json!`'s, grown one entry at a time), for every record of a run.
fn compact_copy(json: &Value) -> Value {
    match json {
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), compact_copy(v))).collect()),
        Value::Array(items) => Value::Array(items.iter().map(compact_copy).collect()),
        other => other.clone(),
    }
}

/// `json` holding no spare room (see [`compact_copy`]), made of its own keys and values.
pub(crate) fn compacted(json: Value) -> Value {
    match json {
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, compacted(v))).collect()),
        Value::Array(items) => Value::Array(items.into_iter().map(compacted).collect()),
        other => other,
    }
}

impl<R> Task<Value, R> {
    /// The conventional prompt, `inputs["input"]`; empty when the task has no string `input`.
    pub fn input(&self) -> &str {
        self.inputs.get("input").and_then(Value::as_str).unwrap_or("")
    }
}

/// A short, stable fingerprint of a task's content: SHA-256 over the canonical JSON of its
/// inputs and reference outputs, first 16 hex digits.
///
/// Held inline, without an allocation, when it is 16 ASCII characters (every hash computed,
/// and every well-formed one read back): a run copies it into each pair's outcome and
/// scorecard entry.
#[derive(Clone)]
pub struct ContentHash(Repr);

#[derive(Clone)]
enum Repr {
    Inline([u8; ContentHash::LEN]),
    /// A hash read back from a file that is not 16 ASCII characters.
    Other(Box<str>),
}

impl ContentHash {
    /// Length in hex digits of a content hash.
    pub const LEN: usize = 16;

    /// Computes the hash of a task's raw inputs and reference outputs.
    pub fn of(inputs: &Value, reference_outputs: &Value) -> Self {
        // The first digits of the hex digest, written in place.
        let digest = canonical_sha256(&[inputs, reference_outputs]);
        let mut hex = [0; Self::LEN];
        for (digits, &byte) in hex.chunks_exact_mut(2).zip(&digest) {
            digits.copy_from_slice(&hex_digits(byte));
        }
        ContentHash(Repr::Inline(hex))
    }

    /// Wraps a hash read back from a file.
    pub fn from_stored(hex: impl AsRef<str> + Into<String>) -> Self {
        let text = hex.as_ref();
        match <[u8; Self::LEN]>::try_from(text.as_bytes()) {
            Ok(bytes) if text.is_ascii() => ContentHash(Repr::Inline(bytes)),
            _ => ContentHash(Repr::Other(hex.into().into_boxed_str())),
        }
    }

    /// The hash as hex text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // ASCII by construction, so always UTF-8.
            Repr::Inline(bytes) => std::str::from_utf8(bytes).unwrap_or_default(),
            Repr::Other(text) => text,
        }
    }
}

impl PartialEq for ContentHash {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for ContentHash {}

impl PartialEq<str> for ContentHash {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialOrd for ContentHash {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ContentHash {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl std::hash::Hash for ContentHash {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl Default for ContentHash {
    /// No hash: the empty text.
    fn default() -> Self {
        ContentHash(Repr::Other(Box::default()))
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ContentHash").field(&self.as_str()).finish()
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a task was defined.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskOrigin {
    /// Line `line` (1-based) of a JSONL file.
    /// A line of a dataset file.
    File {
        /// The dataset file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
    },
    /// Position `index` (0-based) of an inline list.
    /// A task given in code.
    Inline {
        /// Its position in the list, from 0.
        index: usize,
    },
}

impl fmt::Display for TaskOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskOrigin::File { path, line } => write!(f, "{}:{line}", path.display()),
            TaskOrigin::Inline { index } => write!(f, "inline task #{index}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_task_gives_its_inputs_as_json_typed_or_not() {
        let nested = json!({"input": "x", "list": [1, {"b": null, "a": [2.5]}], "more": {"k": "v"}});
        let untyped = Task::new("t", nested.clone(), json!({"answer": 1}));
        assert_eq!(untyped.inputs_json(), nested);
        assert_eq!(untyped.reference_outputs_json(), json!({"answer": 1}));

        #[derive(Serialize)]
        struct Question {
            city: String,
        }
        let typed = Task::new(
            "t",
            Question {
                city: "Paris".to_owned(),
            },
            (),
        );
        assert_eq!(typed.inputs_json(), json!({"city": "Paris"}));
        assert_eq!(typed.reference_outputs_json(), Value::Null);
    }

    #[test]
    fn a_record_keeps_the_same_of_a_task_it_takes_or_copies() {
        let mut untyped = Task::new(
            "t",
            json!({"input": "x", "list": [1, {"a": null}]}),
            json!({"answer": 1}),
        );
        untyped.tags = vec!["smoke".to_owned()];
        untyped.metadata.insert("source".to_owned(), json!("hand"));
        #[derive(Serialize)]
        struct Question {
            city: String,
        }
        let typed = Task::new(
            "q",
            Question {
                city: "Paris".to_owned(),
            },
            (),
        );
        let kept = |c: RecordContent| (c.id, c.inputs, c.reference_outputs, c.tags, c.metadata, c.content_hash);
        assert_eq!(
            kept(untyped.record_content()),
            kept(untyped.clone().into_record_content())
        );
        assert_eq!(kept(typed.record_content()), kept(typed.into_record_content()));
    }

    #[test]
    fn a_content_hash_is_its_text_however_it_is_held() {
        let computed = ContentHash::of(&json!({"input": "x"}), &Value::Null);
        let read_back = ContentHash::from_stored(computed.as_str().to_owned());
        assert_eq!(computed, read_back);
        assert_eq!(format!("{computed:?}"), format!("ContentHash({:?})", computed.as_str()));
        // Hashes of other lengths, or not ASCII, are kept as they were read.
        for text in ["", "00ff", "0123456789abcdef0", "0123456789abcdé"] {
            let hash = ContentHash::from_stored(text);
            assert_eq!(hash.as_str(), text);
            assert_eq!(hash.to_string(), text);
            assert_eq!(hash, ContentHash::from_stored(text.to_owned()));
        }
        // Ordered as their texts are, whichever way each is held.
        let mut hashes: Vec<ContentHash> = ["0123456789abcdf0", "00ff", "0123456789abcdef", "1"]
            .into_iter()
            .map(ContentHash::from_stored)
            .collect();
        hashes.sort();
        let texts: Vec<&str> = hashes.iter().map(ContentHash::as_str).collect();
        assert_eq!(texts, ["00ff", "0123456789abcdef", "0123456789abcdf0", "1"]);
        assert_eq!(ContentHash::default().as_str(), "");
    }

    #[test]
    fn content_hash_ignores_key_order_and_sees_changes() {
        let a = ContentHash::of(&json!({"input": "x", "n": 1}), &json!({"a": 1}));
        let b = ContentHash::of(&json!({"n": 1.0, "input": "x"}), &json!({"a": 1}));
        let c = ContentHash::of(&json!({"input": "y", "n": 1}), &json!({"a": 1}));
        let d = ContentHash::of(&json!({"input": "x", "n": 1}), &Value::Null);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        assert_eq!(a.as_str().len(), ContentHash::LEN);
    }

    #[test]
    fn a_content_hash_is_the_start_of_the_hex_digest_of_the_canonical_texts() {
        let (inputs, reference) = (json!({"input": "x", "n": [1, {"b": 2, "a": 1}]}), json!({"a": null}));
        let digest = crate::canonical::sha256_hex(&[
            &crate::canonical::to_canonical_json(&inputs),
            &crate::canonical::to_canonical_json(&reference),
        ]);
        assert_eq!(
            ContentHash::of(&inputs, &reference).as_str(),
            &digest[..ContentHash::LEN]
        );
        // Pinned: a content hash is stored in runs and baselines, and must not change.
        assert_eq!(
            ContentHash::of(&json!({"input": "x"}), &Value::Null).as_str(),
            "524fb0568be6abb6"
        );
    }
}
