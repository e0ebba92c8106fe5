//! Generates a suite: the agent function stays as written; next to it come a function building
//! the suite's description, its registration for `eval_harness::main!()`, and a module of the
//! same name holding the IDE anchors (and `__eval_suite`, for `main!(name)`).

use super::anchors::{anchors, scorer_segment};
use super::ast::SuiteFn;
use super::attr::{Ide, Repeats, Setting, SuiteOptions, Variants};
use super::dataset::task_ids;
use crate::ident::{ident_segment, unraw};
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use std::path::PathBuf;
use syn::spanned::Spanned;

/// The dataset file found at expansion time. Its task ids are read only when anchors are
/// emitted.
pub(crate) struct Dataset {
    pub path: PathBuf,
}

pub(crate) fn suite(suite: &SuiteFn<'_>, options: &SuiteOptions, dataset: Option<&Dataset>) -> TokenStream {
    let original = suite.original;
    let name = suite.name();
    let name_text = unraw(name);
    let make = format_ident!("__eval_suite_{}", name_text);

    let source = task_source(options);
    let agent = agent(suite);
    let scorers = options.scorers.iter().flat_map(|list| &list.value.elems).map(|scorer| {
        // So that a scorer that does not fit the suite is reported on its entry in the list.
        let span = Span::call_site().located_at(scorer.span());
        // The anchor's segment goes along, so the trial is named exactly like the anchor even
        // when the scorer's key differs (`#[scorer(key = "…")]`).
        match scorer_segment(scorer) {
            Some(segment) => quote_spanned!(span=> .scorer_named(#segment, #scorer)),
            None => quote_spanned!(span=> .scorer(#scorer)),
        }
    });
    let settings = settings(options);
    let output_decoder = output_decoder(suite);

    let module_doc = format!(
        "Test anchors of the `{name_text}` eval suite: one module per task, one test per scorer, so that \
         an IDE can run a task or a pair. They are inert: the harness runs the real trials."
    );
    let ide = options.ide.as_ref().map_or(Ide::Pairs, |ide| ide.value);
    let include_dataset = dataset
        .filter(|_| ide != Ide::Off)
        .and_then(|dataset| dataset.path.to_str())
        .map(|path| {
            // Records the dataset in rustc's dep-info: cargo re-expands when it changes, so the
            // anchors follow the tasks. Without anchors nothing here depends on it.
            quote!(
                const _: &[u8] = ::std::include_bytes!(#path);
            )
        });
    // Lazy: the file is parsed only if `anchors` asks for the ids.
    let task_ids = dataset.into_iter().flat_map(|dataset| task_ids(&dataset.path));
    let scorer_exprs = options.scorers.iter().flat_map(|list| &list.value.elems);
    let anchors = match options.variants.as_ref().map(|setting| &setting.value) {
        None => anchors(ide, task_ids, scorer_exprs),
        // The same anchors in a module per variant: `weather::cheap::paris::called_tool`.
        Some(Variants::Listed(entries)) => {
            let inner = anchors(ide, task_ids, scorer_exprs);
            let modules = entries
                .iter()
                .map(|entry| Ident::new(&ident_segment(&entry.name), Span::call_site()));
            match inner.is_empty() {
                true => TokenStream::new(),
                false => quote!(#(pub(crate) mod #modules { #inner })*),
            }
        }
        // Names known only at run time have no anchors.
        Some(Variants::Function(_)) => TokenStream::new(),
    };
    let variants = variants(options);

    quote! {
        // The macro requires `async` even for an agent that never awaits.
        #[allow(clippy::unused_async)]
        #original

        #[doc(hidden)]
        pub(crate) fn #make() -> ::eval_harness::__private::SuiteDef {
            ::eval_harness::__private::suite(
                ::eval_harness::__private::SuiteSite {
                    name: #name_text,
                    module_path: ::std::module_path!(),
                    file: ::std::file!(),
                    manifest_dir: ::std::env!("CARGO_MANIFEST_DIR"),
                },
                #source,
                #agent,
            )
            #(#scorers)*
            #output_decoder
            #settings
            #variants
            .build()
        }

        ::eval_harness::__private::inventory::submit! {
            ::eval_harness::__private::SuiteRegistration { make: #make }
        }

        #[doc = #module_doc]
        #[allow(non_snake_case, dead_code, unused_imports)]
        pub(crate) mod #name {
            pub(crate) use super::#make as __eval_suite;
            #include_dataset
            #anchors
        }
    }
}

fn task_source(options: &SuiteOptions) -> TokenStream {
    if let Some(dataset) = &options.dataset {
        let path = &dataset.value;
        return quote!(::eval_harness::__private::TaskSource::Jsonl(#path));
    }
    let Some(tasks) = &options.tasks else {
        return TokenStream::new();
    };
    let function = &tasks.value;
    // A function returning something that is not tasks is reported on its name.
    let span = Span::call_site().located_at(function.span());
    quote_spanned! {span=>
        ::eval_harness::__private::TaskSource::Inline(|| ::eval_harness::__private::IntoTasks::into_tasks(#function()))
    }
}

/// The closure the runner calls: it owns the task and the context for as long as the agent's
/// future runs, and lends them to the user's function.
fn agent(suite: &SuiteFn<'_>) -> TokenStream {
    let name = suite.name();
    // The task is spelled through `TaskTypes` so that a parameter that is not a `Task` is
    // reported on its type, rather than as a closure that does not fit.
    let task_type = suite.task_type().map_or_else(
        || quote!(_),
        |ty| {
            let span = Span::call_site().located_at(ty.span());
            quote_spanned! {span=>
                ::eval_harness::__private::Task<
                    <#ty as ::eval_harness::__private::TaskTypes>::Inputs,
                    <#ty as ::eval_harness::__private::TaskTypes>::Reference,
                >
            }
        },
    );
    let call = if suite.ctx().is_some() {
        quote!(#name(&task, &ctx).await)
    } else {
        quote!(#name(&task).await)
    };
    // Through `ResultParts`, so that a return type that is not a `Result` is reported once, on
    // the type, rather than as a closure that is not an agent.
    let call = match suite.return_type() {
        Some(return_type) => {
            let span = Span::call_site().located_at(return_type.span());
            let into_result =
                quote_spanned!(span=> <#return_type as ::eval_harness::__private::ResultParts>::into_result);
            quote!(#into_result(#call))
        }
        None => call,
    };
    quote! {
        |task: ::std::sync::Arc<#task_type>, ctx: ::eval_harness::__private::Ctx| async move {
            let _ = &ctx;
            #call
        }
    }
}

/// `.output_decoder(…)`: how a regrade reads a stored output back, found where the output type
/// is known (a type that is not `Deserialize` gets none, and only a regrade is refused).
fn output_decoder(suite: &SuiteFn<'_>) -> TokenStream {
    let Some(return_type) = suite.return_type() else {
        return TokenStream::new();
    };
    // A return type that is not a `Result` is reported on the type.
    let span = Span::call_site().located_at(return_type.span());
    let output = quote_spanned! {span=>
        <#return_type as ::eval_harness::__private::ResultParts>::Ok
    };
    quote! {
        .output_decoder({
            #[allow(unused_imports)]
            use ::eval_harness::__private::{RegradeByDeserialize as _, RegradeNotPossible as _};
            (&::eval_harness::__private::RegradeProbe::<#output>::new()).decoder()
        })
    }
}

/// `.concurrency(8).repeats(3)…` for the options that were given.
fn settings(options: &SuiteOptions) -> TokenStream {
    fn call<T>(setting: &Option<Setting<T>>, method: &str, value: impl Fn(&T) -> TokenStream) -> TokenStream {
        setting
            .as_ref()
            .map(|setting| {
                let method = format_ident!("{method}");
                let value = value(&setting.value);
                quote!(.#method(#value))
            })
            .unwrap_or_default()
    }
    let seconds = |secs: &f64| Literal::f64_unsuffixed(*secs).into_token_stream();
    [
        call(&options.concurrency, "concurrency", |n| {
            Literal::usize_unsuffixed(*n).into_token_stream()
        }),
        options
            .repeats
            .as_ref()
            .map(|setting| {
                let Repeats { min, max, adaptive } = setting.value;
                let (min, max) = (Literal::u32_unsuffixed(min), Literal::u32_unsuffixed(max));
                match adaptive {
                    true => quote!(.adaptive_repeats(#min, #max)),
                    false => quote!(.repeats(#min)),
                }
            })
            .unwrap_or_default(),
        call(&options.timeout, "timeout_secs", seconds),
        call(&options.scorer_timeout, "scorer_timeout_secs", seconds),
        call(&options.max_tokens, "max_tokens", |n| {
            Literal::u64_unsuffixed(*n).into_token_stream()
        }),
        call(&options.max_seconds, "max_seconds", seconds),
        call(&options.label, "label", ToTokens::to_token_stream),
        call(&options.model, "model", ToTokens::to_token_stream),
        call(&options.store, "store", ToTokens::to_token_stream),
        min_pass_rates(options),
    ]
    .into_iter()
    .collect()
}

/// `.variant("cheap", config)` for each variant listed, or `.variants_from(my_variants)`.
fn variants(options: &SuiteOptions) -> TokenStream {
    match options.variants.as_ref().map(|setting| &setting.value) {
        None => TokenStream::new(),
        Some(Variants::Listed(entries)) => entries
            .iter()
            .map(|entry| {
                let (name, config) = (&entry.name, &entry.config);
                // A configuration that is not `Serialize` is reported on it.
                let span = Span::call_site().located_at(config.span());
                quote_spanned!(span=> .variant(#name, #config))
            })
            .collect(),
        Some(Variants::Function(function)) => {
            let span = Span::call_site().located_at(function.span());
            quote_spanned!(span=> .variants_from(#function))
        }
    }
}

/// `.min_pass_rate("city_matches", 0.9)` for each gate of `min_pass_rate = [...]`.
fn min_pass_rates(options: &SuiteOptions) -> TokenStream {
    let gates = options.min_pass_rate.iter().flat_map(|setting| &setting.value);
    gates
        .map(|gate| {
            let (key, rate) = (&gate.key, Literal::f64_unsuffixed(gate.rate));
            quote!(.min_pass_rate(#key, #rate))
        })
        .collect()
}
