//! Checks a suite before expanding it: every message points at the user's token and says what
//! to write instead. (Whether the dataset file exists is checked where it is located, in
//! `dataset.rs`.)

use super::ast::SuiteFn;
use super::attr::{Repeats, Setting, SuiteOptions, Variants};
use crate::borrow::Borrow;
use crate::diagnostic::{Errors, type_text};
use crate::ident::ident_segment;
use proc_macro2::Span;
use quote::ToTokens;
use syn::{FnArg, ReturnType};

const SIGNATURE: &str = "`async fn name(task: &Task, ctx: &Ctx) -> Result<Output, Error>`";

impl SuiteFn<'_> {
    pub(crate) fn validate(&self, errors: &mut Errors) {
        let sig = &self.original.sig;
        if sig.asyncness.is_none() {
            errors.at(
                sig.fn_token,
                format!(
                    "an eval suite's agent is an `async fn`: write `async fn {}(…)`",
                    self.name()
                ),
            );
        }
        if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
            errors.at(
                &sig.generics,
                "an eval suite's agent cannot be generic: name its task type, `task: &Task` \
                 (or `task: &Task<MyInputs, MyReference>` for a typed dataset)",
            );
        }
        self.validate_params(errors);
        if let ReturnType::Default = sig.output {
            errors.at(
                self.name(),
                "an eval suite's agent returns `Result<Output, Error>`: add a return type such as \
                 `-> Result<Forecast, AgentError>` (the output may be any `Serialize` type)",
            );
        }
    }

    fn validate_params(&self, errors: &mut Errors) {
        let sig = &self.original.sig;
        if self.params().len() == 0 {
            let message = format!("an eval suite's agent takes the task, and optionally the context: {SIGNATURE}");
            return errors.push(syn::Error::new(sig.paren_token.span.join(), message));
        }
        for extra in self.params().skip(2) {
            errors.at(
                extra,
                format!("an eval suite's agent takes at most two parameters, the task and the context: {SIGNATURE}"),
            );
        }
        for param in self.params().take(2) {
            if let FnArg::Receiver(receiver) = param {
                errors.at(receiver, "an eval suite's agent is a free function and takes no `self`");
            }
        }
        match self.task() {
            Some(Borrow::Owned(ty)) => errors.at(
                ty,
                format!("the agent borrows its task: write `task: &{}`", type_text(ty)),
            ),
            Some(Borrow::Mutable(reference)) => errors.at(
                reference,
                format!(
                    "the agent gets its task read-only: write `task: &{}`",
                    type_text(&reference.elem)
                ),
            ),
            Some(Borrow::Shared(_)) | None => {}
        }
        match self.ctx() {
            Some(Borrow::Owned(ty)) => errors.at(ty, "the agent borrows its context: write `ctx: &Ctx`"),
            Some(Borrow::Mutable(reference)) => {
                errors.at(reference, "the agent borrows its context read-only: write `ctx: &Ctx`");
            }
            Some(Borrow::Shared(_)) | None => {}
        }
    }
}

impl SuiteOptions {
    pub(crate) fn validate(&self, errors: &mut Errors) {
        match (&self.dataset, &self.tasks) {
            (Some(_), Some(tasks)) => errors.at(
                &tasks.name,
                "give either `dataset` (a JSONL file) or `tasks` (a function returning the tasks), not both",
            ),
            (None, None) => errors.push(syn::Error::new(
                Span::call_site(),
                "an eval suite needs tasks: add `dataset = \"tests/data/<suite>.jsonl\"` (a JSONL file relative \
                 to the crate's directory) or `tasks = <a function returning the tasks>`",
            )),
            _ => {}
        }
        self.validate_scorers(errors);
        at_least_one(&self.concurrency, errors, "tasks run at once");
        self.validate_repeats(errors);
        at_least_one(&self.max_tokens, errors, "tokens per task");
        more_than_zero(&self.timeout, errors);
        more_than_zero(&self.scorer_timeout, errors);
        more_than_zero(&self.max_seconds, errors);
        self.validate_min_pass_rates(errors);
        self.validate_variants(errors);
    }

