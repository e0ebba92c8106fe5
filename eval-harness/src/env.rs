//! Every environment variable the harness reads, resolved in one place.
//!
//! | variable | effect |
//! |---|---|
//! | `CI` (or `TF_BUILD`) | nothing is written next to the sources; the outcome table alone decides |
//! | `EVAL_STORE_DIR` | where run JSON files go (default: `evals/` under cargo's `CARGO_TARGET_TMPDIR`) |
//! | `EVAL_REGRESSION_ALPHA` | significance of the repeats regression test (default 0.05) |
//! | `EVAL_REPEATS` | attempts per task for this run, overriding every suite's `repeats` (record a stronger baseline); `3..=10` for adaptive repeats |
//! | `EVAL_REGRESSION_FLOOR` | with repeats, a pass rate below this is a regression (default: none) |
//! | `NEXTEST` | set by cargo-nextest: one process per test, no baseline writes |
//! | `NEXTEST_RUN_ID` | set by cargo-nextest: the processes of one run share each task's result (one agent run per task) under `<store>/<suite>/nextest-<id>/` |
//! | `EVAL_CASSETTES` | `auto` \| `strict` \| `record` \| `off`: how `ctx.replay` uses recordings (default `auto`, `strict` in CI) |
//! | `EVAL_RESUME` | `<run_id>` \| `last`: resume that interrupted run from its journal, running only the tasks it did not finish; `last` is the newest journal written after the suite's latest complete run started |
//! | `EVAL_REGRADE` (or its older name `EVAL_REPLAY`) | `<run_id>` \| `last`: run no agent; re-grade the outputs and traces stored in that run with today's scorers; `last` is the latest completed run of every task that is not itself a regrade |
//! | `EVAL_TAGS` | `units,!slow`: run only the tasks tagged `units` and not `slow` |
//! | `EVAL_TRACES` | `<file or directory>`: run no agent; grade the OTLP JSON traces there, one per task (its `eval.task_id` attribute) |
//! | `EVAL_TRACES_MAPPING` | `<file>`: with `EVAL_TRACES`, a JSON object naming the task of each trace id |
//! | `EVAL_VARIANTS` | `cheap,strong`: of the suites with variants, run only these variants |
//! | `EVAL_GRACE_SECONDS` | on Ctrl-C (or SIGTERM), how long running tasks get to finish (default 10) |
//! | `EVAL_SHARD` | `k/n`: run only the k-th of n stable shares of every suite's tasks (by a hash of suite and task id); `cargo eval merge` joins the shards' runs |
//! | `EVAL_JUNIT` | write a JUnit XML report of the decided outcomes to this path (not under nextest, which writes its own) |
//! | `EVAL_HTML_REPORT` | `1`: write each run's HTML report beside its run file (`<run id>.html`; not under nextest) |
//! | `EVAL_OTLP_ENDPOINT` (else `OTEL_EXPORTER_OTLP_ENDPOINT`) | `http://host:4318`: export the eval's spans over OTLP/HTTP to `<endpoint>/v1/traces` (feature `otlp`) |
//! | `GITHUB_STEP_SUMMARY` | set by GitHub Actions: a Markdown summary is appended to that file (not under nextest) |

use crate::selection::{Shard, TagFilter};

/// Re-grade a stored run instead of running agents.
const REGRADE: &str = "EVAL_REGRADE";
/// The older name of [`REGRADE`], still read.
const REGRADE_ALIAS: &str = "EVAL_REPLAY";
use eval_engine::CassetteMode;
use eval_engine::gate::RegressionPolicy;
use std::path::PathBuf;
use std::time::Duration;

/// A stored run named on the command line: `last` or a run id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RunRef {
    /// The run `last` means for the use (see the `last` module).
    Last,
    /// The run of this id.
    Run(String),
}

impl RunRef {
    /// Reads the variable `name`: `last`, a run id, or unset.
    fn from_var(name: &str, value: Option<String>) -> Result<Option<RunRef>, String> {
        match value {
            None => Ok(None),
            Some(last) if last == "last" => Ok(Some(RunRef::Last)),
            Some(run_id) => {
                eval_engine::file_name::check_file_name("run id", &run_id).map_err(|e| format!("{name}: {e}"))?;
                Ok(Some(RunRef::Run(run_id)))
            }
        }
    }

