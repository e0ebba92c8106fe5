//! The syntax both attributes share: `name` or `name = value`, separated by commas. What the
//! names mean is each attribute's own business (`scorer/attr.rs`, `suite/attr.rs`).

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, ExprUnary, Ident, Lit, LitInt, LitStr, Token, UnOp};

/// One option: a bare flag (`advisory`) or a name with a value (`key = "name"`).
pub(crate) struct Arg {
    pub name: Ident,
    pub value: Option<Expr>,
}

impl Arg {
    /// The value, or an error on the name saying how to give one.
    pub(crate) fn value(&self, example: &str) -> syn::Result<&Expr> {
        self.value
            .as_ref()
            .ok_or_else(|| syn::Error::new_spanned(&self.name, format!("`{}` needs a value: {example}", self.name)))
    }

    /// The whole option as written, for errors about it as a whole.
    pub(crate) fn tokens(&self) -> TokenStream {
        let mut tokens = self.name.to_token_stream();
        if let Some(value) = &self.value {
            <Token![=]>::default().to_tokens(&mut tokens);
            value.to_tokens(&mut tokens);
        }
        tokens
    }
}

impl Parse for Arg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        // Any word, keywords included, so that `type = ..` is reported as an unknown option
        // rather than as a syntax error.
        let name = input.call(Ident::parse_any)?;
        let value = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            Some(input.parse()?)
        } else {
            None
        };
        Ok(Arg { name, value })
    }
}

/// Parses the tokens between the attribute's parentheses.
pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Vec<Arg>> {
    let args = Punctuated::<Arg, Token![,]>::parse_terminated.parse2(tokens)?;
    Ok(args.into_iter().collect())
}

/// Looks through the invisible groups that `macro_rules!` wraps around fragments.
pub(crate) fn peel(expr: &Expr) -> &Expr {
    match expr {
        Expr::Group(group) => peel(&group.expr),
        Expr::Paren(paren) => peel(&paren.expr),
        other => other,
    }
}

/// A string literal value.
pub(crate) fn string(expr: &Expr) -> Option<&LitStr> {
    match peel(expr) {
        Expr::Lit(ExprLit { lit: Lit::Str(lit), .. }) => Some(lit),
        _ => None,
    }
}

/// An integer literal value.
pub(crate) fn integer(expr: &Expr) -> Option<&LitInt> {
    match peel(expr) {
        Expr::Lit(ExprLit { lit: Lit::Int(lit), .. }) => Some(lit),
        _ => None,
    }
}

/// A numeric literal value, integer or float, possibly negated.
pub(crate) fn number(expr: &Expr) -> Option<f64> {
    match peel(expr) {
        Expr::Lit(ExprLit { lit: Lit::Int(lit), .. }) => lit.base10_parse().ok(),
        Expr::Lit(ExprLit {
            lit: Lit::Float(lit), ..
        }) => lit.base10_parse().ok(),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_), expr, ..
        }) => number(expr).map(|n: f64| -n),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn flags_and_values() {
        let args = parse(quote!(
            key = "x",
            advisory,
            threshold = -0.5,
            at_most = 2,
            scorers = [a, b()],
        ))
        .unwrap();
        let names: Vec<String> = args.iter().map(|a| a.name.to_string()).collect();
        assert_eq!(names, ["key", "advisory", "threshold", "at_most", "scorers"]);
        assert_eq!(string(args[0].value.as_ref().unwrap()).unwrap().value(), "x");
        assert!(args[1].value.is_none());
        assert_eq!(number(args[2].value.as_ref().unwrap()), Some(-0.5));
        assert_eq!(number(args[3].value.as_ref().unwrap()), Some(2.0));
        assert!(matches!(args[4].value, Some(Expr::Array(_))));
    }

    #[test]
    fn empty_and_keywords() {
        assert!(parse(TokenStream::new()).unwrap().is_empty());
        assert_eq!(parse(quote!(type = 1)).unwrap()[0].name.to_string(), "type");
    }

    #[test]
    fn missing_comma_is_a_syntax_error() {
        assert!(parse(quote!(key = "x" advisory)).is_err());
    }
}
