//! What `#[eval_suite]` generates: a description of one suite (where it is, where its tasks come
//! from, its agent, its scorers and options), with the types erased so the harness can hold
//! suites of different types in one list.

use eval_engine::dataset::DatasetError;
use eval_engine::gate::AdaptiveRepeats;
use eval_engine::regrade::OutputDecoder;
use eval_engine::result::Budgets;
use eval_engine::variant::Variant;
use eval_engine::{Agent, RunOptions, RunResult, Scorer, ScorerSpec, Scorers, Suite, Task};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// Where a suite is defined, captured in the user's crate by the macro.
#[derive(Debug, Clone, Copy)]
pub struct SuiteSite {
    /// The suite function's name.
    pub name: &'static str,
    /// `module_path!()` where the suite is defined.
    pub module_path: &'static str,
    /// `file!()` where the suite is defined.
    pub file: &'static str,
    /// `env!("CARGO_MANIFEST_DIR")` of the crate defining the suite.
    pub manifest_dir: &'static str,
}

impl SuiteSite {
    /// The suite's path relative to the test crate root: the first segment of every trial name.
    pub fn path(&self) -> String {
        crate::names::suite_path(self.module_path, self.name)
    }

    /// The test target's crate name (first segment of the module path).
    pub fn crate_name(&self) -> &'static str {
        self.module_path.split("::").next().unwrap_or(self.module_path)
    }

    /// The source file defining the suite, as an absolute path when it can be found.
    /// `file!()` is relative to the workspace root, which may be above the manifest directory.
    pub fn source_file(&self) -> PathBuf {
        let manifest = Path::new(self.manifest_dir);
        manifest
            .ancestors()
            .map(|dir| dir.join(self.file))
            .find(|candidate| candidate.is_file())
            .unwrap_or_else(|| manifest.join(self.file))
    }
}

/// Options given on `#[eval_suite(...)]`.
#[derive(Debug, Clone, Default)]
pub struct SuiteConfig {
    pub concurrency: Option<usize>,
    /// Attempts per task; with adaptive repeats, the most.
    pub repeats: Option<u32>,
    /// Adaptive repeats (`repeats = 3..=10`): the fewest attempts per task.
    pub fewest_repeats: Option<u32>,
    pub timeout: Option<Duration>,
    pub scorer_timeout: Option<Duration>,
    pub budgets: Budgets,
    pub label: Option<&'static str>,
    /// The model the suite evaluates (`model = "…"`), recorded on its runs.
    pub model: Option<&'static str>,
    pub store: Option<&'static str>,
    /// Absolute gates: the pass rate a key must keep across the suite (`min_pass_rate`).
    pub min_pass_rates: Vec<(&'static str, f64)>,
    /// The suite's variants, if it has any: the suite runs once for each.
    pub variants: Option<VariantSource>,
}

/// Where a suite's variants come from.
#[derive(Clone)]
pub enum VariantSource {
    /// Listed on `#[eval_suite(variants = [...])]`: each one, or why it cannot be one (its
    /// configuration is not JSON).
    Listed(Vec<Result<Variant, String>>),
    /// A function returning them (`variants = my_variants`).
    Function(fn() -> Vec<Variant>),
}

impl fmt::Debug for VariantSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VariantSource::Listed(list) => f.debug_tuple("Listed").field(list).finish(),
            VariantSource::Function(_) => f.write_str("Function(..)"),
        }
    }
}

impl VariantSource {
    /// The variants, or the first reason one of them cannot be.
    pub(crate) fn variants(&self) -> Result<Vec<Variant>, String> {
        match self {
            VariantSource::Listed(list) => list.iter().cloned().collect(),
            VariantSource::Function(make) => Ok(make()),
        }
    }
}

impl SuiteConfig {
    /// How many attempts each task gets (`repeats`, 1 without); with adaptive repeats, the
    /// most.
    pub fn attempts(&self) -> u32 {
        self.repeats.unwrap_or(1).max(1)
    }

