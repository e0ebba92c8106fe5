//! A suite's plan for this run, made before anything runs and never changed after: its tasks
//! and scorers loaded, every (task, scorer) pair named and selected or not, its baseline read,
//! its options resolved. What a run needs on top of it is in [`crate::inputs`]; what it
//! produces, in [`crate::running`].

use crate::baseline::BaselineFile;
use crate::env::HarnessEnv;
use crate::names::ident_segment;
use crate::selection::{Selector, TrialPath};
use crate::suite_def::{RunSelection, SuiteConfig, SuiteDef, SuiteOutline, SuiteSite, TaskOutline};
use eval_engine::calibration::Assessment;
use eval_engine::gate::{RegressionPolicy, SettleAgainst};
use eval_engine::result::Selection;
use eval_engine::scorecard::Scorecard;
use eval_engine::variant::Variant;
use eval_engine::{CassetteMode, Cassettes, RunOptions, ScorerSpec, Store};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One (task, scorer) pair of a loaded suite.
pub(crate) struct Pair {
    /// The task's position in the suite.
    pub(crate) task: usize,
    pub(crate) task_id: Arc<str>,
    pub(crate) key: Arc<str>,
    /// The scorer's position in the suite.
    pub(crate) scorer: usize,
    pub(crate) advisory: bool,
    /// Whether the command line selects this pair.
    pub(crate) selected: bool,
}

/// The suite-level gate of one key, `<suite>::gate::<key>`: its pass rate across the suite,
/// against the baseline and against an absolute minimum.
pub(crate) struct Gate {
    pub(crate) key: String,
    pub(crate) name: String,
    pub(crate) min_pass_rate: Option<f64>,
    /// Whether the command line selects this gate.
    pub(crate) selected: bool,
}

/// The name segment of the suite-level gates, which no task may take.
const GATES: &str = "gate";

/// A suite after loading, before running.
pub(crate) struct SuitePlan {
    pub(crate) site: SuiteSite,
    pub(crate) config: SuiteConfig,
    /// The first segments of the suite's test names: the suite's path, and for a variant
    /// `<suite path>::<variant>`.
    pub(crate) path: String,
    /// The suite's name in the run JSON (its path with `.` for `::`); a variant's runs carry
    /// their suite's name.
    suite_name: String,
    /// The variant of the suite this plan runs, if the suite has variants.
    pub(crate) variant: Option<Variant>,
    /// The tasks and scorers as loaded.
    pub(crate) outline: SuiteOutline,
    pub(crate) baseline_file: BaselineFile,
    /// The baseline's path as messages show it, computed once.
    pub(crate) baseline_display: PathBuf,
    pub(crate) baseline: Option<Scorecard>,
    /// Why the committed baseline could not be read: reported as a failing test, and every
    /// pair is judged as if there were no baseline. A corrupt baseline never crashes the run.
    pub(crate) baseline_error: Option<String>,
    /// The pairs of the baseline whose task or scorer is no longer in the suite, in scorecard
    /// order: no test reports them, the summary does.
    pub(crate) vanished: Vec<(String, String)>,
    pub(crate) scorers: Vec<ScorerSpec>,
    /// The scorers' keys, in order, shared by every pair of a key.
    pub(crate) keys: Vec<Arc<str>>,
    /// The tasks' ids by position in the suite, shared by every pair of a task.
    pub(crate) task_ids: Vec<Arc<str>>,
    /// The tasks' and the scorers' segments of the test names, by position in the suite: a
    /// pair's name is made when asked for, not kept for every pair.
    task_segments: Vec<String>,
    scorer_segments: Vec<String>,
    /// The judges that must agree with people to gate, each with how it fared (one that falls
    /// short is advisory in `scorers`).
    pub(crate) agreements: Vec<(String, Assessment)>,
    pub(crate) pairs: Vec<Pair>,
    pub(crate) gates: Vec<Gate>,
    /// The tasks a selected gate judges (positions in the suite): every task `EVAL_TAGS`
    /// leaves in.
    pub(crate) gate_tasks: Vec<usize>,
    /// The tasks that run (positions in the suite, in suite order).
    pub(crate) selected_tasks: Vec<usize>,
    pub(crate) complete: bool,
}

