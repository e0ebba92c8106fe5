//! The IDE anchors: inert `#[test]` functions named like the harness's trials
//! (`<suite>::<task>::<scorer>`), so rust-analyzer offers a Run button for every task and pair.
//! They sit in a module named after the suite, next to the suite function.

use super::attr::Ide;
use crate::ident::{ident_segment, unraw};
use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;
use std::collections::HashSet;
use syn::{Expr, ExprCall, ExprLit, Lit};

/// The anchors inside the suite's module. `task_ids` come from the dataset; inline suites have
/// none. They are `pub(crate)` so that code can name a pair, `weather::paris::called_tool`.
///
/// The ids are taken lazily and only when anchors are emitted: with `ide = "off"` they are never
/// read (the caller's iterator may parse the dataset), so a large dataset costs nothing here.
pub(crate) fn anchors<'a, Id: AsRef<str>>(
    ide: Ide,
    task_ids: impl IntoIterator<Item = Id>,
    scorers: impl IntoIterator<Item = &'a Expr>,
) -> TokenStream {
    let task_segments = || unique_segments(task_ids.into_iter().map(|id| ident_segment(id.as_ref())));
    match ide {
        Ide::Off => TokenStream::new(),
        Ide::Tasks => task_segments()
            .iter()
            .map(|task| quote!(#[test] pub(crate) fn #task() {}))
            .collect(),
        Ide::Pairs => {
            let scorers = unique_segments(scorers.into_iter().filter_map(scorer_segment));
            task_segments()
                .iter()
                .map(|task| {
                    quote! {
                        pub(crate) mod #task {
                            #(#[test] pub(crate) fn #scorers() {})*
                        }
                    }
                })
                .collect()
        }
    }
}

/// The trial segment a scorer expression is expected to have: `a::b::name` → `name`,
/// `f()` → `f`, `f("lit", …)` → `f[lit]`, any other call → `f`; `threshold(inner, …)` → the
/// segment of `inner`; a method chain → its receiver's, unless it sets `.key("lit")` → `lit`.
/// Other expressions get no anchor.
pub(crate) fn scorer_segment(scorer: &Expr) -> Option<String> {
    raw_scorer_name(scorer).map(|name| ident_segment(&name))
}

fn raw_scorer_name(scorer: &Expr) -> Option<String> {
    match scorer {
        Expr::Path(path) => Some(unraw(&path.path.segments.last()?.ident)),
        Expr::Call(call) => call_name(call),
        Expr::MethodCall(call) => match (call.method.to_string().as_str(), call.args.first()) {
            ("key", Some(Expr::Lit(ExprLit { lit: Lit::Str(key), .. }))) => Some(key.value()),
            _ => raw_scorer_name(&call.receiver),
        },
        Expr::Group(group) => raw_scorer_name(&group.expr),
        Expr::Paren(paren) => raw_scorer_name(&paren.expr),
        _ => None,
    }
}

fn call_name(call: &ExprCall) -> Option<String> {
    let Expr::Path(function) = &*call.func else {
        return None;
    };
    let name = unraw(&function.path.segments.last()?.ident);
    match call.args.first() {
        // A wrapper is named after the scorer it wraps.
        Some(inner) if name == "threshold" => raw_scorer_name(inner),
        Some(Expr::Lit(ExprLit {
            lit: Lit::Str(first), ..
        })) => Some(format!("{name}[{}]", first.value())),
        _ => Some(name),
    }
}

/// Identifiers for the segments in their order, keeping the first of repeats (the harness
/// reports colliding ids at run time) and dropping the name the module already uses for its
/// suite function. One pass: a dataset may have a hundred thousand tasks.
fn unique_segments(segments: impl IntoIterator<Item = String>) -> Vec<Ident> {
    let mut seen: HashSet<String> = HashSet::from(["__eval_suite".to_owned()]);
    let mut idents = Vec::new();
    for segment in segments {
        if !seen.contains(&segment) {
            idents.push(Ident::new(&segment, Span::call_site()));
            seen.insert(segment);
        }
    }
    idents
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(source: &str) -> Option<String> {
        scorer_segment(&syn::parse_str(source).unwrap())
    }

    #[test]
    fn scorer_segments() {
        assert_eq!(segment("city_matches").as_deref(), Some("city_matches"));
        assert_eq!(segment("crate::scorers::city_matches").as_deref(), Some("city_matches"));
        assert_eq!(segment("no_tool_errors()").as_deref(), Some("no_tool_errors"));
        assert_eq!(
            segment("tool_called(\"get_weather\")").as_deref(),
            Some("tool_called_get_weather")
        );
        assert_eq!(segment("threshold(judge(), 0.7)").as_deref(), Some("judge"));
        assert_eq!(segment("threshold(closeness, 0.9..)").as_deref(), Some("closeness"));
        assert_eq!(
            segment("tool_called(\"search\").exactly(2)").as_deref(),
            Some("tool_called_search")
        );
        assert_eq!(
            segment("tool_called(\"search\").exactly(2).key(\"searched twice\")").as_deref(),
            Some("searched_twice")
        );
        assert_eq!(segment("builtin::max_tokens(500)").as_deref(), Some("max_tokens"));
        assert_eq!(segment("r#match").as_deref(), Some("match_"));
        assert_eq!(segment("judge.with_key(\"x\")").as_deref(), Some("judge"));
        assert_eq!(segment("Judge { strict: true }"), None);
    }

    #[test]
    fn pairs_and_tasks() {
        let ids = ["Paris".to_owned(), "paris".to_owned(), "2".to_owned()];
        let scorers: Vec<Expr> = vec![syn::parse_quote!(a), syn::parse_quote!(a), syn::parse_quote!(b())];
        let pairs = anchors(Ide::Pairs, &ids, &scorers).to_string();
        assert_eq!(
            pairs,
            quote! {
                pub(crate) mod paris { #[test] pub(crate) fn a() {} #[test] pub(crate) fn b() {} }
                pub(crate) mod _2 { #[test] pub(crate) fn a() {} #[test] pub(crate) fn b() {} }
            }
            .to_string()
        );
        let tasks = anchors(Ide::Tasks, &ids, &scorers).to_string();
        assert_eq!(
            tasks,
            quote!(
                #[test]
                pub(crate) fn paris() {}
                #[test]
                pub(crate) fn _2() {}
            )
            .to_string()
        );
        assert!(anchors(Ide::Off, &ids, &scorers).is_empty());
    }

    #[test]
    fn off_never_reads_the_task_ids() {
        let reads = std::cell::Cell::new(0);
        let ids = ["paris", "rome"];
        let counted = || ids.iter().inspect(|_| reads.set(reads.get() + 1));
        let scorers: Vec<Expr> = vec![syn::parse_quote!(a)];
        assert!(anchors(Ide::Off, counted(), &scorers).is_empty());
        assert_eq!(reads.get(), 0, "`ide = \"off\"` reads no task id");
        assert!(!anchors(Ide::Tasks, counted(), &scorers).is_empty());
        assert_eq!(reads.get(), 2);
    }

    #[test]
    fn a_repeated_segment_keeps_its_first_place() {
        // `ROME` and `rome!` repeat `Rome`'s segment, `_2` repeats `2`'s, and `__eval_suite` is
        // the module's alias of the suite function.
        let ids = ["Rome", "paris", "ROME", "__eval_suite", "2", "_2", "Lyon", "rome!"];
        let tasks = anchors(Ide::Tasks, ids, std::iter::empty()).to_string();
        assert_eq!(
            tasks,
            quote!(
                #[test]
                pub(crate) fn rome() {}
                #[test]
                pub(crate) fn paris() {}
                #[test]
                pub(crate) fn _2() {}
                #[test]
                pub(crate) fn lyon() {}
            )
            .to_string()
        );
    }
}
