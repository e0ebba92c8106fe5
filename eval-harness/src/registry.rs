//! Suites register themselves so that `main!()` finds them all without a list.

use crate::suite_def::SuiteDef;

/// One `#[eval_suite]`, submitted to `inventory` by the generated code.
pub struct SuiteRegistration {
    /// Builds the suite's definition.
    pub make: fn() -> SuiteDef,
}

inventory::collect!(SuiteRegistration);

/// Every registered suite of this test binary, sorted by path so the order does not depend on
/// the linker.
pub fn registered_suites() -> Vec<SuiteDef> {
    let mut suites: Vec<SuiteDef> = inventory::iter::<SuiteRegistration>
        .into_iter()
        .map(|r| (r.make)())
        .collect();
    suites.sort_by_key(|s| s.site.path());
    suites
}