/// A suite's plan, and how to run it.
pub(crate) struct Prepared {
    pub(crate) plan: SuitePlan,
    pub(crate) run: RunSelection,
}

impl SuitePlan {
    /// Loads a suite and works out its pairs and selection. `Err((suite path, message))` when
    /// the suite cannot be loaded.
    pub(crate) fn prepare(def: SuiteDef, selector: &Selector) -> Result<Prepared, (String, String)> {
        let SuiteDef {
            site,
            config,
            suite,
            variant,
        } = def;
        let suite_name = site.path().replace("::", ".");
        // A variant's tests are `<suite>::<variant>::…`, with its own baseline, runs and gates.
        let path = match &variant {
            Some(variant) => format!("{}::{}", site.path(), ident_segment(variant.name())),
            None => site.path(),
        };
        let fail = |message: String| (path.clone(), message);
        let loaded = suite
            .load(&suite_name, Path::new(site.manifest_dir))
            .map_err(|e| fail(format!("suite `{path}` cannot be loaded: {e}")))?;
        let outline = loaded.outline;
        if outline.tasks.is_empty() {
            // A suite without tasks has no tests: the run would pass having checked nothing.
            return Err(fail(no_tasks(
                &path,
                &site,
                outline.dataset.as_deref(),
                variant.as_ref(),
            )));
        }

        if let Some(problem) = outline.scorer_problems.first() {
            // Before any agent runs: every verdict of that scorer would be ungradeable.
            return Err(fail(format!("suite `{path}`: {problem}")));
        }
        if let Some(label) = config.label {
            // Before anything runs: a run whose label cannot be saved would be lost at the end.
            eval_engine::file_name::check_file_name("label", label)
                .map_err(|e| fail(format!("suite `{path}`: {e}")))?;
        }
        let baseline_file = BaselineFile::of(&site, variant.as_ref().map(Variant::name));
        let baseline_display = baseline_file.display_path();
        let (baseline, baseline_error) = match baseline_file.read() {
            Ok(card) => (card, None),
            Err(message) => (None, Some(message)),
        };
        let mut scorers = outline.scorers.clone();
        // A judge that does not agree with people enough is advisory: decided before anything
        // runs, on the verdicts people reviewed, so that every pair's test knows at once.
        let mut agreements = Vec::new();
        for (spec, requirement) in scorers.iter_mut().zip(&outline.agreements) {
            let Some(requirement) = requirement else { continue };
            let assessment = requirement
                .assess(
                    &spec.key,
                    Path::new(site.manifest_dir),
                    baseline.as_ref(),
                    spec.threshold.as_ref(),
                )
                .map_err(|e| fail(format!("suite `{path}`: judge `{}`: {e}", spec.key)))?;
            if matches!(assessment, Assessment::Falls(_)) {
                spec.advisory = true;
            }
            agreements.push((spec.key.clone(), assessment));
        }
        let task_segments = unique_segments(
            "task",
            outline
                .tasks
                .iter()
                .map(|task| (task.id.as_str(), ident_segment(&task.id))),
        )
        .map_err(|e| fail(format!("suite `{path}`: {e}")))?;
        if let Some(task) = outline.tasks.iter().zip(&task_segments).find(|(_, s)| *s == GATES) {
            return Err(fail(format!(
                "suite `{path}`: task `{}` would be named `{path}::{GATES}::…`, the names of the suite's gate tests; \
                 rename it",
                task.0.id
            )));
        }
        // A scorer's segment is its anchor's when the macro gave one, so the IDE finds the trial
        // even when the key differs from the function's name.
        let scorer_segments = unique_segments(
            "scorer",
            scorers.iter().zip(&outline.scorer_segments).map(|(spec, segment)| {
                let segment = segment.map_or_else(|| ident_segment(&spec.key), str::to_owned);
                (spec.key.as_str(), segment)
            }),
        )
        .map_err(|e| fail(format!("suite `{path}`: {e}")))?;

        let keys: Vec<Arc<str>> = scorers.iter().map(|spec| Arc::from(spec.key.as_str())).collect();
        let mut pairs = Vec::with_capacity(task_segments.len() * scorer_segments.len());
        let mut task_ids = Vec::with_capacity(outline.tasks.len());
        let mut name = String::new();
        for (task, (outline_task, task_segment)) in outline.tasks.iter().zip(&task_segments).enumerate() {
            let task_id: Arc<str> = Arc::from(outline_task.id.as_str());
            task_ids.push(task_id.clone());
            let tagged = selector.selects_task(&path, &outline_task.id, &outline_task.tags);
            for (scorer, ((spec, key), scorer_segment)) in scorers.iter().zip(&keys).zip(&scorer_segments).enumerate() {
                name.clear();
                write_pair_name(&mut name, &path, task_segment, scorer_segment);
                let task_path = &name[..name.len() - scorer_segment.len() - 2];
                let selected = tagged
                    && selector.selects(&TrialPath {
                        name: &name,
                        suite: &path,
                        task: Some(task_path),
                    });
                pairs.push(Pair {
                    task,
                    task_id: task_id.clone(),
                    key: key.clone(),
                    scorer,
                    advisory: spec.advisory,
                    selected,
                });
            }
        }
        let mut gates = Vec::new();
        for (spec, segment) in scorers.iter().zip(&scorer_segments).filter(|(spec, _)| !spec.advisory) {
            let name = format!("{path}::{GATES}::{segment}");
            let selected = selector.selects(&TrialPath {
                name: &name,
                suite: &path,
                task: None,
            });
            let min_pass_rate = config
                .min_pass_rates
                .iter()
                .find(|(key, _)| *key == spec.key)
                .map(|(_, r)| *r);
            gates.push(Gate {
                key: spec.key.clone(),
                name,
                min_pass_rate,
                selected,
            });
        }
        for (key, _) in &config.min_pass_rates {
            if !gates.iter().any(|gate| gate.key == *key) {
                let keys: Vec<&str> = gates.iter().map(|gate| gate.key.as_str()).collect();
                return Err(fail(format!(
                    "suite `{path}`: `min_pass_rate` names `{key}`, which is not a key of its gating scorers ({})",
                    keys.join(", ")
                )));
            }
        }
        let gate_tasks: Vec<usize> = match gates.iter().any(|gate| gate.selected) {
            true => (0..outline.tasks.len())
                .filter(|&task| selector.selects_task(&path, &outline.tasks[task].id, &outline.tasks[task].tags))
                .collect(),
            false => Vec::new(),
        };
        if gate_tasks.is_empty() {
            // Nothing for a gate to judge (`EVAL_TAGS` left no task): no gate test.
            gates.iter_mut().for_each(|gate| gate.selected = false);
        }
        let selected_tasks = selected_tasks(&pairs, &gate_tasks);
        let selected_pairs = pairs.iter().filter(|pair| pair.selected).count();
        let vanished = baseline
            .as_ref()
            .map(|card| vanished_pairs(card, &outline.tasks, &scorers))
            .unwrap_or_default();
        let plan = SuitePlan {
            complete: selected_pairs == pairs.len(),
            site,
            config,
            path,
            suite_name,
            variant,
            outline,
            baseline_file,
            baseline_display,
            baseline,
            baseline_error,
            vanished,
            scorers,
            keys,
            task_ids,
            task_segments,
            scorer_segments,
            agreements,
            pairs,
            gates,
            gate_tasks,
            selected_tasks,
        };
        Ok(Prepared { plan, run: loaded.run })
    }

