//! Where graded tasks are posted as they finish, and where each trial waits for its task.
//!
//! The runner reports every graded attempt to an observer; the board keeps just what the
//! outcomes need (verdicts, comments, the exception, the content hash), not the trace, so the
//! run's memory is not doubled.

use eval_engine::observer::Observer;
use eval_engine::task::ContentHash;
use eval_engine::trace::Exception;
use eval_engine::{TaskRecord, Verdict};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How often, at most, a post wakes the waiting trials, and how long a waiting trial sleeps
/// before it looks again. A run that grades thousands of tasks a second would otherwise wake
/// them once a task, and they would spend more time being woken than deciding; woken a little
/// later, a trial finds its task and those after it done and decides them in one go.
const WAKE_EVERY: Duration = Duration::from_millis(4);

/// What one graded attempt says about its pairs.
#[derive(Debug, Clone)]
pub(crate) struct GradedAttempt {
    /// The attempt's number (1 without repeats).
    pub attempt: u32,
    pub content_hash: ContentHash,
    /// Boxed: the board keeps an attempt of every task, and few have failed.
    pub exception: Option<Box<Exception>>,
    /// One entry per feedback key (the first feedback of a key counts).
    pub feedback: Vec<GradedFeedback>,
}

/// The part of a feedback the outcome and the summary need.
#[derive(Debug, Clone)]
pub(crate) struct GradedFeedback {
    /// Shared with the plan's pairs for the suite's own keys.
    pub key: Arc<str>,
    pub verdict: Verdict,
    pub comment: Option<Box<str>>,
    /// The number or label, for informational pairs.
    pub shown: Option<Box<str>>,
}

impl GradedAttempt {
    /// What `task` says, its feedback keys taken from `keys` where they are there.
    fn of(task: &TaskRecord, keys: &[Arc<str>]) -> Self {
        let mut feedback: Vec<GradedFeedback> = Vec::with_capacity(task.feedback.len());
        for fb in &task.feedback {
            if !feedback.iter().any(|f| *f.key == *fb.key) {
                let key = match keys.iter().find(|key| ***key == *fb.key) {
                    Some(key) => key.clone(),
                    None => Arc::from(fb.key.as_str()),
                };
                feedback.push(GradedFeedback {
                    key,
                    verdict: fb.verdict(),
                    comment: fb.comment.as_deref().map(Box::from),
                    shown: match fb.as_number() {
                        Some(n) => Some(n.to_string().into_boxed_str()),
                        None => fb.value.as_deref().map(Box::from),
                    },
                });
            }
        }
        GradedAttempt {
            attempt: task.attempt.unwrap_or(1),
            content_hash: task.content_hash.clone(),
            exception: task.trace.exception.clone().map(Box::new),
            feedback,
        }
    }

    /// The feedback of `key` on this attempt.
    pub fn get(&self, key: &str) -> Option<&GradedFeedback> {
        self.feedback.iter().find(|f| *f.key == *key)
    }
}

/// The state of one task's slot.
#[derive(Debug, Clone)]
pub(crate) enum TaskState {
    /// Every attempt is graded. Shared by the trials of all the task's pairs.
    Done(Arc<[GradedAttempt]>),
    /// The run ended without grading the task (the run itself failed).
    Lost(String),
}

#[derive(Default)]
struct Slot {
    attempts: Vec<GradedAttempt>,
    /// The attempts, frozen once the last one is posted.
    done: Option<Arc<[GradedAttempt]>>,
    lost: Option<String>,
}

impl Slot {
    /// The attempts are all in: kept in attempt order (they are posted as they finish).
    fn freeze(&mut self) {
        let mut attempts = std::mem::take(&mut self.attempts);
        attempts.sort_by_key(|a| a.attempt);
        self.done = Some(attempts.into());
    }
}