    /// Adaptive repeats, if the suite has them.
    pub fn adaptive(&self) -> Option<AdaptiveRepeats> {
        self.fewest_repeats.map(|min| AdaptiveRepeats {
            min,
            max: self.attempts().max(min),
        })
    }
}

/// `secs` as a duration; the macro has checked that it is more than zero, and a number of
/// seconds too large for a `Duration` is as good as no limit.
fn duration(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
}

/// Where a suite's tasks come from.
pub enum TaskSource<I, R> {
    /// A JSONL file, relative to the crate's `CARGO_MANIFEST_DIR` (or absolute).
    Jsonl(&'static str),
    /// A function returning the tasks.
    Inline(fn() -> Result<Suite<I, R>, DatasetError>),
}

impl<I, R> Clone for TaskSource<I, R> {
    fn clone(&self) -> Self {
        match self {
            TaskSource::Jsonl(path) => TaskSource::Jsonl(path),
            TaskSource::Inline(make) => TaskSource::Inline(*make),
        }
    }
}

impl<I, R> TaskSource<I, R> {
    /// The JSONL file, resolved as [`TaskSource::load`] resolves it.
    fn file(&self, manifest_dir: &Path) -> Option<PathBuf> {
        match self {
            TaskSource::Jsonl(path) => Some(manifest_dir.join(path)),
            TaskSource::Inline(_) => None,
        }
    }

    fn load(&self, suite_name: &str, manifest_dir: &Path) -> Result<Suite<I, R>, DatasetError>
    where
        I: DeserializeOwned + 'static,
        R: DeserializeOwned + 'static,
    {
        match self {
            TaskSource::Jsonl(path) => Suite::from_jsonl(manifest_dir.join(path)),
            TaskSource::Inline(make) => make(),
        }
        .map(|suite| suite.named(suite_name))
    }
}

/// What an inline task function may return.
pub trait IntoTasks<I, R> {
    /// The tasks, as a suite.
    fn into_tasks(self) -> Result<Suite<I, R>, DatasetError>;
}

impl<I: DeserializeOwned + 'static, R: DeserializeOwned + 'static> IntoTasks<I, R> for Vec<Value> {
    fn into_tasks(self) -> Result<Suite<I, R>, DatasetError> {
        Suite::from_values("inline", self)
    }
}

impl<I, R> IntoTasks<I, R> for Vec<Task<I, R>> {
    fn into_tasks(self) -> Result<Suite<I, R>, DatasetError> {
        Suite::from_tasks("inline", self)
    }
}

impl<I, R> IntoTasks<I, R> for Suite<I, R> {
    fn into_tasks(self) -> Result<Suite<I, R>, DatasetError> {
        Ok(self)
    }
}

/// What the harness knows of a suite once its tasks are loaded, before anything runs.
#[derive(Debug, Clone)]
pub struct SuiteOutline {
    /// The tasks, in dataset order.
    pub tasks: Vec<TaskOutline>,
    /// The JSONL file the tasks were read from; `None` for a `tasks = …` function.
    pub dataset: Option<PathBuf>,
    /// The scorers, in declaration order.
    pub scorers: Vec<ScorerSpec>,
    /// For each scorer, the test-name segment its IDE anchor has, when the macro knows it.
    pub scorer_segments: Vec<Option<&'static str>>,
    /// What keeps a scorer from grading at all (a judge without a model), one message each.
    pub scorer_problems: Vec<String>,
    /// For each scorer, the agreement with people it needs to gate, if any.
    pub agreements: Vec<Option<eval_engine::calibration::Requirement>>,
    /// The agent's output type, by name.
    pub output_type: &'static str,
    /// Whether a stored output can be read back as the output type, so the suite can be
    /// regraded.
    pub regradable: bool,
}

/// What the harness knows of one task before it runs: what names it, what it is, how it is
/// tagged.
#[derive(Debug, Clone)]
pub struct TaskOutline {
    pub id: String,
    pub content_hash: eval_engine::task::ContentHash,
    pub tags: Vec<String>,
}

/// A future of a whole run.
pub type RunFuture = Pin<Box<dyn Future<Output = RunResult> + Send>>;

/// How a suite's tasks are graded.
pub(crate) enum Execution {
    /// Their agents run.
    RunAgents,
    /// No agent runs: the outputs and traces stored in this run are graded again.
    Regrade(Box<RunResult>),
    /// No agent runs: traces recorded elsewhere (`EVAL_TRACES`) are graded, under this source.
    Traces(Vec<eval_engine::otlp::TaskTrace>, String),
}

/// Runs the tasks whose ids are in the set (all when `None`), as `Execution` says.
pub(crate) type RunSelection = Box<dyn FnOnce(Option<HashSet<String>>, RunOptions, Execution) -> RunFuture + Send>;

/// A suite whose tasks are loaded: its outline, and how to run a selection of it.
pub(crate) struct LoadedSuite {
    pub outline: SuiteOutline,
    pub run: RunSelection,
}

/// A suite with its types erased.
pub(crate) trait ErasedSuite: Send {
    /// Loads the tasks: the run-time source of truth.
    fn load(self: Box<Self>, suite_name: &str, manifest_dir: &Path) -> Result<LoadedSuite, DatasetError>;

