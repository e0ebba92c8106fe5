//! The harness's two runtimes, and how many threads the one that runs agents gets.

use crate::plan::SuitePlan;
use eval_engine::RunOptions;
use std::sync::Arc;
use tokio::runtime::Runtime;

/// The harness's two runtimes. The *control* runtime schedules the tasks, watches their
/// deadlines, listens for signals and wakes the trials; the *work* runtime runs every agent and
/// scorer. An agent or scorer that blocks its thread (a synchronous loop, `std::thread::sleep`,
/// a blocking SDK call) then never holds up a timeout, a signal or the other suites.
///
/// Both end without waiting for their threads: a thread blocked for good is abandoned, and the
/// process exits when `run_main` returns.
pub(crate) struct Runtimes {
    control: Option<Runtime>,
    work: Option<Runtime>,
}

impl Runtimes {
    pub fn start(work_threads: usize) -> std::io::Result<Self> {
        let control = tokio::runtime::Builder::new_multi_thread()
            .thread_name("eval-control")
            .enable_all()
            .build()?;
        let work = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(work_threads)
            .thread_name("eval-work")
            .enable_all()
            .build();
        let work = match work {
            Ok(work) => work,
            Err(e) => {
                control.shutdown_background();
                return Err(e);
            }
        };
        Ok(Runtimes {
            control: Some(control),
            work: Some(work),
        })
    }

    pub fn control(&self) -> &Runtime {
        self.control.as_ref().expect("the runtimes live until dropped")
    }

    pub fn work(&self) -> &Runtime {
        self.work.as_ref().expect("the runtimes live until dropped")
    }
}

impl Drop for Runtimes {
    fn drop(&mut self) {
        // Never the plain drop of a runtime, which waits for every worker thread: one that an
        // agent or scorer blocks for good would keep the process alive.
        for runtime in [self.work.take(), self.control.take()].into_iter().flatten() {
            runtime.shutdown_background();
        }
    }
}

/// The worker threads of the work runtime: as many as the largest concurrency among the suites
/// that run, so that agents which block their threads still run that many at once (async agents
/// need far fewer, and idle workers cost nothing but their stacks); at least 2, so that one
/// blocked thread never stops all the others; at most 256, the largest concurrency the harness
/// is built for (a thread per agent beyond that costs more memory than it is worth).
pub(crate) fn work_threads(plans: &[Arc<SuitePlan>]) -> usize {
    let default = RunOptions::default().concurrency_limit();
    plans
        .iter()
        .filter(|plan| !plan.selected_tasks.is_empty())
        .map(|plan| plan.config.concurrency.unwrap_or(default))
        .max()
        .unwrap_or(default)
        .clamp(2, 256)
}
