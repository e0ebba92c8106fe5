//! `cargo eval`: read and compare stored eval runs.
//!
//! ```text
//! cargo eval show <run.json | run id | suite | directory | last> [--store DIR]
//! cargo eval diff <current.json> <baseline.json> [--lenient]
//! cargo eval compare <run> <run>... [--lenient] [--json] [--store DIR]
//! cargo eval assemble <store>/<suite>/nextest-<run id> [-o <run.json>]
//! cargo eval merge <run.json>... [-o <run.json>]
//! cargo eval report <run | last> [--baseline <run>] [-o <report.html>] [--store DIR]
//! cargo eval junit <run | last> [--baseline <run>] [-o <junit.xml>] [--store DIR]
//! cargo eval comment <run | last> [--baseline <run>] [--store DIR]
//! cargo eval gc [--store DIR] [--dry-run]
//! cargo eval label-sheet [run] --key <key> [-o <sheet.jsonl>] [--force]
//! cargo eval calibrate --labels <labels.jsonl> --key <key> [run] [--json]
//! cargo eval pairwise-sheet <a> <b> --criterion <text> -o <sheet.jsonl> [--seed N]
//! cargo eval pairwise <a> <b> --criterion <text> [--judge <key>] [--labels <sheet.jsonl>] [-o <file>] [--json]
//! cargo eval runs | latest | failing | trend | pair | flaky | prompts | sql | label | import
//! ```
//!
//! Exit codes: 0 when all is well, 1 when `diff` finds a regression, 2 when a run cannot be
//! found or read, the runs are not comparable, `gc` could not remove something, a labels file
//! is bad or names tasks the run does not have, or the arguments are wrong. `calibrate`,
//! `compare` and `pairwise` exit 0 whatever they find: they inform, they do not gate.

// Beside this file rather than in `src/bin/`, where cargo would take them for binaries.
#[path = "cargo-eval/calibrate.rs"]
mod calibrate;
#[path = "cargo-eval/compare.rs"]
mod compare;
#[path = "cargo-eval/gc.rs"]
mod gc;
#[cfg(feature = "history")]
#[path = "cargo-eval/history.rs"]
mod history;
#[path = "cargo-eval/locate.rs"]
mod locate;
#[path = "cargo-eval/pairwise.rs"]
mod pairwise;
#[path = "cargo-eval/render.rs"]
mod render;
#[path = "cargo-eval/reports.rs"]
mod reports;

use clap::{Parser, Subcommand};
use eval_engine::{DiffMode, RunResult};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A gating (task, scorer) pair flipped from pass to fail.
const EXIT_REGRESSED: u8 = 1;
/// A run could not be read, or the runs did not grade the same eval (clap also uses 2 for
/// argument errors).
const EXIT_UNUSABLE: u8 = 2;

