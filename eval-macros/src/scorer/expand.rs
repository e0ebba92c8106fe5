//! Generates the scorer: the function becomes a unit struct of the same name (so the name is a
//! scorer value in `scorers = [...]`), its body a hidden method, and an impl of `Scorer` passes
//! each parameter what it asked for.

use super::ast::{Given, ScorerFn};
use super::attr::{Bound, ScorerOptions};
use crate::ident::unraw;
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, ReturnType, Type};

pub(crate) fn scorer(scorer: &ScorerFn<'_>, options: &ScorerOptions) -> TokenStream {
    let item = scorer.original;
    let name = &item.sig.ident;
    let vis = &item.vis;
    let key = options.key.as_ref().map_or_else(|| unraw(name), syn::LitStr::value);

    let is_doc = |attr: &&Attribute| attr.path().is_ident("doc");
    let is_cfg = |attr: &&Attribute| attr.path().is_ident("cfg");
    let docs = item.attrs.iter().filter(is_doc);
    let cfgs: Vec<&Attribute> = item.attrs.iter().filter(is_cfg).collect();
    let method_attrs = item.attrs.iter().filter(|attr| !is_doc(attr) && !is_cfg(attr));

    let mut method_sig = item.sig.clone();
    method_sig.ident = Ident::new("__eval_score", name.span());
    let body = &item.block;

    let types = ImplTypes::of(scorer);
    // The boxed future holds `&ScoreInput<I, R, O>` and must be `Send`.
    let (impl_generics, impl_bounds) = match &types.generics[..] {
        [] => (TokenStream::new(), TokenStream::new()),
        params => (quote!(<#(#params),*>), quote!(where #(#params: ::std::marker::Sync),*)),
    };
    let (inputs_type, reference_type, outputs_type) = (&types.inputs, &types.reference, &types.outputs);

    let spec = spec(&key, options);
    let outputs_or_return = scorer.referent(Given::Outputs).map(|_| {
        quote! {
            let ::std::option::Option::Some(outputs) = input.outputs else {
                return ::eval_harness::__private::no_outputs(input, #key);
            };
        }
    });
    let args = scorer.injected().map(|(given, ident, _)| {
        // Located at the parameter so that a type mismatch points at it; resolved here so
        // that `input` and `outputs` are the bindings below.
        let span = Span::call_site().located_at(ident.span());
        match given {
            Given::Task => quote_spanned!(span=> input.task),
            Given::Inputs => quote_spanned!(span=> input.task.inputs()),
            Given::Outputs => quote_spanned!(span=> outputs),
            Given::ReferenceOutputs => quote_spanned!(span=> input.task.reference_outputs()),
            Given::Trace => quote_spanned!(span=> input.trace),
            Given::Ctx => quote_spanned!(span=> input.ctx()),
        }
    });
    // Only a scorer that asks for a context gets one: the others cost nothing per task.
    let uses_ctx = scorer.referent(Given::Ctx).map(|_| {
        quote! {
            fn uses_ctx(&self) -> bool {
                true
            }
        }
    });
    let awaited = item.sig.asyncness.map(|_| quote!(.await));
    // A grade that is not feedback is reported on the return type.
    let returns = match &item.sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => name.span(),
    };
    let into_feedback = quote_spanned! {Span::call_site().located_at(returns)=>
        ::eval_harness::__private::IntoFeedback::into_feedback(grade, #key)
    };

    quote! {
        #(#docs)*
        #(#cfgs)*
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, Copy, Default)]
        #vis struct #name;

        #(#cfgs)*
        impl #name {
            /// The scorer's key, threshold and whether it is advisory.
            #vis fn spec(&self) -> &'static ::eval_harness::__private::ScorerSpec {
                static SPEC: ::std::sync::LazyLock<::eval_harness::__private::ScorerSpec> =
                    ::std::sync::LazyLock::new(|| #spec);
                &SPEC
            }

            #(#method_attrs)*
            #[doc(hidden)]
            // Every parameter is `&O` for the suite's own types, so `outputs: &String` is the
            // signature the suite needs, not a choice to lint.
            #[allow(clippy::ptr_arg, clippy::trivially_copy_pass_by_ref)]
            #method_sig #body
        }

        #(#cfgs)*
        impl #impl_generics ::eval_harness::__private::Scorer<#inputs_type, #reference_type, #outputs_type> for #name
        #impl_bounds
        {
            fn spec(&self) -> &::eval_harness::__private::ScorerSpec {
                // The inherent method, which also lets `name.spec()` be called without naming
                // the suite's types.
                #name::spec(self)
            }

            fn score<'a>(
                &'a self,
                input: &'a ::eval_harness::__private::ScoreInput<'a, #inputs_type, #reference_type, #outputs_type>,
            ) -> ::eval_harness::__private::ScoreFuture<'a> {
                ::std::boxed::Box::pin(async move {
                    #outputs_or_return
                    let grade = Self::__eval_score(#(#args),*) #awaited;
                    #into_feedback
                })
            }

            #uses_ctx
        }
    }
}

/// The type arguments of the `Scorer<I, R, O>` impl: the types behind the scorer's `&`s where
/// it names them, generic parameters (any suite fits) where it does not.
struct ImplTypes {
    inputs: TokenStream,
    reference: TokenStream,
    outputs: TokenStream,
    generics: Vec<Ident>,
}

impl ImplTypes {
    fn of(scorer: &ScorerFn<'_>) -> Self {
        let mut generics = Vec::new();
        let mut generic = |name: &str| {
            let param = format_ident!("{name}");
            generics.push(param.clone());
            quote!(#param)
        };
        let task = scorer.referent(Given::Task);
        let from_task = |ty: &Type, member: &str| {
            let member = format_ident!("{member}");
            quote_spanned!(ty.span()=> <#ty as ::eval_harness::__private::TaskTypes>::#member)
        };
        let outputs = match scorer.referent(Given::Outputs) {
            Some(ty) => quote!(#ty),
            None => generic("__O"),
        };
        let inputs = match (scorer.referent(Given::Inputs), task) {
            (Some(ty), _) => quote!(#ty),
            (None, Some(task)) => from_task(task, "Inputs"),
            (None, None) => generic("__I"),
        };
        let reference = match (scorer.referent(Given::ReferenceOutputs), task) {
            (Some(ty), _) => quote!(#ty),
            (None, Some(task)) => from_task(task, "Reference"),
            (None, None) => generic("__R"),
        };
        // Declared in `Scorer<I, R, O>` order.
        generics.sort_by_key(|param| ["__I", "__R", "__O"].iter().position(|p| param == p));
        ImplTypes {
            inputs,
            reference,
            outputs,
            generics,
        }
    }
}

/// The `ScorerSpec` expression.
fn spec(key: &str, options: &ScorerOptions) -> TokenStream {
    let threshold = (options.at_least.is_some() || options.at_most.is_some()).then(|| {
        let at_least = optional_f64(options.at_least.as_ref());
        let at_most = optional_f64(options.at_most.as_ref());
        quote! {
            .with_threshold(::eval_harness::__private::Threshold { at_least: #at_least, at_most: #at_most })
        }
    });
    let advisory = options.advisory.as_ref().map(|_| quote!(.advisory()));
    quote!(::eval_harness::__private::ScorerSpec::new(#key) #threshold #advisory)
}

fn optional_f64(bound: Option<&Bound>) -> TokenStream {
    match bound {
        Some(bound) => {
            let value = Literal::f64_suffixed(bound.value);
            quote!(::std::option::Option::Some(#value))
        }
        None => quote!(::std::option::Option::None),
    }
}