    /// Another suite with the same tasks, agent and scorers, for another variant.
    fn duplicate(&self) -> Box<dyn ErasedSuite>;
}

/// One agent shared by the runs of a suite's variants.
struct SharedAgent<A>(Arc<A>);

impl<I, R, A: Agent<I, R>> Agent<I, R> for SharedAgent<A> {
    type Output = A::Output;
    type Error = A::Error;

    fn run(
        &self,
        task: Arc<Task<I, R>>,
        ctx: eval_engine::Ctx,
    ) -> impl Future<Output = Result<Self::Output, Self::Error>> + Send + 'static {
        self.0.run(task, ctx)
    }
}

struct TypedSuite<I, R, A: Agent<I, R>> {
    source: TaskSource<I, R>,
    agent: Arc<A>,
    scorers: Scorers<I, R, A::Output>,
    scorer_segments: Vec<Option<&'static str>>,
    decoder: Option<OutputDecoder<A::Output>>,
}

impl<I, R, A> ErasedSuite for TypedSuite<I, R, A>
where
    I: DeserializeOwned + Serialize + Send + Sync + 'static,
    R: DeserializeOwned + Serialize + Send + Sync + 'static,
    A: Agent<I, R>,
{
    fn load(self: Box<Self>, suite_name: &str, manifest_dir: &Path) -> Result<LoadedSuite, DatasetError> {
        let TypedSuite {
            source,
            agent,
            scorers,
            scorer_segments,
            decoder,
        } = *self;
        let suite = source.load(suite_name, manifest_dir)?;
        let outline = SuiteOutline {
            dataset: source.file(manifest_dir),
            tasks: suite
                .tasks()
                .iter()
                .map(|t| TaskOutline {
                    id: t.id().to_owned(),
                    content_hash: t.content_hash().clone(),
                    tags: t.tags().to_vec(),
                })
                .collect(),
            scorers: scorers.iter().map(|s| s.spec().clone()).collect(),
            scorer_segments,
            scorer_problems: scorers.iter().filter_map(|s| s.check().err()).collect(),
            agreements: scorers.iter().map(|s| s.agreement().cloned()).collect(),
            output_type: std::any::type_name::<A::Output>(),
            regradable: decoder.is_some(),
        };
        let run = move |selected: Option<HashSet<String>>, options: RunOptions, execution: Execution| -> RunFuture {
            Box::pin(async move {
                let suite = match &selected {
                    Some(ids) => suite.filtered(|t| ids.contains(t.id())),
                    None => suite,
                };
                match execution {
                    Execution::RunAgents => eval_engine::run_owned(suite, SharedAgent(agent), scorers, options).await,
                    Execution::Regrade(stored) => {
                        // The plan refuses to regrade a suite without a decoder before anything
                        // runs; even so, a regrade never falls back to running the agent.
                        let decode = decoder.unwrap_or(|_| Err("the output type is not `Deserialize`".to_owned()));
                        eval_engine::regrade(&suite, *stored, decode, scorers, options).await
                    }
                    Execution::Traces(traces, source) => {
                        // Without a decoder, only traces without an answer attribute grade.
                        let decode = decoder.unwrap_or(|_| Err("the output type is not `Deserialize`".to_owned()));
                        let stored = eval_engine::otlp::stored_run(&suite, traces, &source);
                        eval_engine::regrade(&suite, stored, decode, scorers, options).await
                    }
                }
            })
        };
        Ok(LoadedSuite {
            outline,
            run: Box::new(run),
        })
    }

    fn duplicate(&self) -> Box<dyn ErasedSuite> {
        Box::new(TypedSuite {
            source: self.source.clone(),
            agent: self.agent.clone(),
            scorers: self.scorers.clone(),
            scorer_segments: self.scorer_segments.clone(),
            decoder: self.decoder,
        })
    }
}

