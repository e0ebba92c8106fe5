//! A pair's outcome, decided once, and what its test line says.

use crate::board::{GradedAttempt, TaskState};
use crate::plan::Pair;
use eval_engine::Verdict;
use eval_engine::gate::{AdaptiveRepeats, Decision, RegressionPolicy, decide, drop_evidence};
use eval_engine::scorecard::{PairVerdict, ScorecardEntry};
use eval_engine::stats::Attempts;
use libtest_mimic::{Completion, Failed};
use std::path::Path;
use std::sync::Arc;

/// Everything decided about one (task, scorer) pair. The test line, the summary, the exit
/// code and the scorecard all read this one record.
#[derive(Debug, Clone)]
pub(crate) struct PairOutcome {
    pub task_id: Arc<str>,
    pub key: Arc<str>,
    /// The scorecard entry of this run (`None` when the task was never graded).
    pub entry: Option<ScorecardEntry>,
    pub outcome: Decision,
    /// What its messages say besides the verdict. Most pairs have nothing to say, and hold no
    /// room for it: a run keeps one outcome per pair until it ends.
    pub notes: Option<Box<Notes>>,
}

/// What the messages about a pair say besides its verdict.
#[derive(Debug, Clone, Default)]
pub(crate) struct Notes {
    /// The scorer's comment, or the agent's failure.
    pub detail: Option<String>,
    /// Why the pair could not be decided at all (the run failed before grading it).
    pub lost: Option<String>,
    /// For a repeated pair that regressed, the numbers that decided it.
    pub evidence: Option<String>,
}

impl Notes {
    /// The notes, unless there is nothing to note.
    pub fn of(detail: Option<String>, lost: Option<String>, evidence: Option<String>) -> Option<Box<Notes>> {
        let notes = Notes { detail, lost, evidence };
        (notes.detail.is_some() || notes.lost.is_some() || notes.evidence.is_some()).then(|| Box::new(notes))
    }
}

impl PairOutcome {
    /// Decides the outcome of `pair` from its task's graded attempts.
    /// With adaptive repeats, each pair is decided on its counts where its sequential test
    /// decided it (later attempts, made for the task's other pairs, do not count for it), at
    /// the level of the test's looks; the entry kept for the scorecard holds every attempt.
    pub fn decide(
        pair: &Pair,
        state: &TaskState,
        baseline: Option<&ScorecardEntry>,
        policy: RegressionPolicy,
        adaptive: Option<AdaptiveRepeats>,
    ) -> Self {
        let (key, advisory) = (&*pair.key, pair.advisory);
        let attempts = match state {
            TaskState::Done(attempts) => attempts,
            TaskState::Lost(why) => {
                return PairOutcome {
                    task_id: pair.task_id.clone(),
                    key: pair.key.clone(),
                    entry: None,
                    outcome: Decision::NewFailure { content_changed: false },
                    notes: Notes::of(None, Some(why.clone()), None),
                };
            }
        };
        let entry = ScorecardEntry {
            content_hash: attempts.first().map(|a| a.content_hash.clone()).unwrap_or_default(),
            verdict: PairVerdict::from_attempts(attempts.iter().map(|a| a.get(key).map(|f| f.verdict))),
        };
        let (decided, policy) = match adaptive {
            Some(repeats) => {
                let verdicts: Vec<Option<Verdict>> = attempts.iter().map(|a| a.get(key).map(|f| f.verdict)).collect();
                let current = baseline.filter(|b| b.content_hash == entry.content_hash);
                let (verdict, _) = repeats.decided(&verdicts, current, policy);
                let decided = ScorecardEntry {
                    content_hash: entry.content_hash.clone(),
                    verdict,
                };
                (decided, repeats.policy(baseline, policy))
            }
            None => (entry.clone(), policy),
        };
        let outcome = decide(&decided, baseline, advisory, policy);
        let evidence = baseline
            .filter(|_| outcome == Decision::Regression)
            .and_then(|base| evidence(decided.verdict, base.verdict, policy));
        PairOutcome {
            task_id: pair.task_id.clone(),
            key: pair.key.clone(),
            entry: Some(entry),
            outcome,
            notes: Notes::of(detail(attempts, key), None, evidence),
        }
    }

