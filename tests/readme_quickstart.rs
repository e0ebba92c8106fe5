//! The README's quickstart ("Five minutes from zero to a gated suite"), followed literally in a
//! new crate outside this repository.
//!
//! The crate's files are the README's own code blocks, each marked by an HTML comment
//! `<!-- quickstart file: PATH -->` on the line before it; the output the README promises comes
//! from blocks marked `<!-- quickstart output: run N -->`. The test makes the crate with the
//! README's `cargo new`, writes those files, and runs the steps: run 1 reports every pair and fails
//! the new failure, leaving a pending snapshot; accepting it makes run 2 green; breaking the
//! stand-in agent the way the README says fails exactly one pair in run 3.
//!
//! What differs from a user's machine, in the copy only:
//! - the git dependencies on this repository become path dependencies on this checkout: a
//!   `[patch]` of the git source still fetches it, and there is no network here but crates.io;
//! - cargo runs offline (`CARGO_NET_OFFLINE`), from this repository's `Cargo.lock`: the same
//!   dependency versions, already downloaded, and no step can quietly depend on the network.
//!
//! The crate lives under the system's temporary directory, at a place fixed per checkout (a
//! crate inside this repository would be taken for a member of its workspace, and a new path on
//! every run would leave a new test executable behind in the target directory each time).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fs::{self, File};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The git source the README's dependency lines name.
const GIT_DEPENDENCY: &str = r#"{ git = "https://github.com/agent-evals/agent-evals" }"#;
/// The README's command that makes the crate.
const CARGO_NEW: &str = "cargo new --lib my-agent";
const CRATE_NAME: &str = "my-agent";
const PENDING: &str = "tests/snapshots/evals__weather.snap.new";
const BASELINE: &str = "tests/snapshots/evals__weather.snap";
/// A cold build of the harness and its dependencies on a busy 2-core machine.
const BUILD_DEADLINE: Duration = Duration::from_secs(30 * 60);
/// A run of the suite, including run 3's rebuild of the crate after the edit.
const RUN_DEADLINE: Duration = Duration::from_secs(10 * 60);

