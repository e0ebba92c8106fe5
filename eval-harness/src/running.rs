//! A suite while it runs: the board its trials wait on, and the outcomes they hand back, one
//! slot per pair and per gate, so that the conclusion reads them in plan order whatever order
//! the trials ran in.

use crate::board::Board;
use crate::outcome::{GateOutcome, PairOutcome};
use crate::plan::SuitePlan;
use std::sync::{Arc, OnceLock};

/// What the trials of one suite share.
pub(crate) struct SuiteRun {
    pub plan: Arc<SuitePlan>,
    pub board: Arc<Board>,
    /// By pair index in the plan.
    pairs: Box<[OnceLock<PairOutcome>]>,
    /// By gate index in the plan.
    gates: Box<[OnceLock<GateOutcome>]>,
}

impl SuiteRun {
    /// The run of `plan`: a board for its selected tasks, and no outcome yet.
    pub fn new(plan: Arc<SuitePlan>) -> Self {
        let board = Board::new(
            &plan.task_ids,
            plan.keys.clone(),
            &plan.selected_tasks,
            plan.config.attempts() as usize,
        );
        SuiteRun {
            board: Arc::new(board),
            pairs: (0..plan.pairs.len()).map(|_| OnceLock::new()).collect(),
            gates: (0..plan.gates.len()).map(|_| OnceLock::new()).collect(),
            plan,
        }
    }

    /// Hands back the outcome of pair `index`; a pair is decided once.
    pub fn record_pair(&self, index: usize, outcome: PairOutcome) {
        let _ = self.pairs[index].set(outcome);
    }

    /// Hands back the outcome of gate `index`; a gate is decided once.
    pub fn record_gate(&self, index: usize, outcome: GateOutcome) {
        let _ = self.gates[index].set(outcome);
    }

    /// The outcomes decided, in plan order: taken when no trial holds the run any more (they
    /// all ran), else copied.
    pub fn into_outcomes(run: Arc<SuiteRun>) -> SuiteOutcomes {
        match Arc::try_unwrap(run) {
            Ok(run) => run.take_outcomes(),
            Err(run) => SuiteOutcomes {
                pairs: run.pairs.iter().filter_map(|slot| slot.get().cloned()).collect(),
                gates: run.gates.iter().filter_map(|slot| slot.get().cloned()).collect(),
            },
        }
    }
}

impl SuiteRun {
    /// The outcomes decided, in plan order.
    pub fn take_outcomes(self) -> SuiteOutcomes {
        SuiteOutcomes {
            pairs: self.pairs.into_iter().filter_map(OnceLock::into_inner).collect(),
            gates: self.gates.into_iter().filter_map(OnceLock::into_inner).collect(),
        }
    }
}

/// What the trials of one suite decided, in plan order.
#[derive(Debug, Default)]
pub(crate) struct SuiteOutcomes {
    pub pairs: Vec<PairOutcome>,
    pub gates: Vec<GateOutcome>,
}