/// Read and compare stored eval runs (the run JSON files an eval writes).
#[derive(Debug, Parser)]
#[command(name = "cargo-eval", bin_name = "cargo eval", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print a run: pass rates, score statistics, errors, tokens, what kind of run it was
    /// (resumed, regrade, partial, interrupted) and every failing pair with its comment.
    Show {
        /// A run JSON file, a run id, a suite name (its run saved last), a directory (a
        /// suite's or a store's: the run saved last in it; a nextest run's: assembled), or
        /// `last` (the run saved last in the store).
        run: PathBuf,
        /// The store that run ids, suite names and `last` are looked up in (default:
        /// `EVAL_STORE_DIR`, else `<target dir>/tmp/evals`).
        #[arg(long, value_name = "DIR")]
        store: Option<PathBuf>,
    },
    /// Compare a run with a baseline run; exits with 1 when a pair flipped from pass to fail.
    Diff {
        /// The run to judge.
        current: PathBuf,
        /// The run to judge it against.
        baseline: PathBuf,
        /// Compare only the tasks and scorers both runs share, listing what was left out,
        /// instead of refusing runs that did not grade the same eval.
        #[arg(long)]
        lenient: bool,
    },
    /// The leaderboard of two or more runs: per key each run's pass rate or mean with its 95%
    /// interval and n, the best run, a paired test of it against each other run (more than
    /// noise or not) and the tasks where the runs disagree. Exits 0 whatever it finds; 2 when a
    /// run cannot be read or the runs are not comparable.
    Compare(compare::CompareArgs),
    /// Write the run JSON of a cargo-nextest run from the results its processes shared, and
    /// print its path.
    Assemble {
        /// The nextest run's directory: `<store>/<suite>/nextest-<NEXTEST_RUN_ID>`.
        dir: PathBuf,
        /// Where to write the run JSON (default: `<run id>.json` next to the directory, where
        /// `cargo test` saves its runs).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Join the runs of one suite made in parts (the shards of `EVAL_SHARD=k/n`) into one run
    /// and print its path. The runs must be of the same suite, scorers and repeats, with no task
    /// in two of them; the result is complete when every task of the suite is in it.
    Merge {
        /// The run JSON files of the parts.
        #[arg(required = true)]
        runs: Vec<PathBuf>,
        /// Where to write the joined run (default: `<run id>.json` beside the first part).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Write a run's HTML report: one self-contained page (it works offline) with the summary,
    /// pass rates with intervals and their change against the baseline run, trend charts from
    /// the store's history, a sortable and filterable table of the pairs and each task's
    /// transcript; print its path.
    Report(reports::ReportArgs),
    /// Print (or write with `-o`) the JUnit XML of a run: a test case per pair, named as its
    /// test, each pair decided against the baseline run as the harness decides it.
    Junit(reports::JunitArgs),
    /// Print the Markdown body of a pull-request comment on a run: pass rates with their change
    /// against the baseline run, regressions and new failures with their messages, known
    /// failures and flaky pairs folded (the GitHub step summary's text).
    Comment(reports::CommentArgs),
    /// Remove what no run needs any more: abandoned journals, superseded nextest directories
    /// and temporary files of writes a killed process left, one line per path. Run files are
    /// never removed.
    Gc {
        /// The store to clean (default: `EVAL_STORE_DIR`, else `<target dir>/tmp/evals`).
        #[arg(long, value_name = "DIR")]
        store: Option<PathBuf>,
        /// List what would be removed, removing nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write the blinded label sheet of a key: one JSON line per task of the run with its
    /// inputs, outputs and reference outputs and `"label": null` for people to fill in, none of
    /// the judge's verdicts or comments, in a shuffled order that is the same every time.
    LabelSheet(calibrate::LabelSheetArgs),
    /// Compare a judge's feedback under a key with people's labels: agreement, Cohen's κ, the
    /// confusion matrix and every disagreement (for scores also weighted κ and Spearman's ρ).
    /// Exits 0 whatever the agreement; 2 for a bad labels file or tasks the run does not have.
    Calibrate(calibrate::CalibrateArgs),
    /// Write a blinded sheet for people to say which of two runs answered each task better
    /// (AG2's labelling manifest: which run is shown first is drawn per task).
    PairwiseSheet(pairwise::PairwiseSheetArgs),
    /// Compare two runs task by task with a judge model (asked in both orders; a flip is a
    /// tie) and/or people's labels: wins, losses, ties, the second run's win rate with a Wilson
    /// 95% interval, position flips, and the agreement (κ) between judge and people. Exits 0
    /// whatever it finds; 2 for bad input.
    Pairwise(pairwise::PairwiseArgs),
    #[cfg(feature = "history")]
    #[command(flatten)]
    History(history::HistoryCommand),
}

fn main() -> ExitCode {
    run(Cli::parse_from(without_cargo_subcommand(std::env::args_os())))
}

/// Cargo runs `cargo eval show x` as `cargo-eval eval show x`; drop that `eval` so the binary
/// also works when run directly.
fn without_cargo_subcommand(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut args: Vec<OsString> = args.into_iter().collect();
    if args.get(1).is_some_and(|arg| arg == "eval") {
        args.remove(1);
    }
    args
}

fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Show { run, store } => show(&run, store.as_deref()),
        Command::Diff {
            current,
            baseline,
            lenient,
        } => {
            let mode = if lenient { DiffMode::Lenient } else { DiffMode::Strict };
            diff(&current, &baseline, mode)
        }
        Command::Compare(args) => compare::run(args),
        Command::Assemble { dir, output } => assemble(&dir, output),
        Command::Merge { runs, output } => merge(&runs, output),
        Command::Report(args) => reports::report(args),
        Command::Junit(args) => reports::junit(args),
        Command::Comment(args) => reports::comment(args),
        Command::Gc { store, dry_run } => match locate::store_dir(store.as_deref()) {
            Ok(root) if gc::collect_garbage(&root, dry_run) => ExitCode::SUCCESS,
            Ok(_) => ExitCode::from(EXIT_UNUSABLE),
            Err(why) => {
                eprintln!("error: {why}");
                ExitCode::from(EXIT_UNUSABLE)
            }
        },
        Command::LabelSheet(args) => calibrate::label_sheet(args),
        Command::Calibrate(args) => calibrate::calibrate(args),
        Command::PairwiseSheet(args) => pairwise::sheet(args),
        Command::Pairwise(args) => pairwise::run(args),
        #[cfg(feature = "history")]
        Command::History(command) => history::run(command),
    }
}

