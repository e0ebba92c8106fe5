//! The journal of a run in progress: one JSON line per graded task, appended and flushed as
//! each task finishes, so that a run killed half-way can be resumed without running again
//! what already finished.
//!
//! The first line is a [`JournalHeader`]; every further line is a task record in the run
//! JSON's task shape. A kill mid-write leaves at most the last line cut short (it has no
//! newline yet): reading skips it. Any other line that does not read is an error naming it.
//!
//! A line is handed to the operating system within a few milliseconds of its task finishing
//! (with the lines of the tasks that finished meanwhile, in one write), so killing the process
//! loses at most the tasks of those last milliseconds; the file is also synced to disk at most once a second (and on creation),
//! so that a power cut loses at most the last second of tasks without paying a disk sync per
//! task.
//!
//! A [`JournalWriter`] holds an advisory lock on its file for as long as it lives, so that a
//! clean-up or another run can tell a journal being written from one a dead process left
//! ([`crate::regular_file::is_in_use`]).

use crate::observer::Observer;
use crate::record::TaskRecord;
use crate::regular_file::{Links, MAX_RUN_FILE_BYTES, OpenError, open_regular, read_capped};
use crate::result::{RunResult, now_rfc3339};
use crate::wire::{TaskIn, TaskOut};
use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use thiserror::Error;

/// How often, at most, a journal is synced to disk.
const SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// The first line of a journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalHeader {
    pub run_id: String,
    pub suite: String,
    /// RFC 3339, UTC: when the run started.
    pub created_at: String,
    /// The feedback keys of the scorers that graded the journaled tasks.
    pub scorers: Vec<String>,
}

impl JournalHeader {
    /// The header of a run starting now.
    pub fn new(run_id: impl Into<String>, suite: impl Into<String>, scorers: Vec<String>) -> Self {
        JournalHeader {
            run_id: run_id.into(),
            suite: suite.into(),
            created_at: now_rfc3339(),
            scorers,
        }
    }
}

/// A journal as read back.
#[derive(Debug, Clone)]
pub struct JournalContents {
    pub header: JournalHeader,
    /// The task records, in the order they finished.
    pub tasks: Vec<TaskRecord>,
    /// The length of the complete lines: where appending resumes (a cut-short last line
    /// beyond it is dropped).
    pub complete_len: u64,
}

/// Why a journal could not be read or written. Every variant names the file.
#[derive(Debug, Error)]
pub enum JournalError {
    #[error("cannot read journal {}: line {line}: {message}", path.display())]
    BadLine {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("cannot read journal {}: it has no header line (the run was killed as it started)", path.display())]
    NoHeader { path: PathBuf },
    /// Another process holds the journal's lock: a run is writing it right now.
    #[error(
        "cannot resume journal {}: a running process is writing it (another run of this suite is going on)",
        path.display()
    )]
    InUse { path: PathBuf },
    /// The journal's path is not a regular file: a symbolic link (never followed, so that a
    /// run never writes through a link in the store), a FIFO, a device.
    #[error(
        "cannot open journal {}: it is {kind}, not a regular file; a run never reads or writes a journal through a link or a special file: remove it, or put the journal itself in its place",
        path.display()
    )]
    NotAFile { path: PathBuf, kind: &'static str },
    /// The journal is larger than [`crate::regular_file::MAX_RUN_FILE_BYTES`].
    #[error(
        "cannot read journal {}: it holds more than {} bytes, the most read from one file: it is not a journal",
        path.display(),
        crate::regular_file::MAX_RUN_FILE_BYTES
    )]
    TooLarge { path: PathBuf },
    #[error("cannot {action} journal {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Reads the journal at `path`, which must be a regular file: a symbolic link is refused
