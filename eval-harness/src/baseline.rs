//! The committed baseline: where a suite's scorecard snapshot lives, reading it, and asking
//! insta to write a new one for review.
//!
//! A baseline is read whole or not at all: a file that is not a snapshot the harness wrote
//! (a merge conflict left in, no insta header), that belongs to another suite, that is cut
//! short, or whose entries do not add up to its pass rates is an error naming its line, which
//! the run reports as a failing `<suite>::baseline` test. The header's description names the
//! suite and the number of pairs, so that a file cut anywhere is caught, even after its last
//! pass rate; a baseline written before the count was added is read without that check.

use crate::suite_def::SuiteSite;
use eval_engine::scorecard::Scorecard;
use std::fmt;
use std::fs::{self, File};
use std::io::Read as _;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// A scorecard to write as a snapshot, handed to the writer expanded in the user's crate.
pub struct SnapshotWrite<'a> {
    /// The snapshot directory.
    pub dir: &'a Path,
    /// The snapshot name (insta prefixes the test target's name).
    pub name: &'a str,
    /// The rendered scorecard.
    pub body: &'a str,
    /// insta's description line: the suite and its pair count.
    pub description: &'a str,
    /// insta's snapshot suffix (`weather@<suffix>.snap`): the variant of a variant's baseline.
    pub suffix: Option<&'a str>,
}

/// The most a baseline file may hold. A scorecard of 10,000 tasks and 10 scorers takes about
/// 6 MB, so anything larger is not one (a wrong file, a device) and is refused, not read.
const MAX_BASELINE_BYTES: u64 = 256 << 20;

/// How the description in insta's header starts; the suite's path follows in backquotes.
const DESCRIPTION_START: &str = "Scorecard of eval suite `";

/// What to do about a baseline that does not read.
const REGENERATE: &str = "fix it, or delete it and run the suite again to record a new baseline";

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
    /// Writing the new scorecard failed (the baseline is left as it was): what failed.
    Failed(String),
}

/// Where a suite's baseline lives: `snapshots/<test target>__<suite>.snap` next to the file that
/// defines the suite (insta's own layout, so `cargo insta review` finds it).
#[derive(Debug, Clone)]
pub(crate) struct BaselineFile {
    pub dir: PathBuf,
    /// The snapshot name given to insta (`weather`, `travel__paris`).
    pub name: String,
    /// insta's snapshot suffix: the variant, for a variant's baseline.
    pub suffix: Option<String>,
    pub path: PathBuf,
    /// The suite's path (`weather`, `travel::paris`), which the header names.
    pub suite: String,
}

/// What is wrong with a snapshot file, and on which line when it is about one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fault {
    line: Option<usize>,
    reason: String,
}

impl Fault {
    fn at(line: usize, reason: impl Into<String>) -> Self {
        Fault {
            line: Some(line),
            reason: reason.into(),
        }
    }

