//! The thing under evaluation: an async function from a task to an output.

use crate::ctx::Ctx;
use crate::task::Task;
use serde::Serialize;
use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;

/// An agent: runs on one task and returns its output or an error.
///
/// Any closure `Fn(Arc<Task<I, R>>, Ctx) -> impl Future<Output = Result<O, E>>` is an agent, so
/// most code never names this trait:
///
/// ```
/// use eval_engine::{Ctx, Task};
/// use std::sync::Arc;
///
/// let agent = |task: Arc<Task>, ctx: Ctx| async move {
///     ctx.tool_call("echo", task.inputs().clone());
///     Ok::<_, std::io::Error>(task.input().to_uppercase())
/// };
/// # fn is_agent<A: eval_engine::Agent<serde_json::Value, serde_json::Value>>(_: &A) {}
/// # is_agent(&agent);
/// ```
///
/// The task and context are passed by value (an `Arc` and a cheap handle) so that the future
/// owns them and can run on any thread of the runtime.
pub trait Agent<I, R>: Send + Sync + 'static {
    /// What the agent answers; persisted in the run JSON.
    type Output: Serialize + Send + Sync + 'static;
    /// How the agent fails; recorded as the task's exception.
    type Error: Display + Send + 'static;

    /// Runs the agent on one task.
    fn run(
        &self,
        task: Arc<Task<I, R>>,
        ctx: Ctx,
    ) -> impl Future<Output = Result<Self::Output, Self::Error>> + Send + 'static;
}

impl<I, R, F, Fut, O, E> Agent<I, R> for F
where
    F: Fn(Arc<Task<I, R>>, Ctx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, E>> + Send + 'static,
    O: Serialize + Send + Sync + 'static,
    E: Display + Send + 'static,
{
    type Output = O;
    type Error = E;

    fn run(&self, task: Arc<Task<I, R>>, ctx: Ctx) -> impl Future<Output = Result<O, E>> + Send + 'static {
        self(task, ctx)
    }
}

/// The short name of a type, without its module path or generics: the exception kind of an
/// agent error (`my_agent::AgentError` → `AgentError`).
pub(crate) fn short_type_name<T: ?Sized>() -> &'static str {
    let full = std::any::type_name::<T>();
    let without_generics = full.split('<').next().unwrap_or(full);
    without_generics.rsplit("::").next().unwrap_or(without_generics)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names() {
        assert_eq!(short_type_name::<std::io::Error>(), "Error");
        assert_eq!(short_type_name::<String>(), "String");
        assert_eq!(short_type_name::<Vec<String>>(), "Vec");
    }
}