    /// The name of `pair`'s test, `<suite>::<task>::<scorer>`.
    pub(crate) fn pair_name(&self, pair: &Pair) -> String {
        let mut name = String::new();
        write_pair_name(
            &mut name,
            &self.path,
            &self.task_segments[pair.task],
            &self.scorer_segments[pair.scorer],
        );
        name
    }

    /// The id of the task at `position` in the suite.
    pub(crate) fn task_id(&self, position: usize) -> &str {
        &self.outline.tasks[position].id
    }

    /// The suite's name in the run JSON (its path with `.` for `::`), the same for each of its
    /// variants.
    pub(crate) fn suite_name(&self) -> String {
        self.suite_name.clone()
    }

    /// The directory of the store holding this suite's runs and journals (for a variant, its
    /// own).
    pub(crate) fn runs_dir(&self) -> String {
        eval_engine::store::runs_dir_name(&self.suite_name, self.variant.as_ref().map(Variant::name))
    }

    /// The store this suite's runs and journals go to.
    pub(crate) fn store(&self, env: &HarnessEnv, target_tmpdir: Option<&str>) -> Store {
        Store::new(self.store_root(env, target_tmpdir))
    }

    /// The pairs the command line selects.
    pub(crate) fn selected_pairs(&self) -> impl Iterator<Item = &Pair> {
        self.pairs.iter().filter(|pair| pair.selected)
    }

