//! `cargo eval runs | latest | failing | trend | pair | flaky | prompts | sql | label | import`: questions
//! across the runs of a store, answered from its history index (see `eval_engine::history`).
//!
//! Every command prints a table for people, or JSON with `--json`; notes (files skipped, an
//! index rebuilt) go to stderr. Exit codes follow grep: 0 when something matched, 1 when
//! nothing did (no run, no failing case, no row), 2 for bad input (an unknown suite, run or
//! key, which the message lists the known ones of; a write in `sql`; a store that is not there).

#[path = "history_table.rs"]
mod table;

use crate::locate;
use clap::{Args, Subcommand};
use eval_engine::history::{History, HistoryError, RunFilter, RunState};
use serde::Serialize;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

const EXIT_NOTHING: u8 = 1;
const EXIT_BAD_INPUT: u8 = 2;

/// Where to look and how to answer: shared by every history command.
#[derive(Debug, Args)]
pub(crate) struct Common {
    /// The store (default: `EVAL_STORE_DIR`, else `<target dir>/tmp/evals`).
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Which runs: shared by `runs` and `latest`.
#[derive(Debug, Args)]
pub(crate) struct Which {
    /// Only runs with this label.
    #[arg(long)]
    label: Option<String>,
    /// Only runs whose tasks used this model.
    #[arg(long)]
    model: Option<String>,
    /// Only runs of this variant.
    #[arg(long)]
    variant: Option<String>,
}

/// The history commands, flattened into `cargo eval`'s own.
#[derive(Debug, Subcommand)]
pub(crate) enum HistoryCommand {
    /// List the runs of the store, newest first.
    Runs {
        /// Only runs of this suite.
        #[arg(long)]
        suite: Option<String>,
        #[command(flatten)]
        which: Which,
        /// Only runs in this state: running, completed, interrupted or failed.
        #[arg(long, value_parser = parse_state)]
        status: Option<RunState>,
        /// Only runs started at or after: an RFC 3339 time, a date (`2026-11-22`, UTC), or an
        /// age (`30m`, `12h`, `7d`, `2w`).
        #[arg(long, value_parser = parse_time)]
        since: Option<SystemTime>,
        /// Only runs started before (same forms as `--since`).
        #[arg(long, value_parser = parse_time)]
        until: Option<SystemTime>,
        #[command(flatten)]
        common: Common,
    },
    /// Summarise the latest completed run of a suite: cases, passes, fails, pass rate and mean
    /// per key, latency, tokens.
    Latest {
        suite: String,
        #[command(flatten)]
        which: Which,
        #[command(flatten)]
        common: Common,
    },
    /// List the failing cases of a run (or of `last`, the latest completed run in the store).
    Failing {
        /// A run id, or `last`.
        run: String,
        /// Also count a score below this as failing (a pass/fail score is 1 or 0).
        #[arg(long)]
        threshold: Option<f64>,
        #[command(flatten)]
        common: Common,
    },
    /// Show how each key's pass rate (or mean) moved over the last completed runs of a suite.
    Trend {
        suite: String,
        /// Only this key (default: every key).
        #[arg(long)]
        key: Option<String>,
        /// How many runs, the newest.
        #[arg(long, default_value_t = 20)]
        last: usize,
        #[command(flatten)]
        common: Common,
    },
    /// Show one (task, key) pair's verdict in every completed run of a suite.
    Pair {
        suite: String,
        task: String,
        key: String,
        #[command(flatten)]
        common: Common,
    },
    /// List the (task, key) pairs of a suite whose verdict changed most often between runs.
    Flaky {
        suite: String,
        /// At most this many pairs.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[command(flatten)]
        common: Common,
    },
    /// List the versions of the prompts a suite's agents named (`ctx.prompt(name, text)`),
    /// numbered by first appearance, with each version's pass rate and mean per key.
    Prompts {
        suite: String,
        /// Only this prompt (default: every prompt).
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Run one read-only SQL statement on the history index (tables suites, runs,
    /// run_models, cases, scores, files).
    Sql {
        query: String,
        #[command(flatten)]
        common: Common,
    },
    /// Set the label of a run (its run file is rewritten atomically).
    Label {
        run: String,
        label: String,
        #[command(flatten)]
        common: Common,
    },
    /// Copy run files written elsewhere (CI artifacts, an AG2 store) into the store and index
    /// them. Directories are searched for `*.json` files.
    Import {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        common: Common,
    },
    /// Write every run as tables other engines read (DuckDB, Spark, pandas): runs, scores
    /// (one row per run × task attempt × key) and prompts, partitioned by suite
    /// (`<out>/<table>/suite=<suite>/`). Replaces an earlier export in `--out`, nothing else.
    /// Needs a cargo-eval built with the `export` feature.
    Export {
        /// `parquet`, `jsonl` or `csv`.
        #[arg(long, default_value = "parquet")]
        format: String,
        /// The directory to write (new, empty, or an earlier export).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        #[command(flatten)]
        common: Common,
    },
}

impl HistoryCommand {
    fn common(&self) -> &Common {
        match self {
            HistoryCommand::Runs { common, .. }
            | HistoryCommand::Latest { common, .. }
            | HistoryCommand::Failing { common, .. }
            | HistoryCommand::Trend { common, .. }
            | HistoryCommand::Pair { common, .. }
            | HistoryCommand::Flaky { common, .. }
            | HistoryCommand::Prompts { common, .. }
            | HistoryCommand::Sql { common, .. }
            | HistoryCommand::Label { common, .. }
            | HistoryCommand::Import { common, .. }
            | HistoryCommand::Export { common, .. } => common,
        }
    }
}

/// What a command found: printed, and whether anything matched.
struct Answer {
    text: String,
    json: Value,
    matched: bool,
}

impl Answer {
    fn new(text: String, json: impl Serialize, matched: bool) -> Answer {
        Answer {
            text,
            json: serde_json::to_value(json).unwrap_or(Value::Null),
            matched,
        }
    }
}

/// Runs a history command and gives its exit code.
pub(crate) fn run(command: HistoryCommand) -> ExitCode {
    let common = command.common();
    let json = common.json;
    let store = match locate::store_dir(common.store.as_deref()) {
        Ok(store) => store,
        Err(why) => return bad_input(&why),
    };
    let mut history = match History::open(&store) {
        Ok(history) => history,
        Err(e) => return bad_input(&e.to_string()),
    };
    let answer = answer(&mut history, command);
    for note in history.notes() {
        eprintln!("{note}");
    }
    match answer {
        Ok(answer) => {
            if json {
                crate::render::print_out(&serde_json::to_string_pretty(&answer.json).unwrap_or_default());
            } else if !answer.text.is_empty() {
                crate::render::print_out(answer.text.trim_end());
            }
            if answer.matched {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_NOTHING)
            }
        }
        Err(why) => bad_input(&why.to_string()),
    }
}

fn bad_input(why: &str) -> ExitCode {
    eprintln!("error: {why}");
    ExitCode::from(EXIT_BAD_INPUT)
}

fn answer(history: &mut History, command: HistoryCommand) -> Result<Answer, HistoryError> {
    match command {
        HistoryCommand::Runs {
            suite,
            which,
            status,
            since,
            until,
            ..
        } => {
            let runs = history.runs(&RunFilter {
                suite,
                label: which.label,
                model: which.model,
                variant: which.variant,
                status,
                since,
                until,
            })?;
            let matched = !runs.is_empty();
            Ok(Answer::new(table::runs(&runs), runs, matched))
        }
        HistoryCommand::Latest { suite, which, .. } => {
            let filter = RunFilter {
                suite: Some(suite),
                label: which.label,
                model: which.model,
                variant: which.variant,
                ..RunFilter::default()
            };
            match history.latest_completed(&filter) {
                Ok(run) => {
                    let summary = history.summary(&run.run_id)?;
                    Ok(Answer::new(table::summary(&summary), summary, true))
                }
                // The suite exists, but none of its runs completed (or matched).
                Err(HistoryError::UnknownRun { run_id, known }) => {
                    eprintln!("no {run_id}; its runs: {}", shown_list(&known));
                    Ok(Answer::new(String::new(), Value::Null, false))
                }
                Err(e) => Err(e),
            }
        }
        HistoryCommand::Failing { run, threshold, .. } => {
            let run = if run == "last" {
                let latest = history.latest_completed(&RunFilter::default())?;
                eprintln!(
                    "last: run {} of suite {}, the latest completed run in the store",
                    latest.run_id, latest.suite
                );
                latest
            } else {
                history.run(&run)?
            };
            let cases = history.failing_cases(&run.run_id, threshold)?;
            let matched = !cases.is_empty();
            let text = table::failing(&run, &cases);
            Ok(Answer::new(
                text,
                json!({"run_id": run.run_id, "suite": run.suite, "cases": cases}),
                matched,
            ))
        }
        HistoryCommand::Trend { suite, key, last, .. } => {
            let keys = match key {
                Some(key) => vec![key],
                None => history.keys(&suite)?,
            };
            let mut trends = Vec::new();
            for key in keys {
                let points = history.trend(&suite, &key, last)?;
                trends.push((key, points));
            }
            let matched = trends.iter().any(|(_, points)| !points.is_empty());
            let json: serde_json::Map<String, Value> = trends
                .iter()
                .map(|(key, points)| (key.clone(), serde_json::to_value(points).unwrap_or(Value::Null)))
                .collect();
            Ok(Answer::new(
                table::trends(&suite, &trends),
                json!({"suite": suite, "keys": json}),
                matched,
            ))
        }
        HistoryCommand::Pair { suite, task, key, .. } => {
            let points = history.pair_history(&suite, &task, &key)?;
            let matched = !points.is_empty();
            let text = table::pair(&suite, &task, &key, &points);
            Ok(Answer::new(
                text,
                json!({"suite": suite, "task_id": task, "key": key, "runs": points}),
                matched,
            ))
        }
        HistoryCommand::Flaky { suite, limit, .. } => {
            let pairs = history.flaky_pairs(&suite, limit)?;
            let matched = !pairs.is_empty();
            Ok(Answer::new(table::flaky(&pairs), pairs, matched))
        }
        HistoryCommand::Prompts { suite, name, .. } => {
            let names = match name {
                Some(name) => vec![name],
                None => history.prompts(&suite)?,
            };
            let mut versions = Vec::new();
            for name in names {
                versions.extend(history.prompt_versions(&suite, &name)?);
            }
            let matched = !versions.is_empty();
            Ok(Answer::new(table::prompts(&versions), versions, matched))
        }
        HistoryCommand::Sql { query, .. } => {
            let answer = history.sql(&query)?;
            let matched = !answer.rows.is_empty();
            let rows: Vec<serde_json::Map<String, Value>> = answer
                .rows
                .iter()
                .map(|row| answer.columns.iter().cloned().zip(row.iter().cloned()).collect())
                .collect();
            Ok(Answer::new(table::sql(&answer), rows, matched))
        }
        HistoryCommand::Label { run, label, .. } => {
            let path = eval_engine::history::import::relabel(history, &run, &label)?;
            Ok(Answer::new(
                format!("run {run}: label `{label}` written to {}", path.display()),
                json!({"run_id": run, "label": label, "path": path}),
                true,
            ))
        }
        HistoryCommand::Export { format, out, .. } => export(history, &format, &out),
        HistoryCommand::Import { paths, .. } => {
            let imported = history.import(&paths)?;
            let skipped: Vec<&str> = imported
                .iter()
                .filter(|i| !i.is_in_store())
                .map(|i| i.outcome.as_str())
                .collect();
            if !skipped.is_empty() {
                // Printed now, and the command exits 2: some input was not a run.
                for why in &skipped {
                    eprintln!("warning: {why}");
                }
            }
            let all_in = skipped.is_empty() && !imported.is_empty();
            let answer = Answer::new(table::imported(&imported), &imported, true);
            if all_in {
                Ok(answer)
            } else {
                crate::render::print_out(answer.text.trim_end());
                Err(HistoryError::BadFile(if imported.is_empty() {
                    format!("no run file found in {}", shown_paths(&paths))
                } else {
                    format!("{} of {} file(s) were not imported", skipped.len(), imported.len())
                }))
            }
        }
    }
}

/// `cargo eval export`: the history written out, one line per file.
#[cfg(feature = "export")]
fn export(history: &History, format: &str, out: &Path) -> Result<Answer, HistoryError> {
    use eval_engine::history::export::ExportFormat;
    let format = ExportFormat::named(format)
        .ok_or_else(|| HistoryError::BadFile(format!("--format {format}: give parquet, jsonl or csv")))?;
    let exported = history.export(format, out)?;
    let mut text = String::new();
    for file in &exported.files {
        text.push_str(&format!("{}\n", out.join(file).display()));
    }
    let rows: Vec<String> = exported.rows.iter().map(|(table, n)| format!("{n} {table}")).collect();
    text.push_str(&format!("exported {} to {}", rows.join(", "), out.display()));
    let json = json!({
        "out": out,
        "files": exported.files,
        "rows": exported.rows.iter().map(|(t, n)| (t.to_string(), *n)).collect::<std::collections::BTreeMap<_, _>>(),
    });
    Ok(Answer::new(text, json, true))
}

#[cfg(not(feature = "export"))]
fn export(_history: &History, _format: &str, _out: &Path) -> Result<Answer, HistoryError> {
    Err(HistoryError::BadFile(
        "this cargo-eval was built without the export feature: install it with `--features export`".to_owned(),
    ))
}

fn shown_list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

fn shown_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn parse_state(text: &str) -> Result<RunState, String> {
    RunState::parse(text)
        .ok_or_else(|| format!("`{text}` is not a run state: running, completed, interrupted or failed"))
}

/// An RFC 3339 time, a date (midnight UTC), or an age before now (`30m`, `12h`, `7d`, `2w`).
fn parse_time(text: &str) -> Result<SystemTime, String> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(at) = time::OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(at.into());
    }
    if let Ok(at) = time::OffsetDateTime::parse(&format!("{text}T00:00:00Z"), &Rfc3339) {
        return Ok(at.into());
    }
    let unit = text.chars().last().unwrap_or(' ');
    let seconds = match unit {
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => 0,
    };
    let amount: Option<u64> = text[..text.len() - unit.len_utf8().min(text.len())].parse().ok();
    match amount {
        Some(n) if seconds > 0 => SystemTime::now()
            .checked_sub(Duration::from_secs(n.saturating_mul(seconds)))
            .ok_or_else(|| format!("`{text}` reaches before the clock's start")),
        _ => Err(format!(
            "`{text}` is not a time: give an RFC 3339 time (2026-11-22T08:00:00Z), a date (2026-11-22) or an age (30m, 12h, 7d, 2w)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_in_every_form_and_bad_ones_are_named() {
        assert!(parse_time("2026-11-22T08:00:00Z").is_ok());
        assert_eq!(
            parse_time("2026-11-22").unwrap(),
            parse_time("2026-11-22T00:00:00Z").unwrap()
        );
        let week = parse_time("1w").unwrap();
        let age = SystemTime::now().duration_since(week).unwrap();
        assert!(age >= Duration::from_secs(7 * 86_400));
        for bad in ["", "yesterday", "7y", "d"] {
            let error = parse_time(bad).unwrap_err();
            assert!(error.contains(&format!("`{bad}`")), "{error}");
        }
    }
}
