//! What the unit tests of the harness share: a crate directory with a dataset (and a
//! baseline), and a suite defined in it.

use crate::env::HarnessEnv;
use crate::execution::{Launcher, StartedRun};
use crate::inputs::RunInputs;
use crate::output::IgnoredReasons;
use crate::plan::SuitePlan;
use crate::running::SuiteRun;
use crate::runtimes::Runtimes;
use crate::selection::Selector;
use crate::suite_def::{SuiteBuilder, SuiteDef, SuiteSite, TaskSource, suite};
use crate::trials::{TrialContext, pair_trial};
use eval_engine::scorecard::Scorecard;
use eval_engine::{Ctx, RunResult, ScoreInput, ScorerSpec, Task, scorer_fn};
use libtest_mimic::Arguments;
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use tokio::sync::watch;

pub(crate) const DATASET: &str = "tests/data/weather.jsonl";

/// A crate directory with `tests/data/weather.jsonl` holding `dataset` and, when given, a
/// baseline `tests/snapshots/evals__weather.snap` with these scorecard lines.
pub(crate) fn crate_dir(dataset: &str, baseline: Option<&str>) -> tempfile::TempDir {
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
                content_hash: eval_engine::task::ContentHash::from_stored(hash),
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

/// Suite `weather` of test target `evals`, defined in the crate at `dir`, with one scorer,
/// `city`, which fails task `rome` and passes every other.
pub(crate) fn weather(dir: &Path, source: TaskSource<Value, Value>) -> SuiteDef {
    weather_with(dir, source, |suite| suite)
}

/// [`weather`], its builder given to `more` before it is built (another scorer, an option).
pub(crate) fn weather_with(
    dir: &Path,
    source: TaskSource<Value, Value>,
    more: impl FnOnce(SuiteBuilder<Value, Value, WeatherAgent>) -> SuiteBuilder<Value, Value, WeatherAgent>,
) -> SuiteDef {
    let site = SuiteSite {
        name: "weather",
        module_path: "evals",
        file: "tests/evals.rs",
        manifest_dir: Box::leak(dir.to_string_lossy().into_owned().into_boxed_str()),
    };
    let city = scorer_fn(ScorerSpec::new("city"), |input: &ScoreInput<'_, Value, Value, i32>| {
        input.task.id() != "rome"
    });
    more(suite(site, source, weather_agent as WeatherAgent).scorer(city)).build()
}

/// The agent of suite `weather`: answers 0.
pub(crate) type WeatherAgent = fn(Arc<Task>, Ctx) -> std::future::Ready<Result<i32, String>>;

fn weather_agent(_: Arc<Task>, _: Ctx) -> std::future::Ready<Result<i32, String>> {
    std::future::ready(Ok(0))
}

/// Suite `weather` (its dataset in the crate at `dir`) run as the harness runs it, without a
/// subprocess: planned with a command line, started, its pair trials run by libtest-mimic
/// (their lines go to a log file), the run waited for.
pub(crate) struct Ran {
    pub env: HarnessEnv,
    pub suite: SuiteRun,
    pub started: StartedRun,
    pub run: RunResult,
    /// What libtest-mimic printed.
    pub log: String,
}

impl Ran {
    /// Runs with the command line `args` and the environment `vars`, the store in `store`.
    pub fn start(dir: &Path, store: &Path, args: &[&str], vars: &[(&str, &str)]) -> Ran {
        Ran::start_with(dir, store, args, vars, |suite| suite)
    }

    /// [`Ran::start`], the suite's builder given to `more` first (as [`weather_with`]).
    pub fn start_with(
        dir: &Path,
        store: &Path,
        args: &[&str],
        vars: &[(&str, &str)],
        more: impl FnOnce(SuiteBuilder<Value, Value, WeatherAgent>) -> SuiteBuilder<Value, Value, WeatherAgent>,
    ) -> Ran {
        let args = Arguments::from_iter(args.iter().copied());
        let selector = Selector::new(&args, None, None);
        let store = store.display().to_string();
        let env = HarnessEnv::from_vars(|name| match name {
            "EVAL_STORE_DIR" => Some(store.clone()),
            _ => vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned()),
        })
        .unwrap();
        let prepared = SuitePlan::prepare(weather_with(dir, TaskSource::Jsonl(DATASET), more), &selector)
            .unwrap_or_else(|(_, e)| panic!("{e}"));
        let suite = Arc::new(SuiteRun::new(Arc::new(prepared.plan)));
        let runtimes = Runtimes::start(2).unwrap();
        let (_stop, stop_requested) = watch::channel(false);
        let launcher = Launcher {
            runtimes: &runtimes,
            selector: &selector,
            env: &env,
            target_tmpdir: None,
            stop_requested: &stop_requested,
        };
        let mut started = launcher.start(&suite, prepared.run, RunInputs::fresh());
        let context = Arc::new(TrialContext {
            policy: env.policy,
            ignored: Arc::new(IgnoredReasons::default()),
        });
        let trials = (0..suite.plan.pairs.len())
            .filter(|&index| suite.plan.pairs[index].selected)
            .map(|index| pair_trial(&suite, index, &context))
            .collect();
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut lib_args = Arguments::from_iter(["evals", "--test-threads", "2"]);
        lib_args.logfile = Some(log.path().display().to_string());
        let _ = libtest_mimic::run(&lib_args, trials);
        let run = runtimes.control().block_on(&mut started.handle).unwrap().unwrap();
        let suite = Arc::try_unwrap(suite).unwrap_or_else(|_| panic!("a trial still holds the run"));
        Ran {
            env,
            suite,
            started,
            run,
            log: std::fs::read_to_string(log.path()).unwrap(),
        }
    }
}
