//! `cargo eval compare`: the leaderboard of two or more runs, as aligned tables or JSON.

use crate::locate;
use crate::render::print_out;
use eval_engine::DiffMode;
use eval_engine::compare::compare;
use std::path::PathBuf;
use std::process::ExitCode;

/// The arguments of `cargo eval compare`.
#[derive(Debug, clap::Args)]
pub(crate) struct CompareArgs {
    /// The runs: run JSON files, run ids, suite names (its run saved last), directories or
    /// `last`, as `show` takes them. Two or more.
    #[arg(required = true, num_args = 1..)]
    runs: Vec<PathBuf>,
    /// Compare only the tasks and scorers every run shares, listing what was left out,
    /// instead of refusing runs that did not grade the same eval.
    #[arg(long)]
    lenient: bool,
    /// Print the leaderboard as JSON.
    #[arg(long)]
    json: bool,
    /// The store that run ids, suite names and `last` are looked up in (default:
    /// `EVAL_STORE_DIR`, else `<target dir>/tmp/evals`).
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
}

/// Runs `cargo eval compare`: 0 when the board is printed, 2 when it cannot be.
/// Bad input: a run that cannot be read, runs that cannot be compared (as `calibrate` says it).
const EXIT_BAD_INPUT: u8 = 2;

pub(crate) fn run(args: CompareArgs) -> ExitCode {
    let mut runs = Vec::with_capacity(args.runs.len());
    for arg in &args.runs {
        match locate::run_to_show(arg, args.store.as_deref()) {
            Ok(shown) => {
                if let Some(chosen) = &shown.chosen {
                    eprintln!("{chosen}");
                }
                runs.push(shown.run);
            }
            Err(why) => {
                eprintln!("error: {why}");
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        }
    }
    let mode = if args.lenient {
        DiffMode::Lenient
    } else {
        DiffMode::Strict
    };
    let board = match compare(&runs, mode) {
        Ok(board) => board,
        Err(why) => {
            eprintln!("error: cannot compare these runs: {why}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    if args.json {
        match serde_json::to_string_pretty(&board) {
            Ok(json) => print_out(&json),
            Err(why) => {
                eprintln!("error: cannot write the leaderboard as JSON: {why}");
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        }
    } else {
        print_out(&board.render());
    }
    ExitCode::SUCCESS
}
