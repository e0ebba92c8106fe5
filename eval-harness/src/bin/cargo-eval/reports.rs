//! `cargo eval report`, `junit` and `comment`: the HTML page, the JUnit XML and the
//! pull-request comment of a stored run, each pair decided against a baseline run by the gate's
//! rule (the same record the harness's own reports read).

use crate::locate;
use clap::Args;
use eval_engine::RunResult;
use eval_harness::run_report::{Baseline, RunReport};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A run could not be found or read, or the report could not be written.
const EXIT_UNUSABLE: u8 = 2;

/// The run reported and what it is decided against.
#[derive(Debug, Args)]
pub(crate) struct Runs {
    /// The run: a run JSON file, a run id, a suite name (its run saved last), a directory, or
    /// `last` (the run saved last in the store).
    run: PathBuf,
    /// What to decide each pair against: the suite's baseline snapshot (a `.snap` file, the
    /// reviewed scorecard the harness gates on), or another run named the same ways as the run
    /// (default: none; every failing pair is then new).
    #[arg(long, value_name = "SNAP | RUN")]
    baseline: Option<PathBuf>,
    /// The store that run ids, suite names and `last` are looked up in, and whose history
    /// gives the HTML page's trend charts (default: `EVAL_STORE_DIR`, else
    /// `<target dir>/tmp/evals`).
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    #[command(flatten)]
    runs: Runs,
    /// Where to write the page (default: `<run id>.html` in the current directory).
    #[arg(short, long, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct JunitArgs {
    #[command(flatten)]
    runs: Runs,
    /// Where to write the XML (default: standard output).
    #[arg(short, long, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct CommentArgs {
    #[command(flatten)]
    runs: Runs,
}

/// `cargo eval report`: writes the page and prints its path.
pub(crate) fn report(args: ReportArgs) -> ExitCode {
    finish((|| {
        let (run, baseline) = load(&args.runs)?;
        #[allow(unused_mut)]
        let mut report = RunReport::of_runs(&run, baseline.as_ref());
        #[cfg(feature = "history")]
        if let Ok(store) = locate::store_dir(args.runs.store.as_deref()) {
            report = report.with_trends(&store);
        }
        let out = args
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("{}.html", run.meta.run_id)));
        write(&out, "HTML report", &eval_harness::html::page(&report))?;
        println!("{}", out.display());
        Ok(())
    })())
}

/// `cargo eval junit`: the JUnit XML, to a file or standard output.
pub(crate) fn junit(args: JunitArgs) -> ExitCode {
    finish((|| {
        let (run, baseline) = load(&args.runs)?;
        let report = RunReport::of_runs(&run, baseline.as_ref());
        let xml = eval_harness::junit::junit_xml(std::slice::from_ref(&report))?;
        match &args.out {
            Some(out) => write(out, "JUnit report", &xml),
            None => {
                print!("{xml}");
                Ok(())
            }
        }
    })())
}

/// `cargo eval comment`: the pull-request comment's Markdown on standard output.
pub(crate) fn comment(args: CommentArgs) -> ExitCode {
    finish((|| {
        let (run, baseline) = load(&args.runs)?;
        let report = RunReport::of_runs(&run, baseline.as_ref());
        print!(
            "{}",
            eval_harness::step_summary::markdown(std::slice::from_ref(&report))
        );
        Ok(())
    })())
}

fn finish(done: Result<(), String>) -> ExitCode {
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("error: {why}");
            ExitCode::from(EXIT_UNUSABLE)
        }
    }
}

/// The run and its baseline: a snapshot of its suite, or a run of the same suite.
fn load(runs: &Runs) -> Result<(RunResult, Option<Baseline>), String> {
    let shown = locate::run_to_show(&runs.run, runs.store.as_deref())?;
    if let Some(chosen) = &shown.chosen {
        eprintln!("{chosen}");
    }
    let Some(baseline) = &runs.baseline else {
        return Ok((shown.run, None));
    };
    if baseline.extension().is_some_and(|ext| ext == "snap") {
        let snapshot = Baseline::snapshot(baseline, &shown.run)?;
        return Ok((shown.run, Some(snapshot)));
    }
    let found = locate::run_to_show(baseline, runs.store.as_deref())?;
    if let Some(chosen) = &found.chosen {
        eprintln!("baseline: {chosen}");
    }
    if found.run.meta.suite.name != shown.run.meta.suite.name {
        return Err(format!(
            "the baseline is a run of suite `{}`, the run one of `{}`: a report compares runs of one suite",
            found.run.meta.suite.name, shown.run.meta.suite.name
        ));
    }
    let against = Baseline::of_run(&found.run);
    Ok((shown.run, Some(against)))
}

fn write(path: &Path, what: &str, text: &str) -> Result<(), String> {
    eval_engine::__harness::replace_with(path, text.as_bytes())
        .map_err(|e| format!("cannot write the {what} {}: {e}", path.display()))
}
