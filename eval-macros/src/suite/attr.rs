//! The options of `#[eval_suite(...)]`: where the tasks come from, the scorers, and how the
//! suite runs.

use crate::args::{self, Arg};
use crate::diagnostic::Errors;
use proc_macro2::TokenStream;
use syn::{Expr, ExprArray, ExprPath, Ident, LitStr};

const OPTIONS: &str = "`dataset`, `tasks`, `scorers`, `concurrency`, `repeats`, `timeout`, `scorer_timeout`, `model`, \
                       `max_tokens`, `max_seconds`, `min_pass_rate`, `label`, `store`, `variants` and `ide`";

#[derive(Default)]
pub(crate) struct SuiteOptions {
    /// A JSONL file, relative to the crate's directory.
    pub dataset: Option<Setting<LitStr>>,
    /// A function returning the tasks.
    pub tasks: Option<Setting<ExprPath>>,
    pub scorers: Option<Setting<ExprArray>>,
    pub concurrency: Option<Setting<usize>>,
    pub repeats: Option<Setting<Repeats>>,
    pub timeout: Option<Setting<f64>>,
    /// How long each scorer may grade a task, in seconds.
    pub scorer_timeout: Option<Setting<f64>>,
    pub max_tokens: Option<Setting<u64>>,
    pub max_seconds: Option<Setting<f64>>,
    /// Absolute suite-level gates: `[key = rate, …]`.
    pub min_pass_rate: Option<Setting<Vec<MinPassRate>>>,
    pub label: Option<Setting<LitStr>>,
    pub model: Option<Setting<LitStr>>,
    pub store: Option<Setting<LitStr>>,
    pub variants: Option<Setting<Variants>>,
    pub ide: Option<Setting<Ide>>,
}

/// The suite's variants: listed (`variants = [cheap = json!(…), "gpt-4o" = json!(…)]`), or a
/// function returning them (`variants = my_variants`).
pub(crate) enum Variants {
    Listed(Vec<VariantEntry>),
    Function(ExprPath),
}

/// One entry of a listed `variants = [...]`: a name (an identifier, or a string for names
/// that are not identifiers) and the configuration the agent reads.
pub(crate) struct VariantEntry {
    pub name: String,
    pub config: Expr,
    /// The entry's name as written, for errors about it.
    pub name_tokens: Expr,
}

/// One entry of `min_pass_rate = [city_matches = 0.9, "tool_called[search]" = 1.0]`: a key (a
/// scorer's name, or a string for keys that are not identifiers) and the rate it must keep.
pub(crate) struct MinPassRate {
    pub key: String,
    pub rate: f64,
    /// The entry as written, for errors about it.
    pub original: Expr,
}

/// One option's value, with the tokens it was written as.
pub(crate) struct Setting<T> {
    pub name: Ident,
    pub original: Expr,
    pub value: T,
}

/// Which inert `#[test]` anchors to emit for the IDE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ide {
    /// One module per task holding one test per scorer.
    Pairs,
    /// One test per task.
    Tasks,
    Off,
}

impl SuiteOptions {
    pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Self> {
        let mut options = SuiteOptions::default();
        let mut errors = Errors::default();
        let mut given: Vec<String> = Vec::new();
        for arg in args::parse(tokens)? {
            let name = arg.name.to_string();
            if given.contains(&name) {
                errors.at(&arg.name, format!("`{name}` is given twice; keep one"));
                continue;
            }
            given.push(name);
            options.take(arg, &mut errors);
        }
        errors.finish()?;
        Ok(options)
    }