/// The board of one suite: a slot per task that runs, found by the task's position in the
/// suite, so that a waiting trial looks nothing up by name.
pub(crate) struct Board {
    attempts_per_task: usize,
    /// The suite's feedback keys, which the posts share.
    keys: Vec<Arc<str>>,
    /// Where each task's slot is, by id (for the runner's posts).
    positions: HashMap<Arc<str>, usize>,
    /// By position in the suite; `None` for a task that does not run.
    slots: Mutex<Vec<Option<Slot>>>,
    changed: Condvar,
    wakes: Wakes,
}

/// When the posts last woke the waiting trials.
struct Wakes {
    start: Instant,
    /// Microseconds from `start` to the last wake, plus one (0: never).
    last: AtomicU64,
}

impl Wakes {
    fn new() -> Self {
        Wakes {
            start: Instant::now(),
            last: AtomicU64::new(0),
        }
    }

    /// Whether a post `now` (since `start`) wakes the waiting trials: the first does, and then
    /// one every [`WAKE_EVERY`]. Two posts that both find a wake due both wake: harmless.
    fn due(&self, now: Duration) -> bool {
        let now = u64::try_from(now.as_micros()).unwrap_or(u64::MAX - 1) + 1;
        let last = self.last.load(Ordering::Relaxed);
        if last != 0 && now.saturating_sub(last) < WAKE_EVERY.as_micros() as u64 {
            return false;
        }
        self.last.store(now, Ordering::Relaxed);
        true
    }
}

impl Board {
    /// A board for the suite's tasks (`ids`, in suite order) of which those at `running`
    /// run, each expected `attempts_per_task` times, graded on `keys`.
    pub fn new(ids: &[Arc<str>], keys: Vec<Arc<str>>, running: &[usize], attempts_per_task: usize) -> Self {
        let positions: HashMap<Arc<str>, usize> = ids.iter().enumerate().map(|(i, id)| (id.clone(), i)).collect();
        let mut slots: Vec<Option<Slot>> = std::iter::repeat_with(|| None).take(positions.len()).collect();
        for &position in running {
            if let Some(slot) = slots.get_mut(position) {
                *slot = Some(Slot::default());
            }
        }
        Board {
            attempts_per_task,
            keys,
            positions,
            slots: Mutex::new(slots),
            changed: Condvar::new(),
            wakes: Wakes::new(),
        }
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, Vec<Option<Slot>>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn post(&self, task_id: &str, attempt: GradedAttempt) {
        let Some(&position) = self.positions.get(task_id) else {
            return;
        };
        let mut slots = self.slots();
        let Some(Some(slot)) = slots.get_mut(position) else {
            return;
        };
        if self.attempts_per_task <= 1 && slot.attempts.is_empty() {
            // One attempt a task, the common case: frozen as it is, without a list first.
            slot.done = Some(Arc::from([attempt]));
        } else {
            if slot.attempts.is_empty() {
                slot.attempts.reserve_exact(self.attempts_per_task);
            }
            slot.attempts.push(attempt);
            if slot.attempts.len() < self.attempts_per_task {
                return;
            }
            slot.freeze();
        }
        drop(slots);
        // Only a task's last attempt can wake anyone; a trial that this post does not wake
        // finds its task done when it looks again.
        if self.wakes.due(self.wakes.start.elapsed()) {
            self.changed.notify_all();
        }
    }

    /// Freezes `task_id` with the attempts it has: adaptive repeats settled it before its most.
    fn settle(&self, task_id: &str) {
        let Some(&position) = self.positions.get(task_id) else {
            return;
        };
        let mut slots = self.slots();
        let Some(Some(slot)) = slots.get_mut(position) else {
            return;
        };
        if slot.done.is_none() && !slot.attempts.is_empty() {
            slot.freeze();
        }
        drop(slots);
        self.changed.notify_all();
    }

    /// Marks every task not yet complete as lost, waking the trials waiting for them.
    pub fn close(&self, why: &str) {
        let mut slots = self.slots();
        for slot in slots.iter_mut().flatten() {
            if slot.done.is_none() && slot.lost.is_none() {
                slot.lost = Some(why.to_owned());
            }
        }
        drop(slots);
        self.changed.notify_all();
    }

    /// Marks `task_id` as lost, waking the trials waiting for it.
    pub fn lose(&self, task_id: &str, why: &str) {
        let Some(&position) = self.positions.get(task_id) else {
            return;
        };
        let mut slots = self.slots();
        if let Some(Some(slot)) = slots.get_mut(position)
            && slot.done.is_none()
        {
            slot.lost = Some(why.to_owned());
        }
        drop(slots);
        self.changed.notify_all();
    }

    /// Blocks until the task at `position` is graded (every attempt) or lost: at most
    /// [`WAKE_EVERY`] after that.
    pub fn wait(&self, position: usize) -> TaskState {
        let mut slots = self.slots();
        loop {
            match slots.get(position) {
                None | Some(None) => return TaskState::Lost("the task is not part of this run".to_owned()),
                Some(Some(Slot {
                    done: Some(attempts), ..
                })) => return TaskState::Done(attempts.clone()),
                Some(Some(Slot { lost: Some(why), .. })) => return TaskState::Lost(why.clone()),
                Some(Some(_)) => {
                    slots = match self.changed.wait_timeout(slots, WAKE_EVERY) {
                        Ok((slots, _)) => slots,
                        Err(poisoned) => poisoned.into_inner().0,
                    }
                }
            }
        }
    }
}

/// Posts graded tasks to a board.
pub(crate) struct BoardObserver(pub Arc<Board>);

impl Observer for BoardObserver {
    fn task_evaluated(&self, task: &TaskRecord) {
        self.0.post(task.base_id(), GradedAttempt::of(task, &self.0.keys));
    }

