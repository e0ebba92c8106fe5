//! `#[scorer]` and `#[eval_suite]`, the attributes of agent evals as cargo tests.
//!
//! Use them through `eval_harness` (`use eval_harness::prelude::*;`): the code they generate
//! names `::eval_harness::__private` paths.
//!
//! Each macro is parsed (`ast`, `attr`), checked (`valid`) and generated (`expand`) in separate
//! steps; a mistake is reported on the token that has it, and the item is still emitted so the
//! IDE keeps completing it.

#![warn(missing_docs)]

mod args;
mod borrow;
mod diagnostic;
mod ident;
mod scorer;
mod suite;

use proc_macro::TokenStream;

/// Turns a function that grades one task into a scorer of the same name.
///
/// The function declares only the parameters it needs, by name, each borrowed: `task`,
/// `inputs`, `outputs` (the agent's output, with the type the agent returns),
/// `reference_outputs` and `trace`. It may be `async`, and returns `bool`, a number, a label
/// (`&str` or `String`), `Feedback`, `Vec<Feedback>`, an `Option<_>` of those or a
/// `Result<_, E>`.
///
/// Options: `key = "name"` (the feedback key; the function's name by default),
/// `threshold = 0.7` (or `at_least`) and `at_most = 1.0` to turn a number into pass/fail, and
/// `advisory` for a scorer that is recorded but never fails a test.
///
/// ```
/// use eval_harness::prelude::*;
///
/// /// The agent asked for the weather exactly once.
/// #[scorer]
/// fn called_get_weather(trace: &Trace) -> bool {
///     trace.tool_calls().filter(|call| call.name == "get_weather").count() == 1
/// }
///
/// #[scorer(key = "answer_length", at_most = 400, advisory)]
/// async fn length(outputs: &String) -> usize {
///     outputs.len()
/// }
///
/// assert_eq!(called_get_weather.spec().key, "called_get_weather");
/// assert!(length.spec().advisory);
/// ```
///
/// When the agent failed and there is no output, a scorer that takes `outputs` is not called:
/// its feedback is ungradeable.
#[proc_macro_attribute]
pub fn scorer(args: TokenStream, item: TokenStream) -> TokenStream {
    scorer::expand(args.into(), item.into()).into()
}

/// Declares an eval suite: the agent function, its tasks and its scorers.
///
/// The function runs the agent on one task: `async fn name(task: &Task, ctx: &Ctx) ->
/// Result<Output, Error>` (`ctx` may be left out; `Task<MyInputs, MyReference>` types the
/// dataset). `eval_harness::main!()` runs every suite of the test target; each (task, scorer)
/// pair is a test named `<suite>::<task>::<scorer>`.
///
/// Options:
/// - `dataset = "tests/data/weather.jsonl"`, a JSONL file relative to the crate's directory,
///   or `tasks = my_tasks`, a function returning `Vec<Value>`, `Vec<Task<I, R>>` or
///   `Suite<I, R>` (exactly one of the two);
/// - `scorers = [called_get_weather, city_matches, ...]`, required;
/// - `concurrency = 8`, `repeats = 3` (or `repeats = 3..=10`: 3 attempts, more for tasks with an
///   undecided pair, up to 10), `timeout = "30s"` (the agent's, per attempt; `ms`, `s`,
///   `m`, or a number of seconds), `scorer_timeout = "30s"` (each scorer's, per task; default
///   60 s), `max_tokens = 20000`, `max_seconds = 60`, `label = "..."`, `model = "..."` (the model
///   evaluated, recorded on each run and filterable in the history), `store = "..."`;
/// - `ide = "pairs" | "tasks" | "off"`: the inert `#[test]` anchors emitted in a module named
///   after the suite, so an IDE can run one task or one pair (default `"pairs"`).
///
/// ```
/// use eval_harness::prelude::*;
///
/// #[scorer]
/// fn called_get_weather(trace: &Trace) -> bool {
///     trace.tool_calls().any(|call| call.name == "get_weather")
/// }
///
/// #[eval_suite(
///     dataset = "tests/data/weather.jsonl",
///     scorers = [called_get_weather],
///     concurrency = 8,
/// )]
/// async fn weather(task: &Task, ctx: &Ctx) -> Result<String, std::io::Error> {
///     ctx.tool_call("get_weather", json!({"city": task.input()}));
///     Ok("Sunny".to_owned())
/// }
///
/// // Last, once per test target:
/// // eval_harness::main!();
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn eval_suite(args: TokenStream, item: TokenStream) -> TokenStream {
    suite::expand(args.into(), item.into()).into()
}

/// `__ident_segment!("Weather-001")` expands to `"weather_001"`: this crate's test-name
/// sanitiser, so that eval-harness can check it agrees with its own.
#[doc(hidden)]
#[proc_macro]
pub fn __ident_segment(input: TokenStream) -> TokenStream {
    let raw = syn::parse_macro_input!(input as syn::LitStr);
    let segment = ident::ident_segment(&raw.value());
    quote::ToTokens::into_token_stream(syn::LitStr::new(&segment, raw.span())).into()
}