    fn take(&mut self, arg: Arg, errors: &mut Errors) {
        let name = arg.name.to_string();
        let read = Reader { arg: &arg };
        let string = |value: &Expr| args::string(value).cloned();
        match name.as_str() {
            "dataset" => {
                let expected = Expected(
                    "the path of a JSONL file relative to the crate's directory",
                    "dataset = \"tests/data/weather.jsonl\"",
                );
                self.dataset = read.with(errors, expected, string);
            }
            "tasks" => {
                let expected = Expected("the name of a function that returns the tasks", "tasks = my_tasks");
                self.tasks = read.with(errors, expected, |value| match value {
                    Expr::Path(path) => Some(path.clone()),
                    _ => None,
                });
            }
            "scorers" => {
                let expected = Expected("a list", "scorers = [called_tool, city_matches]");
                self.scorers = read.with(errors, expected, |value| match value {
                    Expr::Array(list) => Some(list.clone()),
                    _ => None,
                });
            }
            "concurrency" => self.concurrency = read.whole(errors, "concurrency = 8"),
            "repeats" => {
                let expected = Expected(
                    "a whole number, or a range of them for adaptive repeats",
                    "repeats = 3` or `repeats = 3..=10",
                );
                self.repeats = read.with(errors, expected, repeats);
            }
            "max_tokens" => self.max_tokens = read.whole(errors, "max_tokens = 20000"),
            "max_seconds" => {
                let expected = Expected("a number of seconds", "max_seconds = 60");
                self.max_seconds = read.with(errors, expected, args::number);
            }
            "timeout" => self.timeout = duration(&read, errors, "timeout = \"30s\""),
            "scorer_timeout" => self.scorer_timeout = duration(&read, errors, "scorer_timeout = \"30s\""),
            "min_pass_rate" => {
                let expected = Expected(
                    "a list of `key = rate` (a rate from 0 to 1)",
                    "min_pass_rate = [city_matches = 0.9]",
                );
                self.min_pass_rate = read.with(errors, expected, min_pass_rates);
            }
            "label" => self.label = read.with(errors, Expected("a string", "label = \"nightly\""), string),
            "model" => self.model = read.with(errors, Expected("a string", "model = \"gpt-4o-mini\""), string),
            "store" => {
                let expected = Expected("a directory path", "store = \"target/evals\"");
                self.store = read.with(errors, expected, string);
            }
            "variants" => {
                let expected = Expected(
                    "a list of `name = config` (the configuration any `Serialize` value), or the name of a function \
                     returning `Vec<Variant>`",
                    "variants = [cheap = json!({\"model\": \"gpt-4o-mini\"}), strong = json!({\"model\": \"gpt-4o\"})]",
                );
                self.variants = read.with(errors, expected, variants);
            }
            "ide" => self.ide = ide(&read, errors),
            _ => errors.at(
                &arg.name,
                format!("unknown eval_suite option `{name}`; the options are {OPTIONS}"),
            ),
        }
    }
}

/// What an option takes: in words, and as an example.
struct Expected<'a>(&'a str, &'a str);

/// Reads one option's value.
struct Reader<'a> {
    arg: &'a Arg,
}

impl Reader<'_> {
    /// Converts the value with `read`; when it does not fit, the error says what is expected.
    fn with<T>(
        &self,
        errors: &mut Errors,
        Expected(what, example): Expected<'_>,
        read: impl FnOnce(&Expr) -> Option<T>,
    ) -> Option<Setting<T>> {
        let value = errors.keep(self.arg.value(&format!("`{example}`")))?;
        match read(value) {
            Some(converted) => Some(Setting {
                name: self.arg.name.clone(),
                original: value.clone(),
                value: converted,
            }),
            None => {
                errors.at(value, format!("`{}` takes {what}: `{example}`", self.arg.name));
                None
            }
        }
    }

    /// A whole number that fits `N`.
    fn whole<N: std::str::FromStr>(&self, errors: &mut Errors, example: &str) -> Option<Setting<N>>
    where
        N::Err: std::fmt::Display,
    {
        self.with(errors, Expected("a whole number", example), |value| {
            args::integer(value)?.base10_parse().ok()
        })
    }
}

/// `repeats = k` (every task `k` times) or `repeats = a..=b` (adaptive: `a` attempts, more for
/// undecided pairs up to `b`). A half-open `a..b` is read as written (`b` excluded), and the
/// validation says so if it leaves no attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repeats {
    pub min: u32,
    pub max: u32,
    /// Written as a range.
    pub adaptive: bool,
}

fn repeats(value: &Expr) -> Option<Repeats> {
    let whole = |expr: &Expr| args::integer(expr)?.base10_parse::<u32>().ok();
    match args::peel(value) {
        Expr::Range(range) => {
            let min = whole(range.start.as_deref()?)?;
            let end = whole(range.end.as_deref()?)?;
            let max = match range.limits {
                syn::RangeLimits::Closed(_) => end,
                syn::RangeLimits::HalfOpen(_) => end.checked_sub(1)?,
            };
            Some(Repeats {
                min,
                max,
                adaptive: true,
            })
        }
        _ => whole(value).map(|k| Repeats {
            min: k,
            max: k,
            adaptive: false,
        }),
    }
}