    fn task_settled(&self, task_id: &str, _attempts: u32) {
        self.0.settle(task_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eval_engine::{Feedback, Trace};
    use serde_json::{Map, Value, json};

    fn record(task_id: &str, attempt: Option<u32>, feedback: Vec<Feedback>) -> TaskRecord {
        let inputs = json!({"input": task_id});
        TaskRecord {
            task_id: TaskRecord::id_of(task_id, attempt),
            content_hash: ContentHash::of(&inputs, &Value::Null),
            inputs,
            reference_outputs: Value::Null,
            tags: Vec::new(),
            metadata: Map::new(),
            trace: Trace::new(Vec::new(), None, 1),
            feedback,
            budget_violation: false,
            scorer_traces: Vec::new(),
            trace_ref: None,
            outputs: Value::Null,
            attempt,
        }
    }

    #[test]
    fn a_task_is_done_once_its_last_attempt_is_posted_with_its_first_feedback_per_key() {
        let ids: Vec<Arc<str>> = ["a", "b"].into_iter().map(Arc::from).collect();
        let keys: Vec<Arc<str>> = vec![Arc::from("exact")];
        let board = Arc::new(Board::new(&ids, keys.clone(), &[0], 2));
        let observer = BoardObserver(board.clone());
        let feedback = |passed| {
            vec![
                Feedback::pass_fail("exact", passed),
                Feedback::pass_fail("exact", !passed),
                Feedback::pass_fail("extra", true),
            ]
        };
        // Attempts are posted as they finish, here the second first.
        observer.task_evaluated(&record("a", Some(2), feedback(false)));
        observer.task_evaluated(&record("a", Some(1), feedback(true)));
        let TaskState::Done(attempts) = board.wait(0) else {
            panic!("task a is graded");
        };
        assert_eq!(attempts.iter().map(|a| a.attempt).collect::<Vec<_>>(), [1, 2]);
        let first = attempts[0].get("exact").expect("graded on exact");
        assert_eq!(first.verdict, Verdict::Pass);
        assert_eq!(attempts[1].get("exact").map(|f| f.verdict), Some(Verdict::Fail));
        // The suite's own key is the plan's; another key a scorer gave is kept too.
        assert!(Arc::ptr_eq(&first.key, &keys[0]));
        assert_eq!(attempts[0].get("extra").map(|f| f.verdict), Some(Verdict::Pass));
        assert_eq!(attempts[0].feedback.len(), 2);
        assert_eq!(attempts[0].content_hash, record("a", None, Vec::new()).content_hash);
        // A task that does not run is lost at once.
        assert!(matches!(board.wait(1), TaskState::Lost(_)));
    }

    #[test]
    fn a_single_attempt_is_kept_with_its_comment_value_number_and_exception() {
        let ids: Vec<Arc<str>> = vec![Arc::from("a")];
        let board = Arc::new(Board::new(&ids, Vec::new(), &[0], 1));
        let mut failed = Feedback::pass_fail("exact", false);
        failed.comment = Some("wrong city".to_owned());
        let feedback = vec![failed, Feedback::label("tone", "dry"), Feedback::number("length", 2.5)];
        let mut task = record("a", None, feedback);
        task.trace.exception = Some(Exception::new("Timeout", "the agent took too long"));
        BoardObserver(board.clone()).task_evaluated(&task);
        let TaskState::Done(attempts) = board.wait(0) else {
            panic!("task a is graded");
        };
        let [attempt] = &attempts[..] else {
            panic!("one attempt: {attempts:?}");
        };
        assert_eq!(
            attempt.get("exact").and_then(|f| f.comment.as_deref()),
            Some("wrong city")
        );
        assert_eq!(attempt.get("tone").and_then(|f| f.shown.as_deref()), Some("dry"));
        assert_eq!(attempt.get("length").and_then(|f| f.shown.as_deref()), Some("2.5"));
        assert_eq!(attempt.exception.as_ref().map(|e| e.kind.as_str()), Some("Timeout"));
    }

    #[test]
    fn posts_wake_the_waiting_trials_at_most_every_few_milliseconds() {
        let wakes = Wakes::new();
        let at = Duration::from_millis;
        assert!(wakes.due(at(0)), "the first post wakes");
        assert!(!wakes.due(at(1)));
        assert!(!wakes.due(WAKE_EVERY - Duration::from_micros(1)));
        assert!(wakes.due(WAKE_EVERY));
        assert!(!wakes.due(WAKE_EVERY + at(1)));
        assert!(wakes.due(at(60_000)), "after a long pause the next post wakes at once");
    }

    #[test]
    fn a_trial_that_a_post_does_not_wake_finds_its_task_done_all_the_same() {
        let ids: Vec<Arc<str>> = ["a", "b"].into_iter().map(Arc::from).collect();
        let board = Arc::new(Board::new(&ids, Vec::new(), &[0, 1], 1));
        let observer = BoardObserver(board.clone());
        let waiting = std::thread::spawn({
            let board = board.clone();
            move || board.wait(1)
        });
        std::thread::sleep(Duration::from_millis(20));
        // a's post wakes the trial waiting for b; b's, right after, wakes nobody.
        observer.task_evaluated(&record("a", None, Vec::new()));
        observer.task_evaluated(&record("b", None, Vec::new()));
        assert!(matches!(waiting.join().expect("the trial returns"), TaskState::Done(_)));
    }

    #[test]
    fn closing_the_board_loses_the_tasks_not_yet_graded_and_wakes_their_trials() {
        let ids: Vec<Arc<str>> = vec![Arc::from("a")];
        let board = Arc::new(Board::new(&ids, Vec::new(), &[0], 1));
        let waiting = std::thread::spawn({
            let board = board.clone();
            move || board.wait(0)
        });
        board.close("the run failed");
        match waiting.join().expect("the trial returns") {
            TaskState::Lost(why) => assert_eq!(why, "the run failed"),
            TaskState::Done(_) => panic!("nothing was posted"),
        }
    }
}
