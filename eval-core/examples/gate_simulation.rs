//! How well the repeats gate tells a real drop from noise: a seeded, deterministic simulation.
//!
//! A flaky agent passes each attempt of every pair with probability `p0` when the baseline is
//! recorded (`n0` attempts a pair) and `p1` in the run being gated (`k` attempts). Each pair is
//! judged by `eval_engine::gate::decide`, the function the harness gates every pair with, and the
//! share of pairs reported as regressions is printed next to the Neyman–Pearson bound: the
//! power of the best one-sided binomial test that knew the baseline's rate, at the same α.
//! With `p1 = p0` that share is the false-alarm rate.
//!
//! ```sh
//! cargo run --release -p eval-engine --example gate_simulation -- [p0] [p1] [k] [n0] [pairs] [seeds]
//! cargo run --release -p eval-engine --example gate_simulation -- table   # the README's table, exact
//! cargo run --release -p eval-engine --example gate_simulation -- suite   # the suite-level gate, seeded
//! cargo run --release -p eval-engine --example gate_simulation -- adaptive # repeats = 3..=10, exact
//! cargo run --release -p eval-engine --example gate_simulation -- adaptive-run [seeds] # through the runner
//! ```

use eval_engine::RunOptions;
use eval_engine::gate::{Decision, RegressionPolicy, adaptive_plan, binomial_cdf, decide};
use eval_engine::scorecard::{PairVerdict, ScorecardEntry};
use eval_engine::stats::suite_drop;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const ALPHA: f64 = 0.05;

struct Scenario {
    p0: f64,
    p1: f64,
    k: u32,
    n0: u32,
    pairs: u32,
    seeds: u64,
}

impl Scenario {
    /// The share of pairs that regress, over every seed.
    fn regression_rate(&self) -> f64 {
        let policy = RegressionPolicy {
            alpha: ALPHA,
            floor: None,
        };
        let mut regressions = 0u64;
        for seed in 0..self.seeds {
            let mut rng = StdRng::seed_from_u64(seed);
            for _ in 0..self.pairs {
                let baseline = entry(passes(&mut rng, self.n0, self.p0), self.n0);
                let current = entry(passes(&mut rng, self.k, self.p1), self.k);
                if decide(&current, Some(&baseline), false, policy) == Decision::Regression {
                    regressions += 1;
                }
            }
        }
        regressions as f64 / (u64::from(self.pairs) * self.seeds) as f64
    }

    /// The power of the one-sided binomial test of `p1` against a known `p0`, at α.
    fn neyman_pearson_bound(&self) -> f64 {
        let critical = (0..=self.k).rev().find(|c| binomial_cdf(*c, self.k, self.p0) <= ALPHA);
        critical.map_or(0.0, |c| binomial_cdf(c, self.k, self.p1))
    }
}

fn passes(rng: &mut StdRng, attempts: u32, p: f64) -> u32 {
    (0..attempts).filter(|_| rng.random::<f64>() < p).count() as u32
}

fn entry(passed: u32, attempts: u32) -> ScorecardEntry {
    ScorecardEntry {
        content_hash: eval_engine::task::ContentHash::from_stored("0"),
        verdict: if attempts == 1 {
            if passed == 1 {
                PairVerdict::Pass
            } else {
                PairVerdict::Fail
            }
        } else {
            PairVerdict::Repeated { passed, attempts }
        },
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("table") => return table(),
        Some("suite") => return suite_table(),
        Some("adaptive") => return adaptive_table(),
        Some("adaptive-run") => {
            let seeds = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5);
            return adaptive_runs(seeds);
        }
        _ => {}
    }
    let number = |i: usize, default: f64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let scenario = Scenario {
        p0: number(0, 0.95),
        p1: number(1, 0.5),
        k: number(2, 5.0) as u32,
        n0: number(3, 50.0) as u32,
        pairs: number(4, 400.0) as u32,
        seeds: number(5, 3.0) as u64,
    };
    let rate = scenario.regression_rate();
    let bound = scenario.neyman_pearson_bound();
    println!(
        "p0={} p1={} k={} n0={} pairs={}×{} seeds: regressions {:.1}% (bound {:.1}%, {:.0}% of it)",
        scenario.p0,
        scenario.p1,
        scenario.k,
        scenario.n0,
        scenario.pairs,
        scenario.seeds,
        rate * 100.0,
        bound * 100.0,
        if bound > 0.0 { rate / bound * 100.0 } else { f64::NAN },
    );
}

