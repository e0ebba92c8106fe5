//! The run JSON written out, pretty-printed, its task records encoded on several threads.
//!
//! Encoding the records is nearly all the work of saving a large run, and it comes at the very
//! end of one, when nothing else is left to overlap it with. So the records are encoded in
//! chunks by a few threads, each into a buffer of its own, and the calling thread writes the
//! buffers in order as they come: the bytes are exactly those of one pretty-printing pass
//! (a test pins it), and at most [`WINDOW`] chunks wait in memory.

use super::{RunOut, TaskOut};
use crate::record::TaskRecord;
use crate::result::RunResult;
use serde::Serialize;
use serde_json::ser::Formatter;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// Records encoded per chunk.
const CHUNK: usize = 256;
/// Chunks encoded ahead of the one being written, at most.
const WINDOW: usize = 8;
/// Threads that encode besides the writing one, at most.
const HELPERS: usize = 3;

/// Writes `run` as pretty-printed JSON, as `serde_json::to_writer_pretty` would.
pub(crate) fn write_pretty_run<W: Write>(out: &mut W, run: &RunResult) -> io::Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    write_with(out, run, CHUNK, HELPERS.min(cores - 1))
}

fn write_with<W: Write>(out: &mut W, run: &RunResult, chunk: usize, helpers: usize) -> io::Result<()> {
    let tasks = run.tasks();
    if helpers == 0 || tasks.len() < 2 * chunk {
        return Ok(serde_json::to_writer_pretty(out, &RunOut::new(run))?);
    }
    // The run with no task, cut where its tasks go: `"tasks": [` | the records | `]` and the rest.
    // Strings hold no raw line break, so only the run's own `tasks` key starts a line indented
    // once.
    let frame = serde_json::to_vec_pretty(&RunOut::with_tasks(run, &[]))?;
    const EMPTY: &[u8] = b"\n  \"tasks\": []";
    let Some(at) = frame.windows(EMPTY.len()).position(|w| w == EMPTY) else {
        return Err(io::Error::other("the run's frame has no `tasks`"));
    };
    let close = at + EMPTY.len() - 1;
    out.write_all(&frame[..close])?;
    write_records(out, tasks, chunk, helpers)?;
    out.write_all(b"\n  ")?;
    out.write_all(&frame[close..])
}

/// The records of `tasks` as the elements of an array nested once, each on lines of its own.
fn write_records<W: Write>(out: &mut W, tasks: &[TaskRecord], chunk: usize, helpers: usize) -> io::Result<()> {
    let chunks = tasks.len().div_ceil(chunk);
    let shared = Shared {
        state: Mutex::new(State::default()),
        changed: Condvar::new(),
        next: AtomicUsize::new(0),
        chunks,
    };
    let encode = |index: usize| encode_chunk(tasks, chunk, index);
    std::thread::scope(|scope| {
        for _ in 0..helpers {
            let spawned = std::thread::Builder::new()
                .name("eval-encode".to_owned())
                .spawn_scoped(scope, || shared.help(encode));
            // Without it the writing thread encodes more itself.
            if spawned.is_err() {
                break;
            }
        }
        let written = shared.write(out, encode);
        if written.is_err() {
            shared.lock().failed = true;
            shared.changed.notify_all();
        }
        written
    })
}

/// Chunk `index` of `tasks`: each record at its place in the run, after its separator.
fn encode_chunk(tasks: &[TaskRecord], chunk: usize, index: usize) -> io::Result<Vec<u8>> {
    let start = index * chunk;
    let records = &tasks[start..(start + chunk).min(tasks.len())];
    let mut bytes = Vec::with_capacity(records.len() * 1024);
    for (offset, task) in records.iter().enumerate() {
        bytes.extend_from_slice(if start + offset == 0 { b"\n    " } else { b",\n    " });
        let mut serializer = serde_json::Serializer::with_formatter(&mut bytes, Nested::default());
        TaskOut::new(task).serialize(&mut serializer)?;
    }
    Ok(bytes)
}

/// serde_json's pretty printing (two spaces a level), for a record nested twice: as an element
/// of the run's `tasks`. A line break and its indentation go out as one write (serde_json's
/// own formatter writes the indentation two spaces at a time, and a record starts ~60 lines).
#[derive(Default)]
struct Nested {
    /// How deep the value being written is in the record.
    depth: usize,
    /// Whether the array or object being written has a value yet.
    has_value: bool,
}

/// Levels of the run above a record's own.
const RECORD_DEPTH: usize = 2;
/// A comma, a line break, then indentation for the deepest lines written at once.
const BREAK: &[u8] = b",\n                                                                ";

impl Nested {
    /// A line break (after a comma unless `first`), then the indentation of the current depth.
    fn new_line<W: ?Sized + Write>(&self, writer: &mut W, first: bool) -> io::Result<()> {
        let spaces = 2 * (self.depth + RECORD_DEPTH);
        let from = usize::from(first);
        let at_once = (BREAK.len() - 2).min(spaces);
        writer.write_all(&BREAK[from..2 + at_once])?;
        for _ in 0..(spaces - at_once) {
            writer.write_all(b" ")?;
        }
        Ok(())
    }

    fn begin<W: ?Sized + Write>(&mut self, writer: &mut W, open: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        writer.write_all(open)
    }