/// One suite, ready for the harness. Built by [`suite`] in code generated by `#[eval_suite]`.
pub struct SuiteDef {
    pub(crate) site: SuiteSite,
    pub(crate) config: SuiteConfig,
    pub(crate) suite: Box<dyn ErasedSuite>,
    /// The variant this definition runs, once the harness has given it one of the suite's.
    pub(crate) variant: Option<Variant>,
}

impl SuiteDef {
    /// Where the suite is defined.
    pub fn site(&self) -> &SuiteSite {
        &self.site
    }

    /// The same suite, to run as `variant`.
    pub(crate) fn as_variant(&self, variant: Variant) -> SuiteDef {
        SuiteDef {
            site: self.site,
            config: self.config.clone(),
            suite: self.suite.duplicate(),
            variant: Some(variant),
        }
    }
}

/// Starts the description of a suite.
pub fn suite<I, R, A>(site: SuiteSite, source: TaskSource<I, R>, agent: A) -> SuiteBuilder<I, R, A>
where
    A: Agent<I, R>,
{
    SuiteBuilder {
        site,
        config: SuiteConfig::default(),
        source,
        agent,
        scorers: Vec::new(),
        scorer_segments: Vec::new(),
        decoder: None,
    }
}

/// Collects a suite's scorers and options.
pub struct SuiteBuilder<I, R, A: Agent<I, R>> {
    site: SuiteSite,
    config: SuiteConfig,
    source: TaskSource<I, R>,
    agent: A,
    scorers: Scorers<I, R, A::Output>,
    scorer_segments: Vec<Option<&'static str>>,
    decoder: Option<OutputDecoder<A::Output>>,
}