    /// The scorer's comment, or the agent's failure, for messages.
    pub fn detail(&self) -> Option<&str> {
        self.notes.as_ref()?.detail.as_deref()
    }

    /// Why the pair could not be decided at all (the run failed before grading it).
    pub fn lost(&self) -> Option<&str> {
        self.notes.as_ref()?.lost.as_deref()
    }

    /// For a repeated pair that regressed, the numbers that decided it.
    pub fn evidence(&self) -> Option<&str> {
        self.notes.as_ref()?.evidence.as_deref()
    }

    /// The test's result as libtest-mimic wants it. `baseline_unreadable`: the committed
    /// baseline exists but could not be read, which is why no entry was found.
    pub fn to_trial_result(&self, baseline_file: &Path, baseline_unreadable: bool) -> Result<Completion, Failed> {
        if let Some(why) = self.lost() {
            return Err(format!("the task was not graded: {why}").into());
        }
        let detail = self.detail().map(|d| format!(": {d}")).unwrap_or_default();
        let verdict = self.entry.as_ref().map(|e| gives(e.verdict)).unwrap_or_default();
        match self.outcome {
            Decision::Regression => Err(format!(
                "regression: `{key}` passed on task `{task}` in the baseline ({baseline}) and now {verdict}{evidence}{detail}",
                key = self.key,
                task = self.task_id,
                baseline = baseline_file.display(),
                evidence = self.evidence().map(|e| format!(" ({e})")).unwrap_or_default(),
            )
            .into()),
            Decision::NewFailure { content_changed } => {
                let why = if baseline_unreadable {
                    "the baseline could not be read"
                } else if content_changed {
                    "the task's content changed since the baseline"
                } else {
                    "the baseline has no entry for it"
                };
                Err(format!(
                    "new failure: `{key}` {verdict} on task `{task}` and {why} ({baseline}){detail}\n\
                     if this is expected, accept it into the baseline to track it: `cargo insta review`",
                    key = self.key,
                    task = self.task_id,
                    baseline = baseline_file.display(),
                )
                .into())
            }
            Decision::KnownFailure | Decision::NotApplicable => {
                Ok(Completion::ignored_with(self.ignored_reason().unwrap_or_default()))
            }
            Decision::Pass { .. } | Decision::Flaky { .. } | Decision::Informational | Decision::AdvisoryFailure => {
                Ok(Completion::Completed)
            }
        }
    }

    /// Why the pair's test is reported as ignored, when it is.
    pub fn ignored_reason(&self) -> Option<&'static str> {
        match self.outcome {
            _ if self.lost().is_some() => None,
            Decision::KnownFailure => Some("known failure"),
            Decision::NotApplicable => Some("not applicable"),
            _ => None,
        }
    }
}

/// How a report (JUnit, HTML) shows a decided pair.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Shown {
    /// It fails the run: its test's message.
    Failed(String),
    /// Its test is ignored, or it passed without evidence either way: why.
    Skipped(String),
    Passed,
}

impl PairOutcome {
    /// How reports show this pair: as its test is reported, with a flaky pair skipped (its test
    /// passes, but it is no evidence that the pair works).
    pub fn shown(&self, baseline_file: &Path, baseline_unreadable: bool) -> Shown {
        match self.to_trial_result(baseline_file, baseline_unreadable) {
            Err(failed) => Shown::Failed(failed.message().unwrap_or_default().to_owned()),
            Ok(_) => match (self.ignored_reason(), self.outcome) {
                (Some(reason), _) => Shown::Skipped(reason.to_owned()),
                (None, Decision::Flaky { passed, attempts }) => Shown::Skipped(format!(
                    "flaky: {passed}/{attempts} attempts passed, not enough evidence of a drop"
                )),
                _ => Shown::Passed,
            },
        }
    }
}

