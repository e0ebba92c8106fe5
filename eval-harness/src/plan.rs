//! A suite's plan for this run, made before anything runs: its tasks and scorers loaded, every
//! (task, scorer) pair named and selected or not, its baseline read, its options resolved.

use crate::baseline::BaselineFile;
use crate::board::{Board, BoardObserver};
use crate::env::HarnessEnv;
use crate::names::ident_segment;
use crate::outcome::{GateOutcome, PairOutcome};
use crate::selection::{Selector, TrialPath};
use crate::suite_def::{LoadedSuite, SuiteConfig, SuiteDef, SuiteSite, TaskOutline};
use eval_engine::__harness::{JournalContents, read_journal};
use eval_engine::result::Selection;
use eval_engine::scorecard::Scorecard;
use eval_engine::{CassetteMode, Cassettes, RunOptions, RunResult, ScorerSpec, Store, TaskRecord};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// One (task, scorer) pair of a loaded suite.
pub(crate) struct Pair {
    pub(crate) task_id: String,
    pub(crate) key: String,
    pub(crate) advisory: bool,
    pub(crate) name: String,
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
    pub(crate) path: String,
    pub(crate) baseline_file: BaselineFile,
    /// The baseline's path as messages show it, computed once and shared by the trials.
    pub(crate) baseline_display: Arc<PathBuf>,
    pub(crate) baseline: Option<Scorecard>,
    /// Why the committed baseline could not be read: reported as a failing test, and every
    /// pair is judged as if there were no baseline. A corrupt baseline never crashes the run.
    pub(crate) baseline_error: Option<String>,
    /// The pairs of the baseline whose task or scorer is no longer in the suite, in scorecard
    /// order: no test reports them, the summary does.
    pub(crate) vanished: Vec<(String, String)>,
    pub(crate) scorers: Vec<ScorerSpec>,
    pub(crate) pairs: Vec<Pair>,
    pub(crate) gates: Vec<Gate>,
    /// The tasks a selected gate judges: every task `EVAL_TAGS` leaves in.
    pub(crate) gate_tasks: Arc<[String]>,
    pub(crate) gate_outcomes: Arc<Mutex<Vec<GateOutcome>>>,
    pub(crate) selected_tasks: Vec<String>,
    pub(crate) complete: bool,
    pub(crate) run: Option<LoadedSuite>,
    pub(crate) board: Arc<Board>,
    pub(crate) outcomes: Arc<Mutex<Vec<PairOutcome>>>,
    /// The id this run is saved under: fresh, or the resumed run's.
    pub(crate) run_id: String,
    /// The journal this run is resumed from, when it is.
    pub(crate) resume: Option<ResumePoint>,
    /// The journal this run writes (set once it is open): removed when the run is saved
    /// complete.
    pub(crate) journal_path: Option<PathBuf>,
    /// Under cargo-nextest, the directory this run's processes share results in: the run is
    /// recorded there rather than saved as a run JSON.
    pub(crate) nextest_dir: Option<PathBuf>,
    /// The stored run this run re-grades instead of running agents (`EVAL_REPLAY`).
    pub(crate) replay: Option<Box<RunResult>>,
}

/// An interrupted run to carry on: its journal and the records it already holds that are
/// still valid.
pub(crate) struct ResumePoint {
    pub(crate) journal_path: PathBuf,
    pub(crate) journal: JournalContents,
    /// The journaled records reused instead of being run again, in suite order.
    pub(crate) reused: Vec<TaskRecord>,
}

