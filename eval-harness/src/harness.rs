//! One run of the test binary, start to end: parse the command line, load every suite, decide
//! which tasks run, start their runs (agents and scorers on a work runtime, watched from a
//! control runtime), let libtest-mimic report one test per (task, scorer) pair, then persist
//! the run, compare scorecards and print the summary.

use crate::baseline::BaselineUpdate;
use crate::board::BoardObserver;
use crate::env::{HarnessEnv, RunRef};
use crate::git::git_info;
use crate::last::{self, Lookup};
use crate::nextest::{self, CachedTask, Claimed, TaskClaim};
use crate::outcome::PairOutcome;
use crate::output::{Forwarder, IgnoredReasons};
use crate::plan::SuitePlan;
use crate::report::{CHANGES_SHOWN, SuiteReport, VanishedPairs, print_summary};
use crate::selection::Selector;
use crate::suite_def::{Execution, SuiteDef};
use crate::trials::{FILTERED_OUT, failing_trial, filtered_out_trial, gate_trial, listed_trial, pair_trial};
use eval_engine::__harness::{JournalHeader, JournalObserver, JournalWriter};
use eval_engine::observer::{FanOut, Observer};
use eval_engine::result::{Resumed, RunStatus};
use eval_engine::scorecard::Scorecard;
use eval_engine::{RunOptions, RunResult};
use libtest_mimic::{Arguments, FormatSetting};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::Duration;
use tokio::runtime::Runtime;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The exit code of a run stopped by an interrupt (128 + SIGINT, as shells report it).
const INTERRUPTED_EXIT_CODE: u8 = 130;

/// A scorecard to write as a snapshot, handed to the writer expanded in the user's crate.
pub struct SnapshotWrite<'a> {
    /// The snapshot directory.
    pub dir: &'a Path,
    /// The snapshot name (insta prefixes the test target's name).
    pub name: &'a str,
    /// The scorecard's text.
    pub body: &'a str,
    /// What the snapshot is, shown by `cargo insta review`.
    pub description: &'a str,
}

