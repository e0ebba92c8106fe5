//! Reading tasks from JSONL files and inline JSON values, with errors that name the line.

use crate::task::{ContentHash, Task, TaskOrigin, compacted};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why a dataset could not be loaded. Every variant names where the problem is.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DatasetError {
    /// The dataset file does not exist.
    #[error("dataset file {} does not exist", path.display())]
    NotFound {
        /// The file looked for.
        path: PathBuf,
    },
    /// The dataset file could not be read.
    #[error("cannot read dataset {}: {source}", path.display())]
    Io {
        /// The dataset file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A line is not UTF-8.
    #[error("{}:{line}: the line is not valid UTF-8", path.display())]
    InvalidUtf8 {
        /// The dataset file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
    },
    /// A task is not valid JSON.
    #[error("{origin}: not valid JSON: {message}")]
    Json {
        /// Where the task is.
        origin: TaskOrigin,
        /// What the JSON parser said.
        message: String,
    },
    /// A task is JSON but not an object.
    #[error("{origin}: a task must be a JSON object, found {found}")]
    NotAnObject {
        /// Where the task is.
        origin: TaskOrigin,
        /// What it is instead (`an array`, `a string`, …).
        found: &'static str,
    },
    /// A task has no `inputs`.
    #[error(
        "{origin}: the task has no `inputs`; every task needs an object such as {{\"inputs\": {{\"input\": \"...\"}}}}"
    )]
    MissingInputs {
        /// Where the task is.
        origin: TaskOrigin,
    },
    /// A field of a task has the wrong JSON type.
    #[error("{origin}: field `{field}` must be {expected}, found {found}")]
    InvalidField {
        /// Where the task is.
        origin: TaskOrigin,
        /// The field.
        field: &'static str,
        /// What it must be.
        expected: &'static str,
        /// What it is.
        found: &'static str,
    },
    /// A field does not deserialize into the dataset's typed inputs or reference outputs.
    #[error("{origin}: field `{field}` does not fit the dataset's type: {message}")]
    Typed {
        /// Where the task is.
        origin: TaskOrigin,
        /// The field (`inputs`, `reference_outputs`, or a path inside them).
        field: String,
        /// What the deserializer said.
        message: String,
    },
    /// Two tasks have the same id.
    #[error("duplicate task id `{id}`: defined at {first} and again at {second}")]
    DuplicateId {
        /// The id.
        id: String,
        /// Where it is first defined.
        first: TaskOrigin,
        /// Where it is defined again.
        second: TaskOrigin,
    },
}

/// Reads a JSONL file: one task object per line, UTF-8 (a leading BOM is tolerated), blank lines
/// skipped. Each line becomes its task as soon as it is read, so the dataset is never held as
/// JSON values beside its tasks, and the first bad line in the file is the one reported.
pub(crate) fn read_jsonl<I, R>(path: &Path) -> Result<Vec<Task<I, R>>, DatasetError>
where
    I: DeserializeOwned + 'static,
    R: DeserializeOwned + 'static,
{
    let bytes = std::fs::read(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => DatasetError::NotFound { path: path.to_owned() },
        _ => DatasetError::Io {
            path: path.to_owned(),
            source,
        },
    })?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    // At most one task a line: the list is never grown and copied.
    let mut tasks = Vec::with_capacity(bytes.iter().filter(|&&b| b == b'\n').count() + 1);
    for (index, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_no = index + 1;
        let text = std::str::from_utf8(line).map_err(|_| DatasetError::InvalidUtf8 {
            path: path.to_owned(),
            line: line_no,
        })?;
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let origin = TaskOrigin::File {
            path: path.to_owned(),
            line: line_no,
        };
        let value: Value = serde_json::from_str(text).map_err(|e| DatasetError::Json {
            origin: origin.clone(),
            message: e.to_string(),
        })?;
        tasks.push(task_from_value(value, origin, tasks.len())?);
    }
    check_unique_ids(&tasks)?;
    Ok(tasks)
}

/// Turns inline JSON values (same shape as JSONL lines) into tasks, each value let go of as its
/// task is made.
pub(crate) fn from_values<I, R>(values: Vec<Value>) -> Result<Vec<Task<I, R>>, DatasetError>
where
    I: DeserializeOwned + 'static,
    R: DeserializeOwned + 'static,
{
    let mut tasks = Vec::with_capacity(values.len());
    for (index, value) in values.into_iter().enumerate() {
        tasks.push(task_from_value(value, TaskOrigin::Inline { index }, index)?);
    }
    check_unique_ids(&tasks)?;
    Ok(tasks)
}

