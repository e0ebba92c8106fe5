//! Which trials a command line selects, decided before anything runs so that only the agents
//! of selected tasks start.
//!
//! libtest's rules (a substring filter, or `--exact`; `--skip`, repeatable), plus one of ours:
//! an exact filter naming a suite or a task (`weather`, `weather::paris`) selects all its
//! pairs, so an IDE's "run this module" works for a task. `EVAL_TAGS` narrows the selection to
//! tasks by their tags, `EVAL_SHARD` to a stable share of them.

use libtest_mimic::Arguments;

/// A test's name and the paths it belongs to.
pub(crate) struct TrialPath<'a> {
    pub name: &'a str,
    pub suite: &'a str,
    pub task: Option<&'a str>,
}

pub(crate) struct Selector {
    filter: Option<String>,
    skip: Vec<String>,
    exact: bool,
    only_ignored: bool,
    tags: Option<TagFilter>,
    shard: Option<Shard>,
}

/// `EVAL_SHARD=k/n`: the k-th of n shares of every suite's tasks. A task's share is decided by a
/// hash of its suite and id, so it is the same on every machine and in every run, every pair of
/// a task lands in one share (its agent runs once), and adding a task moves no other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shard {
    /// From 1.
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Reads `k/n` (1 ≤ k ≤ n).
    pub fn parse(text: &str) -> Result<Shard, String> {
        let shard = text.split_once('/').and_then(|(k, n)| {
            let (index, count) = (k.trim().parse::<u32>().ok()?, n.trim().parse::<u32>().ok()?);
            (1..=count).contains(&index).then_some(Shard { index, count })
        });
        shard.ok_or_else(|| format!("EVAL_SHARD={text} is not a shard: write k/n with 1 ≤ k ≤ n, such as 2/3"))
    }

    /// Whether task `task_id` of suite `suite` is in this share.
    pub fn holds(&self, suite: &str, task_id: &str) -> bool {
        use sha2::{Digest, Sha256};
        let digest = Sha256::new()
            .chain_update(suite.as_bytes())
            .chain_update([0])
            .chain_update(task_id.as_bytes())
            .finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(first) % u64::from(self.count) == u64::from(self.index - 1)
    }
}

/// `EVAL_TAGS=units,!slow`: a task is selected when it has one of the tags named (any task, when
/// only exclusions are named) and none of the tags marked `!`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TagFilter {
    /// How the user wrote it, for the run JSON.
    text: String,
    wanted: Vec<String>,
    excluded: Vec<String>,
}

impl TagFilter {
    /// Reads a comma-separated list of tags, each optionally prefixed by `!`.
    pub fn parse(text: &str) -> Result<TagFilter, String> {
        let mut filter = TagFilter {
            text: text.to_owned(),
            wanted: Vec::new(),
            excluded: Vec::new(),
        };
        for part in text.split(',').map(str::trim) {
            let (list, tag) = match part.strip_prefix('!') {
                Some(tag) => (&mut filter.excluded, tag.trim()),
                None => (&mut filter.wanted, part),
            };
            if tag.is_empty() {
                return Err(format!(
                    "EVAL_TAGS={text}: an empty tag; write tags separated by commas, `!` before a tag to leave its \
                     tasks out (`EVAL_TAGS=units,!slow`)"
                ));
            }
            list.push(tag.to_owned());
        }
        Ok(filter)
    }

    /// Whether a task with these tags is selected.
    pub fn selects(&self, tags: &[String]) -> bool {
        let has = |wanted: &String| tags.contains(wanted);
        (self.wanted.is_empty() || self.wanted.iter().any(has)) && !self.excluded.iter().any(has)
    }
}

impl Selector {
    pub fn new(args: &Arguments, tags: Option<TagFilter>, shard: Option<Shard>) -> Self {
        Selector {
            filter: args.filter.clone(),
            skip: args.skip.clone(),
            exact: args.exact,
            only_ignored: args.ignored,
            tags,
            shard,
        }
    }

    /// Whether task `task_id` of `suite`, with these tags, may run (`EVAL_TAGS`, `EVAL_SHARD`);
    /// its pairs still go through [`Selector::selects`].
    pub fn selects_task(&self, suite: &str, task_id: &str, tags: &[String]) -> bool {
        self.tags.as_ref().is_none_or(|filter| filter.selects(tags))
            && self.shard.is_none_or(|shard| shard.holds(suite, task_id))
    }

    /// The tag filter in force, as the user wrote it.
    pub fn tag_filter(&self) -> Option<&str> {
        self.tags.as_ref().map(|filter| filter.text.as_str())
    }

    /// Whether the trial runs.
    pub fn selects(&self, trial: &TrialPath<'_>) -> bool {
        // Our trials are never `#[ignore]`d, so `--ignored` selects none of them.
        if self.only_ignored {
            return false;
        }
        if let Some(filter) = &self.filter
            && !self.matches(filter, trial)
        {
            return false;
        }
        !self.skip.iter().any(|skip| match self.exact {
            true => trial.name == skip,
            false => trial.name.contains(skip.as_str()),
        })
    }

    fn matches(&self, filter: &str, trial: &TrialPath<'_>) -> bool {
        if self.exact {
            trial.name == filter || trial.suite == filter || trial.task == Some(filter)
        } else {
            trial.name.contains(filter)
        }
    }

    /// Whether the command line could be aimed at anything in `suite` (used to decide whether to
    /// show a suite's load error).
    pub fn may_concern(&self, suite: &str) -> bool {
        match &self.filter {
            None => !self.only_ignored,
            Some(filter) => filter.starts_with(suite) || suite.contains(filter.as_str()),
        }
    }