    /// How the user wrote it, as `NAME=value`.
    pub fn describe(&self, name: &str) -> String {
        match self {
            RunRef::Last => format!("{name}=last"),
            RunRef::Run(run_id) => format!("{name}={run_id}"),
        }
    }
}

/// The harness's view of its environment.
#[derive(Debug, Clone)]
pub(crate) struct HarnessEnv {
    pub ci: bool,
    pub nextest: bool,
    /// The nextest run this process is one test of: its tasks' results are shared with the
    /// run's other processes.
    pub nextest_run_id: Option<String>,
    pub store_dir: Option<PathBuf>,
    pub policy: RegressionPolicy,
    /// How the suites' cassettes are used.
    pub cassettes: CassetteMode,
    pub resume: Option<RunRef>,
    /// The stored run to re-grade instead of running agents.
    pub regrade: Option<RunRef>,
    /// The variable that named it: `EVAL_REGRADE`, or its older name `EVAL_REPLAY`.
    regrade_variable: &'static str,
    /// How long running tasks get to finish after an interrupt.
    pub grace: Duration,
    /// Which tasks run, by their tags (`EVAL_TAGS`).
    pub tags: Option<TagFilter>,
    /// Traces recorded elsewhere to grade instead of running agents (`EVAL_TRACES`).
    pub traces: Option<PathBuf>,
    /// The task of each trace id, instead of the spans' attribute (`EVAL_TRACES_MAPPING`).
    pub traces_mapping: Option<PathBuf>,
    /// Which variants of the suites with variants run (`EVAL_VARIANTS`); all when `None`.
    pub variants: Option<Vec<String>>,
    /// Attempts per task for this run, whatever the suites say (`EVAL_REPEATS`): the fewest
    /// and the most (the same unless adaptive, `EVAL_REPEATS=3..=10`).
    pub repeats: Option<(u32, u32)>,
    /// The share of the tasks this machine runs (`EVAL_SHARD`).
    pub shard: Option<Shard>,
    /// Where the JUnit report goes (`EVAL_JUNIT`).
    pub junit: Option<PathBuf>,
    /// The GitHub Actions step summary to append to (`GITHUB_STEP_SUMMARY`).
    pub step_summary: Option<PathBuf>,
    /// Write each run's HTML report beside its run file (`EVAL_HTML_REPORT`).
    pub html_report: bool,
    /// Where the eval's spans go over OTLP (`EVAL_OTLP_ENDPOINT`, else
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`).
    pub otlp_endpoint: Option<String>,
}

/// `EVAL_REPEATS`: a number of attempts, or `a..=b` for adaptive repeats.
fn repeats_range(value: &str) -> Result<(u32, u32), String> {
    let attempts = |text: &str| text.trim().parse::<u32>().ok().filter(|k| (1..=100_000).contains(k));
    let range = match value.split_once("..=") {
        Some((fewest, most)) => attempts(fewest).zip(attempts(most)).filter(|(a, b)| a <= b),
        None => attempts(value).map(|k| (k, k)),
    };
    range.ok_or_else(|| {
        format!("EVAL_REPEATS={value} is not a number of attempts from 1 to 100000, nor a range of them such as 3..=10")
    })
}

impl HarnessEnv {
    /// Reads the process's environment.
    pub fn from_env() -> Result<Self, String> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `lookup` (an empty value counts as unset).
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let var = |name: &str| lookup(name).filter(|v| !v.is_empty());
        let flag = |name: &str| var(name).is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false"));
        let number = |name: &str| -> Result<Option<f64>, String> {
            var(name)
                .map(|v| {
                    v.parse::<f64>()
                        .ok()
                        .filter(|n| (0.0..=1.0).contains(n))
                        .ok_or_else(|| format!("{name}={v} is not a number between 0 and 1"))
                })
                .transpose()
        };
        let mut policy = RegressionPolicy::default();
        if let Some(alpha) = number("EVAL_REGRESSION_ALPHA")? {
            policy.alpha = alpha;
        }
        policy.floor = number("EVAL_REGRESSION_FLOOR")?;
        let ci = flag("CI") || flag("TF_BUILD");
        // An unknown mode stops the run before any agent starts: guessing could spend tokens.
        let cassettes = CassetteMode::resolve(var(eval_engine::cassette::CASSETTES_VAR).as_deref(), ci)
            .map_err(|e| e.to_string())?;
        let resume = RunRef::from_var("EVAL_RESUME", var("EVAL_RESUME"))?;
        let regrade_variable = match (var(REGRADE), var(REGRADE_ALIAS)) {
            (Some(new), Some(old)) if new != old => {
                return Err(format!(
                    "{REGRADE}={new} and {REGRADE_ALIAS}={old} disagree: set only {REGRADE} (the other is its older name)"
                ));
            }
            (None, Some(_)) => REGRADE_ALIAS,
            _ => REGRADE,
        };
        let regrade = RunRef::from_var(regrade_variable, var(regrade_variable))?;
        if resume.is_some() && regrade.is_some() {
            return Err(format!(
                "EVAL_RESUME and {regrade_variable} cannot be used together: a regrade runs no agent, so there is nothing to resume"
            ));
        }
        let grace = match var("EVAL_GRACE_SECONDS") {
            None => Duration::from_secs(10),
            Some(v) => v
                .parse::<f64>()
                .ok()
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
                .ok_or_else(|| format!("EVAL_GRACE_SECONDS={v} is not a number of seconds"))?,
        };
        let tags = var("EVAL_TAGS").map(|text| TagFilter::parse(&text)).transpose()?;
        let repeats = var("EVAL_REPEATS").map(|v| repeats_range(&v)).transpose()?;
        let variants = var("EVAL_VARIANTS").map(|v| variant_names(&v)).transpose()?;
        let traces = var("EVAL_TRACES").filter(|v| !v.is_empty()).map(PathBuf::from);
        let traces_mapping = var("EVAL_TRACES_MAPPING").filter(|v| !v.is_empty()).map(PathBuf::from);
        if traces_mapping.is_some() && traces.is_none() {
            return Err("EVAL_TRACES_MAPPING is set without EVAL_TRACES: name the traces to grade".to_owned());
        }
        if traces.is_some() && (regrade.is_some() || resume.is_some()) {
            return Err(format!(
                "EVAL_TRACES grades traces recorded elsewhere: it cannot go with {}",
                if regrade.is_some() {
                    regrade_variable
                } else {
                    "EVAL_RESUME"
                }
            ));
        }
        let shard = var("EVAL_SHARD").map(|v| Shard::parse(&v)).transpose()?;
        let nextest = flag("NEXTEST");
        if nextest && traces.is_some() {
            return Err(
                "EVAL_TRACES is not supported under cargo-nextest: grading traces runs no agent and takes moments, so \
                 run it with `cargo test`"
                    .to_owned(),
            );
        }
        if nextest && regrade.is_some() {
            // Each of nextest's processes would re-grade and save a run of its own.
            return Err(format!(
                "{regrade_variable} is not supported under cargo-nextest: a regrade runs no agent and takes moments, so run it with `cargo test`"
            ));
        }
        let nextest_run_id = match var("NEXTEST_RUN_ID").filter(|_| nextest) {
            None => None,
            Some(id) => {
                eval_engine::file_name::check_file_name("nextest run id", &id)
                    .map_err(|e| format!("NEXTEST_RUN_ID: {e}"))?;
                Some(id)
            }
        };
        Ok(HarnessEnv {
            ci,
            nextest,
            nextest_run_id,
            store_dir: var("EVAL_STORE_DIR").map(PathBuf::from),
            policy,
            cassettes,
            resume,
            regrade,
            regrade_variable,
            grace,
            tags,
            traces,
            traces_mapping,
            variants,
            repeats,
            shard,
            junit: var("EVAL_JUNIT").filter(|v| !v.is_empty()).map(PathBuf::from),
            step_summary: var("GITHUB_STEP_SUMMARY").filter(|v| !v.is_empty()).map(PathBuf::from),
            html_report: flag("EVAL_HTML_REPORT"),
            otlp_endpoint: var("EVAL_OTLP_ENDPOINT").or_else(|| var("OTEL_EXPORTER_OTLP_ENDPOINT")),
        })
    }

    /// Whether the runs open their spans for an exporter (an OTLP endpoint is set and the
    /// `otlp` feature can export to it).
    pub fn exports_spans(&self) -> bool {
        cfg!(feature = "otlp") && self.otlp_endpoint.is_some()
    }

    /// Whether `EVAL_VARIANTS` lets variant `name` run.
    pub fn runs_variant(&self, name: &str) -> bool {
        self.variants
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| n == name))
    }

    /// The variable that asked for a regrade, for messages.
    pub fn regrade_variable(&self) -> &'static str {
        self.regrade_variable
    }

    /// Whether scorecards may be written next to the sources.
    pub fn writes_baselines(&self) -> bool {
        !self.ci && !self.nextest
    }
}

/// `EVAL_VARIANTS=cheap,strong`: names separated by commas, none empty.
fn variant_names(text: &str) -> Result<Vec<String>, String> {
    let names: Vec<String> = text.split(',').map(|name| name.trim().to_owned()).collect();
    if names.iter().any(String::is_empty) {
        return Err(format!(
            "EVAL_VARIANTS={text} names an empty variant: list variant names separated by commas, such as EVAL_VARIANTS=cheap,strong"
        ));
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Result<HarnessEnv, String> {
        HarnessEnv::from_vars(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned()))
    }

    #[test]
    fn a_regrade_is_asked_for_under_its_name_or_its_older_one() {
        let new = env(&[("EVAL_REGRADE", "last")]).unwrap();
        assert_eq!(
            (new.regrade.clone(), new.regrade_variable()),
            (Some(RunRef::Last), "EVAL_REGRADE")
        );
        let old = env(&[("EVAL_REPLAY", "01ABC")]).unwrap();
        assert_eq!(
            (old.regrade.clone(), old.regrade_variable()),
            (Some(RunRef::Run("01ABC".to_owned())), "EVAL_REPLAY")
        );
        let same = env(&[("EVAL_REGRADE", "last"), ("EVAL_REPLAY", "last")]).unwrap();
        assert_eq!(same.regrade, Some(RunRef::Last));
        let both = env(&[("EVAL_REGRADE", "last"), ("EVAL_REPLAY", "01ABC")]).unwrap_err();
        assert!(both.contains("disagree: set only EVAL_REGRADE"), "{both}");
        assert_eq!(env(&[]).unwrap().regrade, None);
    }

    #[test]
    fn a_regrade_cannot_be_resumed_and_names_the_variable_used() {
        let message = env(&[("EVAL_REPLAY", "last"), ("EVAL_RESUME", "last")]).unwrap_err();
        assert!(
            message.starts_with("EVAL_RESUME and EVAL_REPLAY cannot be used together"),
            "{message}"
        );
    }

    #[test]
    fn bad_numbers_are_errors_naming_the_variable() {
        let message = env(&[("EVAL_REPEATS", "0")]).unwrap_err();
        assert!(message.starts_with("EVAL_REPEATS=0 is not"), "{message}");
        let message = env(&[("EVAL_REGRESSION_ALPHA", "2")]).unwrap_err();
        assert!(message.starts_with("EVAL_REGRESSION_ALPHA=2 is not"), "{message}");
        assert!(env(&[("CI", "true")]).unwrap().ci);
        assert!(env(&[("CI", "false")]).unwrap().writes_baselines());
        assert!(!env(&[("NEXTEST", "1")]).unwrap().writes_baselines());
    }

    #[test]
    fn eval_repeats_takes_a_number_or_an_adaptive_range() {
        assert_eq!(env(&[("EVAL_REPEATS", "20")]).unwrap().repeats, Some((20, 20)));
        assert_eq!(env(&[("EVAL_REPEATS", "3..=10")]).unwrap().repeats, Some((3, 10)));
        for bad in ["10..=3", "0..=3", "3..10", "3..=", "many"] {
            let message = env(&[("EVAL_REPEATS", bad)]).unwrap_err();
            assert!(
                message.starts_with(&format!("EVAL_REPEATS={bad} is not a number of attempts")),
                "{message}"
            );
        }
    }
}
