//! `cargo eval pairwise` and `cargo eval pairwise-sheet`: which of two runs answered each task
//! better, asked of a judge model (both orders; a flip is a tie) and of people's labels from a
//! blinded sheet, with win rates, flips and their agreement; saved as AG2's pairwise JSON.

use crate::locate;
use crate::render::print_out;
use eval_engine::RunResult;
use eval_engine::pairwise::{
    Comparator, HumanLabels, PairwiseOptions, PairwiseRun, evaluate_pairwise, pairwise_sheet, write_sheet,
};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Bad input: a run that cannot be read, a bad labels file, nothing to compare with.
const EXIT_BAD_INPUT: u8 = 2;

/// The arguments of `cargo eval pairwise`.
#[derive(Debug, clap::Args)]
pub(crate) struct PairwiseArgs {
    /// The first run (A), as `show` takes it.
    a: PathBuf,
    /// The second run (B), whose win rate is reported.
    b: PathBuf,
    /// What the answers are compared on, in plain words: asked of the judge, and the criterion
    /// whose labels `--labels` reads.
    #[arg(long)]
    criterion: String,
    /// Ask a judge model (`EVAL_JUDGE_MODEL`, `EVAL_JUDGE_BASE_URL`, `EVAL_JUDGE_API_KEY`; needs
    /// the `openai` feature), reporting under this key. Asked in both orders; a flip is a tie.
    #[arg(long, value_name = "KEY")]
    judge: Option<String>,
    /// People's labels: a sheet written by `cargo eval pairwise-sheet`, with `preferred` filled
    /// in ("1", "2" or "tie"), reported under the key `people`.
    #[arg(long, value_name = "SHEET")]
    labels: Option<PathBuf>,
    /// Where the judge's calls are recorded and replayed (recorded when missing).
    #[arg(long, value_name = "DIR")]
    cassettes: Option<PathBuf>,
    /// Write the comparison as AG2's pairwise JSON to this file.
    #[arg(long, short = 'o', value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print the pairwise JSON instead of the table.
    #[arg(long)]
    json: bool,
    /// The store that run ids, suite names and `last` are looked up in.
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
}

/// The arguments of `cargo eval pairwise-sheet`.
#[derive(Debug, clap::Args)]
pub(crate) struct PairwiseSheetArgs {
    /// The first run (A), as `show` takes it.
    a: PathBuf,
    /// The second run (B).
    b: PathBuf,
    /// What people compare the answers on.
    #[arg(long)]
    criterion: String,
    /// Where the sheet goes (JSON Lines).
    #[arg(long, short = 'o', value_name = "FILE")]
    out: PathBuf,
    /// Draws which response each line shows first; the same seed gives the same sheet.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The store that run ids, suite names and `last` are looked up in.
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
}

/// The two runs, or the message saying which cannot be read.
fn two_runs(a: &Path, b: &Path, store: Option<&Path>) -> Result<(RunResult, RunResult), String> {
    let mut runs = Vec::new();
    for arg in [a, b] {
        let shown = locate::run_to_show(arg, store)?;
        if let Some(chosen) = &shown.chosen {
            eprintln!("{chosen}");
        }
        runs.push(shown.run);
    }
    let b = runs.pop().unwrap_or_else(|| unreachable!("two runs were read"));
    let a = runs.pop().unwrap_or_else(|| unreachable!("two runs were read"));
    Ok((a, b))
}

