//! The page of each run the harness saved, written beside its run file when
//! `EVAL_HTML_REPORT` asks for it.

use super::page::page;
use crate::report::Saved;
use crate::run_report::RunReport;
use std::path::{Path, PathBuf};

/// Writes each saved run's page beside its run file (`<run id>.html`), `reports` in the order
/// of `saved`. A page that cannot be written is an error naming it; the run is saved and gated
/// all the same. Where each page went is printed to stdout, or to stderr when stdout carries
/// JSON.
pub(crate) fn write_html_reports(reports: Vec<(RunReport<'_>, Option<&Saved>)>, to_stderr: bool) {
    for (report, saved) in reports {
        let Some(Saved::RunFile(run_file)) = saved else {
            continue;
        };
        let path = run_file.with_extension("html");
        #[cfg(feature = "history")]
        let report = match run_file.parent().and_then(Path::parent) {
            // `<store>/<suite>/<run id>.json`
            Some(store) => report.with_trends(store),
            None => report,
        };
        match eval_engine::__harness::replace_with(&path, page(&report).as_bytes()) {
            Ok(()) if to_stderr => eprintln!("  report: {}", shown(&path).display()),
            Ok(()) => println!("  report: {}", shown(&path).display()),
            Err(e) => eprintln!(
                "error: cannot write the HTML report {}: {e}; the run itself is saved and gated",
                path.display()
            ),
        }
    }
}

fn shown(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|dir| path.strip_prefix(dir).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
}