/// The harness's `main`: see the crate documentation. `target_tmpdir` is cargo's
/// `CARGO_TARGET_TMPDIR` of the test target, the default home of run JSON files.
pub fn run_main(
    suites: Vec<SuiteDef>,
    write_snapshot: &dyn Fn(&SnapshotWrite<'_>),
    target_tmpdir: Option<&'static str>,
) -> ExitCode {
    let args = Arguments::from_args();
    let env = match HarnessEnv::from_env() {
        Ok(env) => env,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let json_output = matches!(args.format, Some(FormatSetting::Json));
    let selector = Selector::new(&args, env.tags.clone());

    let mut trials = Vec::new();
    let mut plans = Vec::new();
    for mut def in suites {
        if let Some(attempts) = env.repeats {
            def.config.repeats = Some(attempts);
        }
        match SuitePlan::prepare(def, &selector) {
            Ok(plan) => plans.push(plan),
            Err((path, message)) if selector.may_concern(&path) => {
                trials.push(failing_trial(format!("{path}::load"), message));
            }
            Err(_) => {}
        }
    }

    if let Some(tags) = selector.tag_filter().filter(|_| args.filter.is_none()) {
        plans.iter().for_each(|plan| note_nothing_tagged(plan, tags));
    }

    // libtest-mimic must not filter again: our selection already did, including the
    // `--exact <suite>::<task>` form it does not know.
    let mut lib_args = args.clone();
    lib_args.filter = None;
    lib_args.skip.clear();
    lib_args.exact = false;
    let ignored = Arc::new(IgnoredReasons::default());

    if args.list {
        for plan in &plans {
            trials.extend(plan.selected_pairs().map(|pair| listed_trial(pair.name.clone())));
            trials.extend(plan.selected_gates().map(|gate| listed_trial(gate.name.clone())));
        }
        // `--list | head` is not an error.
        let forwarder = forward_output(&mut lib_args, false, &ignored, || {});
        let conclusion = libtest_mimic::run(&lib_args, trials);
        forwarder.map(Forwarder::finish);
        return conclusion.exit_code();
    }

    if let Some(resume) = &env.resume
        && let Err(message) = find_runs_to_resume(&mut plans, resume, &env, target_tmpdir)
    {
        eprintln!("error: {message}");
        return ExitCode::from(2);
    }
    if let Some(replay) = &env.replay
        && let Err(message) = find_runs_to_replay(&mut plans, replay, &env, target_tmpdir)
    {
        eprintln!("error: {message}");
        return ExitCode::from(2);
    }

    // Agents' `tracing` spans (rig's, say) land in their tasks' traces, unless the process set
    // a subscriber of its own, which then has to include `eval_engine::capture::layer()`.
    eval_engine::capture::install_default();
    // Declared before everything that runs on them, so that they live until `run_main`
    // returns: a signal during the conclusion is still heard.
    let runtimes = match Runtimes::start(work_threads(&plans)) {
        Ok(runtimes) => runtimes,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (stop, stop_requested) = watch::channel(false);
    let concluding = Arc::new(AtomicBool::new(false));
    listen_for_interrupts(runtimes.control(), stop.clone(), env.grace, concluding.clone());
    let runs = start_runs(&runtimes, &mut plans, &selector, &env, target_tmpdir, &stop_requested);

    for plan in &plans {
        if let Some(message) = plan.baseline_error.clone() {
            trials.push(failing_trial(format!("{}::baseline", plan.path), message));
        }
        trials.extend(
            plan.selected_pairs()
                .map(|pair| pair_trial(plan, pair, env.policy, &ignored)),
        );
        trials.extend(
            plan.selected_gates()
                .map(|gate| gate_trial(plan, gate, env.policy, &ignored)),
        );
    }
    let unselected = plans
        .iter()
        .map(|plan| plan.pairs.len() + plan.gates.len() - plan.selected_pairs().count() - plan.selected_gates().count())
        .sum();
    if unselected > 0 {
        trials.extend(std::iter::repeat_with(filtered_out_trial).take(unselected));
        lib_args.skip.push(FILTERED_OUT.to_owned());
    }
    let grace = env.grace;
    let forwarder = forward_output(&mut lib_args, json_output, &ignored, move || {
        // Like a first interrupt: no new task starts, and the run is saved.
        if !stop.send_replace(true) {
            eprintln!(
                "stdout was closed: no new task starts; running tasks get {}s to finish, then the run is saved",
                grace.as_secs_f64()
            );
        }
    });
    let conclusion = libtest_mimic::run(&lib_args, trials);
    let stdout_closed = forwarder.is_some_and(Forwarder::finish);

    let mut failed_outside_tests = false;
    let mut finished: HashMap<usize, RunResult> = HashMap::new();
    for (index, handle) in runs {
        match runtimes.control().block_on(handle) {
            Ok(Ok(run)) => {
                finished.insert(index, run);
            }
            Ok(Err(why)) => {
                eprintln!("error: suite {}: {why}", plans[index].path);
                failed_outside_tests = true;
            }
            Err(e) => {
                eprintln!("error: suite {}: the run failed: {e}", plans[index].path);
                failed_outside_tests = true;
            }
        }
    }
    concluding.store(true, Ordering::Relaxed);

    let git = git_info(plans.first().map(|s| s.site.manifest_dir));
    let mut reports = Vec::new();
    let mut interrupted = Vec::new();
    for (index, plan) in plans.iter().enumerate() {
        let Some(mut run) = finished.remove(&index) else {
            continue;
        };
        run.meta.git = git.clone();
        if run.meta.status == RunStatus::Interrupted {
            interrupted.push((run.meta.run_id.clone(), plan.site.crate_name()));
        }
        let report = conclude(plan, run, &env, target_tmpdir, write_snapshot);
        failed_outside_tests |= report.run_file.is_none();
        reports.push(report);
    }
    print_summary(&reports, json_output);
    for (run_id, target) in &interrupted {
        eprintln!("interrupted: resume with EVAL_RESUME={run_id} cargo test --test {target}");
    }
    // Everything is reported: freeing a large run piece by piece would only delay the exit.
    std::mem::forget((reports, plans));

    if !interrupted.is_empty() {
        ExitCode::from(INTERRUPTED_EXIT_CODE)
    } else if stdout_closed {
        // Its test lines were lost: the run is saved, but it did not report.
        eprintln!("error: stdout was closed before every test was reported; the run was saved");
        ExitCode::FAILURE
    } else if failed_outside_tests {
        ExitCode::FAILURE
    } else {
        conclusion.exit_code()
    }
}

/// Routes libtest-mimic's output through a [`Forwarder`], unless the user asked for a log file.
fn forward_output(
    args: &mut Arguments,
    json: bool,
    ignored: &Arc<IgnoredReasons>,
    on_closed: impl FnOnce() + Send + 'static,
) -> Option<Forwarder> {
    if args.logfile.is_some() {
        return None;
    }
    let forwarder = Forwarder::start(json, ignored.clone(), on_closed)?;
    forwarder.redirect(args);
    Some(forwarder)
}

/// Says so when `EVAL_TAGS` leaves a suite without tasks, naming the tags its tasks have: a
/// misspelt tag would otherwise look like an empty suite.
fn note_nothing_tagged(plan: &SuitePlan, tags: &str) {
    let Some(loaded) = plan.run.as_ref().filter(|_| plan.selected_tasks.is_empty()) else {
        return;
    };
    let known: std::collections::BTreeSet<&str> = loaded
        .outline
        .tasks
        .iter()
        .flat_map(|task| task.tags.iter().map(String::as_str))
        .collect();
    let known = match known.is_empty() {
        true => "its tasks have no tags".to_owned(),
        false => format!("its tags: {}", known.into_iter().collect::<Vec<_>>().join(", ")),
    };
    eprintln!(
        "note: EVAL_TAGS={tags} selects no task of suite `{}` ({known})",
        plan.path
    );
}

/// Finds the journal each suite resumes from (`EVAL_RESUME`). Resuming nothing is an error:
/// the user asked to carry on a run that is not there.
fn find_runs_to_resume(
    plans: &mut [SuitePlan],
    resume: &RunRef,
    env: &HarnessEnv,
    target_tmpdir: Option<&str>,
) -> Result<(), String> {
    let what = resume.describe("EVAL_RESUME");
    let mut resumed_any = false;
    let mut missing = Vec::new();
    for plan in plans.iter_mut().filter(|plan| !plan.selected_tasks.is_empty()) {
        let store = plan.store(env, target_tmpdir);
        match last::journal_to_resume(&store, &plan.suite_name(), resume)? {
            Lookup::Found(path) => {
                plan.resume_from(path)?;
                resumed_any = true;
            }
            Lookup::Missing(why) => missing.push(why),
        }
    }
    if !resumed_any {
        return Err(format!("{what}: {}", missing.join("; ")));
    }
    for why in missing {
        eprintln!("{what}: {why}; its tasks run from the start");
    }
    Ok(())
}

/// Loads the stored run each suite with selected tasks re-grades (`EVAL_REPLAY`). Every such
/// suite must have it: a suite left out would have to run its agent, which a replay never does.
fn find_runs_to_replay(
    plans: &mut [SuitePlan],
    replay: &RunRef,
    env: &HarnessEnv,
    target_tmpdir: Option<&str>,
) -> Result<(), String> {
    let what = replay.describe("EVAL_REPLAY");
    for plan in plans.iter_mut().filter(|plan| !plan.selected_tasks.is_empty()) {
        let store = plan.store(env, target_tmpdir);
        let suite = plan.suite_name();
        let path = match last::run_to_replay(&store, &suite, replay)? {
            Lookup::Found(path) => path,
            Lookup::Missing(missing) => {
                return Err(format!(
                    "{what}: suite `{}` has {missing} in {} (a replay runs no agent: select only the suites that have it, \
                     e.g. `cargo test --test {} -- <suite>`)",
                    plan.path,
                    store.root().join(&suite).display(),
                    plan.site.crate_name(),
                ));
            }
        };
        plan.replay_from(&path).map_err(|e| format!("{what}: {e}"))?;
    }
    Ok(())
}

/// The harness's two runtimes. The *control* runtime schedules the tasks, watches their
/// deadlines, listens for signals and wakes the trials; the *work* runtime runs every agent and
/// scorer. An agent or scorer that blocks its thread (a synchronous loop, `std::thread::sleep`,
/// a blocking SDK call) then never holds up a timeout, a signal or the other suites.
///
/// Both end without waiting for their threads: a thread blocked for good is abandoned, and the
/// process exits when `run_main` returns.
struct Runtimes {
    control: Option<Runtime>,
    work: Option<Runtime>,
}

impl Runtimes {
    fn start(work_threads: usize) -> std::io::Result<Self> {
        let control = tokio::runtime::Builder::new_multi_thread()
            .thread_name("eval-control")
            .enable_all()
            .build()?;
        let work = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(work_threads)
            .thread_name("eval-work")
            .enable_all()
            .build();
        let work = match work {
            Ok(work) => work,
            Err(e) => {
                control.shutdown_background();
                return Err(e);
            }
        };
        Ok(Runtimes {
            control: Some(control),
            work: Some(work),
        })
    }

    fn control(&self) -> &Runtime {
        self.control.as_ref().expect("the runtimes live until dropped")
    }

    fn work(&self) -> &Runtime {
        self.work.as_ref().expect("the runtimes live until dropped")
    }
}

impl Drop for Runtimes {
    fn drop(&mut self) {
        // Never the plain drop of a runtime, which waits for every worker thread: one that an
        // agent or scorer blocks for good would keep the process alive.
        for runtime in [self.work.take(), self.control.take()].into_iter().flatten() {
            runtime.shutdown_background();
        }
    }
}

/// The worker threads of the work runtime: as many as the largest concurrency among the suites
/// that run, so that agents which block their threads still run that many at once (async agents
/// need far fewer, and idle workers cost nothing but their stacks); at least 2, so that one
/// blocked thread never stops all the others; at most 256, the largest concurrency the harness
/// is built for (a thread per agent beyond that costs more memory than it is worth).
fn work_threads(plans: &[SuitePlan]) -> usize {
    let default = RunOptions::default().concurrency_limit();
    plans
        .iter()
        .filter(|plan| !plan.selected_tasks.is_empty())
        .map(|plan| plan.config.concurrency.unwrap_or(default))
        .max()
        .unwrap_or(default)
        .clamp(2, 256)
}

/// On the first SIGINT or SIGTERM, asks every run to stop (running tasks get `grace` to
/// finish) or, once the runs are over (`concluding`), lets the saving go on; on the second,
/// exits at once: the journals already hold what finished. The listener runs on the control
/// runtime, whose threads no agent or scorer ever blocks, until `run_main` returns.
fn listen_for_interrupts(runtime: &Runtime, stop: watch::Sender<bool>, grace: Duration, concluding: Arc<AtomicBool>) {
    let announce = move || {
        if stop.send_replace(true) {
            std::process::exit(i32::from(INTERRUPTED_EXIT_CODE));
        }
        if concluding.load(Ordering::Relaxed) {
            eprintln!("interrupted: every task has ended; the runs are being saved (interrupt again to exit at once)");
        } else {
            eprintln!(
                "interrupted: no new task starts; running tasks get {}s to finish (interrupt again to exit at once)",
                grace.as_secs_f64()
            );
        }
    };
    // The handlers are installed before any task starts, so no signal is missed.
    let _entered = runtime.enter();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut interrupt), Ok(mut terminate)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()))
        else {
            eprintln!("warning: cannot listen for interrupts; an interrupted run is resumed from its journal");
            return;
        };
        runtime.spawn(async move {
            loop {
                tokio::select! {
                    Some(()) = interrupt.recv() => announce(),
                    Some(()) = terminate.recv() => announce(),
                    else => return,
                }
            }
        });
    }
    #[cfg(not(unix))]
    runtime.spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            announce();
        }
    });
}