/// Runs `cargo eval pairwise-sheet`.
pub(crate) fn sheet(args: PairwiseSheetArgs) -> ExitCode {
    let written = two_runs(&args.a, &args.b, args.store.as_deref()).and_then(|(a, b)| {
        let rows = pairwise_sheet(&a, &b, &args.criterion, args.seed);
        if rows.is_empty() {
            return Err("no task was answered by both runs: there is nothing to label".to_owned());
        }
        write_sheet(&rows, &args.out).map(|path| (path, rows.len()))
    });
    match written {
        Ok((path, n)) => {
            eprintln!(
                "wrote {n} pair(s) to {}: fill in \"preferred\": \"1\", \"2\" or \"tie\" on each line, then \
                 `cargo eval pairwise <a> <b> --criterion … --labels {}`",
                path.display(),
                path.display()
            );
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("error: {why}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}

/// Runs `cargo eval pairwise`: 0 when the comparison is printed, 2 when it cannot be made.
pub(crate) fn run(args: PairwiseArgs) -> ExitCode {
    match compare(&args) {
        Ok(result) => {
            if let Some(out) = &args.out {
                let written = eval_engine::store::save_json(out, &result.to_json());
                if let Err(why) = written {
                    eprintln!("error: {why}");
                    return ExitCode::from(EXIT_BAD_INPUT);
                }
            }
            match args.json {
                true => print_out(&serde_json::to_string_pretty(&result.to_json()).unwrap_or_default()),
                false => print_out(&text(&result)),
            }
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("error: {why}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}

fn compare(args: &PairwiseArgs) -> Result<PairwiseRun, String> {
    let (a, b) = two_runs(&args.a, &args.b, args.store.as_deref())?;
    let people = match &args.labels {
        Some(path) => Some(HumanLabels::read(path, &args.criterion, "people")?),
        None => None,
    };
    let judge = match &args.judge {
        Some(key) => Some(judge(key, &args.criterion)?),
        None => None,
    };
    let mut comparators: Vec<&dyn Comparator> = Vec::new();
    comparators.extend(judge.as_ref().map(|judge| judge.as_ref()));
    comparators.extend(people.as_ref().map(|people| people as &dyn Comparator));
    if comparators.is_empty() {
        return Err(
            "nothing to compare with: give `--judge <key>` (a judge model), `--labels <sheet>` \
                    (people's labels), or both"
                .to_owned(),
        );
    }
    let options = PairwiseOptions {
        cassettes: args
            .cassettes
            .as_ref()
            .map(|dir| eval_engine::Cassettes::new(dir, eval_engine::CassetteMode::Auto)),
        ..PairwiseOptions::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime
        .block_on(evaluate_pairwise(&a, &b, &comparators, options))
        .map_err(|e| format!("cannot compare these runs: {e}"))
}

/// The judge model of `EVAL_JUDGE_MODEL`, as a pairwise judge under `key`.
fn judge(key: &str, criterion: &str) -> Result<Box<dyn Comparator>, String> {
    let model = eval_engine::judge::model_from_env().map_err(|why| format!("`--judge {key}`: {why}"))?;
    Ok(Box::new(eval_engine::judge::PairwiseJudge::with_model(
        key, model, criterion,
    )))
}

/// The comparison as a table: per key B's wins, A's wins, ties, undecided, B's win rate with its
/// interval and the judge's position flips; then the agreement between every two keys.
fn text(result: &PairwiseRun) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Pairwise {}: {} (B) vs {} (A), {} pair(s)",
        result.run_id, result.variant_b, result.variant_a, result.n_pairs
    );
    let mut rows = vec![[
        "key".to_owned(),
        "B".to_owned(),
        "A".to_owned(),
        "tie".to_owned(),
        "undecided".to_owned(),
        format!("win rate of {}", result.variant_b),
        "95% interval".to_owned(),
        "flips".to_owned(),
    ]];
    for key in &result.keys {
        let rate = result.win_rate(key);
        rows.push([
            key.clone(),
            rate.wins.to_string(),
            rate.losses.to_string(),
            rate.ties.to_string(),
            result.ungradeable(key).to_string(),
            if rate.n == 0 {
                "—".to_owned()
            } else {
                format!("{:.1}%", rate.rate * 100.0)
            },
            format!("[{:.1}%, {:.1}%]", rate.ci.0 * 100.0, rate.ci.1 * 100.0),
            result.flips(key).to_string(),
        ]);
    }
    let widths: Vec<usize> = (0..8)
        .map(|c| rows.iter().map(|row| row[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let pad = " ".repeat(widths[c] - cell.chars().count());
            line.push_str("  ");
            match c {
                0 => line.push_str(&format!("{cell}{pad}")),
                _ => line.push_str(&format!("{pad}{cell}")),
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    for (i, x) in result.keys.iter().enumerate() {
        for y in &result.keys[i + 1..] {
            let agreement = result.agreement(x, y);
            let kappa = match (agreement.kappa, &agreement.kappa_undefined) {
                (Some(kappa), _) => format!("κ = {kappa:.3}"),
                (None, Some(why)) => format!("κ undefined ({why})"),
                (None, None) => "κ undefined".to_owned(),
            };
            let _ = writeln!(
                out,
                "agreement {x} ~ {y}: {} task(s) both decided, {:.1}% the same, {kappa}",
                agreement.n,
                agreement.rate * 100.0
            );
            for (task, wx, wy) in agreement.disagreements.iter().take(10) {
                let _ = writeln!(out, "  {task}: {x} {} · {y} {}", wx.as_str(), wy.as_str());
            }
        }
    }
    out.trim_end().to_owned()
}
