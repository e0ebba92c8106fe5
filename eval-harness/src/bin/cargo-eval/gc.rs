//! `cargo eval gc`: removes from a store what no run needs any more (the rules are
//! `eval_harness::cleanup`'s), one line per path and a total. Run files are never removed.

use eval_engine::Store;
use eval_engine::store::{Leftover, LeftoverKind};
use std::collections::BTreeMap;
use std::path::Path;

/// Removes (or, with `dry_run`, lists) the leftovers of every suite of the store at `root`.
/// Returns whether everything that had to go went.
pub(crate) fn collect_garbage(root: &Path, dry_run: bool) -> bool {
    let verb = if dry_run { "would remove" } else { "removed" };
    if !root.is_dir() {
        println!("nothing to remove: there is no store at {}", root.display());
        return true;
    }
    let store = Store::new(root);
    let suites = match store.suites() {
        Ok(suites) => suites,
        Err(e) => {
            eprintln!("error: {e}");
            return false;
        }
    };
    let mut all_went = true;
    let mut counts: BTreeMap<LeftoverKind, usize> = BTreeMap::new();
    for suite in suites {
        let leftovers = match eval_harness::cleanup::garbage(&store, &suite) {
            Ok(leftovers) => leftovers,
            Err(why) => {
                eprintln!("error: suite {suite}: {why}");
                all_went = false;
                continue;
            }
        };
        for leftover in leftovers {
            if !dry_run && let Err(e) = leftover.remove() {
                eprintln!("error: cannot remove {}: {e}", leftover.path.display());
                all_went = false;
                continue;
            }
            println!("{verb} {}", describe(&leftover));
            *counts.entry(leftover.kind).or_default() += 1;
        }
    }
    let total: usize = counts.values().sum();
    if total == 0 {
        println!("nothing to remove in {}", root.display());
    } else {
        let parts: Vec<String> = counts.iter().map(|(kind, n)| count(*kind, *n)).collect();
        println!("{verb} {total} from {}: {}", root.display(), parts.join(", "));
    }
    all_went
}

/// `<path> (abandoned journal: run 01J…: last written before …)`.
fn describe(leftover: &Leftover) -> String {
    format!(
        "{} ({}: {})",
        leftover.path.display(),
        leftover.kind.describe(),
        leftover.why
    )
}

/// `2 abandoned journals`, `1 superseded nextest directory`.
fn count(kind: LeftoverKind, n: usize) -> String {
    let what = kind.describe();
    match (n, kind) {
        (1, _) => format!("1 {what}"),
        (_, LeftoverKind::NextestDir) => format!("{n} superseded nextest directories"),
        _ => format!("{n} {what}s"),
    }
}
