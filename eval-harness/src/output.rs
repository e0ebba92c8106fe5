//! What the test lines go through on their way to stdout.
//!
//! libtest-mimic writes its lines into a pipe (as its `--logfile`) and a thread of ours copies
//! them to stdout, so that:
//! - a closed stdout (`cargo test --test evals | head`) stops the run like an interrupt, which
//!   saves it, instead of a panic in libtest-mimic's printer that would lose it;
//! - `--format json` events of ignored pairs carry their reason (`"message": "known failure"`),
//!   as libtest's own do;
//! - bursts of lines reach stdout in a few writes rather than one write per line.

use std::collections::HashMap;
use std::io::{self, IsTerminal as _, Read as _, Write as _};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

/// Why ignored trials were ignored, by test name: filled by the trials before libtest-mimic
/// prints their line.
#[derive(Debug, Default)]
pub(crate) struct IgnoredReasons(Mutex<HashMap<String, &'static str>>);

impl IgnoredReasons {
    pub fn record(&self, name: &str, reason: &'static str) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.to_owned(), reason);
    }

    fn get(&self, name: &str) -> Option<&'static str> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).get(name).copied()
    }
}

/// The copy of libtest-mimic's output to stdout, while it runs.
pub(crate) struct Forwarder {
    /// Our end of the pipe's write side: held until libtest-mimic is done, so the copy sees the
    /// end of its output only then.
    writer: Option<io::PipeWriter>,
    path: PathBuf,
    copier: JoinHandle<bool>,
}

impl Forwarder {
    /// Starts copying into stdout; `json` rewrites the events of ignored tests with their
    /// reason, and `on_closed` runs (once) when stdout stops taking output. `None` when no pipe
    /// can be had, and then libtest-mimic writes to stdout itself.
    pub fn start(
        json: bool,
        reasons: Arc<IgnoredReasons>,
        on_closed: impl FnOnce() + Send + 'static,
    ) -> Option<Forwarder> {
        let (reader, writer) = io::pipe().ok()?;
        let path = pipe_path(&writer)?;
        let copier = std::thread::Builder::new()
            .name("test-output".to_owned())
            .spawn(move || copy(reader, json, &reasons, on_closed))
            .ok()?;
        Some(Forwarder {
            writer: Some(writer),
            path,
            copier,
        })
    }

    /// Points libtest-mimic at the pipe. Colours are decided here, since libtest-mimic would
    /// see a pipe and turn them off.
    pub fn redirect(&self, args: &mut libtest_mimic::Arguments) {
        use libtest_mimic::ColorSetting;
        args.logfile = Some(self.path.display().to_string());
        let colour = match args.color.unwrap_or(ColorSetting::Auto) {
            ColorSetting::Auto => {
                let wanted = io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::env::var_os("TERM").is_none_or(|term| term != "dumb");
                if wanted {
                    ColorSetting::Always
                } else {
                    ColorSetting::Never
                }
            }
            chosen => chosen,
        };
        args.color = Some(colour);
    }

    /// Waits until everything libtest-mimic wrote has been copied. Returns whether stdout was
    /// closed on the way.
    pub fn finish(mut self) -> bool {
        drop(self.writer.take());
        self.copier.join().unwrap_or(true)
    }
}

/// A path that opens the pipe's write side: libtest-mimic only takes a file name.
#[cfg(unix)]
fn pipe_path(writer: &io::PipeWriter) -> Option<PathBuf> {
    use std::os::fd::AsRawFd as _;
    let path = PathBuf::from(format!("/dev/fd/{}", writer.as_raw_fd()));
    path.exists().then_some(path)
}

#[cfg(not(unix))]
fn pipe_path(_writer: &io::PipeWriter) -> Option<PathBuf> {
    None
}

