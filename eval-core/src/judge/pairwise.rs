//! The pairwise judge: asks a model which of two answers is better on one criterion, twice
//! with the answers swapped. Only an answer that wins in both orders wins; when the orders
//! disagree (a model preferring whatever comes first, say) it is a tie, and the case records a
//! position flip. The model is asked for positions (`first`, `second`, `tie`), never for runs,
//! so nothing of which run is which reaches it.

use super::model::{ChatMessage, ChatModel, ChatReply, ChatRequest, ModelError, ReplySchema, Role};
use super::prompt::{text, trajectory};
use super::verdict::{find_object, reasoning_in};
use crate::cassette::Cassettes;
use crate::pairwise::{Comparator, Comparison, ComparisonFuture, Pair, Side, Winner};
use serde::Serialize;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::sync::Arc;

/// The cassette kind of a pairwise judge's calls.
pub const PAIRWISE_JUDGE_KIND: &str = "pairwise_judge";

/// The version of the pairwise prompt: part of every recording's key. Bump it with any change
/// to the text.
pub const PAIRWISE_TEMPLATE_VERSION: u32 = 1;

/// Which position a reply preferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    First,
    Second,
    Tie,
}

impl Position {
    fn as_str(self) -> &'static str {
        match self {
            Position::First => "first",
            Position::Second => "second",
            Position::Tie => "tie",
        }
    }

    /// The run it names, given which run was shown first and which second.
    fn on_runs(self, first: Winner, second: Winner) -> Winner {
        match self {
            Position::First => first,
            Position::Second => second,
            Position::Tie => Winner::Tie,
        }
    }
}

/// A judge comparing two answers on one criterion. Built with [`pairwise_judge`].
#[derive(Clone)]
pub struct PairwiseJudge {
    key: String,
    model: Arc<dyn ChatModel>,
    criterion: String,
    show_reference: bool,
    show_trajectory: bool,
    retries: u32,
    temperature: f64,
}

/// A pairwise judge reporting under `key`, asking `model` which answer better meets
/// `criterion`. It shows the reference answer when the task has one (see
/// [`PairwiseJudge::hide_reference`]), asks again once after a reply that is not a
/// preference, at temperature 0.
///
/// ```
/// use eval_engine::judge::{ChatFuture, ChatModel, ChatReply, ChatRequest, pairwise_judge};
///
/// struct PrefersFirst;
///
/// impl ChatModel for PrefersFirst {
///     fn name(&self) -> &str {
///         "prefers-first"
///     }
///     fn complete<'a>(&'a self, _: &'a ChatRequest) -> ChatFuture<'a> {
///         let text = r#"{"reasoning": "the first is better", "preferred": "first"}"#;
///         Box::pin(async move { Ok(ChatReply { text: text.into(), ..ChatReply::default() }) })
///     }
/// }
///
/// // A model that always prefers what it sees first wins nothing: each order names the other run.
/// let judge = pairwise_judge("helpful", PrefersFirst, "Which answer helps the user more?");
/// # let _ = judge;
/// ```
pub fn pairwise_judge(
    key: impl Into<String>,
    model: impl ChatModel + 'static,
    criterion: impl Into<String>,
) -> PairwiseJudge {
    PairwiseJudge::with_model(key, Arc::new(model), criterion)
}

impl PairwiseJudge {
    /// [`pairwise_judge`] with a shared model.
    pub fn with_model(key: impl Into<String>, model: Arc<dyn ChatModel>, criterion: impl Into<String>) -> Self {
        PairwiseJudge {
            key: key.into(),
            model,
            criterion: criterion.into(),
            show_reference: true,
            show_trajectory: false,
            retries: 1,
            temperature: 0.0,
        }
    }

    /// Leaves the reference answer out of the prompt (for a criterion the answers must meet
    /// on their own, such as faithfulness to their sources).
    pub fn hide_reference(mut self) -> Self {
        self.show_reference = false;
        self
    }