/// Starts the run of every suite that has selected tasks on the control runtime, its agents
/// and scorers on the work runtime; each trial waits on its suite's board. Every graded task is
/// also journaled, so that a killed run can be resumed. Returns the plan index and the handle
/// of each run.
fn start_runs(
    runtimes: &Runtimes,
    plans: &mut [SuitePlan],
    selector: &Selector,
    env: &HarnessEnv,
    target_tmpdir: Option<&str>,
    stop_requested: &watch::Receiver<bool>,
) -> Vec<(usize, JoinHandle<Result<RunResult, String>>)> {
    let mut runs = Vec::new();
    for (index, plan) in plans.iter_mut().enumerate() {
        if plan.selected_tasks.is_empty() {
            continue;
        }
        let Some(loaded) = plan.run.take() else { continue };
        let board_observer: Arc<dyn Observer> = Arc::new(BoardObserver(plan.board.clone()));
        let mut observers = vec![board_observer.clone()];
        // Under nextest the shared cache, not a journal, keeps what finished; a replay, which
        // runs no agent, loses nothing worth a journal.
        if env.nextest_run_id.is_none()
            && plan.replay.is_none()
            && let Some(journal) = open_journal(plan, env, target_tmpdir)
        {
            observers.push(Arc::new(journal));
        }
        let mut options = plan
            .run_options(selector, env)
            .observer(Arc::new(FanOut(observers)))
            .stop_when(stop_requested.clone(), env.grace)
            .work_runtime(runtimes.work().handle().clone());
        // The id is a ULID or was read from a journal whose file name it is.
        options = options.clone().run_id(plan.run_id.clone()).unwrap_or(options);

        let mut to_run = plan.tasks_to_run();
        let shared = env
            .nextest_run_id
            .as_deref()
            .map(|run_id| share_with_nextest_processes(plan, run_id, &mut to_run, env, target_tmpdir));
        let resumed = plan.resume.as_mut().map(|resume| {
            // Reused tasks decide their trials at once.
            for task in &resume.reused {
                board_observer.task_evaluated(task);
            }
            (
                Resumed {
                    from: resume.journal.header.run_id.clone(),
                    reused: resume.reused.len(),
                },
                resume.journal.header.created_at.clone(),
                std::mem::take(&mut resume.reused),
            )
        });
        let selected = (!plan.complete || resumed.is_some() || shared.is_some()).then_some(to_run);
        let suite_order: HashMap<String, usize> = loaded
            .outline
            .tasks
            .iter()
            .enumerate()
            .map(|(i, task)| (task.id.clone(), i))
            .collect();
        let execution = match plan.replay.take() {
            Some(stored) => Execution::Replay(stored),
            None => Execution::RunAgents,
        };
        let future = (loaded.run)(selected, options, execution);
        let board = plan.board.clone();
        let repeats = plan.config.attempts();
        let handle = runtimes.control().spawn(async move {
            // On its own task, so that even a panic of the run itself wakes the trials.
            let finished = tokio::spawn(future).await.map_err(|e| format!("the run failed: {e}"));
            let finished = finished.map(|run| match resumed {
                Some(resumed) => with_reused_tasks(run, resumed, &suite_order),
                None => run,
            });
            let finished = finished.map(|run| match shared {
                Some(shared) => shared.conclude(run, repeats, &suite_order),
                None => run,
            });
            match &finished {
                Ok(run) if run.meta.status == RunStatus::Interrupted => board.close("interrupted: not run"),
                Ok(_) => board.close("the run ended without grading this task"),
                Err(why) => board.close(why),
            }
            finished
        });
        runs.push((index, handle));
    }
    runs
}

