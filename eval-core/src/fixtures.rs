//! What the engine's unit tests build runs from.

use crate::result::{Budgets, RunMeta, RunStatus, SCHEMA_VERSION, SuiteInfo};

/// The metadata of a completed run `run_id` of suite `suite` with nothing else set: tests
/// change the fields they are about with `RunMeta { …, ..run_meta(…) }`.
pub(crate) fn run_meta(run_id: &str) -> RunMeta {
    RunMeta {
        schema_version: SCHEMA_VERSION.to_owned(),
        run_id: run_id.to_owned(),
        label: None,
        created_at: "2026-01-01T00:00:00Z".to_owned(),
        duration_ms: 0,
        suite: SuiteInfo {
            name: "suite".to_owned(),
            size: 0,
            source: "inline".to_owned(),
        },
        target: "agent".to_owned(),
        concurrency: 1,
        status: RunStatus::Completed,
        selection: None,
        repeats: 1,
        fewest_repeats: None,
        model: None,
        budgets: Budgets::default(),
        producer: None,
        git: None,
        scorers: Vec::new(),
        resumed: None,
        variant: None,
        regraded_from: None,
    }
}