    fn end<W: ?Sized + Write>(&mut self, writer: &mut W, close: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.new_line(writer, true)?;
        }
        writer.write_all(close)
    }
}

impl Formatter for Nested {
    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.begin(writer, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.end(writer, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        self.new_line(writer, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.begin(writer, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.end(writer, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        self.new_line(writer, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

struct Shared {
    state: Mutex<State>,
    /// Told when a chunk is encoded, when one is written, and when writing fails.
    changed: Condvar,
    /// The next chunk no thread has taken.
    next: AtomicUsize,
    chunks: usize,
}

#[derive(Default)]
struct State {
    /// Chunks encoded and not yet written, by index.
    ready: BTreeMap<usize, io::Result<Vec<u8>>>,
    /// Chunks written so far.
    written: usize,
    /// The writing stopped: nothing more is encoded.
    failed: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn take(&self) -> Option<usize> {
        let index = self.next.fetch_add(1, Ordering::Relaxed);
        (index < self.chunks).then_some(index)
    }

    /// A helper: encodes the chunks it takes, never more than [`WINDOW`] ahead of the writing.
    fn help(&self, encode: impl Fn(usize) -> io::Result<Vec<u8>>) {
        while let Some(index) = self.take() {
            let mut state = self.lock();
            while !state.failed && index >= state.written + WINDOW {
                state = self.changed.wait(state).unwrap_or_else(PoisonError::into_inner);
            }
            if state.failed {
                return;
            }
            drop(state);
            let encoded = encode(index);
            self.lock().ready.insert(index, encoded);
            self.changed.notify_all();
        }
    }

    /// The writing thread: writes the chunks in order, encoding one itself whenever the next is
    /// not ready and one is left to take.
    fn write<W: Write>(&self, out: &mut W, encode: impl Fn(usize) -> io::Result<Vec<u8>>) -> io::Result<()> {
        for index in 0..self.chunks {
            let bytes = loop {
                let mut state = self.lock();
                if let Some(bytes) = state.ready.remove(&index) {
                    break bytes;
                }
                drop(state);
                if let Some(taken) = self.take() {
                    let encoded = encode(taken);
                    if taken == index {
                        break encoded;
                    }
                    self.lock().ready.insert(taken, encoded);
                    continue;
                }
                state = self.lock();
                while !state.ready.contains_key(&index) {
                    state = self.changed.wait(state).unwrap_or_else(PoisonError::into_inner);
                }
            }?;
            out.write_all(&bytes)?;
            self.lock().written = index + 1;
            self.changed.notify_all();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feedback::Feedback;
    use crate::result::{RunMeta, SuiteInfo};
    use crate::task::ContentHash;
    use crate::trace::{Exception, Trace};
    use serde_json::{Map, Value, json};

    fn record(i: usize) -> TaskRecord {
        let inputs = json!({"input": format!("question {i}: \"quoted\"\nand a line break"), "n": [i, {"deep": null}]});
        TaskRecord {
            task_id: format!("t{i:05}"),
            content_hash: ContentHash::of(&inputs, &Value::Null),
            inputs,
            reference_outputs: if i.is_multiple_of(3) {
                Value::Null
            } else {
                json!({"answer": i})
            },
            tags: (0..i % 3).map(|t| format!("tag{t}")).collect(),
            // Now and then a value nested deeper than the indentation written at once.
            metadata: match i % 50 {
                1 => Map::from_iter([(
                    "deep".to_owned(),
                    (0..40).fold(json!([1, {}]), |v, _| json!({"a": [v]})),
                )]),
                _ => Map::new(),
            },
            trace: Trace::new(
                Vec::new(),
                i.is_multiple_of(7).then(|| Exception::new("Timeout", "ünïcode ✓")),
                i as u64,
            ),
            feedback: vec![
                Feedback::pass_fail("exact", i.is_multiple_of(2)),
                Feedback::pass_fail("other", true),
            ],
            budget_violation: false,
            scorer_traces: Vec::new(),
            trace_ref: None,
            outputs: json!(i),
            attempt: None,
        }
    }

    fn run(tasks: usize) -> RunResult {
        let suite = SuiteInfo {
            name: "weather".into(),
            size: tasks,
            source: "inline".into(),
        };
        let meta = RunMeta {
            label: Some("a label with \n  \"tasks\": [] in it".into()),
            ..RunMeta::new("01PRETTY", suite)
        };
        RunResult::new(meta, (0..tasks).map(record).collect())
    }

    #[test]
    fn records_encoded_in_parallel_chunks_give_the_bytes_of_one_pass() {
        for (tasks, chunk, helpers) in [(1000, 7, 3), (64, 8, 1), (257, 16, 2), (100, 1, 4), (40, 20, 0)] {
            let run = run(tasks);
            let expected = serde_json::to_vec_pretty(&RunOut::new(&run)).unwrap();
            let mut written = Vec::new();
            write_with(&mut written, &run, chunk, helpers).unwrap();
            assert!(
                written == expected,
                "{tasks} tasks in chunks of {chunk}, {helpers} helper(s): the bytes differ"
            );
        }
    }

    #[test]
    fn a_failing_writer_stops_the_helpers_and_says_why() {
        struct Full(usize);
        impl Write for Full {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                if self.0 < buf.len() {
                    return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
                }
                self.0 -= buf.len();
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let err = write_with(&mut Full(10_000), &run(2000), 4, 2).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
    }
}
