//! The subscriber `capture::install_default` installs (what the eval harness uses) captures
//! every span, also right after an event it filters out.

use eval_engine::{Ctx, RunOptions, Suite, Task, capture, run};
use serde_json::json;
use std::sync::Arc;

#[test]
fn spans_after_filtered_out_events_are_captured() {
    assert!(capture::install_default(), "this test binary has no other subscriber");
    assert!(!capture::install_default(), "a subscriber is set only once");

    let lines = (0..32).map(|i| json!({"inputs": {"input": i.to_string()}})).collect();
    let suite: Suite = Suite::from_values("installed", lines).unwrap();
    let agent = |_task: Arc<Task>, _ctx: Ctx| async move {
        for _ in 0..3 {
            // Frameworks log between their spans; the capture does not want these events.
            tracing::debug!("about to call the model");
            let call = tracing::info_span!("chat", gen_ai.usage.input_tokens = tracing::field::Empty);
            call.record("gen_ai.usage.input_tokens", 5_u64);
            tokio::task::yield_now().await;
        }
        Ok::<_, String>(())
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    for _ in 0..20 {
        let result = runtime.block_on(run(&suite, agent, Vec::new(), RunOptions::default().concurrency(32)));
        for task in result.tasks() {
            assert_eq!(
                task.trace.tokens.input, 15,
                "task {}: {:?}",
                task.task_id, task.trace.events
            );
        }
    }
}