impl<I, R, A> SuiteBuilder<I, R, A>
where
    I: DeserializeOwned + Serialize + Send + Sync + 'static,
    R: DeserializeOwned + Serialize + Send + Sync + 'static,
    A: Agent<I, R>,
{
    /// Adds a scorer. A scorer whose parameter types do not fit the suite fails to compile here.
    pub fn scorer<S: Scorer<I, R, A::Output> + 'static>(mut self, scorer: S) -> Self {
        self.scorers.push(Arc::new(scorer));
        self.scorer_segments.push(None);
        self
    }

    /// Adds a scorer whose tests are named with `segment` (the IDE anchor's name) rather than
    /// with a segment made from its key.
    pub fn scorer_named<S: Scorer<I, R, A::Output> + 'static>(mut self, segment: &'static str, scorer: S) -> Self {
        self.scorers.push(Arc::new(scorer));
        self.scorer_segments.push(Some(segment));
        self
    }

    /// How a stored output is read back as the agent's output, for a regrade (`EVAL_REGRADE`);
    /// without one the suite cannot be regraded. `#[eval_suite]` gives one when the output
    /// type implements `Deserialize`.
    pub fn output_decoder(mut self, decoder: Option<OutputDecoder<A::Output>>) -> Self {
        self.decoder = decoder;
        self
    }

    /// How many tasks run at once (`concurrency = 8`).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.config.concurrency = Some(n);
        self
    }

    /// Attempts per task (`repeats = 5`).
    pub fn repeats(mut self, k: u32) -> Self {
        self.config.repeats = Some(k);
        self.config.fewest_repeats = None;
        self
    }

    /// Adaptive repeats (`repeats = 3..=10`): `min` attempts per task, one more at a time for
    /// tasks with an undecided pair, up to `max`.
    pub fn adaptive_repeats(mut self, min: u32, max: u32) -> Self {
        self.config.repeats = Some(max);
        self.config.fewest_repeats = Some(min);
        self
    }

    /// How long the agent may take on one attempt (`timeout = "30s"`).
    pub fn timeout_secs(mut self, secs: f64) -> Self {
        self.config.timeout = Some(duration(secs));
        self
    }

    /// How long each scorer may grade a task (`scorer_timeout = "30s"`).
    pub fn scorer_timeout_secs(mut self, secs: f64) -> Self {
        self.config.scorer_timeout = Some(duration(secs));
        self
    }

    /// The most tokens a task may use (`max_tokens = 2000`).
    pub fn max_tokens(mut self, n: u64) -> Self {
        self.config.budgets.max_tokens = Some(n);
        self
    }

    /// The most seconds a task may take (`max_seconds = 30`).
    pub fn max_seconds(mut self, secs: f64) -> Self {
        self.config.budgets.max_seconds = Some(secs);
        self
    }

    /// The label of the run (`label = "nightly"`).
    pub fn label(mut self, label: &'static str) -> Self {
        self.config.label = Some(label);
        self
    }

    /// The model the suite evaluates (`model = "gpt-4o-mini"`), recorded on its runs.
    pub fn model(mut self, model: &'static str) -> Self {
        self.config.model = Some(model);
        self
    }

    /// Where the run files go (`store = "target/evals"`).
    pub fn store(mut self, dir: &'static str) -> Self {
        self.config.store = Some(dir);
        self
    }

    /// The pass rate `key` must keep across the suite: its `<suite>::gate::<key>` test fails
    /// below it.
    pub fn min_pass_rate(mut self, key: &'static str, rate: f64) -> Self {
        self.config.min_pass_rates.push((key, rate));
        self
    }

    /// Adds a variant: the suite runs once for each, and the agent reads its variant's
    /// `config` from [`Ctx::variant`](eval_engine::Ctx::variant). `#[eval_suite]` has checked
    /// the name.
    pub fn variant(mut self, name: &'static str, config: impl Serialize) -> Self {
        let variant = Variant::new(name, config).map_err(|e| e.to_string());
        match &mut self.config.variants {
            Some(VariantSource::Listed(list)) => list.push(variant),
            _ => self.config.variants = Some(VariantSource::Listed(vec![variant])),
        }
        self
    }

    /// The suite's variants come from `make` (`variants = my_variants`), called when the
    /// harness starts.
    pub fn variants_from(mut self, make: fn() -> Vec<Variant>) -> Self {
        self.config.variants = Some(VariantSource::Function(make));
        self
    }

    /// Finishes the description.
    pub fn build(self) -> SuiteDef {
        SuiteDef {
            site: self.site,
            config: self.config,
            variant: None,
            suite: Box::new(TypedSuite {
                source: self.source,
                agent: Arc::new(self.agent),
                scorers: self.scorers,
                scorer_segments: self.scorer_segments,
                decoder: self.decoder,
            }),
        }
    }
}