/// ([`JournalError::NotAFile`]), as it is when the journal is resumed.
pub fn read_journal(path: impl AsRef<Path>) -> Result<JournalContents, JournalError> {
    let path = path.as_ref();
    let io_error = |source| JournalError::Io {
        action: "read",
        path: path.to_owned(),
        source,
    };
    let file = open_journal(path, OpenOptions::new().read(true), "read")?;
    let bytes = read_capped(&file, MAX_RUN_FILE_BYTES)
        .map_err(io_error)?
        .ok_or_else(|| JournalError::TooLarge { path: path.to_owned() })?;
    let bad_line = |line: usize, message: String| JournalError::BadLine {
        path: path.to_owned(),
        line,
        message,
    };
    // Only newline-terminated lines were written whole.
    let complete_len = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut header = None;
    let mut tasks = Vec::new();
    for (index, line) in bytes[..complete_len].split(|&b| b == b'\n').enumerate() {
        let number = index + 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if header.is_none() {
            let read: JournalHeader =
                serde_json::from_slice(line).map_err(|e| bad_line(number, format!("not a journal header: {e}")))?;
            header = Some(read);
        } else {
            let task: TaskIn =
                serde_json::from_slice(line).map_err(|e| bad_line(number, format!("not a task record: {e}")))?;
            tasks.push(task.into_task());
        }
    }
    let header = header.ok_or_else(|| JournalError::NoHeader { path: path.to_owned() })?;
    Ok(JournalContents {
        header,
        tasks,
        complete_len: complete_len as u64,
    })
}

/// Opens the journal at `path` if it is a regular file, not through a symbolic link.
fn open_journal(path: &Path, options: &mut OpenOptions, action: &'static str) -> Result<File, JournalError> {
    open_regular(path, options, Links::Refuse).map_err(|e| match e {
        OpenError::NotRegular(kind) => JournalError::NotAFile {
            path: path.to_owned(),
            kind,
        },
        OpenError::Io(source) => JournalError::Io {
            action,
            path: path.to_owned(),
            source,
        },
    })
}

/// Appends task records to a journal, one flushed line each.
pub struct JournalWriter {
    path: PathBuf,
    file: File,
    /// When the file was last synced to disk (`None`: never).
    synced_at: Option<Instant>,
    sync_interval: Duration,
    /// How many times the file was synced, for tests.
    syncs: u64,
}

impl JournalWriter {
    /// Creates the journal at `path` (and its directory) and writes `header`. An existing
    /// journal there is an error: it belongs to another run.
    pub fn create(path: impl Into<PathBuf>, header: &JournalHeader) -> Result<Self, JournalError> {
        let path = path.into();
        let io_error = |action, source| JournalError::Io {
            action,
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|e| io_error("create the directory of", e))?;
        }
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| io_error("create", e))?;
        lock(&file, &path)?;
        let mut line = serde_json::to_vec(header).map_err(|e| io_error("write", io::Error::other(e)))?;
        line.push(b'\n');
        let mut writer = JournalWriter::new(path, file);
        writer.write_line(&line)?;
        Ok(writer)
    }

    /// Opens the journal read as `contents` to append to it, first cutting off a last line a
    /// kill left unfinished, so that the next record starts on a line of its own.
    pub fn resume(path: impl Into<PathBuf>, contents: &JournalContents) -> Result<Self, JournalError> {
        let path = path.into();
        let io_error = |action, source| JournalError::Io {
            action,
            path: path.clone(),
            source,
        };
        // Never through a link: its target may be anywhere outside the store.
        let file = open_journal(&path, OpenOptions::new().append(true), "open")?;
        lock(&file, &path)?;
        file.set_len(contents.complete_len)
            .map_err(|e| io_error("truncate the unfinished last line of", e))?;
        Ok(JournalWriter::new(path, file))
    }

    fn new(path: PathBuf, file: File) -> Self {
        JournalWriter {
            path,
            file,
            synced_at: None,
            sync_interval: SYNC_INTERVAL,
            syncs: 0,
        }
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `task` as one line and flushes it to the file.
    pub fn append(&mut self, task: &TaskRecord) -> Result<(), JournalError> {
        let mut line = serde_json::to_vec(&TaskOut::new(task)).map_err(|e| JournalError::Io {
            action: "write",
            path: self.path.clone(),
            source: io::Error::other(e),
        })?;
        line.push(b'\n');
        self.write_line(&line)
    }

    /// Writes whole lines, in one write so that a kill cuts at most the last one short.
    fn write_line(&mut self, line: &[u8]) -> Result<(), JournalError> {
        let io_error = |action, source| JournalError::Io {
            action,
            path: self.path.clone(),
            source,
        };
        self.file
            .write_all(line)
            .and_then(|()| self.file.flush())
            .map_err(|e| io_error("write", e))?;
        if self.synced_at.is_none_or(|at| at.elapsed() >= self.sync_interval) {
            self.file.sync_data().map_err(|e| io_error("sync", e))?;
            self.synced_at = Some(Instant::now());
            self.syncs += 1;
        }
        Ok(())
    }
}