    /// Shows each answer's trajectory (tool calls, results, errors) too.
    pub fn show_trajectory(mut self) -> Self {
        self.show_trajectory = true;
        self
    }

    /// How many times to ask again after a reply that is not a preference (default 1).
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// The sampling temperature (default 0).
    pub fn temperature(mut self, temperature: f64) -> Self {
        self.temperature = temperature;
        self
    }

    /// The messages asking which of `first` and `second` is better.
    fn messages(&self, pair: &Pair<'_>, first: &Side<'_>, second: &Side<'_>) -> Vec<ChatMessage> {
        let system = "You compare two responses of AI agents to the same task against exactly one criterion. \
                      Judge only that criterion; the order in which the responses are shown says nothing about \
                      them. Reply with only a JSON object {\"reasoning\": \"…\", \"preferred\": \"first\" | \
                      \"second\" | \"tie\"}: first your reasoning in a few sentences, then which response \
                      meets the criterion better, or \"tie\" when neither does better.";
        let mut user = String::new();
        let _ = write!(
            user,
            "## Criterion\n{}\n\n## Task\n{}\n",
            self.criterion.trim(),
            text(pair.inputs)
        );
        if self.show_reference && !pair.reference.is_null() {
            let _ = write!(user, "\n## Reference answer\n{}\n", text(pair.reference));
        }
        for (title, side) in [("First response", first), ("Second response", second)] {
            if self.show_trajectory {
                let _ = write!(
                    user,
                    "\n## What the agent of the {} did\n{}",
                    title.to_lowercase(),
                    trajectory(side.trace)
                );
            }
            let _ = write!(user, "\n## {title}\n{}\n", text(&side.outputs));
        }
        vec![
            ChatMessage::new(Role::System, system),
            ChatMessage::new(Role::User, user),
        ]
    }

    /// Asks for a preference between `first` and `second`, asking again after a reply that is
    /// not one; `Err` says why there is none.
    async fn prefer(
        &self,
        pair: &Pair<'_>,
        first: &Side<'_>,
        second: &Side<'_>,
        cassettes: Option<&Cassettes>,
    ) -> Result<(Position, String), String> {
        let mut request = ChatRequest {
            messages: self.messages(pair, first, second),
            temperature: self.temperature,
            max_tokens: None,
            schema: Some(ReplySchema {
                name: "preference".to_owned(),
                schema: json!({
                    "type": "object",
                    "properties": {
                        "reasoning": {"type": "string"},
                        "preferred": {"type": "string", "enum": ["first", "second", "tie"]},
                    },
                    "required": ["reasoning", "preferred"],
                    "additionalProperties": false,
                }),
            }),
        };
        let mut why = String::new();
        for _ in 0..=self.retries {
            let reply = self
                .ask(&request, cassettes)
                .await
                .map_err(|e| format!("judge `{}`: {e}", self.model.name()))?;
            match read_preference(&reply.text) {
                Ok(preference) => return Ok(preference),
                Err(invalid) => why = invalid,
            }
            request.messages.push(ChatMessage::new(Role::Assistant, reply.text));
            request.messages.push(ChatMessage::new(
                Role::User,
                format!("That reply is not a valid preference: {why}. Reply with only the JSON object."),
            ));
        }
        Err(format!(
            "judge `{}` gave no valid preference in {} replies ({why})",
            self.model.name(),
            self.retries + 1
        ))
    }

    /// One call, through the cassettes when there are some.
    async fn ask(&self, request: &ChatRequest, cassettes: Option<&Cassettes>) -> Result<ChatReply, ModelError> {
        let Some(cassettes) = cassettes else {
            return self.model.complete(request).await;
        };
        let recorded = PairwiseCall {
            template_version: PAIRWISE_TEMPLATE_VERSION,
            model: self.model.name(),
            criterion: &self.criterion,
            request,
        };
        cassettes
            .replay(PAIRWISE_JUDGE_KIND, &recorded, || self.model.complete(request))
            .await
    }
}