/// What a suite-level gate (`<suite>::gate::<key>`) decided, for its test and the summary.
#[derive(Debug, Clone)]
pub(crate) struct GateOutcome {
    pub key: String,
    pub outcome: Decision,
    /// One line saying what the numbers were.
    pub because: String,
}

impl GateOutcome {
    /// Decides the gate of `key` from each judged task's current (passes, attempts) and, for
    /// the tasks the baseline holds unchanged, its (passes, attempts) there.
    pub fn decide(
        key: &str,
        min_pass_rate: Option<f64>,
        now: &[(u32, u32)],
        paired: &[(Attempts, Attempts)],
        policy: RegressionPolicy,
    ) -> GateOutcome {
        let rate_of = |counts: &mut dyn Iterator<Item = (u32, u32)>| {
            let (passed, total) = counts.fold((0u64, 0u64), |(p, t), (x, n)| {
                (p + u64::from(x.min(n)), t + u64::from(n))
            });
            (total > 0).then(|| passed as f64 / total as f64)
        };
        let rate = rate_of(&mut now.iter().copied());
        let baseline_rate = rate_of(&mut paired.iter().map(|(base, _)| *base));
        let drop = eval_engine::stats::suite_drop(paired);
        let percent = |r: f64| format!("{:.1}%", r * 100.0);
        let mut because = match (rate, baseline_rate) {
            (Some(now_rate), Some(base)) => format!(
                "{} over {} task(s) now, {} over the same tasks in the baseline",
                percent(now_rate),
                now.len(),
                percent(base)
            ),
            (Some(now_rate), None) => format!(
                "{} over {} task(s); the baseline has none of them",
                percent(now_rate),
                now.len()
            ),
            (None, _) => "no task was graded pass/fail by it".to_owned(),
        };
        if let Some(drop) = drop {
            let verdict = if drop.p_value < policy.alpha { "<" } else { "≥" };
            because.push_str(&format!(
                "; mean change {:+.1} points a task, p = {:.4} {verdict} α = {}",
                drop.mean_change * 100.0,
                drop.p_value,
                policy.alpha
            ));
        }
        let dropped = drop.is_some_and(|d| d.p_value < policy.alpha);
        let outcome = match (rate, min_pass_rate) {
            (None, _) => Decision::NotApplicable,
            (Some(now_rate), Some(min)) if now_rate < min => {
                because.push_str(&format!("; below the minimum {}", percent(min)));
                match baseline_rate {
                    Some(base) if base >= min || dropped => Decision::Regression,
                    Some(_) => Decision::KnownFailure,
                    None => Decision::NewFailure { content_changed: false },
                }
            }
            _ if dropped => Decision::Regression,
            _ => Decision::Pass { improvement: false },
        };
        GateOutcome {
            key: key.to_owned(),
            outcome,
            because,
        }
    }

    /// The gate's test result.
    pub fn to_trial_result(&self) -> Result<Completion, Failed> {
        match self.outcome {
            Decision::Regression => Err(format!(
                "regression: the pass rate of `{}` fell across the suite: {}",
                self.key, self.because
            )
            .into()),
            Decision::NewFailure { .. } => Err(format!(
                "new failure: the pass rate of `{}` is below its minimum: {}",
                self.key, self.because
            )
            .into()),
            Decision::KnownFailure | Decision::NotApplicable => {
                Ok(Completion::ignored_with(self.ignored_reason().unwrap_or_default()))
            }
            _ => Ok(Completion::Completed),
        }
    }

    /// Why the gate's test is reported as ignored, when it is.
    pub fn ignored_reason(&self) -> Option<&'static str> {
        match self.outcome {
            Decision::KnownFailure => Some("known failure: below its minimum in the baseline too"),
            Decision::NotApplicable => Some("not a pass/fail key"),
            _ => None,
        }
    }
}