/// The exact share of pairs `rule` calls a regression when every attempt passes with `p1` now
/// and passed with `p0` in a baseline of `n0` attempts: every pair of counts, weighted by its
/// probability. No sampling noise.
fn exact_rate(p0: f64, p1: f64, k: u32, n0: u32, rule: impl Fn(u32, u32) -> bool) -> f64 {
    let pmf = |x: u32, n: u32, p: f64| binomial_cdf(x, n, p) - if x == 0 { 0.0 } else { binomial_cdf(x - 1, n, p) };
    let mut rate = 0.0;
    for x0 in 0..=n0 {
        let base = pmf(x0, n0, p0);
        for x1 in 0..=k {
            if rule(x0, x1) {
                rate += base * pmf(x1, k, p1);
            }
        }
    }
    rate
}

/// The gate as built: `decide` on the two counts.
fn gate(n0: u32, k: u32) -> impl Fn(u32, u32) -> bool {
    let policy = RegressionPolicy {
        alpha: ALPHA,
        floor: None,
    };
    move |x0, x1| decide(&entry(x1, k), Some(&entry(x0, n0)), false, policy) == Decision::Regression
}

/// The rule before the exact test, for comparison: only a baseline that passed every attempt
/// could regress, when it now passed none or a binomial test against (p + 1)/(n + 2) rejected.
fn previous_gate(n0: u32, k: u32) -> impl Fn(u32, u32) -> bool {
    move |x0, x1| {
        let base_rate = (f64::from(x0) + 1.0) / (f64::from(n0) + 2.0);
        x0 == n0 && (x1 == 0 || (x1 < k && binomial_cdf(x1, k, base_rate) < ALPHA))
    }
}

/// Detection of 0.95 → 0.5 and the worst false-alarm rate over true rates 0.5 … 1.0, for
/// baselines of 50 attempts and of k attempts, computed exactly.
fn table() {
    println!(
        "| k | baseline attempts | detection of 0.95 → 0.5 | Neyman–Pearson bound | share of the bound | previous rule | worst false alarms (rate 0.5–1.0) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for k in [3, 5, 10] {
        for n0 in [50, k] {
            let bound = Scenario {
                p0: 0.95,
                p1: 0.5,
                k,
                n0,
                pairs: 0,
                seeds: 0,
            }
            .neyman_pearson_bound();
            let detection = exact_rate(0.95, 0.5, k, n0, gate(n0, k));
            let previous = exact_rate(0.95, 0.5, k, n0, previous_gate(n0, k));
            let worst = (50..=100)
                .map(|percent| {
                    let p = f64::from(percent) / 100.0;
                    exact_rate(p, p, k, n0, gate(n0, k))
                })
                .fold(0.0, f64::max);
            println!(
                "| {k} | {n0} | {:.1}% | {:.1}% | {:.0}% | {:.1}% | {:.2}% |",
                detection * 100.0,
                bound * 100.0,
                detection / bound * 100.0,
                previous * 100.0,
                worst * 100.0
            );
        }
    }
}

/// The share of seeds in which the suite-level gate (`suite_drop` at α) fires: `tasks` tasks
/// at rate `p0` (a negative `p0`: each task its own rate, spread evenly over 0.5 … 1.0),
/// `dropping` of which fall to `p1`, `n0` baseline attempts and `k` attempts now a task.
fn suite_gate_rate(tasks: u32, dropping: u32, p0: f64, p1: f64, (n0, k): (u32, u32), seeds: u64) -> f64 {
    let mut fired = 0;
    for seed in 0..seeds {
        let mut rng = StdRng::seed_from_u64(seed);
        let counts: Vec<((u32, u32), (u32, u32))> = (0..tasks)
            .map(|task| {
                let before = if p0 < 0.0 {
                    0.5 + 0.5 * f64::from(task) / f64::from(tasks)
                } else {
                    p0
                };
                let now = if task < dropping { p1 } else { before };
                ((passes(&mut rng, n0, before), n0), (passes(&mut rng, k, now), k))
            })
            .collect();
        if suite_drop(&counts).is_some_and(|drop| drop.p_value < ALPHA) {
            fired += 1;
        }
    }
    fired as f64 / seeds as f64
}