fn assemble(dir: &Path, output: Option<PathBuf>) -> ExitCode {
    let run = match eval_harness::nextest::assemble(dir) {
        Ok(run) => run,
        Err(why) => {
            eprintln!("error: cannot assemble a run from {}: {why}", dir.display());
            return ExitCode::from(EXIT_UNUSABLE);
        }
    };
    let output = output.unwrap_or_else(|| {
        let parent = dir.parent().unwrap_or(Path::new("."));
        parent.join(format!("{}.json", run.meta.run_id))
    });
    match eval_engine::store::save_run(&run, &output) {
        Ok(()) => {
            render::print_out(&output.display().to_string());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(EXIT_UNUSABLE)
        }
    }
}

fn merge(paths: &[PathBuf], output: Option<PathBuf>) -> ExitCode {
    let mut runs = Vec::with_capacity(paths.len());
    for path in paths {
        match eval_engine::load_run(path) {
            Ok(run) => runs.push(run),
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::from(EXIT_UNUSABLE);
            }
        }
    }
    let merged = match eval_engine::merge::merge_runs(runs, ulid::Ulid::new().to_string()) {
        Ok(run) => run,
        Err(why) => {
            eprintln!("error: {why}");
            return ExitCode::from(EXIT_UNUSABLE);
        }
    };
    let output = output.unwrap_or_else(|| {
        let beside = paths[0].parent().unwrap_or(Path::new("."));
        beside.join(format!("{}.json", merged.meta.run_id))
    });
    match eval_engine::store::save_run(&merged, &output) {
        Ok(()) => {
            let complete = merged.meta.selection.as_ref().is_some_and(|s| s.complete);
            eprintln!(
                "merged {} run(s): {} task record(s), {}",
                paths.len(),
                merged.tasks().len(),
                if complete {
                    "every task of the suite"
                } else {
                    "part of the suite"
                }
            );
            render::print_out(&output.display().to_string());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(EXIT_UNUSABLE)
        }
    }
}

fn show(arg: &Path, store: Option<&Path>) -> ExitCode {
    match locate::run_to_show(arg, store) {
        Ok(shown) => {
            if let Some(chosen) = &shown.chosen {
                eprintln!("{chosen}");
            }
            render::print_out(&render::show(&shown.run));
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("error: {why}");
            ExitCode::from(EXIT_UNUSABLE)
        }
    }
}