    /// How many of the suite's tests the command line leaves out.
    pub(crate) fn unselected_tests(&self) -> usize {
        self.pairs.len() + self.gates.len() - self.selected_pairs().count() - self.selected_gates().count()
    }

    /// The suite-level gates the command line selects.
    pub(crate) fn selected_gates(&self) -> impl Iterator<Item = &Gate> {
        self.gates.iter().filter(|gate| gate.selected)
    }

    /// The engine's options for this suite's run.
    pub(crate) fn run_options(&self, selector: &Selector, env: &HarnessEnv) -> RunOptions {
        let config = &self.config;
        let mut options = RunOptions::default()
            .target(format!("{}::{}", self.site.crate_name(), self.path))
            .selection(Selection {
                filter: selector.describe(),
                complete: self.complete,
            })
            .budgets(config.budgets)
            .spans(env.exports_spans());
        if let Some(n) = config.concurrency {
            options = options.concurrency(n);
        }
        match (self.settle(env.policy), config.repeats) {
            (Some(settle), _) => {
                let range = settle.repeats.min..=settle.repeats.max;
                options = options.adaptive_repeats(range, Arc::new(settle));
            }
            (None, Some(k)) => options = options.repeats(k),
            (None, None) => {}
        }
        if let Some(limit) = config.timeout {
            options = options.timeout(limit);
        }
        if let Some(limit) = config.scorer_timeout {
            options = options.scorer_timeout(limit);
        }
        if let Some(model) = config.model {
            options = options.model(model);
        }
        if let Some(label) = config.label {
            // Checked when the suite was prepared.
            options = options.clone().label(label).unwrap_or(options);
        }
        if let Some(variant) = &self.variant {
            options = options.variant(variant.clone());
        }
        options.cassettes(self.cassettes(env.cassettes))
    }

    /// With adaptive repeats, what decides that a task needs no more attempts: every gating
    /// pair settled against the baseline.
    pub(crate) fn settle(&self, policy: RegressionPolicy) -> Option<SettleAgainst> {
        Some(SettleAgainst {
            repeats: self.config.adaptive()?,
            baseline: self.baseline.clone().unwrap_or_default(),
            keys: self
                .scorers
                .iter()
                .filter(|spec| !spec.advisory)
                .map(|spec| spec.key.clone())
                .collect(),
            policy,
        })
    }

    /// The suite's cassettes: `tests/cassettes/<suite path, :: as __>/` under its crate, committed
    /// with the sources so that CI replays what a developer recorded.
    fn cassettes(&self, mode: CassetteMode) -> Cassettes {
        let dir = Path::new(self.site.manifest_dir)
            .join("tests")
            .join("cassettes")
            .join(self.path.replace("::", "__"));
        Cassettes::new(dir, mode)
    }

    /// Where this suite's run JSON goes: `EVAL_STORE_DIR`, else the suite's `store` option,
    /// else `evals/` under cargo's `CARGO_TARGET_TMPDIR`.
    pub(crate) fn store_root(&self, env: &HarnessEnv, target_tmpdir: Option<&str>) -> PathBuf {
        match (&env.store_dir, self.config.store, target_tmpdir) {
            (Some(dir), _, _) => dir.clone(),
            (None, Some(dir), _) => Path::new(self.site.manifest_dir).join(dir),
            (None, None, Some(tmp)) => Path::new(tmp).join("evals"),
            (None, None, None) => Path::new(self.site.manifest_dir).join("target").join("evals"),
        }
    }
}

