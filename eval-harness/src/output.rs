//! What the test lines go through on their way to stdout.
//!
//! While libtest-mimic runs, the process's stdout is a pipe and a thread of ours copies what
//! comes out of it to the real stdout, so that:
//! - a closed stdout (`cargo test --test evals | head`) stops the run like an interrupt, which
//!   saves it, instead of a panic in libtest-mimic's printer that would lose it;
//! - `--format json` events of ignored pairs carry their reason (`"message": "known failure"`),
//!   as libtest's own do;
//! - libtest-mimic still writes through the standard library's line-buffered stdout (a write
//!   per line, not one per piece of a line), and bursts of lines reach the real stdout in a few
//!   writes.

use std::collections::HashMap;
use std::io::{self, IsTerminal as _, Read as _, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};
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

/// The copy of the process's stdout to the real one, while libtest-mimic runs.
pub(crate) struct Forwarder {
    #[cfg(unix)]
    real_stdout: std::os::fd::OwnedFd,
    /// Set when the copy is to end: the pipe may stay open after that (a process an agent
    /// started holds it), so the copy stops once it has read what is there.
    finishing: Arc<AtomicBool>,
    copier: JoinHandle<bool>,
}

impl Forwarder {
    /// Starts copying into the real stdout; `json` rewrites the events of ignored tests with
    /// their reason, and `on_closed` runs (once) when stdout stops taking output. `None` when
    /// stdout cannot be rerouted, and then libtest-mimic writes to it directly.
    #[cfg(unix)]
    pub fn start(
        json: bool,
        reasons: Arc<IgnoredReasons>,
        on_closed: impl FnOnce() + Send + 'static,
    ) -> Option<Forwarder> {
        use std::os::fd::AsFd as _;
        let real_stdout = io::stdout().as_fd().try_clone_to_owned().ok()?;
        let copy_to = std::fs::File::from(real_stdout.try_clone().ok()?);
        let (reader, writer) = io::pipe().ok()?;
        let finishing = Arc::new(AtomicBool::new(false));
        let copier = {
            let finishing = finishing.clone();
            std::thread::Builder::new()
                .name("test-output".to_owned())
                .spawn(move || copy(reader, copy_to, &finishing, json, &reasons, on_closed))
                .ok()?
        };
        let _ = io::stdout().lock().flush();
        if rustix::stdio::dup2_stdout(&writer).is_err() {
            finishing.store(true, Ordering::Relaxed);
            drop(writer);
            let _ = copier.join();
            return None;
        }
        Some(Forwarder {
            real_stdout,
            finishing,
            copier,
        })
    }

    #[cfg(not(unix))]
    pub fn start(
        _json: bool,
        _reasons: Arc<IgnoredReasons>,
        _on_closed: impl FnOnce() + Send + 'static,
    ) -> Option<Forwarder> {
        None
    }

    /// Decides libtest-mimic's colours, since it would see a pipe and turn them off.
    pub fn redirect(&self, args: &mut libtest_mimic::Arguments) {
        use libtest_mimic::ColorSetting;
        let colour = match args.color.unwrap_or(ColorSetting::Auto) {
            ColorSetting::Auto => {
                let wanted = self.real_stdout_is_terminal()
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

    #[cfg(unix)]
    fn real_stdout_is_terminal(&self) -> bool {
        self.real_stdout.is_terminal()
    }

    #[cfg(not(unix))]
    fn real_stdout_is_terminal(&self) -> bool {
        false
    }

    /// Puts the real stdout back and waits until everything written before was copied.
    /// Returns whether stdout was closed on the way.
    pub fn finish(self) -> bool {
        let _ = io::stdout().lock().flush();
        #[cfg(unix)]
        let _ = rustix::stdio::dup2_stdout(&self.real_stdout);
        self.finishing.store(true, Ordering::Relaxed);
        self.copier.join().unwrap_or(true)
    }
}

/// How long the copy waits for output before it looks whether it is to end.
#[cfg(unix)]
const POLL_INTERVAL_MS: i64 = 50;

/// Copies until the write side is closed, or the copy is to end and nothing is left to read;
/// after the real stdout fails, keeps reading (and drops the output) so that no writer ever
/// blocks on a full pipe. Returns whether stdout failed.
#[cfg(unix)]
fn copy(
    mut reader: io::PipeReader,
    mut stdout: std::fs::File,
    finishing: &AtomicBool,
    json: bool,
    reasons: &IgnoredReasons,
    on_closed: impl FnOnce(),
) -> bool {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let mut on_closed = Some(on_closed);
    let mut buffer = vec![0; 64 * 1024];
    // In JSON mode, the part of a line not yet ended.
    let mut pending = Vec::new();
    let mut out = Vec::new();
    let interval = Timespec {
        tv_sec: 0,
        tv_nsec: POLL_INTERVAL_MS * 1_000_000,
    };
    loop {
        let mut fds = [PollFd::new(&reader, PollFlags::IN)];
        match poll(&mut fds, Some(&interval)) {
            Ok(0) if finishing.load(Ordering::Relaxed) => break,
            Ok(0) => continue,
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => break,
        }
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
        if stdout.write_all(&out).is_err()
            && let Some(closed) = on_closed.take()
        {
            closed();
        }
    }
    if on_closed.is_some() && !pending.is_empty() {
        out.clear();
        with_reason(&pending, reasons, &mut out);
        return stdout.write_all(&out).is_err();
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

    /// One test, since stdout is the process's own: two tests rerouting it at once would
    /// undo each other.
    #[test]
    #[cfg(unix)]
    fn output_reaches_the_real_stdout_and_a_process_holding_the_pipe_does_not_hold_up_the_end() {
        let reasons = Arc::new(IgnoredReasons::default());
        let forwarder = Forwarder::start(false, reasons.clone(), || {}).expect("stdout can be rerouted");
        io::stdout().write_all(b"running 0 tests\n").unwrap();
        assert!(!forwarder.finish(), "stdout took the output");

        let forwarder = Forwarder::start(false, reasons, || {}).expect("stdout can be rerouted");
        // A process an agent started, still running, with the pipe as its stdout.
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let started = std::time::Instant::now();
        assert!(!forwarder.finish());
        let waited = started.elapsed();
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            waited < std::time::Duration::from_secs(20),
            "the end waited for the child: {waited:?}"
        );
    }
}