fn diff(current_path: &Path, baseline_path: &Path, mode: DiffMode) -> ExitCode {
    let (current, baseline) = match (load(current_path), load(baseline_path)) {
        (Ok(current), Ok(baseline)) => (current, baseline),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    match current.diff(&baseline, mode) {
        Ok(diff) => {
            render::print_out(&render::diff(&diff, &current));
            let regressions: Vec<String> = diff
                .regressions()
                .map(|flip| format!("{} · {}", flip.task_id, flip.key))
                .collect();
            if regressions.is_empty() {
                ExitCode::SUCCESS
            } else {
                eprintln!("{} regression(s): {}", regressions.len(), regressions.join(", "));
                ExitCode::from(EXIT_REGRESSED)
            }
        }
        Err(not_comparable) => {
            eprintln!(
                "error: cannot diff {} against {}: {}",
                current_path.display(),
                baseline_path.display(),
                render::not_comparable(&not_comparable)
            );
            ExitCode::from(EXIT_UNUSABLE)
        }
    }
}

/// Loads a run, or reports why not (the store's error names the file) and gives the exit code.
fn load(path: &Path) -> Result<RunResult, ExitCode> {
    eval_engine::load_run(path).map_err(|error| {
        eprintln!("error: {error}");
        ExitCode::from(EXIT_UNUSABLE)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn cargo_subcommand_argument_is_dropped() {
        assert_eq!(
            without_cargo_subcommand(args(&["cargo-eval", "eval", "show", "r.json"])),
            args(&["cargo-eval", "show", "r.json"])
        );
        assert_eq!(
            without_cargo_subcommand(args(&["cargo-eval", "show", "eval"])),
            args(&["cargo-eval", "show", "eval"])
        );
    }

    #[test]
    fn show_and_gc_take_a_store() {
        let cli = Cli::try_parse_from(args(&["cargo-eval", "show", "last", "--store", "s"])).unwrap();
        assert!(matches!(cli.command, Command::Show { store: Some(_), .. }));
        let cli = Cli::try_parse_from(args(&["cargo-eval", "gc", "--dry-run"])).unwrap();
        assert!(matches!(
            cli.command,
            Command::Gc {
                store: None,
                dry_run: true
            }
        ));
    }

    #[test]
    fn calibrate_and_label_sheet_default_to_the_last_run() {
        let cli = Cli::try_parse_from(args(&[
            "cargo-eval",
            "calibrate",
            "--labels",
            "l.jsonl",
            "--key",
            "judge",
        ]))
        .unwrap();
        assert!(matches!(cli.command, Command::Calibrate(_)), "{cli:?}");
        assert!(format!("{cli:?}").contains("run: \"last\""), "{cli:?}");
        let cli = Cli::try_parse_from(args(&["cargo-eval", "label-sheet", "--key", "judge", "-o", "s.jsonl"])).unwrap();
        assert!(format!("{cli:?}").contains("run: \"last\""), "{cli:?}");
        assert!(Cli::try_parse_from(args(&["cargo-eval", "calibrate", "--key", "judge"])).is_err());
    }

    #[test]
    fn compare_takes_runs_and_flags() {
        let cli = Cli::try_parse_from(args(&[
            "cargo-eval",
            "compare",
            "a",
            "b",
            "last",
            "--lenient",
            "--json",
        ]))
        .unwrap();
        let parsed = format!("{cli:?}");
        assert!(matches!(cli.command, Command::Compare(_)), "{parsed}");
        assert!(
            parsed.contains("lenient: true") && parsed.contains("json: true"),
            "{parsed}"
        );
        assert!(Cli::try_parse_from(args(&["cargo-eval", "compare"])).is_err());
    }

    #[test]
    fn lenient_flag_parses() {
        let cli = Cli::try_parse_from(args(&["cargo-eval", "diff", "a.json", "b.json", "--lenient"])).unwrap();
        assert!(matches!(cli.command, Command::Diff { lenient: true, .. }));
    }
}