/// The tasks that run, in suite order: those of the selected pairs, and every task a gate
/// judges (a gate needs them all, their pairs selected or not).
fn selected_tasks(pairs: &[Pair], gate_tasks: &[usize]) -> Vec<usize> {
    let mut tasks: Vec<usize> = Vec::new();
    let mut judged = gate_tasks.iter().peekable();
    for pair in pairs {
        let judged_by_gate = judged.next_if_eq(&&pair.task).is_some();
        if (pair.selected || judged_by_gate) && tasks.last() != Some(&pair.task) {
            tasks.push(pair.task);
        }
    }
    tasks
}

/// Writes `<suite>::<task>::<scorer>` to `name`.
fn write_pair_name(name: &mut String, path: &str, task_segment: &str, scorer_segment: &str) {
    name.reserve(path.len() + task_segment.len() + scorer_segment.len() + 4);
    for part in [path, "::", task_segment, "::", scorer_segment] {
        name.push_str(part);
    }
}

/// The segments of ids or keys, rejecting an id given twice and two ids that become the same
/// segment.
fn unique_segments<'a>(what: &str, items: impl Iterator<Item = (&'a str, String)>) -> Result<Vec<String>, String> {
    let (ids, segments): (Vec<&str>, Vec<String>) = items.unzip();
    let mut seen: HashMap<&str, &str> = HashMap::with_capacity(segments.len());
    for (&id, segment) in ids.iter().zip(&segments) {
        if let Some(first) = seen.insert(segment, id) {
            return Err(if first == id {
                format!("{what} `{id}` is listed twice")
            } else {
                format!(
                    "{what}s `{first}` and `{id}` both become the test name segment `{segment}`; rename one of them"
                )
            });
        }
    }
    Ok(segments)
}

/// Why a suite without tasks cannot run, naming where its tasks were to come from and how many
/// pairs its baseline still holds (a dataset emptied by mistake would otherwise pass).
fn no_tasks(path: &str, site: &SuiteSite, dataset: Option<&Path>, variant: Option<&Variant>) -> String {
    let source = match dataset {
        Some(file) => format!(
            "dataset file {} holds no task (it is empty or has only blank lines); write one task per line, \
             such as {{\"task_id\": \"paris\", \"inputs\": {{\"input\": \"What's the weather in Paris?\"}}}}",
            file.display()
        ),
        None => format!(
            "its `tasks` function (in {}) returned no task; return at least one",
            site.source_file().display()
        ),
    };
    let baseline_file = BaselineFile::of(site, variant.map(Variant::name));
    let baseline = match baseline_file.read() {
        Ok(Some(card)) if !card.entries.is_empty() => format!(
            " (its baseline {} still holds {} pair(s))",
            baseline_file.display_path().display(),
            card.entries.len()
        ),
        _ => String::new(),
    };
    format!("suite `{path}` has no tasks: {source}; a suite without tasks would pass having tested nothing{baseline}")
}

