//! `#[eval_suite]`: wires an agent function, its tasks and its scorers into a suite the harness
//! runs, and emits IDE anchors for its tasks.

mod anchors;
mod ast;
mod attr;
mod dataset;
mod expand;
mod valid;

use crate::diagnostic::{Errors, with_original};
use proc_macro2::TokenStream;
use syn::{Item, ItemFn};

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    match try_expand(args, item.clone()) {
        Ok(tokens) => tokens,
        Err(error) => with_original(error, item),
    }
}

fn try_expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let function = parse_function(item)?;
    let suite = ast::SuiteFn::from_syn(&function);
    let mut errors = Errors::default();
    // Options that did not parse are not checked further: a missing or ill-typed option
    // would otherwise be reported a second time as absent.
    let options = errors.keep(attr::SuiteOptions::parse(args));
    if let Some(options) = &options {
        options.validate(&mut errors);
    }
    suite.validate(&mut errors);
    // With `tasks` as well, the dataset is already an error; whether its file exists is noise.
    let dataset_path = match options.as_ref().filter(|options| options.tasks.is_none()) {
        Some(attr::SuiteOptions {
            dataset: Some(dataset), ..
        }) => errors.keep(dataset::locate(&dataset.value)).flatten(),
        _ => None,
    };
    errors.finish()?;
    let options = options.unwrap_or_default();
    let dataset = dataset_path.map(|path| expand::Dataset { path });
    Ok(expand::suite(&suite, &options, dataset.as_ref()))
}

fn parse_function(item: TokenStream) -> syn::Result<ItemFn> {
    match syn::parse2::<Item>(item)? {
        Item::Fn(function) => Ok(function),
        other => Err(syn::Error::new_spanned(
            other,
            "#[eval_suite] goes on the agent function: \
             `async fn weather(task: &Task, ctx: &Ctx) -> Result<Forecast, AgentError> { … }`",
        )),
    }
}