/// What this process shares with the other processes of a nextest run for one suite: the
/// tasks it locked and runs, and the results it read from the cache instead of running.
struct SharedWithNextest {
    nextest_run_id: String,
    claims: Vec<TaskClaim>,
    cached: Vec<eval_engine::TaskRecord>,
}

/// Locks each task to run in the nextest run's shared directory (one at a time, in a fixed
/// order, so two processes never wait on each other): a task another process already ran is
/// taken from the cache, posted to the board and removed from `to_run`.
fn share_with_nextest_processes(
    plan: &mut SuitePlan,
    nextest_run_id: &str,
    to_run: &mut HashSet<String>,
    env: &HarnessEnv,
    target_tmpdir: Option<&str>,
) -> SharedWithNextest {
    let dir = nextest::run_dir(&plan.store_root(env, target_tmpdir), &plan.suite_name(), nextest_run_id);
    let mut task_ids: Vec<String> = to_run.iter().cloned().collect();
    task_ids.sort();
    let mut shared = SharedWithNextest {
        nextest_run_id: nextest_run_id.to_owned(),
        claims: Vec::new(),
        cached: Vec::new(),
    };
    for task_id in task_ids {
        match nextest::claim(&dir, &task_id) {
            Ok(Claimed::ToRun(claim)) => shared.claims.push(claim),
            Ok(Claimed::Cached(records)) => {
                to_run.remove(&task_id);
                let observer = BoardObserver(plan.board.clone());
                for record in &records {
                    observer.task_evaluated(record);
                }
                shared.cached.extend(records);
            }
            Err(why) => {
                to_run.remove(&task_id);
                plan.board.lose(&task_id, &why);
            }
        }
    }
    plan.nextest_dir = Some(dir);
    shared
}