/// A decision's name in the files the harness writes (nextest fragments, JUnit properties).
pub(crate) fn decision_name(decision: Decision) -> &'static str {
    match decision {
        Decision::Pass { improvement: false } => "pass",
        Decision::Pass { improvement: true } => "improvement",
        Decision::Regression => "regression",
        Decision::KnownFailure => "known_failure",
        Decision::NewFailure { .. } => "new_failure",
        Decision::Flaky { .. } => "flaky",
        Decision::Informational => "informational",
        Decision::AdvisoryFailure => "advisory_failure",
        Decision::NotApplicable => "not_applicable",
    }
}

/// The numbers that decided a repeated pair's regression: both counts, and the rule or the
/// test that judged them.
fn evidence(now: PairVerdict, base: PairVerdict, policy: RegressionPolicy) -> Option<String> {
    let repeated = |v: PairVerdict| matches!(v, PairVerdict::Repeated { .. });
    if !repeated(now) && !repeated(base) {
        return None;
    }
    let ((passed, attempts), (base_passed, base_attempts)) = (now.pass_count()?, base.pass_count()?);
    let counts = format!("{passed}/{attempts} now vs {base_passed}/{base_attempts} in the baseline");
    if passed == 0 && base_passed == base_attempts {
        return Some(format!("{counts}: it passed every attempt and now passes none"));
    }
    let because = drop_evidence(passed, attempts, base_passed, base_attempts, policy)
        .map(|e| format!(": {e}"))
        .unwrap_or_default();
    Some(format!("{counts}{because}"))
}

/// What a verdict says in a message: `gives fail`, `gives 1/3`, and for a scorer that could not
/// grade the same words whether or not it has a threshold.
fn gives(verdict: PairVerdict) -> String {
    match verdict {
        PairVerdict::Ungradeable => "is ungradeable (counts as a fail)".to_owned(),
        other => format!("gives {other}"),
    }
}