    fn whole(reason: impl Into<String>) -> Self {
        Fault {
            line: None,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

/// What insta's header says of the scorecard below it.
struct Described {
    /// The number of pairs (absent from baselines written before it was recorded).
    pairs: Option<usize>,
    /// The line of the description.
    line: usize,
}

impl BaselineFile {
    /// The baseline of the suite defined at `site`; for one of its variants,
    /// `<test target>__<suite>@<variant>.snap` (insta's snapshot suffix).
    pub fn of(site: &SuiteSite, variant: Option<&str>) -> Self {
        let source = site.source_file();
        let dir = source.parent().unwrap_or(Path::new(".")).join("snapshots");
        let name = site.path().replace("::", "__");
        let (file, suite) = match variant {
            Some(variant) => (
                format!("{}__{name}@{variant}.snap", site.crate_name()),
                format!("{}::{}", site.path(), crate::names::ident_segment(variant)),
            ),
            None => (format!("{}__{name}.snap", site.crate_name()), site.path()),
        };
        let suffix = variant.map(str::to_owned);
        BaselineFile {
            path: dir.join(file),
            dir,
            name,
            suffix,
            suite,
        }
    }

    /// The baseline at `path` of the suite whose tests are `<suite>::…`, to read (what
    /// `cargo eval junit --baseline <file>.snap` decides a stored run against).
    pub fn at(path: &Path, suite: &str) -> Self {
        BaselineFile {
            path: path.to_owned(),
            dir: path.parent().unwrap_or(Path::new(".")).to_owned(),
            name: String::new(),
            suffix: None,
            suite: suite.to_owned(),
        }
    }

    /// The path relative to the current directory when that is shorter, for messages.
    pub fn display_path(&self) -> PathBuf {
        shown(&self.path)
    }

    /// The pending snapshot insta writes for review.
    pub fn pending_path(&self) -> PathBuf {
        let mut pending = self.path.clone().into_os_string();
        pending.push(".new");
        PathBuf::from(pending)
    }

    /// The description insta writes in the header of `card`'s snapshot: the suite and the
    /// number of pairs, which reading checks.
    pub fn description(&self, card: &Scorecard) -> String {
        let pairs = card.entries.len();
        let plural = if pairs == 1 { "" } else { "s" };
        format!(
            "{DESCRIPTION_START}{}`, {pairs} pair{plural}: review with `cargo insta review`.",
            self.suite
        )
    }

    /// Reads the committed scorecard: `Ok(None)` when there is no baseline yet, `Err` with a
    /// message naming the file and the line, saying what is wrong and how to regenerate it.
    pub fn read(&self) -> Result<Option<Scorecard>, String> {
        match fs::metadata(&self.path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            _ => {}
        }
        self.read_snapshot(&self.path)
            .map(Some)
            .map_err(|fault| format!("baseline {}: {fault}; {REGENERATE}", self.display_path().display()))
    }

    /// Reads the snapshot at `path` (the baseline, or insta's pending file) as this suite's
    /// scorecard, whole.
    fn read_snapshot(&self, path: &Path) -> Result<Scorecard, Fault> {
        let text = read_text(path)?;
        self.read_snapshot_text(path, &text).map_err(|mut fault| {
            // What the harness writes ends with a newline: a last line without one was cut.
            let last_line = text.lines().count().max(1);
            if fault.line == Some(last_line)
                && !text.is_empty()
                && !text.ends_with('\n')
                && !fault.reason.contains("cut short")
            {
                fault
                    .reason
                    .push_str(" (the file ends on this line without a newline: it looks cut short)");
            }
            fault
        })
    }

    fn read_snapshot_text(&self, path: &Path, text: &str) -> Result<Scorecard, Fault> {
        let (header_lines, body) = split_snapshot(text)?;
        // insta reads the header (it is YAML), as `cargo insta review` will.
        let snapshot = insta::Snapshot::from_file(path)
            .map_err(|e| Fault::whole(format!("insta cannot read it as a snapshot: {e}")))?;
        if snapshot.contents().as_text().is_none() {
            return Err(Fault::whole("it is a binary snapshot, not a scorecard"));
        }
        let described = self.described(text, snapshot.metadata().description())?;
        // The scorecard's lines count from the file's top; an error about its end names the
        // file's last line even when the scorecard is empty.
        let last_line = text.lines().count().max(1);
        let card = Scorecard::parse(body).map_err(|e| Fault::at((e.line + header_lines).min(last_line), e.message))?;
        let found = card.entries.len();
        match described.pairs {
            Some(pairs) if pairs > found => Err(Fault::at(
                last_line,
                format!(
                    "the file ends after {found} of the {pairs} pairs its header (line {}) announces: it is cut short",
                    described.line
                ),
            )),
            Some(pairs) if pairs < found => Err(Fault::at(
                described.line,
                format!("the header announces {pairs} pairs but the scorecard has {found}: it was edited by hand"),
            )),
            _ => Ok(card),
        }
    }

    /// What the header's description says, checked to name this suite.
    fn described(&self, text: &str, description: Option<&str>) -> Result<Described, Fault> {
        let line = text
            .lines()
            .position(|line| line.starts_with("description:"))
            .map_or(2, |index| index + 1);
        let said = description
            .and_then(|d| d.strip_prefix(DESCRIPTION_START))
            .and_then(|rest| rest.split_once('`'));
        let Some((suite, rest)) = said else {
            return Err(Fault::at(
                line,
                format!(
                    "insta's header does not say which suite this is the scorecard of (the harness writes `description: {DESCRIPTION_START}{}`, <n> pairs: …`): it is not a baseline the harness wrote",
                    self.suite
                ),
            ));
        };
        if suite != self.suite {
            return Err(Fault::at(
                line,
                format!(
                    "it is the scorecard of suite `{suite}`, not of `{}`: a baseline of another suite was copied or renamed here",
                    self.suite
                ),
            ));
        }
        let pairs = rest
            .strip_prefix(", ")
            .and_then(|rest| rest.split_once(" pair"))
            .and_then(|(count, _)| count.parse().ok());
        Ok(Described { pairs, line })
    }

    /// Removes a pending snapshot left by an earlier run once the scorecard is back to the
    /// baseline, so `cargo insta review` does not offer a stale change.
    pub fn discard_stale_pending(&self) {
        let _ = fs::remove_file(self.pending_path());
    }

    /// Asks insta (through the writer expanded in the user's crate) to record `card`, and says
    /// what it did. insta writes a pending `.snap.new` (or nothing under `INSTA_UPDATE=no`);
    /// `INSTA_FORCE_PASS` keeps it from failing the assertion, since the harness has already
    /// decided every outcome, so a panic of the writer is an error (a failed write), caught
    /// and silenced here and reported.
    ///
    /// insta updates a snapshot in place (`INSTA_UPDATE=always`, `force`, or `unseen` for an
    /// existing one) with a plain write, which a crash can leave half written. So insta is
    /// only ever asked for the pending file, and an update in place renames it over the
    /// baseline, as `cargo insta accept` does: the baseline is the old file or the new one.
    /// insta's write is plain too (a full disk cuts it short), so the pending file is read
    /// back and must be `card` whole before it is renamed or offered for review.
    ///
    /// Must be called once the tests are over and no other thread reads the environment.
    pub fn write(&self, card: &Scorecard, writer: &dyn Fn(&SnapshotWrite<'_>)) -> BaselineUpdate {
        self.discard_stale_pending();
        // The mode that updates in place, if that is what was asked for.
        let in_place = std::env::var("INSTA_UPDATE")
            .ok()
            .is_some_and(|mode| match mode.as_str() {
                "always" | "1" | "force" => true,
                "unseen" => self.path.exists(),
                _ => false,
            });
        // insta is only the writer here: what it would print (its diff, "Stopped on the first
        // failure", hints to set variables) speaks of an assertion the harness never made, and
        // the summary says what changed and what to review instead.
        let mut settings = vec![("INSTA_OUTPUT", Some("none")), ("INSTA_FORCE_PASS", Some("1"))];
        if in_place {
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
        let update = self.write_pending(card, writer, in_place);
        for (name, value) in saved {
            // SAFETY: as above.
            unsafe {
                match value {
                    Some(value) => std::env::set_var(name, value),
                    None => std::env::remove_var(name),
                }
            }
        }
        update
    }

    /// Has `writer` write the pending snapshot of `card`, checks it, and renames it over the
    /// baseline when `in_place`.
    fn write_pending(&self, card: &Scorecard, writer: &dyn Fn(&SnapshotWrite<'_>), in_place: bool) -> BaselineUpdate {
        let insta_said = self.ask_insta(card, writer);
        let pending = self.pending_path();
        if !pending.exists() {
            let mode = std::env::var("INSTA_UPDATE");
            if let (Some(said), false) = (&insta_said, mode.as_deref() == Ok("no")) {
                return BaselineUpdate::Failed(format!("insta wrote no pending snapshot: {said}"));
            }
            let why = match mode.as_deref() {
                Ok("no") => "INSTA_UPDATE=no is set",
                _ if self.body_reads_as(card) => {
                    "insta leaves the baseline as it is, since its scorecard lines are already these (what `::baseline` reports is in its header): delete it and run the suite again"
                }
                _ => {
                    "insta wrote no pending snapshot (another run of the suite may have written or taken it at the same moment)"
                }
            };
            return BaselineUpdate::NotWritten(why);
        }
        let checked = match self.read_snapshot(&pending) {
            Ok(read) if read == *card => Ok(()),
            Ok(read) => Err(format!(
                "it reads as another scorecard ({} pairs, not {})",
                read.entries.len(),
                card.entries.len()
            )),
            Err(fault) => Err(fault.to_string()),
        };
        if let Err(why) = checked {
            // A cut-short file is no use to a review, and would be accepted over the baseline.
            let removed = match fs::remove_file(&pending) {
                Ok(()) => "it was removed".to_owned(),
                Err(e) => format!("it could not be removed ({e}): delete it"),
            };
            let said = insta_said.map(|said| format!(" (insta: {said})")).unwrap_or_default();
            return BaselineUpdate::Failed(format!(
                "the new scorecard insta wrote to {} is not the one asked for: {why}{said}; {removed}, and the run can be repeated once the cause (often a full disk) is fixed",
                shown(&pending).display()
            ));
        }
        if in_place {
            self.accept_pending()
        } else {
            BaselineUpdate::Pending(pending)
        }
    }

    /// Whether the baseline's body, as insta reads it, is `card`'s rendering: insta then writes
    /// nothing, whatever its header says.
    fn body_reads_as(&self, card: &Scorecard) -> bool {
        insta::Snapshot::from_file(&self.path)
            .ok()
            .and_then(|snapshot| snapshot.contents().as_text().map(ToString::to_string))
            .is_some_and(|body| body == card.render().trim_end())
    }

    /// Renames the pending snapshot over the baseline in one step; when that fails, both are
    /// left as they were.
    fn accept_pending(&self) -> BaselineUpdate {
        let pending = self.pending_path();
        match fs::rename(&pending, &self.path) {
            Ok(()) => BaselineUpdate::Written,
            Err(e) => BaselineUpdate::Failed(format!("cannot rename {} over it: {e}", pending.display())),
        }
    }

    /// Runs the writer with the panic hook silenced; returns what a panic said, if one was not
    /// insta's expected failure of the assertion (a failed write, say).
    fn ask_insta(&self, card: &Scorecard, writer: &dyn Fn(&SnapshotWrite<'_>)) -> Option<String> {
        let body = card.render();
        let description = self.description(card);
        let request = SnapshotWrite {
            dir: &self.dir,
            name: &self.name,
            body: &body,
            description: &description,
            suffix: self.suffix.as_deref(),
        };
        let hook = panic::take_hook();
        panic::set_hook(Box::new(|_| {}));
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| writer(&request)));
        panic::set_hook(hook);
        let payload = outcome.err()?;
        let said = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("the writer panicked");
        // insta unwraps its error: what matters is the error.
        let said = said
            .strip_prefix("called `Result::unwrap()` on an `Err` value: ")
            .unwrap_or(said);
        Some(said.to_owned())
    }
}

/// `path` relative to the current directory when that is shorter, for messages.
fn shown(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_owned())
}

/// The file's text: a regular file of at most [`MAX_BASELINE_BYTES`], in UTF-8.
fn read_text(path: &Path) -> Result<String, Fault> {
    let cannot = |e: std::io::Error| Fault::whole(format!("cannot be read: {e}"));
    let metadata = fs::metadata(path).map_err(cannot)?;
    if !metadata.is_file() {
        return Err(Fault::whole("it is not a regular file"));
    }
    let too_large = || {
        Fault::whole(format!(
            "it is larger than {} MiB, which no scorecard is",
            MAX_BASELINE_BYTES >> 20
        ))
    };
    if metadata.len() > MAX_BASELINE_BYTES {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|file| file.take(MAX_BASELINE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_BASELINE_BYTES {
        return Err(too_large());
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        Fault::at(line, "it is not UTF-8 text")
    })
}

/// Checks the layout of a snapshot the harness wrote (insta's `---` header, then the
/// scorecard, no merge conflict left in) and returns the number of header lines and the
/// scorecard.
fn split_snapshot(text: &str) -> Result<(usize, &str), Fault> {
    if let Some((index, marker)) = text
        .lines()
        .enumerate()
        .find(|(_, line)| Scorecard::is_conflict_marker(line))
    {
        let marker: String = marker.chars().take(40).collect();
        return Err(Fault::at(
            index + 1,
            format!(
                "a merge conflict marker (`{marker}`): keep one side's scorecard and remove the markers, or delete the file and run the suite again"
            ),
        ));
    }
    let mut lines = text.split_inclusive('\n');
    match lines.next() {
        None => return Err(Fault::at(1, "the file is empty: it is cut short")),
        Some(first) if first.trim_end() != "---" => {
            let first: String = first.trim_end().chars().take(40).collect();
            return Err(Fault::at(
                1,
                format!(
                    "not a snapshot the harness wrote: it starts with `{first}`, where insta's header starts with `---`"
                ),
            ));
        }
        Some(first) => {
            let mut offset = first.len();
            for (index, line) in lines.enumerate() {
                offset += line.len();
                if line.trim_end() == "---" {
                    // The opening line, the header's `index` lines, the closing line.
                    return Ok((index + 2, &text[offset..]));
                }
            }
        }
    }
    Err(Fault::at(
        text.lines().count().max(1),
        "insta's header, opened by `---` on line 1, is never closed by another `---`: the file is cut short",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    use eval_engine::scorecard::{PairVerdict, ScorecardEntry};

    fn baseline_in(dir: &Path) -> BaselineFile {
        let path = dir.join("evals__weather.snap");
        BaselineFile {
            dir: dir.to_owned(),
            name: "weather".to_owned(),
            suffix: None,
            path,
            suite: "weather".to_owned(),
        }
    }

    /// A scorecard like a real suite's: graded keys, repeats, and an informational key that
    /// sorts last in every task (so that a cut after it leaves no trace in the pass rates).
    fn card(fixed: bool) -> Scorecard {
        let mut card = Scorecard::default();
        for (task, hash) in [
            ("atlantis", "366f8ad8c906d3ce"),
            ("new york", "8a3a1a1a4d7126df"),
            ("paris", "04f8681b41873b60"),
        ] {
            for (key, verdict) in [
                ("city_matches", PairVerdict::Pass),
                ("judge", PairVerdict::Repeated { passed: 2, attempts: 3 }),
                ("tokens_used", PairVerdict::Informational),
            ] {
                let verdict = match (task, key, fixed) {
                    ("atlantis", "city_matches", false) => PairVerdict::Fail,
                    _ => verdict,
                };
                card.entries.insert(
                    (task.to_owned(), key.to_owned()),
                    ScorecardEntry {
                        content_hash: eval_engine::task::ContentHash::from_stored(hash),
                        verdict,
                    },
                );
            }
        }
        card
    }

    /// Writes `body` under `description` to `path` as insta writes a snapshot: a header it
    /// reads is saved again by insta itself, so the file is in insta's own serialization.
    fn write_as_insta(path: &Path, description: &str, body: &str) {
        let seed = path.with_extension("seed");
        let quoted = serde_json::to_string(description).unwrap();
        fs::write(
            &seed,
            format!("---\nsource: tests/evals.rs\nassertion_line: 73\ndescription: {quoted}\n---\n{body}"),
        )
        .unwrap();
        insta::Snapshot::from_file(&seed).unwrap().save(path).unwrap();
        fs::remove_file(seed).unwrap();
    }

    /// The baseline of `card`, written as the harness has insta write it.
    fn real_baseline(baseline: &BaselineFile, card: &Scorecard) -> String {
        write_as_insta(&baseline.path, &baseline.description(card), &card.render());
        fs::read_to_string(&baseline.path).unwrap()
    }

    fn read_error(baseline: &BaselineFile, text: &str) -> String {
        fs::write(&baseline.path, text).unwrap();
        baseline.read().expect_err(text)
    }

    #[test]
    fn a_baseline_the_harness_wrote_reads_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let baseline = baseline_in(dir.path());
        let text = real_baseline(&baseline, &card(false));
        assert!(
            text.contains(
                "description: \"Scorecard of eval suite `weather`, 9 pairs: review with `cargo insta review`.\""
            ),
            "{text}"
        );
        assert_eq!(baseline.read().unwrap(), Some(card(false)));
        assert_eq!(baseline_in(&dir.path().join("absent")).read().unwrap(), None);
    }

    #[test]
    fn every_cut_of_a_real_baseline_reads_whole_or_fails_naming_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let baseline = baseline_in(dir.path());
        let full = card(false);
        let text = real_baseline(&baseline, &full);
        let lines = text.lines().count();
        for end in 0..text.len() {
            fs::write(&baseline.path, &text.as_bytes()[..end]).unwrap();
            match baseline.read() {
                // Only the final newline may go: the scorecard is whole without it.
                Ok(Some(read)) if read == full && end == text.len() - 1 => {}
                Ok(read) => panic!("cut at byte {end} reads as {read:?}:\n{}", &text[..end]),
                Err(message) => {
                    assert!(message.starts_with("baseline "), "{message}");
                    assert!(message.contains("evals__weather.snap: line "), "{end}: {message}");
                    let line: usize = message
                        .split(".snap: line ")
                        .nth(1)
                        .unwrap()
                        .split(':')
                        .next()
                        .unwrap()
                        .parse()
                        .unwrap();
                    assert!((1..=lines).contains(&line), "{end}: {message}");
                }
            }
        }
    }

    #[test]
    fn merge_conflict_markers_are_named_with_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let baseline = baseline_in(dir.path());
        let text = real_baseline(&baseline, &card(false));
        // Above insta's header, insta itself would read the file in its legacy format.
        let message = read_error(&baseline, &format!("<<<<<<< HEAD\n{text}=======\n{text}>>>>>>> fix\n"));
        assert!(
            message.contains(": line 1: a merge conflict marker (`<<<<<<< HEAD`)"),
            "{message}"
        );
        let inside = text.replacen("paris 04f8681b41873b60 city_matches pass\n", "=======\n", 1);
        let line = inside.lines().position(|l| l == "=======").unwrap() + 1;
        let message = read_error(&baseline, &inside);
        assert!(
            message.contains(&format!(": line {line}: a merge conflict marker")),
            "{message}"
        );
    }

    #[test]
    fn a_file_that_is_not_a_snapshot_the_harness_wrote_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let baseline = baseline_in(dir.path());
        let body = card(false).render();
        let message = read_error(&baseline, &body);
        assert!(
            message.contains(": line 1: not a snapshot the harness wrote: it starts with `# One line per"),
            "{message}"
        );
        assert!(message.ends_with(REGENERATE), "{message}");

        write_as_insta(&baseline.path, "some other snapshot", &body);
        let message = baseline.read().unwrap_err();
        assert!(
            message.contains(": line 3: insta's header does not say which suite this is the scorecard of"),
            "{message}"
        );

        fs::remove_file(&baseline.path).unwrap();
        fs::create_dir(&baseline.path).unwrap();
        let message = baseline.read().unwrap_err();
        assert!(message.contains("it is not a regular file"), "{message}");
    }

    #[test]
    fn a_baseline_of_another_suite_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let baseline = baseline_in(dir.path());
        let other = BaselineFile {
            suite: "travel::paris".to_owned(),
            ..baseline.clone()
        };
        write_as_insta(&baseline.path, &other.description(&card(false)), &card(false).render());
        let message = baseline.read().unwrap_err();
        assert!(
            message.contains(": line 3: it is the scorecard of suite `travel::paris`, not of `weather`"),
            "{message}"
        );
    }

    #[test]
    fn the_pair_count_in_the_header_must_be_the_scorecard_s() {
        let dir = tempfile::tempdir().unwrap();
        let baseline = baseline_in(dir.path());
        let text = real_baseline(&baseline, &card(false));
        // An informational line taken out leaves the pass rates as they were.
        let edited = text.replacen("paris 04f8681b41873b60 tokens_used info\n", "", 1);
        let message = read_error(&baseline, &edited);
        assert!(
            message.contains("the file ends after 8 of the 9 pairs its header (line 3) announces: it is cut short"),
            "{message}"
        );
        let added = text.replacen(
            "paris 04f8681b41873b60 tokens_used info\n",
            "paris 04f8681b41873b60 tokens_used info\nrome 04f8681b41873b60 tokens_used info\n",
            1,
        );
        let message = read_error(&baseline, &added);
        assert!(
            message.contains(": line 3: the header announces 9 pairs but the scorecard has 10"),
            "{message}"
        );
    }

    #[test]
    fn a_baseline_written_before_the_pair_count_still_reads() {
        let dir = tempfile::tempdir().unwrap();
        let baseline = baseline_in(dir.path());
        write_as_insta(
            &baseline.path,
            "Scorecard of eval suite `weather`: review with `cargo insta review`.",
            &card(false).render(),
        );
        assert_eq!(baseline.read().unwrap(), Some(card(false)));
    }

    /// A writer that writes what insta would, cut to `keep` bytes when given, and then fails
    /// as insta fails on a full disk.
    fn writer_keeping(pending: PathBuf, keep: Option<usize>) -> impl Fn(&SnapshotWrite<'_>) {
        move |write: &SnapshotWrite<'_>| {
            write_as_insta(&pending, write.description, write.body);
            if let Some(keep) = keep {
                let text = fs::read(&pending).unwrap();
                fs::write(&pending, &text[..keep]).unwrap();
                panic!("called `Result::unwrap()` on an `Err` value: FileIo(No space left on device)");
            }
        }
    }

    #[test]
    fn a_pending_snapshot_cut_short_never_replaces_the_baseline() {
        let dir = tempfile::tempdir().unwrap();
        let baseline = baseline_in(dir.path());
        let old = real_baseline(&baseline, &card(false));
        let new_card = card(true);
        let new_len = {
            write_as_insta(
                &baseline.pending_path(),
                &baseline.description(&new_card),
                &new_card.render(),
            );
            fs::read(baseline.pending_path()).unwrap().len()
        };
        // Cut at a line boundary inside the entries, inside the header, and after every entry
        // but before the pass rates: each must be caught.
        let cuts = [new_len / 2, 40, old.find("\n# Pass rates").unwrap()];
        for keep in cuts {
            for in_place in [true, false] {
                let writer = writer_keeping(baseline.pending_path(), Some(keep));
                let update = baseline.write_pending(&new_card, &writer, in_place);
                let BaselineUpdate::Failed(why) = update else {
                    panic!("cut at {keep}: {update:?}");
                };
                assert!(
                    why.contains("evals__weather.snap.new is not the one asked for: line "),
                    "{why}"
                );
                assert!(why.contains("(insta: FileIo(No space left on device))"), "{why}");
                assert!(why.contains("it was removed"), "{why}");
                assert_eq!(
                    fs::read_to_string(&baseline.path).unwrap(),
                    old,
                    "the baseline is untouched"
                );
                assert!(
                    !baseline.pending_path().exists(),
                    "no cut-short file is left for review"
                );
            }
        }
    }

    #[test]
    fn a_whole_pending_snapshot_is_offered_or_renamed_over_the_baseline() {
        let dir = tempfile::tempdir().unwrap();
        let baseline = baseline_in(dir.path());
        real_baseline(&baseline, &card(false));
        let writer = writer_keeping(baseline.pending_path(), None);
        assert_eq!(
            baseline.write_pending(&card(true), &writer, false),
            BaselineUpdate::Pending(baseline.pending_path())
        );
        assert_eq!(baseline.read().unwrap(), Some(card(false)));
        assert_eq!(
            baseline.write_pending(&card(true), &writer, true),
            BaselineUpdate::Written
        );
        assert_eq!(baseline.read().unwrap(), Some(card(true)));
        assert!(!baseline.pending_path().exists());
    }

    #[test]
    fn a_baseline_whose_header_alone_is_wrong_is_not_rewritten_by_insta_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let baseline = baseline_in(dir.path());
        let other = BaselineFile {
            suite: "many".to_owned(),
            ..baseline.clone()
        };
        write_as_insta(&baseline.path, &other.description(&card(false)), &card(false).render());
        assert!(baseline.read().is_err());
        // insta compares the scorecard lines only: they match, so it writes nothing.
        let writer = |_: &SnapshotWrite<'_>| {};
        let BaselineUpdate::NotWritten(why) = baseline.write_pending(&card(false), &writer, true) else {
            panic!("nothing was written");
        };
        assert!(why.contains("delete it and run the suite again"), "{why}");
    }

    #[test]
    fn a_writer_that_fails_before_writing_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let baseline = baseline_in(dir.path());
        let old = real_baseline(&baseline, &card(false));
        let writer = |_: &SnapshotWrite<'_>| panic!("Permission denied");
        let update = baseline.write_pending(&card(true), &writer, true);
        assert_eq!(
            update,
            BaselineUpdate::Failed("insta wrote no pending snapshot: Permission denied".to_owned())
        );
        assert_eq!(fs::read_to_string(&baseline.path).unwrap(), old);
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
        fs::create_dir_all(baseline.path.join("inside")).unwrap();
        std::fs::write(baseline.pending_path(), "new").unwrap();
        let BaselineUpdate::Failed(why) = baseline.accept_pending() else {
            panic!("the rename cannot succeed");
        };
        assert!(why.contains(&baseline.pending_path().display().to_string()), "{why}");
        assert!(baseline.path.join("inside").is_dir(), "the old one is left");
        assert_eq!(std::fs::read_to_string(baseline.pending_path()).unwrap(), "new");
    }
}