impl SharedWithNextest {
    /// Caches the records of every task this process ran (releasing its lock) and returns the
    /// run with the cached tasks added, in suite order. A task not graded in full is not
    /// cached: the next process to lock it runs it.
    fn conclude(self, run: RunResult, repeats: u32, suite_order: &HashMap<String, usize>) -> RunResult {
        for claim in self.claims {
            let records: Vec<eval_engine::TaskRecord> = run
                .tasks()
                .iter()
                .filter(|task| task.base_id() == claim.task_id)
                .cloned()
                .collect();
            if records.len() != repeats as usize {
                continue;
            }
            let meta = &run.meta;
            let entry = CachedTask {
                nextest_run_id: self.nextest_run_id.clone(),
                task_id: claim.task_id.clone(),
                position: suite_order.get(&claim.task_id).copied().unwrap_or(usize::MAX),
                suite: eval_engine::result::SuiteInfo {
                    size: suite_order.len(),
                    ..meta.suite.clone()
                },
                target: meta.target.clone(),
                repeats: meta.repeats,
                budgets: meta.budgets,
                created_at: meta.created_at.clone(),
                scorers: meta.scorers.clone(),
            };
            if let Err(why) = claim.cache(&entry, &records) {
                eprintln!("error: {why}; the other processes of this nextest run will run the task again");
            }
        }
        if self.cached.is_empty() {
            return run;
        }
        let (mut meta, mut tasks) = run.into_parts();
        meta.suite.size += self.cached.iter().filter(|task| task.attempt.unwrap_or(1) == 1).count();
        tasks.extend(self.cached);
        tasks.sort_by_key(|task| (suite_order.get(task.base_id()).copied(), task.attempt));
        RunResult::new(meta, tasks)
    }
}

