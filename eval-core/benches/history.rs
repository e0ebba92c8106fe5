//! Benchmark of the history index on a synthetic store: `runs` runs of `tasks` tasks × 5
//! scorers (default 1,000 × 100), plus one run of 10,000 tasks.
//!
//! `cargo bench -p eval-engine --features history --bench history [-- <runs> <tasks>]`
//! (`--features export` to measure the Parquet export of the whole store too).
//! Measures a full rebuild from the files (MB of run JSON per second), the index's size
//! against the JSON's, indexing one new 10,000-task run (from its file, and from memory as a
//! save does), opening an unchanged store, a key's trend over every run, "runs of a suite in
//! a date range by mean score", and the latest completed run. Prints figures; it asserts
//! nothing about time. The store is a temporary directory, removed at the end.

#![allow(unsafe_code)] // `clock_gettime`, for the CPU time.

use eval_engine::history::{History, INDEX_FILE, RunFilter, record_run};
use eval_engine::result::{RunMeta, RunStatus, SCHEMA_VERSION, Selection, SuiteInfo};
use eval_engine::store::save_run;
use eval_engine::task::ContentHash;
use eval_engine::trace::TokenUsage;
use eval_engine::{Feedback, RunResult, Store, TaskRecord, Trace};
use serde_json::{Map, json};
use std::path::Path;
use std::time::{Duration, Instant};

const SCORERS: usize = 5;

fn task(index: usize, seed: usize) -> TaskRecord {
    let inputs = json!({ "input": format!("question {index}") });
    let reference_outputs = json!({ "answer": format!("answer {index}") });
    let mut trace = Trace::new(Vec::new(), None, 20 + (index % 7) as u64);
    trace.tokens = TokenUsage {
        input: 100,
        output: 20,
        cache_creation: 0,
        cache_read: 0,
    };
    let feedback = (0..SCORERS)
        .map(|k| {
            let key = format!("k{k}");
            if k % 2 == 0 {
                Feedback::pass_fail(key, !(index + seed + k).is_multiple_of(5))
            } else {
                Feedback::number(key, ((index * 7 + seed * 3 + k) % 100) as f64 / 100.0)
            }
        })
        .collect();
    TaskRecord {
        task_id: format!("t{index:05}"),
        content_hash: ContentHash::of(&inputs, &reference_outputs),
        inputs,
        reference_outputs,
        tags: Vec::new(),
        metadata: Map::new(),
        trace,
        feedback,
        budget_violation: false,
        scorer_traces: Vec::new(),
        trace_ref: None,
        outputs: json!({ "answer": format!("answer {index}") }),
        attempt: None,
    }
}

fn run(run_id: &str, minute: usize, tasks: usize) -> RunResult {
    let at = time::OffsetDateTime::UNIX_EPOCH + time::Duration::minutes(29_000_000 + minute as i64);
    let meta = RunMeta {
        schema_version: SCHEMA_VERSION.to_owned(),
        run_id: run_id.to_owned(),
        label: None,
        created_at: at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        duration_ms: 1000,
        suite: SuiteInfo {
            name: "bench".to_owned(),
            size: tasks,
            source: "synthetic".to_owned(),
        },
        target: "bench".to_owned(),
        concurrency: 8,
        status: RunStatus::Completed,
        selection: Some(Selection {
            filter: None,
            complete: true,
        }),
        repeats: 1,
        fewest_repeats: None,
        model: None,
        budgets: Default::default(),
        producer: None,
        git: None,
        scorers: Vec::new(),
        resumed: None,
        variant: None,
        regraded_from: None,
    };
    RunResult::new(meta, (0..tasks).map(|i| task(i, minute)).collect())
}

fn index_bytes(root: &Path) -> u64 {
    ["", "-wal"]
        .iter()
        .filter_map(|suffix| std::fs::metadata(root.join(format!("{INDEX_FILE}{suffix}"))).ok())
        .map(|m| m.len())
        .sum()
}

/// The median of `n` timings of `f`.
fn median(n: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..n)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[n / 2]
}

