//! `cargo eval calibrate` and `cargo eval label-sheet`: a judge's feedback against people's
//! labels (the numbers are `eval_engine::calibration`'s), and the blinded sheet people label.
//!
//! Calibration informs, it does not gate: it exits 0 whatever the agreement, and 2 only for bad
//! input (a labels file that does not read, labelled tasks the run does not have, a key the run
//! or the labels do not have, a run that cannot be found).

use crate::locate;
use crate::render::print_out;
use clap::Args;
use eval_engine::TaskRecord;
use eval_engine::calibration::{self, Calibration, CalibrationError, Confusion, Labels, Measure};
use serde_json::Value;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const EXIT_BAD_INPUT: u8 = 2;

/// The arguments of `cargo eval calibrate`.
#[derive(Debug, Args)]
pub(crate) struct CalibrateArgs {
    /// People's labels: JSON Lines of {"task_id", "key", "label"} (a category; true/false are
    /// pass/fail) or {"task_id", "key", "score"} (a number), such as a filled-in label sheet.
    #[arg(long, value_name = "FILE")]
    labels: PathBuf,
    /// The judge's feedback key.
    #[arg(long)]
    key: String,
    /// The run holding the judge's feedback: as for `show` (a run JSON file, a run id, a suite
    /// name, a directory, or `last`).
    #[arg(default_value = "last")]
    run: PathBuf,
    /// The store that run ids, suite names and `last` are looked up in (default:
    /// `EVAL_STORE_DIR`, else `<target dir>/tmp/evals`).
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// The arguments of `cargo eval label-sheet`.
#[derive(Debug, Args)]
pub(crate) struct LabelSheetArgs {
    /// The run whose tasks to label: as for `show` (a run JSON file, a run id, a suite name, a
    /// directory, or `last`).
    #[arg(default_value = "last")]
    run: PathBuf,
    /// The key people label the tasks for (the judge's key).
    #[arg(long)]
    key: String,
    /// Write the sheet to this file (default: standard output).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Replace the output file if it exists.
    #[arg(long)]
    force: bool,
    /// The store that run ids, suite names and `last` are looked up in (default:
    /// `EVAL_STORE_DIR`, else `<target dir>/tmp/evals`).
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
}

/// `cargo eval calibrate`.
pub(crate) fn calibrate(args: CalibrateArgs) -> ExitCode {
    let labels = match Labels::load(&args.labels) {
        Ok(labels) => labels,
        Err(error) => return bad_input(&error.to_string()),
    };
    let run = match locate::run_to_show(&args.run, args.store.as_deref()) {
        Ok(shown) => {
            if let Some(chosen) = &shown.chosen {
                eprintln!("{chosen}");
            }
            shown.run
        }
        Err(why) => return bad_input(&why),
    };
    let calibration = match calibration::calibrate(&run, &labels, &args.key) {
        Ok(calibration) => calibration,
        Err(error) => return bad_input(&error.to_string()),
    };
    let unfilled = labels.unfilled_lines();
    if !unfilled.is_empty() {
        eprintln!(
            "note: {}: {} line(s) have no label yet and are left out ({} {})",
            labels.path().display(),
            unfilled.len(),
            if unfilled.len() == 1 { "line" } else { "lines" },
            shown_lines(unfilled)
        );
    }
    if calibration.judgements == 0 {
        eprintln!(
            "warning: no labelled task has a verdict of the judge under `{}` to compare",
            calibration.key
        );
    }
    if args.json {
        let mut json = serde_json::to_value(&calibration).unwrap_or(Value::Null);
        if let Some(object) = json.as_object_mut() {
            object.insert("suite".into(), Value::from(run.meta.suite.name.as_str()));
            object.insert("labels".into(), Value::from(labels.path().display().to_string()));
        }
        print_out(&serde_json::to_string_pretty(&json).unwrap_or_default());
    } else {
        print_out(&text(&calibration, &run.meta.suite.name, labels.path()));
    }
    ExitCode::SUCCESS
}

/// `cargo eval label-sheet`.
pub(crate) fn label_sheet(args: LabelSheetArgs) -> ExitCode {
    let run = match locate::run_to_show(&args.run, args.store.as_deref()) {
        Ok(shown) => {
            if let Some(chosen) = &shown.chosen {
                eprintln!("{chosen}");
            }
            shown.run
        }
        Err(why) => return bad_input(&why),
    };
    let sheet = match calibration::label_sheet(&run, &args.key) {
        Ok(sheet) => sheet,
        Err(error) => return bad_input(&error.to_string()),
    };
    let Some(output) = args.output else {
        // The sheet ends with its own newline; a closed pipe is not an error.
        let _ = std::io::stdout()
            .lock()
            .write_all(calibration::sheet_jsonl(&sheet).as_bytes());
        return ExitCode::SUCCESS;
    };
    match calibration::write_label_sheet(&output, &sheet, args.force) {
        Ok(()) => {
            // The run as the next command can name it for good: `last` moves on.
            let again = match (&args.store, args.run.is_file()) {
                (_, true) => args.run.display().to_string(),
                (Some(store), false) => format!("{} --store {}", run.run_id(), store.display()),
                (None, false) => run.run_id().to_owned(),
            };
            eprintln!(
                "label sheet of key `{}`: {} task(s) of run {}; fill in each `label`, then run \
                 `cargo eval calibrate --labels {} --key {} {again}`",
                args.key,
                sheet.len(),
                run.run_id(),
                output.display(),
                args.key
            );
            print_out(&output.display().to_string());
            ExitCode::SUCCESS
        }
        Err(error @ CalibrationError::SheetExists { .. }) => bad_input(&format!("{error}; pass --force to replace it")),
        Err(error) => bad_input(&error.to_string()),
    }
}

fn bad_input(why: &str) -> ExitCode {
    eprintln!("error: {why}");
    ExitCode::from(EXIT_BAD_INPUT)
}

/// What `calibrate` prints for people: the numbers, the confusion matrix, the disagreements
/// and what was left out.
fn text(calibration: &Calibration, suite: &str, labels: &Path) -> String {
    let mut out = format!(
        "key `{}` of run {} (suite {suite}) against {}\n",
        calibration.key,
        calibration.run_id,
        labels.display()
    );
    let mut rows: Vec<(&str, String)> = vec![
        ("judgements", judgements(calibration)),
        ("agreement", agreement(calibration)),
    ];
    if let Some(kappa) = &calibration.weighted_kappa {
        rows.push(("weighted κ", format!("{} (quadratic weights)", measure(kappa))));
    }
    if let Some(kappa) = &calibration.kappa {
        rows.push(("κ", measure(kappa)));
    }
    if let Some(rho) = &calibration.spearman {
        rows.push(("Spearman ρ", measure(rho)));
    }
    if let Some(difference) = calibration.mean_absolute_difference {
        rows.push(("mean |difference|", format!("{difference:.3}")));
    }
    rows.push(("ungradeable", calibration.ungradeable.len().to_string()));
    if !calibration.not_compared.is_empty() {
        rows.push(("not compared", calibration.not_compared.len().to_string()));
    }
    let width = rows.iter().map(|(name, _)| name.chars().count()).max().unwrap_or(0);
    for (name, value) in &rows {
        let _ = writeln!(out, "  {name:<width$}  {value}");
    }
    if let Some(confusion) = &calibration.confusion
        && confusion.total() > 0
    {
        out.push_str("\nConfusion (rows: people, columns: the judge):\n");
        out.push_str(&confusion_table(confusion));
    }
    if calibration.disagreements.is_empty() {
        out.push_str("\nDisagreements: none\n");
    } else {
        let _ = writeln!(out, "\nDisagreements ({}):", calibration.disagreements.len());
        for d in &calibration.disagreements {
            let _ = writeln!(
                out,
                "  {}: people {}, judge {}{}",
                TaskRecord::id_of(&d.task_id, d.attempt),
                d.human,
                d.judge,
                comment(d.comment.as_deref())
            );
        }
    }
    if !calibration.ungradeable.is_empty() {
        let _ = writeln!(out, "\nUngradeable ({}):", calibration.ungradeable.len());
        for u in &calibration.ungradeable {
            let _ = writeln!(
                out,
                "  {}: people {}{}",
                TaskRecord::id_of(&u.task_id, u.attempt),
                u.human,
                comment(u.comment.as_deref())
            );
        }
    }
    if !calibration.not_compared.is_empty() {
        let _ = writeln!(out, "\nNot compared ({}):", calibration.not_compared.len());
        for n in &calibration.not_compared {
            let _ = writeln!(
                out,
                "  {}: people {}: {}",
                TaskRecord::id_of(&n.task_id, n.attempt),
                n.human,
                n.why
            );
        }
    }
    out.truncate(out.trim_end().len());
    out
}

/// `10 (of 10 labelled tasks; 2 tasks of the run not labelled)`.
fn judgements(calibration: &Calibration) -> String {
    let mut text = format!(
        "{} (of {} labelled task(s)",
        calibration.judgements, calibration.labelled_tasks
    );
    if calibration.unlabelled_tasks > 0 {
        let _ = write!(
            text,
            "; {} task(s) of the run not labelled",
            calibration.unlabelled_tasks
        );
    }
    text.push(')');
    text
}

fn agreement(calibration: &Calibration) -> String {
    match calibration.agreement {
        Some(rate) => format!(
            "{:.1}% ({} of {})",
            rate * 100.0,
            calibration.agreements,
            calibration.judgements
        ),
        None => "none: no judgement to compare".to_owned(),
    }
}

fn measure(measure: &Measure) -> String {
    match measure {
        Measure::Value(value) => format!("{value:.3}"),
        Measure::Undefined(why) => format!("undefined: {why}"),
    }
}

fn comment(comment: Option<&str>) -> String {
    match comment.map(str::trim).filter(|c| !c.is_empty()) {
        // A judge's reasoning stays on one line.
        Some(comment) => format!(": {}", comment.split_whitespace().collect::<Vec<_>>().join(" ")),
        None => String::new(),
    }
}

/// The matrix with people's answers down the side and the judge's across, right-aligned.
fn confusion_table(confusion: &Confusion) -> String {
    let corner = "people \\ judge";
    let side = confusion
        .categories
        .iter()
        .map(|c| c.chars().count())
        .chain([corner.chars().count()])
        .max()
        .unwrap_or(0);
    let widths: Vec<usize> = (0..confusion.categories.len())
        .map(|column| {
            let name = confusion.categories[column].chars().count();
            let counts = confusion.counts.iter().map(|row| row[column].to_string().len());
            counts.chain([name]).max().unwrap_or(0)
        })
        .collect();
    let mut out = format!("  {corner:<side$}");
    for (name, width) in confusion.categories.iter().zip(&widths) {
        let _ = write!(out, "  {name:>width$}");
    }
    out.push('\n');
    for (name, row) in confusion.categories.iter().zip(&confusion.counts) {
        let _ = write!(out, "  {name:<side$}");
        for (count, width) in row.iter().zip(&widths) {
            let _ = write!(out, "  {count:>width$}");
        }
        out.push('\n');
    }
    out
}

/// `4, 7, 9`, or the first ten and how many more.
fn shown_lines(lines: &[usize]) -> String {
    let shown: Vec<String> = lines.iter().take(10).map(usize::to_string).collect();
    match lines.len() {
        n if n > 10 => format!("{}, … ({} more)", shown.join(", "), n - 10),
        _ => shown.join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eval_engine::calibration::Scale;

    #[test]
    fn the_confusion_table_is_aligned() {
        let confusion =
            Confusion::of_categories([("pass", "pass"), ("pass", "pass"), ("fail", "pass"), ("fail", "maybe")]);
        assert_eq!(
            confusion_table(&confusion),
            "  people \\ judge  fail  maybe  pass\n\
             \x20 fail               0      1     1\n\
             \x20 maybe              0      0     0\n\
             \x20 pass               0      0     2\n"
        );
    }

    #[test]
    fn long_lists_of_lines_are_cut() {
        assert_eq!(shown_lines(&[4, 7]), "4, 7");
        let many: Vec<usize> = (1..=12).collect();
        assert_eq!(shown_lines(&many), "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, … (2 more)");
    }

    #[test]
    fn scales_other_than_categories_print_their_own_numbers() {
        let calibration = Calibration {
            run_id: "01R".into(),
            key: "stars".into(),
            scale: Scale::Numbers,
            labelled_tasks: 2,
            unlabelled_tasks: 1,
            judgements: 2,
            agreements: 1,
            agreement: Some(0.5),
            kappa: None,
            weighted_kappa: None,
            spearman: Some(Measure::Undefined("it needs two judgements or more".into())),
            mean_absolute_difference: Some(0.25),
            confusion: None,
            disagreements: Vec::new(),
            ungradeable: Vec::new(),
            not_compared: Vec::new(),
        };
        let out = text(&calibration, "weather", Path::new("l.jsonl"));
        assert!(
            out.contains("  Spearman ρ         undefined: it needs two judgements or more"),
            "{out}"
        );
        assert!(out.contains("  mean |difference|  0.250"), "{out}");
        assert!(
            out.contains("  judgements         2 (of 2 labelled task(s); 1 task(s) of the run not labelled)"),
            "{out}"
        );
        assert!(!out.contains("Confusion"), "{out}");
    }
}
