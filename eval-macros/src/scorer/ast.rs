//! The scorer function as this macro sees it: its parameters sorted by what they ask for,
//! with the original syntax kept for spans.

use crate::borrow::Borrow;
use syn::{FnArg, Ident, ItemFn, Pat, PatType, Receiver, Type};

/// What the runner can give a scorer, each asked for by its parameter's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Given {
    Task,
    Inputs,
    Outputs,
    ReferenceOutputs,
    Trace,
    /// The scorer's own context, for the calls it makes (a judge's).
    Ctx,
}

impl Given {
    pub(crate) const ALL: [Given; 6] = [
        Given::Task,
        Given::Inputs,
        Given::Outputs,
        Given::ReferenceOutputs,
        Given::Trace,
        Given::Ctx,
    ];

    pub(crate) fn from_name(name: &str) -> Option<Given> {
        Given::ALL.into_iter().find(|given| given.name() == name)
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Given::Task => "task",
            Given::Inputs => "inputs",
            Given::Outputs => "outputs",
            Given::ReferenceOutputs => "reference_outputs",
            Given::Trace => "trace",
            Given::Ctx => "ctx",
        }
    }

    /// The list offered when a parameter has another name.
    pub(crate) fn names_for_message() -> String {
        let names: Vec<String> = Given::ALL.iter().map(|given| format!("`{}`", given.name())).collect();
        names.join(", ")
    }
}

/// A `#[scorer]` function.
pub(crate) struct ScorerFn<'a> {
    pub original: &'a ItemFn,
    pub params: Vec<Param<'a>>,
}

/// One parameter of the scorer function.
pub(crate) enum Param<'a> {
    /// `self`, `&self`, ….
    Receiver(&'a Receiver),
    /// `(a, b): T`, `_: T`, `ref x: T`: not a plain name.
    Pattern(&'a PatType),
    /// `name: Type`.
    Named(NamedParam<'a>),
}

pub(crate) struct NamedParam<'a> {
    pub original: &'a PatType,
    pub ident: &'a Ident,
    /// `None` when the name is not one the runner knows.
    pub given: Option<Given>,
    pub borrow: Borrow<'a>,
}

impl<'a> ScorerFn<'a> {
    pub(crate) fn from_syn(original: &'a ItemFn) -> Self {
        let params = original.sig.inputs.iter().map(Param::from_syn).collect();
        ScorerFn { original, params }
    }

    /// The parameters named after something the runner gives, with the type behind their `&`.
    pub(crate) fn injected(&self) -> impl Iterator<Item = (Given, &'a Ident, &'a Type)> + '_ {
        self.params.iter().filter_map(|param| match param {
            Param::Named(NamedParam {
                ident,
                given: Some(given),
                borrow: Borrow::Shared(referent),
                ..
            }) => Some((*given, *ident, *referent)),
            _ => None,
        })
    }

    /// The type behind the `&` of the parameter named after `given`, if the scorer has one.
    pub(crate) fn referent(&self, given: Given) -> Option<&'a Type> {
        self.injected().find(|(g, ..)| *g == given).map(|(.., ty)| ty)
    }
}

impl<'a> Param<'a> {
    fn from_syn(arg: &'a FnArg) -> Self {
        let typed = match arg {
            FnArg::Receiver(receiver) => return Param::Receiver(receiver),
            FnArg::Typed(typed) => typed,
        };
        match plain_name(&typed.pat) {
            Some(ident) => Param::Named(NamedParam {
                original: typed,
                ident,
                given: Given::from_name(&crate::ident::unraw(ident)),
                borrow: Borrow::of(&typed.ty),
            }),
            None => Param::Pattern(typed),
        }
    }
}

/// `name` or `mut name`; `None` for any other pattern.
fn plain_name(pat: &Pat) -> Option<&Ident> {
    match pat {
        Pat::Ident(binding) if binding.by_ref.is_none() && binding.subpat.is_none() => Some(&binding.ident),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params_of(source: &str) -> Vec<String> {
        let item: ItemFn = syn::parse_str(source).unwrap();
        let scorer = ScorerFn::from_syn(&item);
        scorer
            .params
            .iter()
            .map(|param| match param {
                Param::Receiver(_) => "self".to_owned(),
                Param::Pattern(_) => "pattern".to_owned(),
                Param::Named(named) => {
                    let given = named.given.map_or("unknown", Given::name);
                    let borrow = match named.borrow {
                        Borrow::Shared(_) => "&",
                        Borrow::Mutable(_) => "&mut",
                        Borrow::Owned(_) => "owned",
                    };
                    format!("{given} {borrow}")
                }
            })
            .collect()
    }

    #[test]
    fn sorts_parameters() {
        assert_eq!(
            params_of("fn f(trace: &Trace, mut outputs: &Out, task: Task, inputs: &mut V, foo: &u8) -> bool { true }"),
            ["trace &", "outputs &", "task owned", "inputs &mut", "unknown &"]
        );
        assert_eq!(
            params_of("fn f(&self, (a, b): &(u8, u8), _: &Trace) {}"),
            ["self", "pattern", "pattern"]
        );
        assert_eq!(params_of("fn f(r#trace: &Trace) {}"), ["trace &"]);
    }

    #[test]
    fn finds_referents() {
        let item: ItemFn = syn::parse_str("fn f(outputs: &Forecast, trace: &Trace) -> bool { true }").unwrap();
        let scorer = ScorerFn::from_syn(&item);
        assert!(scorer.referent(Given::Outputs).is_some());
        assert!(scorer.referent(Given::Inputs).is_none());
        assert_eq!(scorer.injected().count(), 2);
    }
}
