//! A named, ordered collection of tasks.

use crate::dataset::{self, DatasetError};
use crate::task::{ContentHash, Task, TaskOrigin};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::path::Path;
use std::sync::Arc;

/// The tasks of one evaluation, in dataset order.
///
/// ```
/// use eval_engine::Suite;
/// use serde_json::json;
///
/// let suite: Suite = Suite::from_values("math", vec![
///     json!({"inputs": {"input": "2+2"}, "reference_outputs": {"answer": 4}}),
///     json!({"inputs": {"input": "3*3"}, "reference_outputs": {"answer": 9}, "tags": "hard"}),
/// ]).unwrap();
/// assert_eq!(suite.len(), 2);
/// assert_eq!(suite.tasks()[1].id(), "task-0001");
/// assert_eq!(suite.with_tag("hard").count(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct Suite<I = Value, R = Value> {
    name: String,
    source: String,
    tasks: Vec<Arc<Task<I, R>>>,
}

impl<I, R> Suite<I, R>
where
    I: DeserializeOwned + 'static,
    R: DeserializeOwned + 'static,
{
    /// Loads a suite from a JSONL file; the suite is named after the file stem.
    ///
    /// Each line is an object with `inputs` (an object), and optionally `task_id`,
    /// `reference_outputs` (an object or null), `tags` (a string or a list of strings) and
    /// `metadata` (an object). Missing ids become `task-0000`, `task-0001`, … in dataset order.
    pub fn from_jsonl(path: impl AsRef<Path>) -> Result<Self, DatasetError> {
        let path = path.as_ref();
        let tasks = dataset::read_jsonl(path)?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "dataset".to_owned());
        Ok(Suite {
            name,
            source: path.display().to_string(),
            tasks: shared(tasks),
        })
    }

    /// Builds a suite from inline JSON values of the same shape as JSONL lines.
    pub fn from_values(name: impl Into<String>, values: Vec<Value>) -> Result<Self, DatasetError> {
        let tasks = dataset::from_values(values)?;
        Ok(Suite {
            name: name.into(),
            source: "inline".to_owned(),
            tasks: shared(tasks),
        })
    }
}

impl<I, R> Suite<I, R> {
    /// Builds a suite from tasks made with [`Task::new`]; duplicate ids are rejected.
    pub fn from_tasks(name: impl Into<String>, tasks: Vec<Task<I, R>>) -> Result<Self, DatasetError> {
        let tasks: Vec<Task<I, R>> = tasks
            .into_iter()
            .enumerate()
            .map(|(index, mut task)| {
                task.origin = TaskOrigin::Inline { index };
                task
            })
            .collect();
        dataset::check_unique_ids(&tasks)?;
        Ok(Suite {
            name: name.into(),
            source: "inline".to_owned(),
            tasks: shared(tasks),
        })
    }

    /// The suite's name, as it appears in the run JSON and in test names.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Renames the suite.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Where the tasks came from: a path, or `inline`.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The tasks, in dataset order.
    pub fn tasks(&self) -> &[Arc<Task<I, R>>] {
        &self.tasks
    }

    /// The tasks, given away: a run that owns them lets each go once it is done with it.
    pub(crate) fn into_tasks(self) -> Vec<Arc<Task<I, R>>> {
        self.tasks
    }

    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether the suite has no task.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Looks a task up by id.
    pub fn get(&self, id: &str) -> Option<&Arc<Task<I, R>>> {
        self.tasks.iter().find(|t| t.id == id)
    }

    /// The tasks carrying `tag`.
    pub fn with_tag<'a>(&'a self, tag: &'a str) -> impl Iterator<Item = &'a Arc<Task<I, R>>> + 'a {
        self.tasks.iter().filter(move |t| t.has_tag(tag))
    }

    /// A suite of the same name and source holding only the tasks `keep` accepts (tasks are
    /// shared, not copied). This is how a caller runs a selection of a suite.
    pub fn filtered(&self, mut keep: impl FnMut(&Task<I, R>) -> bool) -> Self {
        Suite {
            name: self.name.clone(),
            source: self.source.clone(),
            tasks: self.tasks.iter().filter(|t| keep(t)).cloned().collect(),
        }
    }
}

impl<I: Serialize, R: Serialize> Task<I, R> {
    /// Builds a task in code (for inline suites).
    ///
    /// ```
    /// use eval_engine::{Suite, Task};
    /// use serde_json::json;
    ///
    /// let task = Task::new("t1", json!({"input": "hi"}), json!({"answer": "hello"})).with_tags(["smoke"]);
    /// let suite = Suite::from_tasks("inline", vec![task]).unwrap();
    /// assert!(suite.tasks()[0].has_tag("smoke"));
    /// ```
    pub fn new(id: impl Into<String>, inputs: I, reference_outputs: R) -> Self {
        let content_hash = ContentHash::of(
            &serde_json::to_value(&inputs).unwrap_or(Value::Null),
            &serde_json::to_value(&reference_outputs).unwrap_or(Value::Null),
        );
        Task {
            id: id.into(),
            inputs,
            reference_outputs,
            tags: Vec::new(),
            metadata: Map::new(),
            content_hash,
            origin: TaskOrigin::Inline { index: 0 },
        }
    }
}

impl<I, R> Task<I, R> {
    /// Adds tags.
    pub fn with_tags<T: Into<String>>(mut self, tags: impl IntoIterator<Item = T>) -> Self {
        self.tags.extend(tags.into_iter().map(Into::into));
        self
    }

    /// Sets the metadata.
    pub fn with_metadata(mut self, metadata: Map<String, Value>) -> Self {
        self.metadata = metadata;
        self
    }
}

/// The tasks, each behind its own `Arc`, in a list of their own: collecting in place would
/// keep the tasks' whole allocation alive under the much smaller list of pointers.
fn shared<I, R>(tasks: Vec<Task<I, R>>) -> Vec<Arc<Task<I, R>>> {
    let mut shared = Vec::with_capacity(tasks.len());
    shared.extend(tasks.into_iter().map(Arc::new));
    shared
}
