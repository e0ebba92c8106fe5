//! One run of the test binary, start to end: parse the command line, plan every suite, find
//! what their runs start from, start them (agents and scorers on a work runtime, watched from
//! a control runtime), let libtest-mimic report one test per (task, scorer) pair, then conclude
//! each suite and print the summary.

use crate::baseline::SnapshotWrite;
use crate::conclusion::{Destination, conclude};
use crate::env::HarnessEnv;
use crate::execution::Launcher;
use crate::git::git_info;
use crate::inputs::run_inputs;
use crate::output::{Forwarder, IgnoredReasons};
use crate::plan::{Prepared, SuitePlan};
use crate::report::print_summary;
use crate::run_report::{self, RunReport};
use crate::running::SuiteRun;
use crate::runtimes::{Runtimes, work_threads};
use crate::selection::Selector;
use crate::signals::{INTERRUPTED_EXIT_CODE, listen_for_interrupts};
use crate::suite_def::SuiteDef;
use crate::trials::{
    FILTERED_OUT, TrialContext, failing_trial, filtered_out_trial, gate_trial, listed_trial, pair_trial,
};
use crate::{variant_runs, variants};
use eval_engine::result::RunStatus;
use libtest_mimic::{Arguments, FormatSetting, Trial};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use tokio::sync::watch;

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
    let selector = Selector::new(&args, env.tags.clone(), env.shard);

    let (prepared, mut trials) = match prepare_suites(suites, &selector, &env) {
        Ok(planned) => planned,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let (plans, selections): (Vec<Arc<SuitePlan>>, Vec<_>) = prepared
        .into_iter()
        .map(|Prepared { plan, run }| (Arc::new(plan), run))
        .unzip();
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
            trials.extend(plan.selected_pairs().map(|pair| listed_trial(plan.pair_name(pair))));
            trials.extend(plan.selected_gates().map(|gate| listed_trial(gate.name.clone())));
        }
        // `--list | head` is not an error.
        let forwarder = forward_output(&mut lib_args, false, &ignored, || {});
        let conclusion = libtest_mimic::run(&lib_args, trials);
        forwarder.map(Forwarder::finish);
        return conclusion.exit_code();
    }

    let inputs = match run_inputs(&plans, &env, target_tmpdir) {
        Ok(inputs) => inputs,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };

    let span_export = crate::span_export::install(env.otlp_endpoint.as_deref());
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
    // Asked of `git` while the suites run, so that the conclusion seldom waits for it.
    let manifest_dir = plans.first().map(|plan| plan.site.manifest_dir);
    let git = std::thread::Builder::new()
        .name("eval-git".to_owned())
        .spawn(move || git_info(manifest_dir));

    let launcher = Launcher {
        runtimes: &runtimes,
        selector: &selector,
        env: &env,
        target_tmpdir,
        stop_requested: &stop_requested,
    };
    let context = Arc::new(TrialContext {
        policy: env.policy,
        ignored: ignored.clone(),
    });
    let mut running = Vec::new();
    for (index, ((plan, selection), inputs)) in plans.iter().zip(selections).zip(inputs).enumerate() {
        if let Some(message) = plan.baseline_error.clone() {
            trials.push(failing_trial(format!("{}::baseline", plan.path), message));
        }
        let run = Arc::new(SuiteRun::new(plan.clone()));
        suite_trials(&run, &context, &mut trials);
        let started = (!plan.selected_tasks.is_empty()).then(|| launcher.start(&run, selection, inputs));
        running.push((index, run, started));
    }
    drop(context);
    let unselected: usize = plans.iter().map(|plan| plan.unselected_tests()).sum();
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
    // Every test has reported, so every task it waited for has ended: an interrupt from here
    // on lets the saving go on (set before anything else, so that one arriving right after the
    // `test result:` line is told so).
    concluding.store(true, std::sync::atomic::Ordering::Relaxed);
    let stdout_closed = forwarder.is_some_and(Forwarder::finish);

    let mut failed_outside_tests = false;
    let mut finished = Vec::new();
    for (index, run, started) in running {
        let Some(started) = started else { continue };
        let path = &plans[index].path;
        let result = match runtimes.control().block_on(started.handle) {
            Ok(Ok(result)) => Some(result),
            Ok(Err(why)) => {
                eprintln!("error: suite {path}: {why}");
                None
            }
            Err(e) => {
                eprintln!("error: suite {path}: the run failed: {e}");
                None
            }
        };
        failed_outside_tests |= result.is_none();
        finished.push((index, run, started.journal_path, started.nextest_dir, result));
    }
    let git = match git {
        Ok(asking) => asking.join().unwrap_or_default(),
        Err(_) => git_info(manifest_dir),
    };

    let mut reports = Vec::new();
    let mut interrupted = Vec::new();
    for (index, run, journal_path, nextest_dir, result) in finished {
        let Some(mut result) = result else { continue };
        let plan = &plans[index];
        result.meta.git = git.clone();
        if result.meta.status == RunStatus::Interrupted {
            interrupted.push((result.meta.run_id.clone(), plan.site.crate_name()));
        }
        let destination = Destination {
            store: plan.store(&env, target_tmpdir),
            journal_path,
            nextest_dir,
        };
        let report = conclude(
            plan,
            result,
            SuiteRun::into_outcomes(run),
            destination,
            &env,
            write_snapshot,
        );
        failed_outside_tests |= report.saved.is_none();
        reports.push(report);
    }
    print_summary(&reports, json_output);
    variant_runs::print_leaderboards(&reports, json_output);
    if !env.nextest {
        variant_runs::save_groups(&reports, |report| report.plan.store(&env, target_tmpdir));
    }
    // Under nextest every process holds one test's outcome: nextest writes the JUnit report.
    let reports_asked = env.junit.is_some() || env.step_summary.is_some() || env.html_report;
    if !env.nextest && reports_asked {
        let run_reports: Vec<RunReport<'_>> = reports.iter().map(run_report::of_suite).collect();
        if let Some(path) = &env.junit
            && let Err(why) = crate::junit::write_junit(&run_reports, path)
        {
            eprintln!("error: {why}; the run itself is saved and gated");
        }
        if let Some(path) = &env.step_summary
            && let Err(why) = crate::step_summary::append_step_summary(&run_reports, path)
        {
            eprintln!("warning: {why}");
        }
        if env.html_report {
            let saved = reports.iter().map(|report| report.saved.as_ref());
            crate::html::write_html_reports(run_reports.into_iter().zip(saved).collect(), json_output);
        }
    }
    if let Some(export) = span_export {
        export.finish();
    }
    for (run_id, target) in &interrupted {
        eprintln!("interrupted: resume with EVAL_RESUME={run_id} cargo test --test {target}");
    }
    // Everything is reported: freeing a large run piece by piece would only delay the exit.
    std::mem::forget(reports);
    std::mem::forget(plans);

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

