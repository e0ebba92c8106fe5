//! Finds out, in code generated for a suite, whether its agent's output type can be read back
//! from a run JSON: a suite can be regraded (`EVAL_REGRADE`) when it can. An output type need
//! not implement `Deserialize`: the suite then runs as usual and only a regrade is refused.
//!
//! The check resolves a method on a concrete type, preferring the impl whose bound holds
//! (autoref specialization); it must be expanded where the output type is known, as
//! `#[eval_suite]` does:
//!
//! ```ignore
//! use eval_harness::__private::{RegradeProbe, RegradeByDeserialize as _, RegradeNotPossible as _};
//! let decoder = (&RegradeProbe::<<Ret as ResultParts>::Ok>::new()).decoder();
//! ```

use eval_engine::decode_output;
use eval_engine::regrade::OutputDecoder;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;

/// Names the success type of an agent function's return type, written however the user
/// wrote it (`Result<O, E>`, `anyhow::Result<O>`, an alias).
#[diagnostic::on_unimplemented(
    message = "an eval suite's agent returns `Result<Output, Error>`, not `{Self}`",
    label = "write `Result<{Self}, Error>` here",
    note = "the output may be any `Serialize` type; an error is recorded as the task's exception"
)]
pub trait ResultParts {
    /// The output type.
    type Ok;
    /// The error type.
    type Err;
    /// The value as a plain `Result`.
    fn into_result(self) -> Result<Self::Ok, Self::Err>;
}

impl<T, E> ResultParts for Result<T, E> {
    type Ok = T;
    type Err = E;
    fn into_result(self) -> Self {
        self
    }
}

/// Carries the output type to the method resolution that picks its decoder.
pub struct RegradeProbe<O>(PhantomData<fn() -> O>);

impl<O> RegradeProbe<O> {
    /// The probe of `O`.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        RegradeProbe(PhantomData)
    }
}

/// Chosen first, when the output type can be deserialized.
pub trait RegradeByDeserialize<O> {
    /// [`decode_output`] of `O`.
    fn decoder(&self) -> Option<OutputDecoder<O>>;
}

impl<O: DeserializeOwned> RegradeByDeserialize<O> for RegradeProbe<O> {
    fn decoder(&self) -> Option<OutputDecoder<O>> {
        Some(decode_output::<O>)
    }
}

/// The fallback, one reference further away: no decoder.
pub trait RegradeNotPossible<O> {
    /// `None`: stored outputs cannot be read back as `O`.
    fn decoder(&self) -> Option<OutputDecoder<O>>;
}

impl<O> RegradeNotPossible<O> for &RegradeProbe<O> {
    fn decoder(&self) -> Option<OutputDecoder<O>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Readable {
        #[allow(dead_code)]
        city: String,
    }

    struct WriteOnly;

    // Borrowed as the generated code does: the fallback is only reachable through the borrow.
    #[allow(clippy::needless_borrow)]
    #[test]
    fn a_deserializable_output_gets_a_decoder_and_another_none() {
        let decoder = (&RegradeProbe::<<Result<Readable, String> as ResultParts>::Ok>::new()).decoder();
        let decode = decoder.expect("Readable can be read back");
        assert!(decode(&serde_json::json!({"city": "Rome"})).is_ok());
        assert!(decode(&serde_json::json!({})).is_err());

        let decoder = (&RegradeProbe::<WriteOnly>::new()).decoder();
        assert!(decoder.is_none());
    }
}