/// The issue's case (20% of 200 tasks dropping 0.95 → 0.6 at k = 3) and false alarms for
/// unchanged agents at several rates, over 10,000 seeds each.
fn suite_table() {
    const SEEDS: u64 = 10_000;
    println!("| case | baseline attempts | k | share of seeds where the gate fires |");
    println!("|---|---|---|---|");
    for (n0, k) in [(3, 3), (5, 5), (50, 3)] {
        let caught = suite_gate_rate(200, 40, 0.95, 0.6, (n0, k), SEEDS);
        println!("| 40 of 200 tasks 0.95 → 0.6 | {n0} | {k} | {:.1}% |", caught * 100.0);
        for p in [0.5, 0.8, 0.95, 0.99, -1.0] {
            let false_alarms = suite_gate_rate(200, 0, p, p, (n0, k), SEEDS);
            let rate = if p < 0.0 {
                "0.5 … 1.0 by task".to_owned()
            } else {
                p.to_string()
            };
            println!("| unchanged, rate {rate} | {n0} | {k} | {:.1}% |", false_alarms * 100.0);
        }
    }
}

/// Adaptive repeats `min..=max` against baselines of 50 and of `max` attempts, computed exactly
/// from the plan the runner follows (every path of counts): detection of 0.95 → 0.5 next to the
/// fixed `max`-attempt gate and its bound, the worst false alarms over true rates 0.5 … 1.0,
/// and the attempts a pair takes on average for an unchanged agent.
fn adaptive_table() {
    let policy = RegressionPolicy {
        alpha: ALPHA,
        floor: None,
    };
    println!(
        "| repeats | baseline attempts | look level | detection of 0.95 → 0.5 | fixed test at the most attempts | its Neyman–Pearson bound | worst false alarms (0.5–1.0) | attempts at 0.95, unchanged | most attempts on average (any unchanged rate 0.5–1.0) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (min, max) in [(3, 10), (3, 5), (5, 20)] {
        for n0 in [50, max] {
            let started = std::time::Instant::now();
            let plan = adaptive_plan(min, max, n0, policy);
            let calibration = started.elapsed();
            let (detection, _) = plan.operating(n0, 0.95, 0.5);
            let fixed = exact_rate(0.95, 0.5, max, n0, gate(n0, max));
            let bound = Scenario {
                p0: 0.95,
                p1: 0.5,
                k: max,
                n0,
                pairs: 0,
                seeds: 0,
            }
            .neyman_pearson_bound();
            let unchanged: Vec<(f64, f64)> = (50..=100)
                .map(|percent| {
                    let p = f64::from(percent) / 100.0;
                    plan.operating(n0, p, p)
                })
                .collect();
            let worst = unchanged.iter().map(|u| u.0).fold(0.0, f64::max);
            let most = unchanged.iter().map(|u| u.1).fold(0.0, f64::max);
            let (_, at_95) = plan.operating(n0, 0.95, 0.95);
            println!(
                "| {min}..={max} | {n0} | {:.4} | {:.1}% | {:.1}% | {:.1}% | {:.2}% | {at_95:.2} | {most:.2} |",
                plan.look_alpha(),
                detection * 100.0,
                fixed * 100.0,
                bound * 100.0,
                worst * 100.0,
            );
            eprintln!("  (plan {min}..={max} against {n0} computed in {calibration:.2?})");
        }
    }
}

