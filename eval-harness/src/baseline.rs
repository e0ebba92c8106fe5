//! The committed baseline: where a suite's scorecard snapshot lives, reading it, and asking
//! insta to write a new one for review.

use crate::harness::SnapshotWrite;
use crate::suite_def::SuiteSite;
use eval_engine::Scorecard;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// What became of a changed scorecard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BaselineUpdate {
    /// The scorecard equals the baseline.
    Unchanged,
    /// A pending snapshot waits for `cargo insta review`.
    Pending(PathBuf),
    /// The baseline file itself was updated (`INSTA_UPDATE=always`).
    Written,
    /// The scorecard changed and nothing was written, for the reason given.
    NotWritten(&'static str),
    /// Replacing the baseline failed (it is left as it was): what failed.
    Failed(String),
}

/// Where a suite's baseline lives: `snapshots/<test target>__<suite>.snap` next to the file that
/// defines the suite (insta's own layout, so `cargo insta review` finds it).
#[derive(Debug, Clone)]
pub(crate) struct BaselineFile {
    pub dir: PathBuf,
    /// The snapshot name given to insta (`weather`, `travel__paris`).
    pub name: String,
    pub path: PathBuf,
}

impl BaselineFile {
    pub fn of(site: &SuiteSite) -> Self {
        let source = site.source_file();
        let dir = source.parent().unwrap_or(Path::new(".")).join("snapshots");
        let name = site.path().replace("::", "__");
        let path = dir.join(format!("{}__{name}.snap", site.crate_name()));
        BaselineFile { dir, name, path }
    }

    /// The path relative to the current directory when that is shorter, for messages.
    pub fn display_path(&self) -> PathBuf {
        std::env::current_dir()
            .ok()
            .and_then(|cwd| self.path.strip_prefix(cwd).ok().map(Path::to_path_buf))
            .unwrap_or_else(|| self.path.clone())
    }

    /// The pending snapshot insta writes for review.
    pub fn pending_path(&self) -> PathBuf {
        let mut pending = self.path.clone().into_os_string();
        pending.push(".new");
        PathBuf::from(pending)
    }

    /// Reads the committed scorecard: `Ok(None)` when there is no baseline yet, `Err` with a
    /// message saying what is wrong and how to regenerate it.
    pub fn read(&self) -> Result<Option<Scorecard>, String> {
        if !self.path.exists() {
            return Ok(None);
        }
        let regenerate = "fix it, or delete it and run the suite again to record a new baseline";
        let snapshot = insta::Snapshot::from_file(&self.path).map_err(|e| {
            format!(
                "baseline {} cannot be read as a snapshot: {e}; {regenerate}",
                self.display_path().display()
            )
        })?;
        let text = snapshot.contents().as_text().map(ToString::to_string).ok_or_else(|| {
            format!(
                "baseline {} is a binary snapshot, not a scorecard; {regenerate}",
                self.display_path().display()
            )
        })?;
        Scorecard::parse(&text).map(Some).map_err(|mut e| {
            // The scorecard is the body after insta's header: count lines from the file's top.
            e.line += self.header_lines();
            format!(
                "baseline {} is not a valid scorecard: {e}; {regenerate}",
                self.display_path().display()
            )
        })
    }