/// Rejects two tasks with the same id, naming where both were defined.
pub(crate) fn check_unique_ids<I, R>(tasks: &[Task<I, R>]) -> Result<(), DatasetError> {
    let mut seen: HashMap<&str, &TaskOrigin> = HashMap::with_capacity(tasks.len());
    for task in tasks {
        if let Some(first) = seen.insert(&task.id, &task.origin) {
            return Err(DatasetError::DuplicateId {
                id: task.id.clone(),
                first: first.clone(),
                second: task.origin.clone(),
            });
        }
    }
    Ok(())
}

fn task_from_value<I, R>(value: Value, origin: TaskOrigin, index: usize) -> Result<Task<I, R>, DatasetError>
where
    I: DeserializeOwned + 'static,
    R: DeserializeOwned + 'static,
{
    let object = match value {
        Value::Object(object) => object,
        other => {
            return Err(DatasetError::NotAnObject {
                origin,
                found: json_kind(&other),
            });
        }
    };
    let fields = Fields::of(object);
    let invalid = |field, expected, found: &Value| DatasetError::InvalidField {
        origin: origin.clone(),
        field,
        expected,
        found: json_kind(found),
    };

    let id = match fields.task_id {
        None | Some(Value::Null) => format!("task-{index:04}"),
        Some(Value::String(s)) if !s.is_empty() => s,
        Some(other) => return Err(invalid("task_id", "a non-empty string", &other)),
    };
    let inputs = match fields.inputs {
        None | Some(Value::Null) => return Err(DatasetError::MissingInputs { origin }),
        Some(Value::Object(map)) => Value::Object(map),
        Some(other) => return Err(invalid("inputs", "an object", &other)),
    };
    let reference_outputs = match fields.reference_outputs {
        None => Value::Null,
        Some(v @ (Value::Null | Value::Object(_))) => v,
        Some(other) => return Err(invalid("reference_outputs", "an object or null", &other)),
    };
    let tags = match fields.tags {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(tag)) => vec![tag],
        Some(Value::Array(items)) => {
            let mut tags = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(tag) => tags.push(tag),
                    other => return Err(invalid("tags", "a string or a list of strings", &other)),
                }
            }
            tags
        }
        Some(other) => return Err(invalid("tags", "a string or a list of strings", &other)),
    };
    let metadata = match fields.metadata {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map,
        Some(other) => return Err(invalid("metadata", "an object", &other)),
    };

    let content_hash = ContentHash::of(&inputs, &reference_outputs);
    let inputs = typed("inputs", inputs, &origin)?;
    let reference_outputs = typed("reference_outputs", reference_outputs, &origin)?;
    Ok(Task {
        id,
        inputs,
        reference_outputs,
        tags,
        metadata,
        content_hash,
        origin,
    })
}

/// The fields of a task's object that mean something; the others are ignored.
#[derive(Default)]
struct Fields {
    task_id: Option<Value>,
    inputs: Option<Value>,
    reference_outputs: Option<Value>,
    tags: Option<Value>,
    metadata: Option<Value>,
}

impl Fields {
    /// Takes the object apart in one pass: looking each field up by name would hash every
    /// name, and removing it would move the others, once per field and task.
    fn of(object: Map<String, Value>) -> Self {
        let mut fields = Fields::default();
        for (name, value) in object {
            let slot = match name.as_str() {
                "task_id" => &mut fields.task_id,
                "inputs" => &mut fields.inputs,
                "reference_outputs" => &mut fields.reference_outputs,
                "tags" => &mut fields.tags,
                "metadata" => &mut fields.metadata,
                _ => continue,
            };
            *slot = Some(value);
        }
        fields
    }
}

/// Deserializes `value` into the dataset's type, naming the offending field (`inputs.city`).
fn typed<T: DeserializeOwned + 'static>(field: &str, value: Value, origin: &TaskOrigin) -> Result<T, DatasetError> {
    // The untyped tasks keep the JSON as it is (reading it again into itself would copy it
    // all), without the spare room a parser's maps keep: their records take it over.
    let value = if TypeId::of::<T>() == TypeId::of::<Value>() {
        compacted(value)
    } else {
        value
    };
    let mut json = Some(value);
    if let Some(same) = (&mut json as &mut dyn Any).downcast_mut::<Option<T>>() {
        return Ok(same.take().expect("just put there"));
    }
    let value = json.expect("not taken");
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        DatasetError::Typed {
            origin: origin.clone(),
            field: if path == "." {
                field.to_owned()
            } else {
                format!("{field}.{path}")
            },
            message: e.into_inner().to_string(),
        }
    })
}

pub(crate) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