/// The pairs of `baseline` whose task is not among `tasks` or whose key is not among `scorers`,
/// in scorecard order.
fn vanished_pairs(baseline: &Scorecard, tasks: &[TaskOutline], scorers: &[ScorerSpec]) -> Vec<(String, String)> {
    let tasks: HashSet<&str> = tasks.iter().map(|task| task.id.as_str()).collect();
    let keys: HashSet<&str> = scorers.iter().map(|spec| spec.key.as_str()).collect();
    baseline
        .entries
        .keys()
        .filter(|(task, key)| !tasks.contains(task.as_str()) || !keys.contains(key.as_str()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite_def::TaskSource;
    use crate::test_support::{DATASET, crate_dir, weather, weather_with};
    use eval_engine::Suite;
    use libtest_mimic::Arguments;

    fn prepare(def: SuiteDef) -> Result<SuitePlan, (String, String)> {
        SuitePlan::prepare(def, &Selector::new(&Arguments::from_iter(["evals"]), None, None))
            .map(|prepared| prepared.plan)
    }

    #[test]
    fn every_pair_is_named_after_its_suite_task_and_scorer() {
        let tasks = "{\"task_id\": \"paris\", \"inputs\": {}}\n{\"task_id\": \"new york\", \"inputs\": {}}\n";
        let dir = crate_dir(tasks, None);
        let temperature = eval_engine::scorer::scorer_fn(
            eval_engine::ScorerSpec::new("temperature"),
            |_: &eval_engine::ScoreInput<'_, serde_json::Value, serde_json::Value, i32>| true,
        );
        let def = weather_with(dir.path(), TaskSource::Jsonl(DATASET), |suite| {
            suite.scorer(temperature)
        });
        let plan = prepare(def).unwrap();
        let names: Vec<String> = plan.pairs.iter().map(|pair| plan.pair_name(pair)).collect();
        let york = ident_segment("new york");
        assert_eq!(
            names,
            [
                "weather::paris::city".to_owned(),
                "weather::paris::temperature".to_owned(),
                format!("weather::{york}::city"),
                format!("weather::{york}::temperature"),
            ]
        );
    }

    #[test]
    fn a_dataset_without_tasks_is_a_load_error_naming_the_file() {
        for dataset in ["", "\n", " \n\t\r\n\n"] {
            let dir = crate_dir(dataset, None);
            let Err((suite, message)) = prepare(weather(dir.path(), TaskSource::Jsonl(DATASET))) else {
                panic!("{dataset:?} loads");
            };
            assert_eq!(suite, "weather");
            let file = dir.path().join(DATASET);
            assert!(
                message.starts_with(&format!(
                    "suite `weather` has no tasks: dataset file {} holds no task",
                    file.display()
                )),
                "{message}"
            );
            assert!(message.contains("write one task per line"), "{message}");
            assert!(!message.contains("baseline"), "{message}");
        }
    }

    #[test]
    fn a_suite_without_tasks_says_how_many_pairs_its_baseline_holds() {
        let baseline = "paris 0123456789abcdef city pass\nrome 0123456789abcdef city fail\n";
        let dir = crate_dir("", Some(baseline));
        let Err((_, message)) = prepare(weather(dir.path(), TaskSource::Jsonl(DATASET))) else {
            panic!("an empty dataset loads");
        };
        assert!(
            message.ends_with("evals__weather.snap still holds 2 pair(s))"),
            "{message}"
        );
    }

    #[test]
    fn a_tasks_function_returning_none_is_a_load_error_naming_the_source_file() {
        let dir = crate_dir("", None);
        let none = TaskSource::Inline(|| Suite::from_values("inline", Vec::new()));
        let Err((_, message)) = prepare(weather(dir.path(), none)) else {
            panic!("a suite without tasks loads");
        };
        let source = dir.path().join("tests/evals.rs");
        assert!(
            message.starts_with(&format!(
                "suite `weather` has no tasks: its `tasks` function (in {}) returned no task",
                source.display()
            )),
            "{message}"
        );
    }

    /// A judge model that is not configured.
    struct Unconfigured;

    impl eval_engine::judge::ChatModel for Unconfigured {
        fn name(&self) -> &str {
            ""
        }
        fn complete<'a>(&'a self, _: &'a eval_engine::judge::ChatRequest) -> eval_engine::judge::ChatFuture<'a> {
            unreachable!("never asked: the suite is refused first")
        }
        fn check(&self) -> Result<(), String> {
            Err("set EVAL_JUDGE_MODEL".to_owned())
        }
    }

    #[test]
    fn a_judge_without_a_model_is_refused_before_anything_runs() {
        let dataset = r#"{"task_id": "paris", "inputs": {"input": "weather in Paris"}}"#;
        let dir = crate_dir(dataset, None);
        let helpful = eval_engine::judge::judge("helpful", Unconfigured, "The answer helps.");
        let def = weather_with(dir.path(), TaskSource::Jsonl(DATASET), |suite| suite.scorer(helpful));
        let Err((suite, message)) = prepare(def) else {
            panic!("a suite whose judge has no model is planned");
        };
        assert_eq!(suite, "weather");
        assert_eq!(
            message,
            "suite `weather`: judge `helpful` has no model to ask: set EVAL_JUDGE_MODEL"
        );
    }

    /// A judge model that is configured, never asked in these tests.
    struct Configured;

    impl eval_engine::judge::ChatModel for Configured {
        fn name(&self) -> &str {
            "configured-1"
        }
        fn complete<'a>(&'a self, _: &'a eval_engine::judge::ChatRequest) -> eval_engine::judge::ChatFuture<'a> {
            unreachable!("planning asks no model")
        }
    }

    /// Plans suite `weather` with a judge `helpful` that needs κ ≥ 0.6 with `labels`.
    fn plan_with_labels(labels: &str, baseline: &str) -> Result<SuitePlan, (String, String)> {
        let dataset = r#"{"task_id": "paris", "inputs": {"input": "weather in Paris"}}
{"task_id": "rome", "inputs": {"input": "weather in Rome"}}
"#;
        let dir = crate_dir(dataset, Some(baseline));
        std::fs::write(dir.path().join("tests/helpful.jsonl"), labels).unwrap();
        let helpful = eval_engine::judge::judge("helpful", Configured, "The answer helps.")
            .require_agreement("tests/helpful.jsonl", 0.6);
        let plan = prepare(weather_with(dir.path(), TaskSource::Jsonl(DATASET), |suite| {
            suite.scorer(helpful)
        }));
        drop(dir);
        plan
    }

    #[test]
    fn a_judge_that_disagrees_with_people_is_advisory_and_one_that_agrees_gates() {
        let baseline = "paris 0123456789abcdef city pass\n\
                        paris 0123456789abcdef helpful pass\n\
                        rome 0123456789abcdef city fail\n\
                        rome 0123456789abcdef helpful fail\n";
        let agree = "{\"task_id\": \"paris\", \"key\": \"helpful\", \"label\": \"pass\"}\n\
                     {\"task_id\": \"rome\", \"key\": \"helpful\", \"label\": \"fail\"}\n";
        let plan = plan_with_labels(agree, baseline).unwrap_or_else(|(_, e)| panic!("{e}"));
        assert!(
            matches!(plan.agreements[0].1, Assessment::Meets { compared: 2, .. }),
            "{:?}",
            plan.agreements
        );
        assert!(plan.pairs.iter().filter(|p| &*p.key == "helpful").all(|p| !p.advisory));
        assert!(plan.gates.iter().any(|g| g.key == "helpful"));

        let disagree = agree
            .replace("\"fail\"", "\"pass\"")
            .replacen("\"pass\"", "\"fail\"", 1);
        let plan = plan_with_labels(&disagree, baseline).unwrap_or_else(|(_, e)| panic!("{e}"));
        let Assessment::Falls(why) = &plan.agreements[0].1 else {
            panic!("{:?}", plan.agreements)
        };
        assert!(why.contains("below the 0.6 required"), "{why}");
        assert!(plan.pairs.iter().filter(|p| &*p.key == "helpful").all(|p| p.advisory));
        assert!(
            plan.gates.iter().all(|g| g.key != "helpful"),
            "an advisory judge has no gate"
        );
    }

    #[test]
    fn a_malformed_labels_file_fails_the_suite_naming_file_and_line() {
        let labels = "{\"task_id\": \"paris\", \"key\": \"helpful\", \"label\": \"pass\"}\n{oops\n";
        let Err((_, message)) = plan_with_labels(labels, "paris 0123456789abcdef city pass\n") else {
            panic!("a malformed labels file is accepted");
        };
        assert!(message.starts_with("suite `weather`: judge `helpful`: "), "{message}");
        assert!(message.contains("tests/helpful.jsonl:2: not valid JSON"), "{message}");
    }

    #[test]
    fn pairs_whose_task_or_scorer_left_the_suite_are_vanished() {
        let baseline = "lyon 0123456789abcdef city pass\n\
                        paris 0123456789abcdef city pass\n\
                        paris 0123456789abcdef judge fail\n\
                        rome 0123456789abcdef city fail\n";
        let dataset = r#"{"task_id": "paris", "inputs": {"input": "weather in Paris"}}
{"task_id": "rome", "inputs": {"input": "weather in Rome"}}
"#;
        let dir = crate_dir(dataset, Some(baseline));
        let plan = prepare(weather(dir.path(), TaskSource::Jsonl(DATASET))).unwrap_or_else(|(_, e)| panic!("{e}"));
        let vanished: Vec<(&str, &str)> = plan.vanished.iter().map(|(t, k)| (t.as_str(), k.as_str())).collect();
        assert_eq!(vanished, [("lyon", "city"), ("paris", "judge")]);
        assert_eq!(plan.pairs.len(), 2);
    }
}