impl SuitePlan {
    /// Loads a suite and works out its pairs and selection. `Err((suite path, message))` when
    /// the suite cannot be loaded.
    pub(crate) fn prepare(def: SuiteDef, selector: &Selector) -> Result<SuitePlan, (String, String)> {
        let SuiteDef { site, config, suite } = def;
        let path = site.path();
        let fail = |message: String| (path.clone(), message);
        let loaded = suite
            .load(&path.replace("::", "."), Path::new(site.manifest_dir))
            .map_err(|e| fail(format!("suite `{path}` cannot be loaded: {e}")))?;
        if loaded.outline.tasks.is_empty() {
            // A suite without tasks has no tests: the run would pass having checked nothing.
            return Err(fail(no_tasks(&path, &site, loaded.outline.dataset.as_deref())));
        }

        if let Some(label) = config.label {
            // Before anything runs: a run whose label cannot be saved would be lost at the end.
            eval_engine::file_name::check_file_name("label", label)
                .map_err(|e| fail(format!("suite `{path}`: {e}")))?;
        }
        let scorers = loaded.outline.scorers.clone();
        let task_segments = unique_segments(
            "task",
            loaded
                .outline
                .tasks
                .iter()
                .map(|task| (task.id.as_str(), ident_segment(&task.id))),
        )
        .map_err(|e| fail(format!("suite `{path}`: {e}")))?;
        // A scorer's segment is its anchor's when the macro gave one, so the IDE finds the trial
        // even when the key differs from the function's name.
        let scorer_segments = unique_segments(
            "scorer",
            scorers
                .iter()
                .zip(&loaded.outline.scorer_segments)
                .map(|(spec, segment)| {
                    let segment = segment.map_or_else(|| ident_segment(&spec.key), str::to_owned);
                    (spec.key.as_str(), segment)
                }),
        )
        .map_err(|e| fail(format!("suite `{path}`: {e}")))?;

        let mut pairs = Vec::with_capacity(task_segments.len() * scorer_segments.len());
        for (task, task_segment) in loaded.outline.tasks.iter().zip(&task_segments) {
            let task_id = &task.id;
            let tagged = selector.selects_tags(&task.tags);
            for (spec, scorer_segment) in scorers.iter().zip(&scorer_segments) {
                let name = format!("{path}::{task_segment}::{scorer_segment}");
                let task_path = &name[..name.len() - scorer_segment.len() - 2];
                let selected = tagged
                    && selector.selects(&TrialPath {
                        name: &name,
                        suite: &path,
                        task: Some(task_path),
                    });
                pairs.push(Pair {
                    task_id: task_id.clone(),
                    key: spec.key.clone(),
                    advisory: spec.advisory,
                    selected,
                    name,
                });
            }
        }
        if let Some(task) = loaded
            .outline
            .tasks
            .iter()
            .zip(&task_segments)
            .find(|(_, s)| *s == GATES)
        {
            return Err(fail(format!(
                "suite `{path}`: task `{}` would be named `{path}::{GATES}::…`, the names of the suite's gate tests; \
                 rename it",
                task.0.id
            )));
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
        let gate_tasks: Arc<[String]> = match gates.iter().any(|gate| gate.selected) {
            true => loaded
                .outline
                .tasks
                .iter()
                .filter(|task| selector.selects_tags(&task.tags))
                .map(|task| task.id.clone())
                .collect(),
            false => Arc::from(Vec::new()),
        };
        if gate_tasks.is_empty() {
            // Nothing for a gate to judge (`EVAL_TAGS` left no task): no gate test.
            gates.iter_mut().for_each(|gate| gate.selected = false);
        }
        let mut selected_tasks: Vec<String> = Vec::new();
        let mut selected_pairs = 0;
        let mut judged = gate_tasks.iter().peekable();
        for pair in &pairs {
            // A gate needs every task it judges to run, its pairs selected or not.
            let judged_by_gate = judged.peek() == Some(&&pair.task_id);
            if judged_by_gate {
                judged.next();
            }
            if pair.selected {
                selected_pairs += 1;
            }
            if (pair.selected || judged_by_gate) && selected_tasks.last() != Some(&pair.task_id) {
                selected_tasks.push(pair.task_id.clone());
            }
        }
        let baseline_file = BaselineFile::of(&site);
        let baseline_display = Arc::new(baseline_file.display_path());
        let (baseline, baseline_error) = match baseline_file.read() {
            Ok(card) => (card, None),
            Err(message) => (None, Some(message)),
        };
        let vanished = baseline
            .as_ref()
            .map(|card| vanished_pairs(card, &loaded.outline.tasks, &scorers))
            .unwrap_or_default();
        let repeats = config.attempts() as usize;
        Ok(SuitePlan {
            board: Arc::new(Board::new(selected_tasks.iter().map(String::as_str), repeats)),
            complete: selected_pairs == pairs.len(),
            site,
            config,
            path,
            baseline_file,
            baseline_display,
            baseline,
            baseline_error,
            vanished,
            scorers,
            pairs,
            gates,
            gate_tasks,
            gate_outcomes: Arc::new(Mutex::new(Vec::new())),
            selected_tasks,
            run: Some(loaded),
            outcomes: Arc::new(Mutex::new(Vec::new())),
            run_id: ulid::Ulid::new().to_string(),
            resume: None,
            journal_path: None,
            nextest_dir: None,
            replay: None,
        })
    }

    /// The suite's name in the run JSON and the store (its path with `.` for `::`).
    pub(crate) fn suite_name(&self) -> String {
        self.path.replace("::", ".")
    }

    /// Resumes from the journal at `journal_path`: takes its run id and keeps every journaled
    /// record of a selected task whose content is unchanged and whose feedback covers every
    /// current scorer (for repeats, only when all the task's attempts are journaled).
    pub(crate) fn resume_from(&mut self, journal_path: PathBuf) -> Result<(), String> {
        let journal = read_journal(&journal_path).map_err(|e| e.to_string())?;
        let hashes: HashMap<&str, _> = match &self.run {
            Some(loaded) => loaded
                .outline
                .tasks
                .iter()
                .map(|task| (task.id.as_str(), &task.content_hash))
                .collect(),
            None => HashMap::new(),
        };
        // A task journaled twice (an earlier resume ran it again) counts by its last record.
        let mut latest: HashMap<&str, &TaskRecord> = HashMap::new();
        for task in &journal.tasks {
            latest.insert(task.task_id.as_str(), task);
        }
        let repeats = self.config.attempts();
        let mut reused = Vec::new();
        for task_id in &self.selected_tasks {
            let record_ids: Vec<String> = if repeats > 1 {
                (1..=repeats).map(|n| format!("{task_id}#{n}")).collect()
            } else {
                vec![task_id.clone()]
            };
            let records: Option<Vec<&TaskRecord>> =
                record_ids.iter().map(|id| latest.get(id.as_str()).copied()).collect();
            let Some(records) = records else { continue };
            let still_valid = records.iter().all(|record| {
                hashes.get(task_id.as_str()) == Some(&&record.content_hash)
                    && self.scorers.iter().all(|spec| record.feedback_for(&spec.key).is_some())
            });
            if still_valid {
                reused.extend(records.into_iter().cloned());
            }
        }
        self.run_id = journal.header.run_id.clone();
        self.resume = Some(ResumePoint {
            journal_path,
            journal,
            reused,
        });
        Ok(())
    }

    /// Re-grades the run stored at `path` instead of running agents: refused (before anything
    /// runs) when the agent's output cannot be read back.
    pub(crate) fn replay_from(&mut self, path: &Path) -> Result<(), String> {
        let Some(loaded) = &self.run else { return Ok(()) };
        if !loaded.outline.replayable {
            return Err(format!(
                "suite `{}` cannot be replayed: its agent's output type `{}` cannot be read back from a run JSON; \
                 derive `serde::Deserialize` for it",
                self.path, loaded.outline.output_type
            ));
        }
        let stored = eval_engine::load_run(path).map_err(|e| e.to_string())?;
        self.replay = Some(Box::new(stored));
        Ok(())
    }

    /// The selected tasks that still have to run (all of them unless resumed).
    pub(crate) fn tasks_to_run(&self) -> HashSet<String> {
        let reused: HashSet<&str> = self
            .resume
            .iter()
            .flat_map(|resume| resume.reused.iter().map(TaskRecord::base_id))
            .collect();
        self.selected_tasks
            .iter()
            .filter(|id| !reused.contains(id.as_str()))
            .cloned()
            .collect()
    }

    /// The store this suite's runs and journals go to.
    pub(crate) fn store(&self, env: &HarnessEnv, target_tmpdir: Option<&str>) -> Store {
        Store::new(self.store_root(env, target_tmpdir))
    }

    /// The pairs the command line selects.
    pub(crate) fn selected_pairs(&self) -> impl Iterator<Item = &Pair> {
        self.pairs.iter().filter(|pair| pair.selected)
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
            .budgets(config.budgets);
        if let Some(n) = config.concurrency {
            options = options.concurrency(n);
        }
        if let Some(k) = config.repeats {
            options = options.repeats(k);
        }
        if let Some(limit) = config.timeout {
            options = options.timeout(limit);
        }
        if let Some(limit) = config.scorer_timeout {
            options = options.scorer_timeout(limit);
        }
        if let Some(label) = config.label {
            // Checked when the suite was prepared.
            options = options.clone().label(label).unwrap_or(options);
        }
        options
            .cassettes(self.cassettes(env.cassettes))
            .observer(Arc::new(BoardObserver(self.board.clone())))
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

/// The segments of ids or keys, rejecting an id given twice and two ids that become the same
/// segment.
fn unique_segments<'a>(what: &str, items: impl Iterator<Item = (&'a str, String)>) -> Result<Vec<String>, String> {
    let mut seen: HashMap<String, &str> = HashMap::new();
    let mut segments = Vec::new();
    for (id, segment) in items {
        if let Some(first) = seen.insert(segment.clone(), id) {
            return Err(if first == id {
                format!("{what} `{id}` is listed twice")
            } else {
                format!(
                    "{what}s `{first}` and `{id}` both become the test name segment `{segment}`; rename one of them"
                )
            });
        }
        segments.push(segment);
    }
    Ok(segments)
}

/// Why a suite without tasks cannot run, naming where its tasks were to come from and how many
/// pairs its baseline still holds (a dataset emptied by mistake would otherwise pass).
fn no_tasks(path: &str, site: &SuiteSite, dataset: Option<&Path>) -> String {
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
    let baseline_file = BaselineFile::of(site);
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
    use crate::suite_def::{TaskSource, suite};
    use eval_engine::{Ctx, ScoreInput, Suite, Task, scorer_fn};
    use libtest_mimic::Arguments;
    use serde_json::Value;

    const DATASET: &str = "tests/data/weather.jsonl";

    /// A crate directory with `tests/data/weather.jsonl` holding `dataset` and, when given, a
    /// baseline `tests/snapshots/evals__weather.snap` with these scorecard lines.
    fn crate_dir(dataset: &str, baseline: Option<&str>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("tests/data")).unwrap();
        std::fs::write(dir.path().join(DATASET), dataset).unwrap();
        if let Some(lines) = baseline {
            // A baseline as the harness writes it: insta's header naming the suite and the pair
            // count, then the rendered scorecard with its pass rates.
            let mut card = Scorecard::default();
            for line in lines.lines() {
                let [task, hash, key, verdict] = line.split(' ').collect::<Vec<_>>()[..] else {
                    panic!("{line}")
                };
                let verdict = match verdict {
                    "pass" => eval_engine::scorecard::PairVerdict::Pass,
                    _ => eval_engine::scorecard::PairVerdict::Fail,
                };
                let entry = eval_engine::scorecard::ScorecardEntry {
                    content_hash: hash.to_owned(),
                    verdict,
                };
                card.entries.insert((task.to_owned(), key.to_owned()), entry);
            }
            std::fs::create_dir_all(dir.path().join("tests/snapshots")).unwrap();
            let pairs = card.entries.len();
            let snapshot = format!(
                "---\nsource: tests/evals.rs\ndescription: \"Scorecard of eval suite `weather`, {pairs} pairs: review with `cargo insta review`.\"\n---\n{}",
                card.render()
            );
            std::fs::write(dir.path().join("tests/snapshots/evals__weather.snap"), snapshot).unwrap();
        }
        dir
    }

    /// Suite `weather` of test target `evals`, defined in the crate at `dir`, with one scorer.
    fn weather(dir: &Path, source: TaskSource<Value, Value>) -> SuiteDef {
        let site = SuiteSite {
            name: "weather",
            module_path: "evals",
            file: "tests/evals.rs",
            manifest_dir: Box::leak(dir.to_string_lossy().into_owned().into_boxed_str()),
        };
        let agent = |_: Arc<Task>, _: Ctx| async { Ok::<_, String>(0) };
        let city = scorer_fn(ScorerSpec::new("city"), |_: &ScoreInput<'_, Value, Value, i32>| true);
        suite(site, source, agent).scorer(city).build()
    }

    fn prepare(def: SuiteDef) -> Result<SuitePlan, (String, String)> {
        SuitePlan::prepare(def, &Selector::new(&Arguments::from_iter(["evals"]), None))
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