/// A duration option: `"500ms"`, `"30s"`, `"2m"`, or a number of seconds; in seconds.
fn duration(read: &Reader<'_>, errors: &mut Errors, example: &str) -> Option<Setting<f64>> {
    let expected = Expected(
        "a duration, a number with the unit `ms`, `s` or `m`, or a number of seconds",
        example,
    );
    let setting = read.with(errors, expected, |value| match args::string(value) {
        Some(text) => Some(parse_duration(&text.value())),
        None => args::number(value).map(Some),
    })?;
    match setting.value {
        Some(secs) => Some(Setting {
            name: setting.name,
            original: setting.original,
            value: secs,
        }),
        None => {
            errors.at(
                &setting.original,
                "this is not a duration: write a number followed by `ms`, `s` or `m`, such as \"500ms\", \
                 \"30s\" or \"2m\"",
            );
            None
        }
    }
}

/// Seconds in `"500ms"`, `"30s"`, `"1.5m"`; `None` for anything else.
pub(crate) fn parse_duration(text: &str) -> Option<f64> {
    let text = text.trim();
    let (number, unit_secs) = if let Some(number) = text.strip_suffix("ms") {
        (number, 0.001)
    } else if let Some(number) = text.strip_suffix('s') {
        (number, 1.0)
    } else if let Some(number) = text.strip_suffix('m') {
        (number, 60.0)
    } else {
        return None;
    };
    let number = number.trim_end();
    // `f64::from_str` also reads "inf" and "NaN"; a duration is digits.
    if !number.starts_with(|c: char| c.is_ascii_digit() || c == '.' || c == '-') {
        return None;
    }
    let value: f64 = number.parse().ok()?;
    value.is_finite().then_some(value * unit_secs)
}

/// Each `name = value` entry of a list as its name (a path of one identifier, or a string
/// literal, for names that are not identifiers) and its assignment; `None` when an entry is
/// not one.
fn named_entries(list: &ExprArray) -> Option<Vec<(String, &syn::ExprAssign)>> {
    list.elems
        .iter()
        .map(|entry| {
            let Expr::Assign(assign) = entry else { return None };
            let name = match &*assign.left {
                Expr::Path(path) => path.path.get_ident().map(crate::ident::unraw)?,
                other => args::string(other)?.value(),
            };
            Some((name, assign))
        })
        .collect()
}

/// `[key = rate, …]`.
fn min_pass_rates(value: &Expr) -> Option<Vec<MinPassRate>> {
    let Expr::Array(list) = value else { return None };
    named_entries(list)?
        .into_iter()
        .map(|(key, assign)| {
            Some(MinPassRate {
                key,
                rate: args::number(&assign.right)?,
                original: Expr::Assign(assign.clone()),
            })
        })
        .collect()
}

/// `[name = config, …]`, each name a path of one identifier or a string literal; or a path,
/// the function returning the variants.
fn variants(value: &Expr) -> Option<Variants> {
    match args::peel(value) {
        Expr::Path(path) => Some(Variants::Function(path.clone())),
        Expr::Array(list) => Some(Variants::Listed(
            named_entries(list)?
                .into_iter()
                .map(|(name, assign)| VariantEntry {
                    name,
                    config: (*assign.right).clone(),
                    name_tokens: (*assign.left).clone(),
                })
                .collect(),
        )),
        _ => None,
    }
}

