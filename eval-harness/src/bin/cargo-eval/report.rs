//! `cargo eval report`: the HTML report of a stored run, each pair decided against a baseline
//! run by the gate's rule, with the trend of each key over the store's runs.

use crate::locate;
use clap::Args;
use eval_harness::html::Page;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A run could not be found or read, or the report could not be written.
const EXIT_UNUSABLE: u8 = 2;

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// The run: a run JSON file, a run id, a suite name (its run saved last), a directory, or
    /// `last` (the run saved last in the store).
    run: PathBuf,
    /// The run to decide each pair against, named the same ways (default: none; every failing
    /// pair is then new).
    #[arg(long, value_name = "RUN")]
    baseline: Option<PathBuf>,
    /// Where to write the page (default: `<run id>.html` in the current directory).
    #[arg(short, long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// The store that run ids, suite names and `last` are looked up in, and whose history
    /// gives the trend charts (default: `EVAL_STORE_DIR`, else `<target dir>/tmp/evals`).
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
}

pub(crate) fn report(args: ReportArgs) -> ExitCode {
    match write_report(&args) {
        Ok(path) => {
            println!("{}", path.display());
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("error: {why}");
            ExitCode::from(EXIT_UNUSABLE)
        }
    }
}

fn write_report(args: &ReportArgs) -> Result<PathBuf, String> {
    let shown = locate::run_to_show(&args.run, args.store.as_deref())?;
    if let Some(chosen) = &shown.chosen {
        eprintln!("{chosen}");
    }
    let baseline = match &args.baseline {
        None => None,
        Some(baseline) => {
            let found = locate::run_to_show(baseline, args.store.as_deref())?;
            if let Some(chosen) = &found.chosen {
                eprintln!("baseline: {chosen}");
            }
            if found.run.meta.suite.name != shown.run.meta.suite.name {
                return Err(format!(
                    "the baseline is a run of suite `{}`, the run one of `{}`: a report compares runs of one suite",
                    found.run.meta.suite.name, shown.run.meta.suite.name
                ));
            }
            Some(found.run)
        }
    };
    #[allow(unused_mut)]
    let mut page = Page::of_runs(&shown.run, baseline.as_ref());
    #[cfg(feature = "history")]
    if let Ok(store) = locate::store_dir(args.store.as_deref()) {
        page.trends = eval_harness::html::trends_from_history(&store, &shown.run);
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.html", shown.run.meta.run_id)));
    write_page(&out, &page.render())?;
    Ok(out)
}

fn write_page(path: &Path, html: &str) -> Result<(), String> {
    eval_engine::__harness::replace_with(path, html.as_bytes())
        .map_err(|e| format!("cannot write the HTML report {}: {e}", path.display()))
}