#[test]
fn the_readme_quickstart_gates_a_new_crate() {
    let readme = fs::read_to_string(repo().join("README.md")).unwrap();
    let quickstart = Quickstart::parse(&readme);
    for path in ["Cargo.toml", "src/lib.rs", "tests/evals.rs", "tests/data/weather.jsonl"] {
        assert!(quickstart.files.contains_key(path), "the README gives no `{path}`");
    }
    for promise in [CARGO_NEW, PENDING] {
        assert!(readme.contains(promise), "the README no longer says `{promise}`");
    }

    let scratch = Scratch::new();
    let crate_dir = scratch.dir.join(CRATE_NAME);
    let mut new = scratch.cargo();
    new.args(CARGO_NEW.split_whitespace().skip(1)).current_dir(&scratch.dir);
    scratch.run("cargo new", &mut new, RUN_DEADLINE).assert_success();
    for (path, contents) in &quickstart.files {
        let contents = if path == "Cargo.toml" {
            with_path_dependencies(contents)
        } else {
            contents.clone()
        };
        let target = crate_dir.join(path);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::write(target, contents).unwrap();
    }
    fs::copy(repo().join("Cargo.lock"), crate_dir.join("Cargo.lock")).unwrap();

    let cargo_test = |step: &str, deadline: Duration| {
        let mut command = scratch.cargo();
        command.args(["test", "--test", "evals"]).current_dir(&crate_dir);
        scratch.run(step, &mut command, deadline)
    };
    // Built apart from run 1, so that run 1 keeps to its own deadline.
    let mut build = scratch.cargo();
    build
        .args(["test", "--test", "evals", "--no-run"])
        .current_dir(&crate_dir);
    scratch.run("build", &mut build, BUILD_DEADLINE).assert_success();

    // 1. Every pair is reported; the stand-in's wrong answer for Tokyo is a new failure.
    let run = cargo_test("run 1", RUN_DEADLINE);
    assert_eq!(run.code(), 101, "{run}");
    assert_eq!(run.results(), outcomes(&[("tokyo::city_matches", "FAILED")]), "{run}");
    run.assert_shows(quickstart.output("run 1"));
    assert!(crate_dir.join(PENDING).is_file(), "no pending snapshot: {run}");
    assert!(!crate_dir.join(BASELINE).exists(), "{run}");

    // 2. Accepted, the baseline makes the same agent green, Tokyo's failure a known one.
    accept(&scratch, &crate_dir);
    let accepted = fs::read(crate_dir.join(BASELINE)).unwrap();
    let run = cargo_test("run 2", RUN_DEADLINE);
    assert_eq!(run.code(), 0, "{run}");
    assert_eq!(
        run.results(),
        outcomes(&[("tokyo::city_matches", "ignored (known failure)")]),
        "{run}"
    );
    assert!(
        !crate_dir.join(PENDING).exists(),
        "nothing changed, nothing to review: {run}"
    );

    // 3. The agent changes as the README says: it answers "Rome" where it answered "Paris".
    let lib = crate_dir.join("src/lib.rs");
    let source = fs::read_to_string(&lib).unwrap();
    let answer = source
        .lines()
        .find(|line| line.contains("let city =") && line.contains(r#""Paris""#))
        .unwrap_or_else(|| panic!("the stand-in agent no longer answers \"Paris\":\n{source}"));
    fs::write(&lib, source.replace(answer, &answer.replace(r#""Paris""#, r#""Rome""#))).unwrap();
    let run = cargo_test("run 3", RUN_DEADLINE);
    assert_eq!(run.code(), 101, "{run}");
    assert_eq!(
        run.results(),
        outcomes(&[
            ("paris::city_matches", "FAILED"),
            ("tokyo::city_matches", "ignored (known failure)"),
        ]),
        "{run}"
    );
    run.assert_shows(quickstart.output("run 3"));
    assert_eq!(
        fs::read(crate_dir.join(BASELINE)).unwrap(),
        accepted,
        "the baseline waits for review"
    );

    scratch.passed();
}

/// Every pair of the README's suite, `ok` unless listed.
fn outcomes(exceptions: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut outcomes = BTreeMap::new();
    for task in ["paris", "oslo", "tokyo"] {
        for scorer in ["called_get_weather", "city_matches"] {
            outcomes.insert(format!("weather::{task}::{scorer}"), "ok".to_owned());
        }
    }
    for (pair, outcome) in exceptions {
        let previous = outcomes.insert(format!("weather::{pair}"), (*outcome).to_owned());
        assert!(previous.is_some(), "no pair {pair}");
    }
    outcomes
}

/// Step 2: `cargo insta accept` when cargo-insta is installed; otherwise what it does, every
/// pending snapshot renamed over its baseline.
fn accept(scratch: &Scratch, crate_dir: &Path) {
    let has_insta = scratch
        .cargo()
        .args(["insta", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if has_insta {
        let mut accept = scratch.cargo();
        accept.args(["insta", "accept"]).current_dir(crate_dir);
        scratch
            .run("cargo insta accept", &mut accept, RUN_DEADLINE)
            .assert_success();
    } else {
        fs::rename(crate_dir.join(PENDING), crate_dir.join(BASELINE)).unwrap();
    }
    assert!(crate_dir.join(BASELINE).is_file());
    assert!(!crate_dir.join(PENDING).exists());
}

/// The README's manifest with each git dependency on this repository turned into a path
/// dependency on this checkout. Any other mention of the repository fails the test: the copy
/// must not differ from the README in more than that.
fn with_path_dependencies(manifest: &str) -> String {
    let mut replaced = BTreeSet::new();
    let mut lines = Vec::new();
    for line in manifest.lines() {
        let Some(name) = line
            .strip_suffix(GIT_DEPENDENCY)
            .and_then(|start| start.trim_end().strip_suffix('='))
            .map(str::trim)
        else {
            lines.push(line.to_owned());
            continue;
        };
        let dir = match name {
            "eval-engine" => "eval-core",
            "eval-harness" => "eval-harness",
            other => panic!("the README depends on `{other}`, which this test does not know"),
        };
        // A TOML literal string: no escapes, whatever the platform's separator.
        lines.push(format!("{name} = {{ path = '{}' }}", repo().join(dir).display()));
        replaced.insert(name);
    }
    let manifest = lines.join("\n") + "\n";
    assert_eq!(
        replaced,
        BTreeSet::from(["eval-engine", "eval-harness"]),
        "the README's Cargo.toml names both crates by git"
    );
    assert!(
        !manifest.contains("github.com/agent-evals"),
        "a dependency on this repository that is not `name = {GIT_DEPENDENCY}`:\n{manifest}"
    );
    manifest
}

// ---------------------------------------------------------------------------------------------
// The README's marked blocks.

/// The quickstart's files and promised outputs, by the name in their marker.
struct Quickstart {
    files: BTreeMap<String, String>,
    outputs: BTreeMap<String, String>,
}

impl Quickstart {
    fn parse(readme: &str) -> Self {
        let mut quickstart = Quickstart {
            files: BTreeMap::new(),
            outputs: BTreeMap::new(),
        };
        let mut lines = readme.lines();
        while let Some(line) = lines.next() {
            let Some(marker) = line
                .trim()
                .strip_prefix("<!-- quickstart ")
                .and_then(|rest| rest.strip_suffix("-->"))
            else {
                continue;
            };
            let (kind, name) = marker
                .trim()
                .split_once(": ")
                .unwrap_or_else(|| panic!("a quickstart marker without a name: {line}"));
            let block = fenced_block(&mut lines).unwrap_or_else(|| panic!("no code block right after {line}"));
            let blocks = match kind {
                "file" => &mut quickstart.files,
                "output" => &mut quickstart.outputs,
                other => panic!("a quickstart marker of unknown kind `{other}`: {line}"),
            };
            let previous = blocks.insert(name.trim().to_owned(), block);
            assert!(previous.is_none(), "{line} appears twice");
        }
        quickstart
    }

    fn output(&self, name: &str) -> &str {
        self.outputs
            .get(name)
            .unwrap_or_else(|| panic!("the README shows no output of {name}"))
    }
}

/// The fenced block that starts on the next line, its indentation (a block inside a list item)
/// removed.
fn fenced_block<'a>(lines: &mut impl Iterator<Item = &'a str>) -> Option<String> {
    let fence = lines.next()?;
    let indent = fence.len() - fence.trim_start().len();
    if !fence.trim_start().starts_with("```") {
        return None;
    }
    let mut block = String::new();
    for line in lines {
        if line.trim() == "```" {
            return Some(block);
        }
        block.push_str(line.get(indent..).unwrap_or(line.trim_start()));
        block.push('\n');
    }
    None
}

// ---------------------------------------------------------------------------------------------
// The scratch directory and its commands.

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Where the crate is made, held exclusively; removed once the test passed, kept for a look
/// when it failed.
struct Scratch {
    dir: PathBuf,
    _lock: File,
    passed: bool,
}

impl Scratch {
    fn new() -> Self {
        let mut hasher = DefaultHasher::new();
        repo().hash(&mut hasher);
        let dir = std::env::temp_dir().join(format!("agent-evals-quickstart-{:016x}", hasher.finish()));
        assert!(
            !dir.starts_with(repo()),
            "the temporary directory {} is inside the repository",
            dir.display()
        );
        // Two runs of this test at once (nextest, two terminals) take turns.
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.with_extension("lock"))
            .unwrap();
        lock.lock().unwrap();
        if dir.exists() {
            fs::remove_dir_all(&dir).unwrap();
        }
        fs::create_dir_all(&dir).unwrap();
        Scratch {
            dir,
            _lock: lock,
            passed: false,
        }
    }

    fn passed(mut self) {
        self.passed = true;
    }

    /// cargo with a user's environment: nothing that steers the harness, insta or nextest leaks
    /// in from this test's, and no `CI` (in CI insta writes no pending snapshot, and the README's
    /// steps are a developer's).
    fn cargo(&self) -> Command {
        let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo")));
        for (name, _) in std::env::vars_os() {
            let text = name.to_string_lossy();
            let steers = [
                "CI",
                "TF_BUILD",
                "CARGO_TARGET_DIR",
                "CARGO_BUILD_TARGET_DIR",
                "RUSTC_BOOTSTRAP",
                "GITHUB_STEP_SUMMARY",
            ]
            .contains(&text.as_ref())
                || ["INSTA_", "NEXTEST", "EVAL_"]
                    .iter()
                    .any(|prefix| text.starts_with(prefix));
            if steers {
                command.env_remove(&name);
            }
        }
        command
            .env("CARGO_NET_OFFLINE", "true")
            // The target directory of tests/harness_e2e.rs: the same dependencies, built once.
            .env(
                "CARGO_TARGET_DIR",
                Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e/target"),
            )
            // As the e2e crate's profile (its manifest says why), so that the dependencies built
            // for one serve the other.
            .env("CARGO_PROFILE_DEV_DEBUG", "false")
            // Run JSON next to the crate, not in the shared target directory.
            .env("EVAL_STORE_DIR", self.dir.join("store"));
        command
    }

    /// Runs `command` to its end or kills it at the deadline, its output in files of the scratch
    /// directory (no pipe to fill up while waiting).
    fn run(&self, step: &str, command: &mut Command, deadline: Duration) -> Run {
        let stdout_path = self.dir.join(format!("{step}.stdout"));
        let stderr_path = self.dir.join(format!("{step}.stderr"));
        command
            .stdin(Stdio::null())
            .stdout(File::create(&stdout_path).unwrap())
            .stderr(File::create(&stderr_path).unwrap());
        #[cfg(unix)]
        {
            // Its own process group, so that a kill at the deadline reaches rustc or the test
            // executable too.
            use std::os::unix::process::CommandExt as _;
            command.process_group(0);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("{step}: cannot run {:?}: {e}", command.get_program()));
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if started.elapsed() > deadline {
                #[cfg(unix)]
                // SAFETY: kill(2) with the id of the group this test created.
                unsafe {
                    libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL);
                }
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let run = Run {
            step: step.to_owned(),
            status,
            stdout: fs::read_to_string(&stdout_path).unwrap_or_default(),
            stderr: fs::read_to_string(&stderr_path).unwrap_or_default(),
            dir: self.dir.clone(),
        };
        assert!(run.status.is_some(), "{step} did not end within {deadline:?}: {run}");
        run
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.passed {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// What one command printed, and how it ended (`None`: killed at its deadline).
struct Run {
    step: String,
    status: Option<ExitStatus>,
    stdout: String,
    stderr: String,
    dir: PathBuf,
}

impl Run {
    fn code(&self) -> i32 {
        self.status
            .and_then(|status| status.code())
            .unwrap_or_else(|| panic!("killed by a signal: {self}"))
    }

    fn assert_success(&self) {
        assert_eq!(self.code(), 0, "{self}");
    }

    /// `test NAME ... STATUS` lines of the pairs: name → `ok`, `FAILED`, `ignored (reason)`. The
    /// suite-level `weather::gate::<key>` tests are checked once, apart.
    fn results(&self) -> BTreeMap<String, String> {
        let mut results = self.all_results();
        let gates: Vec<String> = results
            .keys()
            .filter(|name| name.contains("::gate::"))
            .cloned()
            .collect();
        for gate in gates {
            assert_eq!(results.remove(&gate).as_deref(), Some("ok"), "{gate}: {self}");
        }
        results
    }

    fn all_results(&self) -> BTreeMap<String, String> {
        let mut results = BTreeMap::new();
        for line in self.stdout.lines() {
            let Some((name, status)) = line.strip_prefix("test ").and_then(|rest| rest.split_once(" ... ")) else {
                continue;
            };
            let previous = results.insert(name.trim().to_owned(), status.trim().to_owned());
            assert!(previous.is_none(), "{} is reported twice: {self}", name.trim());
        }
        results
    }

    /// Every line of `promised` is a line of stdout, the runs of spaces that align columns aside.
    fn assert_shows(&self, promised: &str) {
        let squeeze = |line: &str| line.split_whitespace().collect::<Vec<_>>().join(" ");
        let shown: BTreeSet<String> = self.stdout.lines().map(squeeze).collect();
        for line in promised.lines().map(squeeze).filter(|line| !line.is_empty()) {
            assert!(shown.contains(&line), "the README promises `{line}`: {self}");
        }
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "\n{} (in {}), exit status: {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.step,
            self.dir.display(),
            self.status,
            self.stdout,
            self.stderr
        )
    }
}