    fn validate_variants(&self, errors: &mut Errors) {
        let Some(Setting {
            value: Variants::Listed(entries),
            original,
            ..
        }) = &self.variants
        else {
            return;
        };
        if entries.is_empty() {
            errors.at(
                original,
                "`variants` is empty: list each variant as `name = config`, such as \
                 `variants = [cheap = json!({\"model\": \"gpt-4o-mini\"})]`, or remove the option",
            );
        }
        let mut seen: Vec<(&str, String)> = Vec::new();
        for entry in entries {
            if let Some(why) = variant_name_problem(&entry.name) {
                errors.at(
                    &entry.name_tokens,
                    format!("variant name `{}` is not allowed: {why}", entry.name),
                );
                continue;
            }
            let segment = ident_segment(&entry.name);
            match seen.iter().find(|(_, other)| *other == segment) {
                Some((name, _)) if *name == entry.name => {
                    errors.at(&entry.name_tokens, format!("variant `{name}` is given twice; keep one"))
                }
                Some((name, _)) => errors.at(
                    &entry.name_tokens,
                    format!(
                        "variants `{name}` and `{}` would both be named `{segment}` in test names; rename one",
                        entry.name
                    ),
                ),
                None => seen.push((&entry.name, segment)),
            }
        }
    }

    fn validate_repeats(&self, errors: &mut Errors) {
        let Some(setting) = &self.repeats else { return };
        let Repeats { min, max, adaptive } = setting.value;
        let problem = match (adaptive, min, max) {
            (false, 0, _) => Some("`repeats` must be at least 1 (it counts runs of each task)".to_owned()),
            (true, 0, _) => Some(
                "adaptive `repeats` start at 1 attempt or more: write the fewest and the most attempts, such as \
                 `repeats = 3..=10`"
                    .to_owned(),
            ),
            (true, _, _) if max < min => Some(format!(
                "adaptive `repeats` go from the fewest attempts to the most: write `repeats = {max}..={min}`"
            )),
            _ => None,
        };
        if let Some(problem) = problem {
            errors.at(&setting.original, problem);
        }
    }

    fn validate_min_pass_rates(&self, errors: &mut Errors) {
        let Some(gates) = &self.min_pass_rate else { return };
        let mut seen: Vec<&str> = Vec::new();
        for gate in &gates.value {
            if !(0.0..=1.0).contains(&gate.rate) {
                errors.at(
                    &gate.original,
                    format!("a pass rate is from 0 to 1: `{} = 0.9` asks for 90%", gate.key),
                );
            }
            if seen.contains(&gate.key.as_str()) {
                errors.at(
                    &gate.original,
                    format!("`{}` has two minimum pass rates; keep one", gate.key),
                );
            }
            seen.push(&gate.key);
        }
    }

    fn validate_scorers(&self, errors: &mut Errors) {
        let Some(scorers) = &self.scorers else {
            return errors.push(syn::Error::new(
                Span::call_site(),
                "an eval suite needs scorers: add `scorers = [...]` with what grades each task, \
                 such as `scorers = [called_tool, city_matches]`",
            ));
        };
        if scorers.value.elems.is_empty() {
            errors.at(
                &scorers.original,
                "`scorers` is empty: list what grades each task, such as `scorers = [called_tool, city_matches]`",
            );
        }
        let mut seen: Vec<String> = Vec::new();
        for scorer in &scorers.value.elems {
            let text = scorer.to_token_stream().to_string();
            if seen.contains(&text) {
                errors.at(
                    scorer,
                    "this scorer is already in the list; each scorer grades a task once, remove it",
                );
            } else {
                seen.push(text);
            }
        }
    }
}

/// What keeps `name` from naming a variant. The twin of `eval_engine::variant::check_variant_name`
/// (the harness checks a `variants` function's names with it at run time): change them together.
fn variant_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("it is empty")
    } else if name.len() > 64 {
        Some("it is longer than 64 bytes")
    } else if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        Some("it must start with a letter or a digit")
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        Some("use only letters, digits, `.`, `_` and `-`")
    } else {
        None
    }
}

fn at_least_one<N: PartialEq + From<u8>>(setting: &Option<Setting<N>>, errors: &mut Errors, what: &str) {
    if let Some(setting) = setting
        && setting.value == N::from(0)
    {
        errors.at(
            &setting.original,
            format!("`{}` must be at least 1 (it counts {what})", setting.name),
        );
    }
}

fn more_than_zero(setting: &Option<Setting<f64>>, errors: &mut Errors) {
    if let Some(setting) = setting
        && setting.value <= 0.0
    {
        errors.at(
            &setting.original,
            format!("`{}` must be more than zero seconds", setting.name),
        );
    }
}