/// Copies until the write side is closed; after stdout fails, keeps reading (and drops the
/// output) so libtest-mimic never blocks on a full pipe. Returns whether stdout failed.
fn copy(mut reader: io::PipeReader, json: bool, reasons: &IgnoredReasons, on_closed: impl FnOnce()) -> bool {
    let mut on_closed = Some(on_closed);
    let mut stdout = io::stdout().lock();
    let mut buffer = vec![0; 64 * 1024];
    // In JSON mode, the part of a line not yet ended.
    let mut pending = Vec::new();
    let mut out = Vec::new();
    loop {
        let read = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        if on_closed.is_none() {
            continue;
        }
        out.clear();
        if json {
            pending.extend_from_slice(&buffer[..read]);
            let complete = pending.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            for line in pending[..complete].split_inclusive(|&b| b == b'\n') {
                with_reason(line, reasons, &mut out);
            }
            pending.drain(..complete);
        } else {
            out.extend_from_slice(&buffer[..read]);
        }
        if stdout.write_all(&out).and_then(|()| stdout.flush()).is_err()
            && let Some(closed) = on_closed.take()
        {
            closed();
        }
    }
    if on_closed.is_some() && !pending.is_empty() {
        out.clear();
        with_reason(&pending, reasons, &mut out);
        return stdout.write_all(&out).and_then(|()| stdout.flush()).is_err();
    }
    on_closed.is_none()
}

/// Copies one line, adding the reason to the event of an ignored test:
/// `{ "type": "test", "name": "…", "event": "ignored", "message": "known failure" }`.
fn with_reason(line: &[u8], reasons: &IgnoredReasons, out: &mut Vec<u8>) {
    const IGNORED_END: &[u8] = br#""event": "ignored" }"#;
    let body = line.strip_suffix(b"\n").unwrap_or(line);
    let reason = body
        .ends_with(IGNORED_END)
        .then(|| serde_json::from_slice::<serde_json::Value>(body).ok())
        .flatten()
        .and_then(|event| event["name"].as_str().and_then(|name| reasons.get(name)));
    match reason {
        Some(reason) => {
            out.extend_from_slice(&body[..body.len() - 2]);
            out.extend_from_slice(br#", "message": "#);
            out.extend_from_slice(serde_json::Value::from(reason).to_string().as_bytes());
            out.extend_from_slice(b" }");
            out.extend_from_slice(&line[body.len()..]);
        }
        None => out.extend_from_slice(line),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(line: &str, reasons: &IgnoredReasons) -> String {
        let mut out = Vec::new();
        with_reason(line.as_bytes(), reasons, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn ignored_events_get_their_reason() {
        let reasons = IgnoredReasons::default();
        reasons.record("weather::rome::city_matches", "known failure");
        let line = "{ \"type\": \"test\", \"name\": \"weather::rome::city_matches\", \"event\": \"ignored\" }\n";
        let out = rewritten(line, &reasons);
        assert_eq!(
            out,
            "{ \"type\": \"test\", \"name\": \"weather::rome::city_matches\", \"event\": \"ignored\", \"message\": \"known failure\" }\n"
        );
        let event: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(event["message"], "known failure");
    }

    #[test]
    fn other_lines_pass_unchanged() {
        let reasons = IgnoredReasons::default();
        reasons.record("a::b::c", "not applicable");
        for line in [
            "{ \"type\": \"test\", \"name\": \"a::b::c\", \"event\": \"ok\" }\n",
            "{ \"type\": \"test\", \"name\": \"x::y::z\", \"event\": \"ignored\" }\n",
            "{ \"type\": \"test\", \"name\": \"a::b::c\", \"event\": \"ignored\" }",
            "test a::b::c ... ignored, not applicable\n",
            "not json \"event\": \"ignored\" }\n",
        ] {
            let expected = match line.ends_with("\"ignored\" }") {
                // The last line of the output may end without a newline; it keeps its reason.
                true => line.replace(" }", ", \"message\": \"not applicable\" }"),
                false => line.to_owned(),
            };
            assert_eq!(rewritten(line, &reasons), expected);
        }
    }

    #[test]
    fn output_reaches_the_copy_through_the_pipe_path() {
        let reasons = Arc::new(IgnoredReasons::default());
        let Some(forwarder) = Forwarder::start(false, reasons, || {}) else {
            return; // No pipe path on this platform: libtest-mimic writes to stdout itself.
        };
        let mut args = libtest_mimic::Arguments::default();
        forwarder.redirect(&mut args);
        let path = args.logfile.clone().unwrap();
        std::fs::File::create(&path)
            .unwrap()
            .write_all(b"running 0 tests\n")
            .unwrap();
        assert!(!forwarder.finish(), "stdout took the output");
    }
}