fn ide(read: &Reader<'_>, errors: &mut Errors) -> Option<Setting<Ide>> {
    let expected = Expected(
        "\"pairs\" (a test anchor per task and scorer), \"tasks\" (one per task) or \"off\"",
        "ide = \"tasks\"",
    );
    read.with(errors, expected, |value| match args::string(value)?.value().as_str() {
        "pairs" => Some(Ide::Pairs),
        "tasks" => Some(Ide::Tasks),
        "off" => Some(Ide::Off),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn error_of(tokens: TokenStream) -> String {
        match SuiteOptions::parse(tokens) {
            Ok(_) => panic!("expected an error"),
            Err(error) => error.into_iter().map(|e| e.to_string()).collect::<Vec<_>>().join(" | "),
        }
    }

    #[test]
    fn repeats_take_a_number_or_a_range() {
        let read = |tokens: TokenStream| SuiteOptions::parse(tokens).unwrap().repeats.unwrap().value;
        let adaptive = |min, max| Repeats {
            min,
            max,
            adaptive: true,
        };
        assert_eq!(read(quote!(repeats = 3..=10)), adaptive(3, 10));
        assert_eq!(
            read(quote!(repeats = 3..11)),
            adaptive(3, 10),
            "a half-open range leaves its end out"
        );
        assert_eq!(read(quote!(repeats = (2..=4))), adaptive(2, 4));
        assert_eq!(
            error_of(quote!(repeats = 3..)),
            "`repeats` takes a whole number, or a range of them for adaptive repeats: `repeats = 3` or `repeats = 3..=10`"
        );
    }

    #[test]
    fn reads_every_option() {
        let options = SuiteOptions::parse(quote!(
            dataset = "tests/data/w.jsonl",
            scorers = [a, b("x")],
            concurrency = 8,
            repeats = 3,
            timeout = "1.5m",
            scorer_timeout = "500ms",
            max_tokens = 1000,
            max_seconds = 2.5,
            min_pass_rate = [city_matches = 0.9, "tool_called[x]" = 1],
            label = "nightly",
            model = "gpt-4o-mini",
            store = "evals",
            ide = "tasks",
        ))
        .unwrap();
        assert_eq!(options.dataset.unwrap().value.value(), "tests/data/w.jsonl");
        assert_eq!(options.scorers.unwrap().value.elems.len(), 2);
        assert_eq!(options.concurrency.unwrap().value, 8);
        assert_eq!(
            options.repeats.unwrap().value,
            Repeats {
                min: 3,
                max: 3,
                adaptive: false
            }
        );
        assert_eq!(options.timeout.unwrap().value, 90.0);
        assert_eq!(options.scorer_timeout.unwrap().value, 0.5);
        assert_eq!(options.max_tokens.unwrap().value, 1000);
        assert_eq!(options.max_seconds.unwrap().value, 2.5);
        let gates: Vec<(String, f64)> = options
            .min_pass_rate
            .unwrap()
            .value
            .into_iter()
            .map(|g| (g.key, g.rate))
            .collect();
        assert_eq!(
            gates,
            [("city_matches".to_owned(), 0.9), ("tool_called[x]".to_owned(), 1.0)]
        );
        assert_eq!(options.label.unwrap().value.value(), "nightly");
        assert_eq!(options.store.unwrap().value.value(), "evals");
        assert_eq!(options.ide.unwrap().value, Ide::Tasks);
        let inline = SuiteOptions::parse(quote!(tasks = my::tasks, scorers = [a], timeout = 30)).unwrap();
        assert!(inline.tasks.is_some());
        assert_eq!(inline.timeout.unwrap().value, 30.0);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Some(0.5));
        assert_eq!(parse_duration("30s"), Some(30.0));
        assert_eq!(parse_duration(" 2 m "), Some(120.0));
        assert_eq!(parse_duration("0.5s"), Some(0.5));
        for bad in ["30", "30 sec", "s", "ms", "infs", "NaNs", "1h", "", "1e999s"] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn reports_every_mistake() {
        assert_eq!(
            error_of(quote!(datset = "x")),
            format!("unknown eval_suite option `datset`; the options are {OPTIONS}")
        );
        assert_eq!(
            error_of(quote!(repeats = 2, repeats = 3, concurrency = -1)),
            "`repeats` is given twice; keep one | `concurrency` takes a whole number: `concurrency = 8`"
        );
        assert_eq!(
            error_of(quote!(scorers = a)),
            "`scorers` takes a list: `scorers = [called_tool, city_matches]`"
        );
        assert_eq!(error_of(quote!(tasks)), "`tasks` needs a value: `tasks = my_tasks`");
        assert!(error_of(quote!(timeout = "soon")).starts_with("this is not a duration"));
        assert!(error_of(quote!(scorer_timeout = "1h")).starts_with("this is not a duration"));
        assert_eq!(
            error_of(quote!(scorer_timeout = [30])),
            "`scorer_timeout` takes a duration, a number with the unit `ms`, `s` or `m`, or a number of seconds: \
             `scorer_timeout = \"30s\"`"
        );
        assert!(error_of(quote!(ide = "all")).starts_with("`ide` takes \"pairs\""));
        assert_eq!(
            error_of(quote!(min_pass_rate = [0.9])),
            "`min_pass_rate` takes a list of `key = rate` (a rate from 0 to 1): `min_pass_rate = [city_matches = 0.9]`"
        );
    }
}
