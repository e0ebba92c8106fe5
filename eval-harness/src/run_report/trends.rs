//! Each key's pass rate over the store's completed runs of a suite, from the history index.

use super::model::{RunReport, Trend, TrendPoint};
use eval_engine::RunResult;
use eval_engine::history::History;
use std::path::Path;

impl RunReport<'_> {
    /// Fills [`RunReport::trends`] from the history index of the store at `store` (the run
    /// itself among the points once it is saved there). Left empty when the store has no
    /// readable history: a report without a chart is better than none.
    pub fn with_trends(mut self, store: &Path) -> Self {
        self.trends = trends_from_history(store, self.run);
        self
    }
}

/// How many of the latest runs a trend shows.
const RUNS_SHOWN: usize = 30;

/// The trend of every pass/fail key of `run` over the last runs in `store` (the run itself among
/// them once it is saved there). Empty when the store has no readable history: a report without
/// a chart is better than none.
fn trends_from_history(store: &Path, run: &RunResult) -> Vec<Trend> {
    let Ok(history) = History::open(store) else {
        return Vec::new();
    };
    let suite = &run.meta.suite.name;
    run.keys()
        .into_iter()
        .filter_map(|key| {
            let points: Vec<TrendPoint> = history
                .trend(suite, key, RUNS_SHOWN)
                .ok()?
                .into_iter()
                .filter_map(|point| {
                    Some(TrendPoint {
                        pass_rate: point.pass_rate?,
                        run_id: point.run_id,
                        created_at: point.created_at,
                    })
                })
                .collect();
            (!points.is_empty()).then(|| Trend {
                key: key.to_owned(),
                points,
            })
        })
        .collect()
}
