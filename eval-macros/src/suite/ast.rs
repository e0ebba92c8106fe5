//! The suite's agent function as this macro sees it.

use crate::borrow::Borrow;
use syn::{FnArg, Ident, ItemFn, ReturnType, Type};

/// An `#[eval_suite]` function: `async fn name(task: &Task, ctx: &Ctx) -> Result<O, E>`.
pub(crate) struct SuiteFn<'a> {
    pub original: &'a ItemFn,
}

impl<'a> SuiteFn<'a> {
    pub(crate) fn from_syn(original: &'a ItemFn) -> Self {
        SuiteFn { original }
    }

    pub(crate) fn name(&self) -> &'a Ident {
        &self.original.sig.ident
    }

    pub(crate) fn params(&self) -> impl ExactSizeIterator<Item = &'a FnArg> + 'a {
        self.original.sig.inputs.iter()
    }

    /// How the first parameter, the task, is passed.
    pub(crate) fn task(&self) -> Option<Borrow<'a>> {
        self.param_borrow(0)
    }

    /// How the second parameter, the context, is passed; `None` when the agent takes none.
    pub(crate) fn ctx(&self) -> Option<Borrow<'a>> {
        self.param_borrow(1)
    }

    /// The task type, behind the first parameter's `&`.
    pub(crate) fn task_type(&self) -> Option<&'a Type> {
        match self.task()? {
            Borrow::Shared(ty) => Some(ty),
            _ => None,
        }
    }

    /// The return type as written, `Result<O, E>` or an alias of it.
    pub(crate) fn return_type(&self) -> Option<&'a Type> {
        match &self.original.sig.output {
            ReturnType::Type(_, ty) => Some(ty),
            ReturnType::Default => None,
        }
    }

    fn param_borrow(&self, index: usize) -> Option<Borrow<'a>> {
        match self.original.sig.inputs.iter().nth(index)? {
            FnArg::Typed(typed) => Some(Borrow::of(&typed.ty)),
            FnArg::Receiver(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;

    #[test]
    fn reads_the_task_type() {
        let item: ItemFn =
            syn::parse_str("async fn weather(task: &Task<In>, ctx: &Ctx) -> Result<u8, E> { todo!() }").unwrap();
        let suite = SuiteFn::from_syn(&item);
        assert_eq!(suite.name().to_string(), "weather");
        assert_eq!(suite.task_type().unwrap().to_token_stream().to_string(), "Task < In >");
        assert!(matches!(suite.ctx(), Some(Borrow::Shared(_))));
        assert_eq!(suite.params().len(), 2);
    }

    #[test]
    fn an_owned_task_has_no_task_type() {
        let item: ItemFn = syn::parse_str("async fn weather(task: Task) -> Result<u8, E> { todo!() }").unwrap();
        let suite = SuiteFn::from_syn(&item);
        assert!(suite.task_type().is_none());
        assert!(matches!(suite.task(), Some(Borrow::Owned(_))));
        assert!(suite.ctx().is_none());
    }
}