/// What keys a pairwise judge's recording.
#[derive(Serialize)]
struct PairwiseCall<'a> {
    template_version: u32,
    model: &'a str,
    criterion: &'a str,
    request: &'a ChatRequest,
}

/// The preference in a reply and its reasoning; `Err` says why the reply is not one.
fn read_preference(reply: &str) -> Result<(Position, String), String> {
    let object = find_object(reply, "preferred").ok_or_else(|| {
        "the reply holds no JSON object; reply with exactly one object {\"reasoning\": …, \"preferred\": …}".to_owned()
    })?;
    let preferred = object
        .get("preferred")
        .ok_or_else(|| "the object has no `preferred` field".to_owned())?;
    let position = match preferred.as_str().map(|p| p.trim().to_ascii_lowercase()).as_deref() {
        Some("first" | "1" | "response 1") => Position::First,
        Some("second" | "2" | "response 2") => Position::Second,
        Some("tie" | "neither" | "equal") => Position::Tie,
        _ => match preferred {
            Value::Number(n) if n.as_u64() == Some(1) => Position::First,
            Value::Number(n) if n.as_u64() == Some(2) => Position::Second,
            other => {
                return Err(format!(
                    "`preferred` is {other}: write \"first\", \"second\" or \"tie\""
                ));
            }
        },
    };
    Ok((position, reasoning_in(&object)))
}

impl Comparator for PairwiseJudge {
    fn key(&self) -> &str {
        &self.key
    }

    fn compare<'a>(&'a self, pair: &'a Pair<'a>, cassettes: Option<&'a Cassettes>) -> ComparisonFuture<'a> {
        Box::pin(async move {
            let shown_a_first = self.prefer(pair, &pair.a, &pair.b, cassettes).await;
            let shown_b_first = self.prefer(pair, &pair.b, &pair.a, cassettes).await;
            let ((first, reasoning_1), (second, reasoning_2)) = match (shown_a_first, shown_b_first) {
                (Ok(first), Ok(second)) => (first, second),
                (Err(why), _) | (_, Err(why)) => return Comparison::ungradeable(why),
            };
            let detail = json!({
                "order1": first.as_str(),
                "order2": second.as_str(),
                "judge": self.model.name(),
                "criterion": self.criterion,
            });
            let (winner_1, winner_2) = (
                first.on_runs(Winner::A, Winner::B),
                second.on_runs(Winner::B, Winner::A),
            );
            let comparison = if winner_1 == winner_2 {
                Comparison::decided(winner_1, Some(reasoning_1))
            } else {
                Comparison::decided(
                    Winner::Tie,
                    Some(format!(
                        "the two orders disagree (a tie): shown a first, {reasoning_1}; shown b first, {reasoning_2}"
                    )),
                )
            };
            comparison.with_detail(detail)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_preference_wherever_the_reply_has_it() {
        let read = |reply: &str| read_preference(reply).map(|(p, _)| p);
        assert_eq!(
            read(r#"{"reasoning": "x", "preferred": "second"}"#),
            Ok(Position::Second)
        );
        assert_eq!(
            read("Sure! ```json\n{\"reasoning\": \"b is kinder\", \"preferred\": \"First\"}\n```"),
            Ok(Position::First)
        );
        assert_eq!(read(r#"{"preferred": 2}"#), Ok(Position::Second));
        assert_eq!(read(r#"{"preferred": "tie"}"#), Ok(Position::Tie));
        assert!(
            read(r#"{"preferred": "both"}"#)
                .unwrap_err()
                .contains("`preferred` is \"both\"")
        );
        assert!(read("no idea").unwrap_err().contains("no JSON object"));
        assert_eq!(
            read_preference(r#"{"reason": "why", "preferred": "1"}"#).unwrap().1,
            "why"
        );
    }
}