/// Adaptive repeats through the runner itself, seeded: a baseline run of 400 tasks at 50
/// attempts each with `eval_engine::run`, its scorecard, then runs with `repeats = 3..=10`
/// settled against it by [`SettleAgainst`] (what the harness gives the runner), each pair
/// decided as the harness decides it ([`AdaptiveRepeats::decided`], then `decide` at the look
/// level). Prints the share of pairs that regress and the attempts a task took on average.
fn adaptive_runs(seeds: u64) {
    use eval_engine::gate::{AdaptiveRepeats, SettleAgainst};
    use eval_engine::scorecard::Scorecard;
    const TASKS: usize = 400;
    let repeats = AdaptiveRepeats { min: 3, max: 10 };
    let policy = RegressionPolicy {
        alpha: ALPHA,
        floor: None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "| baseline rate | rate now | seeds × tasks | regressions | attempts per task | exact: regressions | exact: attempts |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (p0, p1) in [(0.95, 0.95), (0.95, 0.5), (0.8, 0.8), (0.6, 0.6)] {
        let (mut regressions, mut attempts) = (0u64, 0u64);
        for seed in 0..seeds {
            let baseline = runtime.block_on(flaky_run(seed, p0, RunOptions::default().repeats(50), TASKS));
            let baseline = Scorecard::from_run(&baseline);
            let settle = SettleAgainst {
                repeats,
                baseline: baseline.clone(),
                keys: vec!["passes".to_owned()],
                policy,
            };
            let options = RunOptions::default().adaptive_repeats(3..=10, std::sync::Arc::new(settle));
            let run = runtime.block_on(flaky_run(seed + 1_000_000, p1, options, TASKS));
            attempts += run.tasks().len() as u64;
            let mut by_task: std::collections::BTreeMap<&str, Vec<Option<eval_engine::Verdict>>> = Default::default();
            for record in run.tasks() {
                by_task
                    .entry(record.base_id())
                    .or_default()
                    .push(record.verdict("passes"));
            }
            for (task, verdicts) in by_task {
                let base = baseline.get(task, "passes");
                let (verdict, _) = repeats.decided(&verdicts, base, policy);
                let entry = ScorecardEntry {
                    content_hash: base.map(|b| b.content_hash.clone()).unwrap_or_default(),
                    verdict,
                };
                if decide(&entry, base, false, repeats.policy(base, policy)) == Decision::Regression {
                    regressions += 1;
                }
            }
        }
        let pairs = (TASKS as u64 * seeds) as f64;
        let plan = adaptive_plan(3, 10, 50, policy);
        let (exact_regressions, exact_attempts) = plan.operating(50, p0, p1);
        println!(
            "| {p0} | {p1} | {seeds} × {TASKS} | {:.1}% | {:.2} | {:.1}% | {exact_attempts:.2} |",
            regressions as f64 / pairs * 100.0,
            attempts as f64 / pairs,
            exact_regressions * 100.0,
        );
    }
}

/// A run of `tasks` tasks whose every attempt passes with probability `p`, drawn from `seed`,
/// the task and the attempt (so a run is the same whatever the order attempts finish in).
async fn flaky_run(seed: u64, p: f64, options: RunOptions, tasks: usize) -> eval_engine::RunResult {
    use eval_engine::{Ctx, ScoreInput, ScorerSpec, Suite, Task, run, scorer_fn};
    use serde_json::{Value, json};
    use std::sync::Arc;
    let values = (0..tasks)
        .map(|i| json!({"task_id": format!("t{i:04}"), "inputs": {"input": i}}))
        .collect();
    let suite: Suite = Suite::from_values("flaky", values).unwrap();
    let agent = move |task: Arc<Task>, ctx: Ctx| async move {
        let index = task.inputs()["input"].as_u64().unwrap();
        let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(1_000_003) ^ (index << 20) ^ u64::from(ctx.attempt()));
        Ok::<bool, String>(rng.random::<f64>() < p)
    };
    let passes = scorer_fn(ScorerSpec::new("passes"), |s: &ScoreInput<Value, Value, bool>| {
        s.outputs.copied()
    });
    run(&suite, agent, vec![Arc::new(passes)], options.concurrency(64)).await
}