/// Opens the suite's journal: the resumed one, else a new one under the run's id. A journal
/// that cannot be opened is reported and the run goes on without it.
fn open_journal(plan: &mut SuitePlan, env: &HarnessEnv, target_tmpdir: Option<&str>) -> Option<JournalObserver> {
    let opened = match &plan.resume {
        Some(resume) => JournalWriter::resume(&resume.journal_path, &resume.journal).map_err(|e| e.to_string()),
        None => plan
            .store(env, target_tmpdir)
            .journal_path(&plan.suite_name(), &plan.run_id)
            .map_err(|e| e.to_string())
            .and_then(|path| {
                let keys = plan.scorers.iter().map(|s| s.key.clone()).collect();
                let header = JournalHeader::new(plan.run_id.clone(), plan.suite_name(), keys);
                JournalWriter::create(path, &header).map_err(|e| e.to_string())
            }),
    };
    match opened {
        Ok(writer) => {
            plan.journal_path = Some(writer.path().to_owned());
            Some(JournalObserver::new(writer))
        }
        Err(why) => {
            eprintln!(
                "warning: suite {}: {why}; the run goes on without a journal (it cannot be resumed if killed)",
                plan.path
            );
            None
        }
    }
}

/// The resumed run whole: the reused records and the new ones in suite order, under the
/// interrupted run's start time, recording what it was resumed from.
fn with_reused_tasks(
    run: RunResult,
    (resumed, created_at, reused): (Resumed, String, Vec<eval_engine::TaskRecord>),
    suite_order: &HashMap<String, usize>,
) -> RunResult {
    let (mut meta, mut tasks) = run.into_parts();
    let reused_tasks: std::collections::HashSet<&str> = reused.iter().map(|t| t.base_id()).collect();
    meta.suite.size += reused_tasks.len();
    tasks.extend(reused);
    tasks.sort_by_key(|task| (suite_order.get(task.base_id()).copied(), task.attempt));
    meta.created_at = created_at;
    meta.resumed = Some(resumed);
    RunResult::new(meta, tasks)
}

