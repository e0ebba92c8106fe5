//! What the engine's unit tests build runs from.

use crate::result::{RunMeta, SuiteInfo};

/// The metadata of a completed run `run_id` of suite `suite` with nothing else set: tests
/// change the fields they are about with `RunMeta { …, ..run_meta(…) }`.
pub(crate) fn run_meta(run_id: &str) -> RunMeta {
    let suite = SuiteInfo {
        name: "suite".to_owned(),
        size: 0,
        source: "inline".to_owned(),
    };
    RunMeta {
        created_at: "2026-01-01T00:00:00Z".to_owned(),
        target: "agent".to_owned(),
        ..RunMeta::new(run_id, suite)
    }
}