/// Takes the advisory lock a journal's writer holds while it lives (released when the file is
/// closed, even by a kill). A file system without locks only loses the protection, not the
/// journal.
fn lock(file: &File, path: &Path) -> Result<(), JournalError> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => Err(JournalError::InUse { path: path.to_owned() }),
        Err(std::fs::TryLockError::Error(e)) if e.kind() == io::ErrorKind::Unsupported => Ok(()),
        Err(std::fs::TryLockError::Error(source)) => Err(JournalError::Io {
            action: "lock",
            path: path.to_owned(),
            source,
        }),
    }
}

/// Appends every graded task to a journal. A failure to write is reported once on stderr and
/// ends the journaling, never the run.
///
/// Records are encoded by the thread that graded them, outside any lock, and handed to a
/// thread of the journal's own that writes whatever has come within [`LINGER`] of the first
/// line waiting, in one write. A kill thus loses at most the tasks of the last few
/// milliseconds, and a run of quick tasks makes a few hundred writes rather than one per task,
/// none of them on the threads that run agents. When the run completes, its last lines are
/// written before it returns.
pub struct JournalObserver {
    shared: Arc<Shared>,
    writing: Option<std::thread::JoinHandle<()>>,
}

/// How long the journal's thread waits after a line arrives for others to write with it.
pub const LINGER: Duration = Duration::from_millis(5);

struct Shared {
    batch: Mutex<Batch>,
    /// Told when the first line of a batch arrives, when the journal closes, and (to those
    /// waiting for it) when a batch has been written.
    changed: Condvar,
}

struct Batch {
    /// Lines waiting for the journal's thread.
    pending: Vec<u8>,
    /// Batches handed to the operating system so far.
    written: u64,
    /// Batches taken by the journal's thread so far (`written`, or one more while it writes).
    taken: u64,
    /// No line comes any more: the thread writes what is left and ends.
    closed: bool,
    /// A write failed: the journal is given up.
    failed: bool,
}