/// After the trials: saves the suite's run JSON, works out its next scorecard (a filtered run
/// keeps the pairs it did not run), has it written for review when it changed, and gathers
/// what the summary shows.
fn conclude(
    plan: &SuitePlan,
    run: RunResult,
    env: &HarnessEnv,
    target_tmpdir: Option<&str>,
    write_snapshot: &dyn Fn(&SnapshotWrite<'_>),
) -> SuiteReport {
    let store = plan.store(env, target_tmpdir);
    let outcomes = std::mem::take(&mut *plan.outcomes.lock().unwrap_or_else(PoisonError::into_inner));
    // A resumed run replaces the file its interrupted predecessor left under the same id.
    let saved = if let Some(dir) = &plan.nextest_dir {
        record_fragments(dir, &outcomes).map(|()| dir.clone())
    } else if run.meta.resumed.is_some() {
        store.save_replacing(&run).map_err(|e| e.to_string())
    } else {
        store.save(&run).map_err(|e| e.to_string())
    };
    let interrupted = run.meta.status == RunStatus::Interrupted;
    match (&saved, &plan.journal_path) {
        (Err(e), _) => eprintln!("error: suite {}: the run could not be saved: {e}", plan.path),
        // The journal stays while the run can still be resumed.
        (Ok(_), Some(journal)) if !interrupted => {
            if let Err(e) = std::fs::remove_file(journal) {
                eprintln!(
                    "warning: suite {}: cannot remove journal {}: {e}",
                    plan.path,
                    journal.display()
                );
            }
        }
        (Ok(_), _) => {}
    }
    if saved.is_ok() {
        // What this run supersedes goes now, so that abandoned journals and nextest
        // directories do not pile up.
        crate::cleanup::after_run(&store, &plan.suite_name());
    }
    let this_run = scorecard_of(&outcomes);
    let next = if plan.complete {
        this_run
    } else {
        plan.baseline.clone().unwrap_or_default().merged_with(&this_run)
    };
    let changes = match &plan.baseline {
        Some(baseline) if baseline == &next => (Vec::new(), 0),
        baseline => {
            let empty = Scorecard::default();
            let changes = next.changes_from(baseline.as_ref().unwrap_or(&empty));
            let shown = changes.iter().take(CHANGES_SHOWN).map(ToString::to_string).collect();
            (shown, changes.len())
        }
    };
    let update = if interrupted {
        BaselineUpdate::NotWritten("the run was interrupted")
    } else if plan.baseline.as_ref() == Some(&next) {
        if env.writes_baselines() {
            plan.baseline_file.discard_stale_pending();
        }
        BaselineUpdate::Unchanged
    } else if !env.writes_baselines() {
        BaselineUpdate::NotWritten("nothing is written next to the sources in CI or under nextest")
    } else if plan.baseline_error.is_some() && !plan.complete {
        // The pairs that did not run would be lost from a baseline that may still hold them.
        BaselineUpdate::NotWritten(
            "the baseline could not be read and this run covers only part of the suite: run the whole suite to record a new one",
        )
    } else {
        plan.baseline_file.write(&next, write_snapshot)
    };
    SuiteReport {
        path: plan.path.clone(),
        baseline_file: plan.baseline_file.display_path(),
        baseline: plan.baseline.clone(),
        scorers: plan.scorers.clone(),
        outcomes,
        run_file: saved.ok(),
        shared_with_nextest: plan.nextest_dir.is_some(),
        update,
        changes,
        gates: std::mem::take(&mut *plan.gate_outcomes.lock().unwrap_or_else(PoisonError::into_inner)),
        alpha: env.policy.alpha,
        vanished: VanishedPairs {
            dropped: !plan.vanished.iter().any(|(task, key)| next.get(task, key).is_some()),
            pairs: plan.vanished.clone(),
        },
        run,
    }
}

/// Records each pair's outcome as its fragment in the nextest run's directory.
fn record_fragments(dir: &Path, outcomes: &[PairOutcome]) -> Result<(), String> {
    outcomes
        .iter()
        .try_for_each(|outcome| nextest::write_fragment(dir, outcome))
}

/// The scorecard entries of the pairs that ran.
fn scorecard_of(outcomes: &[PairOutcome]) -> Scorecard {
    let mut card = Scorecard::default();
    for outcome in outcomes {
        if let Some(entry) = &outcome.entry {
            card.entries
                .insert((outcome.task_id.clone(), outcome.key.clone()), entry.clone());
        }
    }
    card
}