/// CPU time this process has used: on a machine shared with other work, wall time overstates
/// what an operation costs.
fn cpu_time() -> Duration {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid timespec for the call to fill in.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut now) };
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let runs = args.first().copied().unwrap_or(1000);
    let tasks = args.get(1).copied().unwrap_or(100);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root = dir.path();
    let store = Store::new(root);

    // Written with `save_run`, not `Store::save`, so that nothing is indexed yet.
    let mut json_bytes = 0u64;
    for i in 0..runs {
        let run = run(&format!("01R{i:06}"), i, tasks);
        let path = store.run_path("bench", run.run_id()).expect("a plain name");
        save_run(&run, &path).expect("the run saves");
        json_bytes += std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    }
    println!(
        "store: {runs} runs × {tasks} tasks × {SCORERS} scorers, {:.1} MB of run JSON",
        json_bytes as f64 / 1e6
    );

    let (start, cpu) = (Instant::now(), cpu_time());
    let history = History::open(root).expect("the history opens");
    let (rebuild, rebuild_cpu) = (start.elapsed(), cpu_time() - cpu);
    println!(
        "full rebuild from the files: {} ({:.1} MB/s); CPU {} ({:.1} MB/s)",
        ms(rebuild),
        json_bytes as f64 / 1e6 / rebuild.as_secs_f64(),
        ms(rebuild_cpu),
        json_bytes as f64 / 1e6 / rebuild_cpu.as_secs_f64()
    );
    drop(history);
    let size = index_bytes(root);
    println!(
        "index size: {:.1} MB, {:.0}% of the JSON",
        size as f64 / 1e6,
        size as f64 * 100.0 / json_bytes as f64
    );

    // Indexed the way a query finds it (read from its file), and the way a save indexes it
    // (from memory): two new runs, each indexed once.
    let mut history = History::open(root).expect("the history opens");
    let big = run("01ZBIG0", runs + 1, 10_000);
    let big_path = store.run_path("bench", big.run_id()).expect("a plain name");
    save_run(&big, &big_path).expect("the run saves");
    let (start, cpu) = (Instant::now(), cpu_time());
    history.index_file(&big_path).expect("the run indexes");
    let (from_file, from_file_cpu) = (start.elapsed(), cpu_time() - cpu);
    let big = run("01ZBIG1", runs + 2, 10_000);
    let big_path = store.run_path("bench", big.run_id()).expect("a plain name");
    save_run(&big, &big_path).expect("the run saves");
    let (start, cpu) = (Instant::now(), cpu_time());
    record_run(root, &big_path, &big).expect("the run indexes");
    let (from_memory, from_memory_cpu) = (start.elapsed(), cpu_time() - cpu);
    println!(
        "index one new 10,000-task run: {} from its file (CPU {}), {} from memory as a save does (CPU {})",
        ms(from_file),
        ms(from_file_cpu),
        ms(from_memory),
        ms(from_memory_cpu)
    );
    let runs = runs + 2;

    let open = median(5, || {
        History::open(root).expect("the history opens");
    });
    println!("open an unchanged store ({runs} files): {}", ms(open));

    let trend = median(11, || {
        let points = history.trend("bench", "k0", runs).expect("a trend");
        assert_eq!(points.len(), runs);
    });
    println!("trend of one key over {runs} runs: {}", ms(trend));

    let first = time::OffsetDateTime::UNIX_EPOCH + time::Duration::minutes(29_000_000 + (runs / 4) as i64);
    let last = time::OffsetDateTime::UNIX_EPOCH + time::Duration::minutes(29_000_000 + (runs * 3 / 4) as i64);
    // Per-key counts of each run are in `run_keys`: the mean of a run's numeric scores is
    // their sum over their count.
    let by_mean = format!(
        "SELECT r.run_id, SUM(k.number_sum) / SUM(k.numbers) AS mean
         FROM runs r JOIN suites s ON s.id = r.suite_id JOIN run_keys k ON k.run = r.id
         WHERE s.name = 'bench' AND r.status = 'completed' AND r.created_ms >= {} AND r.created_ms < {}
           AND k.numbers > 0
         GROUP BY r.id ORDER BY mean DESC",
        first.unix_timestamp() * 1000,
        last.unix_timestamp() * 1000
    );
    let range = median(11, || {
        let answer = history.sql(&by_mean).expect("the query runs");
        assert!(!answer.rows.is_empty());
    });
    println!(
        "runs of a suite in a date range by mean score ({} runs): {}",
        runs / 2,
        ms(range)
    );

    let latest = median(101, || {
        let run = history
            .latest_completed(&RunFilter::suite("bench"))
            .expect("a latest run");
        assert_eq!(run.run_id, "01ZBIG1");
    });
    println!("latest completed run: {}", ms(latest));
    export(&history, root);
}

/// The whole store exported as Parquet (with the `export` feature).
#[cfg(feature = "export")]
fn export(history: &History, root: &Path) {
    use eval_engine::history::export::ExportFormat;
    let out = root.join("export");
    let (start, cpu) = (Instant::now(), cpu_time());
    let exported = history.export(ExportFormat::Parquet, &out).expect("the export writes");
    let (took, took_cpu) = (start.elapsed(), cpu_time() - cpu);
    let bytes: u64 = exported
        .files
        .iter()
        .map(|f| std::fs::metadata(out.join(f)).map(|m| m.len()).unwrap_or(0))
        .sum();
    let rows: Vec<String> = exported.rows.iter().map(|(t, n)| format!("{n} {t}")).collect();
    println!(
        "Parquet export of the whole store ({}; {:.1} MB): {} (CPU {})",
        rows.join(", "),
        bytes as f64 / 1e6,
        ms(took),
        ms(took_cpu)
    );
}

#[cfg(not(feature = "export"))]
fn export(_history: &History, _root: &Path) {
    println!("Parquet export: not measured (add --features export)");
}