/// Plans every suite (a suite with variants, each of its variants); a suite that cannot be
/// loaded becomes a failing `<suite>::load` test when the command line may concern it.
/// `Err` when `EVAL_VARIANTS` names a variant no suite has.
fn prepare_suites(
    suites: Vec<SuiteDef>,
    selector: &Selector,
    env: &HarnessEnv,
) -> Result<(Vec<Prepared>, Vec<Trial>), String> {
    let mut prepared = Vec::new();
    let mut trials = Vec::new();
    let mut known_variants = Vec::new();
    // One id for every variant run of this process: the group their runs belong to.
    let group = ulid::Ulid::new().to_string();
    for mut def in suites {
        if let Some((fewest, most)) = env.repeats {
            def.config.repeats = Some(most);
            def.config.fewest_repeats = (fewest < most).then_some(fewest);
        }
        let path = def.site.path();
        let defs = match variants::expand(def, env, &group) {
            Ok(expanded) => {
                if !expanded.variants.is_empty() {
                    known_variants.push((path.clone(), expanded.variants));
                }
                expanded.defs
            }
            Err(message) => {
                if selector.may_concern(&path) {
                    trials.push(failing_trial(format!("{path}::load"), message));
                }
                continue;
            }
        };
        for def in defs {
            match SuitePlan::prepare(def, selector) {
                Ok(plan) => prepared.push(plan),
                Err((path, message)) if selector.may_concern(&path) => {
                    trials.push(failing_trial(format!("{path}::load"), message));
                }
                Err(_) => {}
            }
        }
    }
    variants::check_selection(env, &known_variants)?;
    Ok((prepared, trials))
}

/// Adds the tests of a suite's selected pairs and gates to `trials`.
fn suite_trials(run: &Arc<SuiteRun>, context: &Arc<TrialContext>, trials: &mut Vec<Trial>) {
    let plan = &run.plan;
    // Room for all at once: 200,000 trials grown by doubling would be copied twice over.
    trials.reserve(plan.pairs.len() + plan.gates.len());
    let pairs = (0..plan.pairs.len())
        .filter(|&index| plan.pairs[index].selected)
        .map(|index| pair_trial(run, index, context));
    let gates = (0..plan.gates.len())
        .filter(|&index| plan.gates[index].selected)
        .map(|index| gate_trial(run, index, context));
    trials.extend(pairs.chain(gates));
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
    if !plan.selected_tasks.is_empty() {
        return;
    }
    let known: std::collections::BTreeSet<&str> = plan
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