    /// The filter as the user gave it, for the run JSON.
    pub fn describe(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(filter) = &self.filter {
            parts.push(filter.clone());
        }
        if self.exact {
            parts.push("--exact".to_owned());
        }
        for skip in &self.skip {
            parts.push(format!("--skip {skip}"));
        }
        if let Some(tags) = &self.tags {
            parts.push(format!("EVAL_TAGS={}", tags.text));
        }
        if let Some(shard) = &self.shard {
            parts.push(format!("EVAL_SHARD={}/{}", shard.index, shard.count));
        }
        (!parts.is_empty()).then(|| parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selector(line: &[&str]) -> Selector {
        let args = Arguments::from_iter(std::iter::once("evals").chain(line.iter().copied()));
        Selector::new(&args, None, None)
    }

    fn pair<'a>(name: &'a str) -> TrialPath<'a> {
        let mut segments = name.rsplitn(3, "::");
        let _scorer = segments.next();
        let task_end = name.rfind("::").unwrap();
        let suite_end = name[..task_end].rfind("::").unwrap();
        TrialPath {
            name,
            suite: &name[..suite_end],
            task: Some(&name[..task_end]),
        }
    }

    #[test]
    fn libtest_rules_and_task_paths() {
        let all = selector(&[]);
        assert!(all.selects(&pair("weather::paris::exact")));

        let substring = selector(&["weather::paris"]);
        assert!(substring.selects(&pair("weather::paris::exact")));
        assert!(
            substring.selects(&pair("weather::paris_2::exact")),
            "libtest's substring rule"
        );
        assert!(!substring.selects(&pair("weather::rome::exact")));

        let exact_task = selector(&["weather::paris", "--exact"]);
        assert!(exact_task.selects(&pair("weather::paris::exact")));
        assert!(!exact_task.selects(&pair("weather::paris_2::exact")));

        let exact_suite = selector(&["--exact", "weather"]);
        assert!(exact_suite.selects(&pair("weather::rome::judge")));
        assert!(!exact_suite.selects(&pair("travel::weather::rome::judge")));

        let exact_pair = selector(&["weather::paris::exact", "--exact"]);
        assert!(exact_pair.selects(&pair("weather::paris::exact")));
        assert!(!exact_pair.selects(&pair("weather::paris::judge")));

        let skip = selector(&["--skip", "judge"]);
        assert!(!skip.selects(&pair("weather::paris::judge")));
        assert!(skip.selects(&pair("weather::paris::exact")));

        assert!(!selector(&["--ignored"]).selects(&pair("weather::paris::exact")));
    }

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn tag_filters_want_any_and_exclude_all() {
        let units = TagFilter::parse("units").unwrap();
        assert!(units.selects(&tags(&["units", "slow"])));
        assert!(!units.selects(&tags(&["smoke"])));
        assert!(!units.selects(&[]));

        let fast_units = TagFilter::parse(" units , smoke,!slow ").unwrap();
        assert!(fast_units.selects(&tags(&["smoke"])));
        assert!(!fast_units.selects(&tags(&["units", "slow"])));

        let not_slow = TagFilter::parse("!slow").unwrap();
        assert!(not_slow.selects(&[]), "only exclusions: every other task");
        assert!(!not_slow.selects(&tags(&["slow"])));

        for bad in ["", "units,", "!", "a,,b", "! "] {
            let error = TagFilter::parse(bad).unwrap_err();
            assert!(error.contains("an empty tag"), "{bad:?}: {error}");
        }
    }

    #[test]
    fn tags_narrow_the_selection_and_are_described() {
        let args = Arguments::from_iter(["evals", "weather"]);
        let selector = Selector::new(&args, Some(TagFilter::parse("units,!slow").unwrap()), None);
        assert!(selector.selects_task("weather", "paris", &tags(&["units"])));
        assert!(!selector.selects_task("weather", "paris", &tags(&["units", "slow"])));
        assert_eq!(selector.describe().as_deref(), Some("weather EVAL_TAGS=units,!slow"));
        assert_eq!(selector.tag_filter(), Some("units,!slow"));
        assert!(Selector::new(&args, None, None).selects_task("weather", "paris", &[]));
    }

    #[test]
    fn shards_split_the_tasks_stably_and_evenly() {
        let shards: Vec<Shard> = (1..=3).map(|k| Shard::parse(&format!("{k}/3")).unwrap()).collect();
        let ids: Vec<String> = (0..3000).map(|i| format!("task-{i}")).collect();
        let mut sizes = [0usize; 3];
        for id in &ids {
            let holding: Vec<usize> = (0..3).filter(|&k| shards[k].holds("weather", id)).collect();
            assert_eq!(holding.len(), 1, "{id} is in exactly one shard: {holding:?}");
            sizes[holding[0]] += 1;
        }
        assert!(sizes.iter().all(|n| (900..=1100).contains(n)), "{sizes:?}");
        // The same task of another suite may land elsewhere; a task never moves between runs.
        assert_eq!(shards[0].holds("weather", "paris"), shards[0].holds("weather", "paris"));
        let args = Arguments::from_iter(["evals"]);
        let selector = Selector::new(&args, None, Some(shards[1]));
        assert_eq!(selector.describe().as_deref(), Some("EVAL_SHARD=2/3"));
        for bad in ["0/3", "4/3", "3", "a/b", "1/0"] {
            let error = Shard::parse(bad).unwrap_err();
            assert!(
                error.starts_with(&format!("EVAL_SHARD={bad} is not a shard")),
                "{error}"
            );
        }
    }
}