    /// How many lines insta's metadata header (`---` … `---`) takes at the top of the file.
    fn header_lines(&self) -> usize {
        let Ok(text) = std::fs::read_to_string(&self.path) else {
            return 0;
        };
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, first)) if first.trim_end() == "---" => lines
                .find(|(_, line)| line.trim_end() == "---")
                .map_or(0, |(index, _)| index + 1),
            _ => 0,
        }
    }

    /// Removes a pending snapshot left by an earlier run once the scorecard is back to the
    /// baseline, so `cargo insta review` does not offer a stale change.
    pub fn discard_stale_pending(&self) {
        let _ = std::fs::remove_file(self.pending_path());
    }

    /// Asks insta (through the writer expanded in the user's crate) to record `card`, and says
    /// what it did. insta writes a pending `.snap.new` (or nothing under `INSTA_UPDATE=no`) and
    /// then panics to fail the assertion: the panic is expected, caught and silenced here,
    /// since the harness has already decided every outcome.
    ///
    /// insta updates a snapshot in place (`INSTA_UPDATE=always`, `force`, or `unseen` for an
    /// existing one) with a plain write, which a crash can leave half written. So insta is
    /// only ever asked for the pending file, and an update in place renames it over the
    /// baseline, as `cargo insta accept` does: the baseline is the old file or the new one.
    ///
    /// Must be called once the tests are over and no other thread reads the environment.
    pub fn write(&self, card: &Scorecard, description: &str, writer: &dyn Fn(&SnapshotWrite<'_>)) -> BaselineUpdate {
        self.discard_stale_pending();
        // The mode that updates in place, if that is what was asked for.
        let in_place = std::env::var("INSTA_UPDATE").ok().filter(|mode| match mode.as_str() {
            "always" | "1" | "force" => true,
            "unseen" => self.path.exists(),
            _ => false,
        });
        // insta is only the writer here: what it would print (its diff, "Stopped on the first
        // failure", hints to set variables) speaks of an assertion the harness never made, and
        // the summary says what changed and what to review instead.
        let mut settings = vec![("INSTA_OUTPUT", Some("none")), ("INSTA_FORCE_PASS", Some("1"))];
        if in_place.is_some() {
            settings.push(("INSTA_UPDATE", Some("new")));
        }
        let saved: Vec<_> = settings
            .iter()
            .map(|(name, _)| (*name, std::env::var_os(name)))
            .collect();
        for (name, value) in &settings {
            // SAFETY: the caller guarantees no other thread reads the environment now.
            unsafe { std::env::set_var(name, value.unwrap_or_default()) };
        }
        self.ask_insta(card, description, writer);
        for (name, value) in saved {
            // SAFETY: as above.
            unsafe {
                match value {
                    Some(value) => std::env::set_var(name, value),
                    None => std::env::remove_var(name),
                }
            }
        }
        if !self.pending_path().exists() {
            let why = match std::env::var("INSTA_UPDATE").as_deref() {
                Ok("no") => "INSTA_UPDATE=no is set",
                _ => {
                    "insta wrote no pending snapshot (another run of the suite may have written or taken it at the same moment)"
                }
            };
            BaselineUpdate::NotWritten(why)
        } else if in_place.is_some() {
            self.accept_pending()
        } else {
            BaselineUpdate::Pending(self.pending_path())
        }
    }

    /// Renames the pending snapshot over the baseline in one step; when that fails, both are
    /// left as they were.
    fn accept_pending(&self) -> BaselineUpdate {
        let pending = self.pending_path();
        match std::fs::rename(&pending, &self.path) {
            Ok(()) => BaselineUpdate::Written,
            Err(e) => BaselineUpdate::Failed(format!("cannot rename {} over it: {e}", pending.display())),
        }
    }

    fn ask_insta(&self, card: &Scorecard, description: &str, writer: &dyn Fn(&SnapshotWrite<'_>)) {
        let body = card.render();
        let request = SnapshotWrite {
            dir: &self.dir,
            name: &self.name,
            body: &body,
            description,
        };
        let hook = panic::take_hook();
        panic::set_hook(Box::new(|_| {}));
        let _ = panic::catch_unwind(AssertUnwindSafe(|| writer(&request)));
        panic::set_hook(hook);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn baseline_in(dir: &Path) -> BaselineFile {
        let path = dir.join("evals__weather.snap");
        BaselineFile {
            dir: dir.to_owned(),
            name: "weather".to_owned(),
            path,
        }
    }

    #[test]
    fn accepting_replaces_the_baseline_whole() {
        let dir = tempfile::tempdir().unwrap();
        let baseline = baseline_in(dir.path());
        std::fs::write(&baseline.path, "old").unwrap();
        std::fs::write(baseline.pending_path(), "new").unwrap();
        assert_eq!(baseline.accept_pending(), BaselineUpdate::Written);
        assert_eq!(std::fs::read_to_string(&baseline.path).unwrap(), "new");
        assert!(!baseline.pending_path().exists());
    }

    #[test]
    fn a_failed_accept_is_reported_and_leaves_both_files() {
        let dir = tempfile::tempdir().unwrap();
        let baseline = baseline_in(dir.path());
        // A directory that is not empty cannot be replaced by a file: the rename fails.
        std::fs::create_dir_all(baseline.path.join("inside")).unwrap();
        std::fs::write(baseline.pending_path(), "new").unwrap();
        let BaselineUpdate::Failed(why) = baseline.accept_pending() else {
            panic!("the rename cannot succeed");
        };
        assert!(why.contains(&baseline.pending_path().display().to_string()), "{why}");
        assert!(baseline.path.join("inside").is_dir(), "the old one is left");
        assert_eq!(std::fs::read_to_string(baseline.pending_path()).unwrap(), "new");
    }
}