thread_local! {
    /// The line a grading thread encodes a record into, kept to be reused.
    static LINE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl JournalObserver {
    /// Journals through `writer`, on a thread of its own.
    pub fn new(writer: JournalWriter) -> Self {
        let shared = Arc::new(Shared {
            batch: Mutex::new(Batch {
                pending: Vec::new(),
                written: 0,
                taken: 0,
                closed: false,
                failed: false,
            }),
            changed: Condvar::new(),
        });
        let path = writer.path().to_owned();
        let writing = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("eval-journal".to_owned())
                .spawn(move || shared.write_through(writer))
        };
        let writing = match writing {
            Ok(writing) => Some(writing),
            Err(e) => {
                eprintln!(
                    "warning: cannot journal to {}: no thread to write it ({e}); the run goes on without a journal (it cannot be resumed if killed)",
                    path.display()
                );
                shared.lock().failed = true;
                None
            }
        };
        JournalObserver { shared, writing }
    }

    /// Waits until every line given so far is written (or the journal is given up).
    fn flush(&self) {
        let mut batch = self.shared.lock();
        let wanted = batch.taken + u64::from(!batch.pending.is_empty());
        // Without the wait the thread would linger before taking the last lines.
        self.shared.changed.notify_all();
        while !batch.failed && batch.written < wanted {
            batch = self.shared.wait(batch);
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Batch> {
        self.batch.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wait<'a>(&self, batch: MutexGuard<'a, Batch>) -> MutexGuard<'a, Batch> {
        self.changed.wait(batch).unwrap_or_else(PoisonError::into_inner)
    }

    /// The journal's thread: writes each batch once it has lingered, until the journal closes.
    fn write_through(&self, mut writer: JournalWriter) {
        let mut lines = Vec::new();
        let mut batch = self.lock();
        loop {
            while batch.pending.is_empty() && !batch.closed {
                batch = self.wait(batch);
            }
            if batch.pending.is_empty() {
                return;
            }
            if !batch.closed {
                // Lines that arrive meanwhile go out in the same write; a flush cuts it short.
                let waited = self.changed.wait_timeout(batch, LINGER);
                batch = waited.unwrap_or_else(PoisonError::into_inner).0;
            }
            std::mem::swap(&mut lines, &mut batch.pending);
            batch.taken += 1;
            drop(batch);
            let written = writer.write_line(&lines);
            lines.clear();
            batch = self.lock();
            batch.written += 1;
            self.changed.notify_all();
            if let Err(e) = written {
                eprintln!("warning: {e}; the run goes on without a journal (it cannot be resumed if killed)");
                batch.pending = Vec::new();
                batch.failed = true;
                return;
            }
        }
    }
}

impl Observer for JournalObserver {
    fn task_evaluated(&self, task: &TaskRecord) {
        LINE.with_borrow_mut(|line| {
            line.clear();
            if let Err(e) = serde_json::to_writer(&mut *line, &TaskOut::new(task)) {
                let mut batch = self.shared.lock();
                if !std::mem::replace(&mut batch.failed, true) {
                    eprintln!(
                        "warning: cannot journal task `{}`: {e}; the run goes on without a journal (it cannot be resumed if killed)",
                        task.task_id,
                    );
                }
                return;
            }
            line.push(b'\n');
            let mut batch = self.shared.lock();
            if batch.failed {
                return;
            }
            let first = batch.pending.is_empty();
            batch.pending.extend_from_slice(line);
            // The thread lingers once it has a line: only the first of a batch wakes it.
            if first {
                self.shared.changed.notify_all();
            }
        });
    }

    fn run_completed(&self, _run: &RunResult) {
        self.flush();
    }
}

impl Drop for JournalObserver {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.changed.notify_all();
        if let Some(writing) = self.writing.take() {
            // It ends once the last lines are written; a panic there was reported already.
            let _ = writing.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feedback::Feedback;
    use crate::task::ContentHash;
    use crate::trace::Trace;
    use serde_json::{Map, Value, json};

    fn task(id: &str, passed: bool) -> TaskRecord {
        let inputs = json!({"input": id});
        TaskRecord {
            task_id: id.to_owned(),
            content_hash: ContentHash::of(&inputs, &Value::Null),
            inputs,
            reference_outputs: Value::Null,
            tags: vec!["smoke".to_owned()],
            metadata: Map::new(),
            trace: Trace::default(),
            feedback: vec![Feedback::pass_fail("exact", passed)],
            budget_violation: false,
            scorer_traces: Vec::new(),
            trace_ref: None,
            outputs: json!("out"),
            attempt: None,
        }
    }

    fn header() -> JournalHeader {
        JournalHeader {
            created_at: "2026-11-22T08:19:58Z".to_owned(),
            ..JournalHeader::new("01JOURNAL", "weather", vec!["exact".to_owned()])
        }
    }

    fn written(dir: &Path) -> PathBuf {
        let path = dir.join("weather").join("01JOURNAL.journal.jsonl");
        let mut writer = JournalWriter::create(&path, &header()).unwrap();
        writer.append(&task("a", true)).unwrap();
        writer.append(&task("b", false)).unwrap();
        path
    }

    #[test]
    fn appended_tasks_read_back_with_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = written(dir.path());
        let read = read_journal(&path).unwrap();
        assert_eq!(read.header, header());
        assert_eq!(read.tasks, vec![task("a", true), task("b", false)]);
        assert_eq!(read.complete_len, fs::metadata(&path).unwrap().len());
    }

    #[test]
    fn a_journal_that_is_a_symbolic_link_is_neither_read_nor_written_through() {
        let dir = tempfile::tempdir().unwrap();
        // The link's target: a journal outside the store.
        let outside = written(&dir.path().join("outside"));
        let before = fs::read(&outside).unwrap();
        let link = dir.path().join("store/weather/01JOURNAL.journal.jsonl");
        fs::create_dir_all(link.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&outside, &link).unwrap();

        let expected = format!(
            "cannot open journal {}: it is a symbolic link, not a regular file; a run never reads or writes a journal through a link or a special file",
            link.display()
        );
        let err = read_journal(&link).unwrap_err().to_string();
        assert!(err.starts_with(&expected), "{err}");
        let contents = read_journal(&outside).unwrap();
        let err = JournalWriter::resume(&link, &contents)
            .err()
            .expect("no writer")
            .to_string();
        assert!(err.starts_with(&expected), "{err}");
        let err = JournalWriter::create(&link, &header())
            .err()
            .expect("no writer")
            .to_string();
        assert!(err.starts_with("cannot create journal"), "{err}");
        assert_eq!(fs::read(&outside).unwrap(), before, "the target is untouched");
    }

    #[test]
    fn the_journal_is_synced_on_creation_and_then_at_most_once_per_interval() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("01SYNC.journal.jsonl");
        let mut writer = JournalWriter::create(&path, &header()).unwrap();
        assert_eq!(writer.syncs, 1, "the header is on disk");
        for id in ["a", "b", "c"] {
            writer.append(&task(id, true)).unwrap();
        }
        assert_eq!(writer.syncs, 1, "quick appends share the next sync");

        writer.sync_interval = Duration::ZERO;
        writer.append(&task("d", true)).unwrap();
        writer.append(&task("e", true)).unwrap();
        assert_eq!(writer.syncs, 3, "an append after the interval syncs");
        assert_eq!(read_journal(&path).unwrap().tasks.len(), 5);
    }

    fn observed(dir: &Path) -> (PathBuf, JournalObserver) {
        let path = dir.join("01OBSERVED.journal.jsonl");
        let observer = JournalObserver::new(JournalWriter::create(&path, &header()).unwrap());
        (path, observer)
    }

    fn journaled(path: &Path) -> Vec<String> {
        let read = read_journal(path).unwrap();
        read.tasks.into_iter().map(|task| task.task_id).collect()
    }

    #[test]
    fn a_line_reaches_the_file_a_moment_after_its_task_with_no_flush() {
        let dir = tempfile::tempdir().unwrap();
        let (path, observer) = observed(dir.path());
        observer.task_evaluated(&task("a", true));
        let given = Instant::now();
        while journaled(&path).is_empty() {
            assert!(given.elapsed() < Duration::from_secs(5), "never written");
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(journaled(&path), ["a"]);
        drop(observer);
    }

    #[test]
    fn quick_tasks_share_writes_and_a_completed_run_has_them_all_written() {
        let dir = tempfile::tempdir().unwrap();
        let (path, observer) = observed(dir.path());
        let ids: Vec<String> = (0..200).map(|i| format!("t{i:03}")).collect();
        for id in &ids {
            observer.task_evaluated(&task(id, true));
        }
        observer.flush();
        assert_eq!(journaled(&path), ids, "all there once flushed, in order");
        let written = observer.shared.lock().written;
        assert!((1..50).contains(&written), "200 quick lines took {written} writes");
    }

    #[test]
    fn a_journal_let_go_of_writes_its_last_lines_first() {
        let dir = tempfile::tempdir().unwrap();
        let (path, observer) = observed(dir.path());
        observer.task_evaluated(&task("a", true));
        observer.task_evaluated(&task("b", false));
        drop(observer);
        assert_eq!(journaled(&path), ["a", "b"]);
    }

    #[test]
    fn an_existing_journal_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = written(dir.path());
        assert!(JournalWriter::create(&path, &header()).is_err());
        assert_eq!(read_journal(&path).unwrap().tasks.len(), 2);
    }

    #[test]
    fn a_truncated_last_line_is_skipped_and_cut_off_when_resuming() {
        let dir = tempfile::tempdir().unwrap();
        let path = written(dir.path());
        let whole = fs::read(&path).unwrap();
        let mut cut = whole.clone();
        cut.extend_from_slice(br#"{"task_id": "c", "inpu"#);
        fs::write(&path, &cut).unwrap();

        let read = read_journal(&path).unwrap();
        assert_eq!(read.tasks.len(), 2);
        assert_eq!(read.complete_len, whole.len() as u64);

        let mut writer = JournalWriter::resume(&path, &read).unwrap();
        writer.append(&task("c", true)).unwrap();
        let ids: Vec<String> = read_journal(&path)
            .unwrap()
            .tasks
            .into_iter()
            .map(|t| t.task_id)
            .collect();
        assert_eq!(ids, ["a", "b", "c"]);
    }

    #[test]
    fn a_corrupt_line_in_the_middle_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = written(dir.path());
        let text = fs::read_to_string(&path).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        lines[1] = "{not json";
        fs::write(&path, lines.join("\n") + "\n").unwrap();

        let error = read_journal(&path).unwrap_err();
        assert!(matches!(error, JournalError::BadLine { line: 2, .. }), "{error}");
        let message = error.to_string();
        assert!(message.contains("01JOURNAL.journal.jsonl"), "{message}");
        assert!(message.contains("line 2"), "{message}");
    }

    #[test]
    fn a_journal_cut_inside_its_header_has_no_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.journal.jsonl");
        fs::write(&path, br#"{"run_id": "01J"#).unwrap();
        assert!(matches!(read_journal(&path), Err(JournalError::NoHeader { .. })));
    }

    #[test]
    fn a_writer_holds_the_journal_locked_until_it_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("01LOCK.journal.jsonl");
        let writer = JournalWriter::create(&path, &header()).unwrap();
        assert!(crate::regular_file::is_in_use(&path).unwrap());
        let contents = read_journal(&path).unwrap();
        let second = JournalWriter::resume(&path, &contents);
        assert!(
            matches!(second, Err(JournalError::InUse { .. })),
            "a second writer is refused"
        );
        drop(writer);
        assert!(!crate::regular_file::is_in_use(&path).unwrap());
        let resumed = JournalWriter::resume(&path, &contents).unwrap();
        assert!(crate::regular_file::is_in_use(resumed.path()).unwrap());
    }

    #[test]
    fn the_observer_journals_every_graded_task() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.journal.jsonl");
        let observer = JournalObserver::new(JournalWriter::create(&path, &header()).unwrap());
        observer.task_evaluated(&task("a", true));
        observer.flush();
        assert_eq!(read_journal(&path).unwrap().tasks, vec![task("a", true)]);
    }

    #[test]
    fn tasks_graded_at_once_on_many_threads_are_each_journaled_once_on_a_line_of_their_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.journal.jsonl");
        let observer = JournalObserver::new(JournalWriter::create(&path, &header()).unwrap());
        std::thread::scope(|scope| {
            for thread in 0..8 {
                let observer = &observer;
                scope.spawn(move || {
                    for i in 0..200 {
                        observer.task_evaluated(&task(&format!("t{thread}-{i}"), i % 2 == 0));
                    }
                });
            }
        });
        observer.flush();
        let mut ids: Vec<String> = read_journal(&path)
            .unwrap()
            .tasks
            .into_iter()
            .map(|t| t.task_id)
            .collect();
        ids.sort();
        let mut expected: Vec<String> = (0..8)
            .flat_map(|t| (0..200).map(move |i| format!("t{t}-{i}")))
            .collect();
        expected.sort();
        assert_eq!(ids, expected);
    }
}