/// The first comment of `key` among failing attempts, else the agent's exception.
fn detail(attempts: &[GradedAttempt], key: &str) -> Option<String> {
    let graded = || attempts.iter().filter_map(|a| a.get(key));
    let comment = graded()
        .find(|f| f.verdict.fails_gate())
        .and_then(|f| f.comment.as_deref())
        .or_else(|| graded().find_map(|f| f.shown.as_deref()))
        .map(str::to_owned);
    let exception = attempts
        .iter()
        .find_map(|a| a.exception.as_ref())
        .map(|e| format!("the agent failed ({}: {})", e.kind, e.message));
    match (comment, exception) {
        (Some(c), Some(e)) if c.contains(&e) => Some(c),
        (Some(c), Some(e)) => Some(format!("{c}; {e}")),
        (c, e) => c.or(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::GradedFeedback;
    use eval_engine::Verdict;
    use eval_engine::task::ContentHash;
    use std::sync::Arc;

    fn attempts(verdicts: &[Verdict]) -> TaskState {
        let attempts: Vec<GradedAttempt> = verdicts
            .iter()
            .enumerate()
            .map(|(i, verdict)| GradedAttempt {
                attempt: i as u32 + 1,
                content_hash: ContentHash::from_stored("00ff"),
                exception: None,
                feedback: vec![GradedFeedback {
                    key: Arc::from("judge"),
                    verdict: *verdict,
                    comment: None,
                    shown: None,
                }],
            })
            .collect();
        TaskState::Done(Arc::from(attempts))
    }

    /// Pair `judge` of task `paris`.
    fn judge_pair() -> Pair {
        Pair {
            task: 0,
            task_id: Arc::from("paris"),
            key: Arc::from("judge"),
            scorer: 0,
            advisory: false,
            selected: true,
        }
    }

    fn message(state: &TaskState, baseline: PairVerdict, policy: RegressionPolicy) -> String {
        let baseline = ScorecardEntry {
            content_hash: ContentHash::from_stored("00ff"),
            verdict: baseline,
        };
        let pair = judge_pair();
        let decided = PairOutcome::decide(&pair, state, Some(&baseline), policy, None);
        match decided.to_trial_result(Path::new("evals__weather.snap"), false) {
            Err(failed) => failed.message().unwrap_or_default().to_owned(),
            Ok(_) => panic!("{decided:?} did not fail"),
        }
    }

    #[test]
    fn adaptive_repeats_decide_a_pair_where_its_own_test_decided_it() {
        use Verdict::{Fail, Pass};
        let repeats = AdaptiveRepeats { min: 3, max: 10 };
        let policy = RegressionPolicy::default();
        let baseline = ScorecardEntry {
            content_hash: ContentHash::from_stored("00ff"),
            verdict: PairVerdict::Repeated {
                passed: 20,
                attempts: 20,
            },
        };
        let pair = judge_pair();
        // The attempts at which an all-pass pair settles against 20/20.
        let plan = eval_engine::gate::adaptive_plan(3, 10, 20, policy);
        let needed = (3..=10)
            .find(|n| plan.look(20, *n, *n) == eval_engine::stats::Look::Settled)
            .unwrap() as usize;
        // It settled, then the task went on for another pair and failed three times: those
        // attempts do not count for it; the scorecard entry still holds them all.
        let mut verdicts = vec![Pass; needed];
        verdicts.extend([Fail, Fail, Fail]);
        let state = attempts(&verdicts);
        let decided = PairOutcome::decide(&pair, &state, Some(&baseline), policy, Some(repeats));
        assert_eq!(decided.outcome, Decision::Pass { improvement: false }, "{decided:?}");
        let kept = decided.entry.unwrap().verdict;
        assert_eq!(kept.pass_count(), Some((needed as u32, needed as u32 + 3)));
        // Decided on every attempt, the same pair would have regressed.
        let all = PairOutcome::decide(&pair, &state, Some(&baseline), policy, None);
        assert_eq!(all.outcome, Decision::Regression, "{all:?}");
        // A pair that fails from the start regresses at its first look, at the look level.
        let broken = PairOutcome::decide(
            &pair,
            &attempts(&[Pass, Fail, Fail, Fail, Fail]),
            Some(&baseline),
            policy,
            Some(repeats),
        );
        assert_eq!(broken.outcome, Decision::Regression);
        assert!(
            broken
                .evidence()
                .unwrap()
                .starts_with("1/3 now vs 20/20 in the baseline: p = ")
        );
    }

    #[test]
    fn only_a_pair_with_something_to_say_holds_notes() {
        use Verdict::{Fail, Pass};
        let (pair, policy) = (judge_pair(), RegressionPolicy::default());
        let passed = PairOutcome::decide(&pair, &attempts(&[Pass]), None, policy, None);
        assert!(passed.notes.is_none(), "{passed:?}");
        assert_eq!((passed.detail(), passed.lost(), passed.evidence()), (None, None, None));

        let TaskState::Done(graded) = attempts(&[Fail]) else {
            unreachable!()
        };
        let mut failed = graded.to_vec();
        failed[0].feedback[0].comment = Some("wrong city".into());
        let failed = PairOutcome::decide(&pair, &TaskState::Done(failed.into()), None, policy, None);
        assert_eq!((failed.detail(), failed.lost()), (Some("wrong city"), None));

        let lost = PairOutcome::decide(&pair, &TaskState::Lost("the run failed".to_owned()), None, policy, None);
        assert_eq!((lost.detail(), lost.lost()), (None, Some("the run failed")));
        let Err(failed) = lost.to_trial_result(Path::new("b.snap"), false) else {
            panic!("a lost pair fails");
        };
        assert_eq!(failed.message(), Some("the task was not graded: the run failed"));
    }

    #[test]
    fn a_floor_regression_names_the_floor_and_the_counts() {
        use Verdict::{Fail, Pass};
        let policy = RegressionPolicy {
            alpha: 1e-9,
            floor: Some(0.9),
        };
        let state = attempts(&[Pass, Pass, Fail, Pass]);
        let text = message(&state, PairVerdict::Repeated { passed: 4, attempts: 4 }, policy);
        assert!(text.starts_with("regression: `judge` passed on task `paris`"), "{text}");
        assert!(
            text.contains("gives 3/4 (3/4 now vs 4/4 in the baseline: pass rate 0.75 is below the floor 0.9)"),
            "{text}"
        );
    }

    #[test]
    fn a_significant_drop_shows_its_p_value() {
        use Verdict::{Fail, Pass};
        let state = attempts(&[Pass, Fail, Fail, Fail, Fail, Fail, Fail, Fail, Fail, Fail]);
        let text = message(
            &state,
            PairVerdict::Repeated {
                passed: 10,
                attempts: 10,
            },
            RegressionPolicy::default(),
        );
        assert!(text.contains("(1/10 now vs 10/10 in the baseline: p = "), "{text}");
        assert!(text.contains(" < α = 0.05)"), "{text}");
    }

    #[test]
    fn ungradeable_reads_the_same_with_or_without_a_threshold() {
        let state = attempts(&[Verdict::Ungradeable]);
        let text = message(&state, PairVerdict::Pass, RegressionPolicy::default());
        assert!(text.contains("and now is ungradeable (counts as a fail)"), "{text}");
        let thresholded = eval_engine::scorer::Threshold::at_least(0.5)
            .apply(eval_engine::Feedback::ungradeable("judge", "timed out"));
        assert_eq!(
            thresholded.comment.as_deref(),
            Some("ungradeable (counts as a fail); timed out")
        );
    }

    #[test]
    fn a_gate_regresses_on_a_suite_wide_drop_or_below_its_minimum() {
        let policy = RegressionPolicy::default();
        // 40 tasks, 10 of which fell from 4/4 to 2/4: no pair would regress, the key does.
        let paired: Vec<_> = (0..40)
            .map(|i| ((4, 4), if i < 10 { (2, 4) } else { (4, 4) }))
            .collect();
        let now: Vec<_> = paired.iter().map(|(_, n)| *n).collect();
        let gate = GateOutcome::decide("judge", None, &now, &paired, policy);
        assert_eq!(gate.outcome, Decision::Regression, "{}", gate.because);
        assert!(
            gate.because
                .starts_with("87.5% over 40 task(s) now, 100.0% over the same tasks in the baseline")
        );
        let Err(failed) = gate.to_trial_result() else {
            panic!("the gate passed")
        };
        assert!(
            failed
                .message()
                .unwrap()
                .starts_with("regression: the pass rate of `judge` fell across the suite")
        );

        // Unchanged: ok.
        let same: Vec<_> = (0..40).map(|_| ((3, 4), (3, 4))).collect();
        let now: Vec<_> = same.iter().map(|(_, n)| *n).collect();
        assert_eq!(
            GateOutcome::decide("judge", None, &now, &same, policy).outcome,
            Decision::Pass { improvement: false }
        );

        // Below the minimum: a regression when the baseline met it, known when it did not,
        // new without a baseline.
        let met = GateOutcome::decide(
            "judge",
            Some(0.8),
            &[(3, 4), (2, 4)],
            &[((4, 4), (3, 4)), ((4, 4), (2, 4))],
            policy,
        );
        assert_eq!(met.outcome, Decision::Regression);
        assert!(met.because.ends_with("; below the minimum 80.0%"), "{}", met.because);
        let never = GateOutcome::decide("judge", Some(0.8), &[(3, 4)], &[((3, 4), (3, 4))], policy);
        assert_eq!(never.outcome, Decision::KnownFailure);
        assert_eq!(
            never.ignored_reason(),
            Some("known failure: below its minimum in the baseline too")
        );
        let fresh = GateOutcome::decide("judge", Some(0.8), &[(3, 4)], &[], policy);
        assert_eq!(fresh.outcome, Decision::NewFailure { content_changed: false });
        assert_eq!(
            GateOutcome::decide("length", None, &[], &[], policy).ignored_reason(),
            Some("not a pass/fail key")
        );
    }
}
