//! The built-in judge: one criterion, graded by a model, recorded through the scoring context.

use super::model::{ChatMessage, ChatModel, ChatReply, ChatRequest, ModelError, ReplySchema, Role};
use super::prompt::{self, Shown, TEMPLATE_VERSION};
use super::verdict::{Scale, Score, read_verdict};
use crate::calibration::requirement::Requirement;
use crate::feedback::Feedback;
use crate::score_ctx::ScoreCtx;
use crate::scorer::{ScoreFuture, ScoreInput, Scorer, ScorerSpec, Threshold};
use crate::trace::{ModelResponse, TokenUsage};
use serde::Serialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// The kind the judge's calls are recorded under in the cassettes.
pub const JUDGE_KIND: &str = "judge";

/// How much of an invalid reply an ungradeable feedback quotes.
const RAW_REPLY_CHARS: usize = 500;

/// A scorer that asks a model whether the agent's response meets one criterion. Built by
/// [`judge`]; see its documentation.
#[derive(Clone)]
pub struct Judge {
    spec: ScorerSpec,
    model: Arc<dyn ChatModel>,
    criterion: String,
    scale: Scale,
    show_reference: bool,
    show_trajectory: bool,
    retries: u32,
    temperature: f64,
    agreement: Option<Requirement>,
}

impl std::fmt::Debug for Judge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Judge")
            .field("key", &self.spec.key)
            .field("model", &self.model.name())
            .field("criterion", &self.criterion)
            .field("scale", &self.scale)
            .finish_non_exhaustive()
    }
}

/// A judge reporting under `key`: `model` grades the agent's response against `criterion`,
/// pass/fail unless [`Judge::scale`] says otherwise.
///
/// The verdict is a JSON object `{reasoning, score}` (asked for with the provider's structured
/// output where the model has it, and read tolerantly otherwise). A reply that is not one is
/// asked again ([`Judge::retries`], 2 by default); no valid verdict after that is
/// *ungradeable*, quoting the reply, never a silent score. A score off the scale is clamped,
/// the comment saying so. A model that cannot be reached, or answers with an error, makes the
/// task's verdict ungradeable and leaves the other scorers alone.
///
/// Every call goes through the run's cassettes (kind [`JUDGE_KIND`]), keyed by the model's
/// name, the criterion, the scale, the template version and the rendered prompt, so a change to
/// any of them asks the model again rather than replaying an old verdict. The judge's calls,
/// tokens and time are its own trace on the task's record, apart from the agent's.
///
/// ```
/// use eval_engine::judge::{ChatFuture, ChatModel, ChatReply, ChatRequest, Scale, judge};
/// use eval_engine::scorers::grade_blocking;
/// use eval_engine::{Task, Trace};
/// use serde_json::json;
///
/// struct Approves;
/// impl ChatModel for Approves {
///     fn name(&self) -> &str { "approves-1" }
///     fn complete<'a>(&'a self, _: &'a ChatRequest) -> ChatFuture<'a> {
///         let text = r#"{"reasoning": "it names the city", "score": 4}"#.to_owned();
///         Box::pin(async move { Ok(ChatReply { text, ..ChatReply::default() }) })
///     }
/// }
///
/// let polite = judge("names_the_city", Approves, "The answer names the city asked about.")
///     .scale(Scale::points(1, 5))
///     .pass_at(4.0);
/// let task = Task::new("paris", json!({"input": "Weather in Paris?"}), json!(null));
/// let feedback = grade_blocking(polite, &task, &json!("Sunny in Paris."), &Trace::default());
/// assert_eq!(feedback[0].verdict(), eval_engine::Verdict::Pass);
/// ```
pub fn judge(key: impl Into<String>, model: impl ChatModel + 'static, criterion: impl Into<String>) -> Judge {
    Judge::with_model(key, Arc::new(model), criterion)
}

impl Judge {
    /// [`judge`] with a model shared between judges.
    pub fn with_model(key: impl Into<String>, model: Arc<dyn ChatModel>, criterion: impl Into<String>) -> Self {
        Judge {
            spec: ScorerSpec::new(key),
            model,
            criterion: criterion.into(),
            scale: Scale::PassFail,
            show_reference: false,
            show_trajectory: false,
            retries: 2,
            temperature: 0.0,
            agreement: None,
        }
    }

    /// The scale the verdict is on (pass/fail by default).
    pub fn scale(mut self, scale: Scale) -> Self {
        self.scale = scale;
        self
    }

    /// Passes when the score is at least `min` (a numeric scale's threshold).
    pub fn pass_at(mut self, min: f64) -> Self {
        self.spec = self.spec.with_threshold(Threshold::at_least(min));
        self
    }

    /// Shows the model the task's reference outputs.
    pub fn show_reference(mut self) -> Self {
        self.show_reference = true;
        self
    }

    /// Shows the model what the agent did: its tool calls, their results and errors.
    pub fn show_trajectory(mut self) -> Self {
        self.show_trajectory = true;
        self
    }

    /// How often a reply that is not a valid verdict is asked again (2 by default).
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// Gates only while the judge agrees with people: Cohen's κ between the pass/fail labels
    /// of this key in `labels` (a JSONL file as `cargo eval calibrate` reads, relative to the
    /// crate) and the baseline's reviewed verdicts must be at least `min_kappa`, else the
    /// judge is advisory and the summary says why. A labels file that cannot be read fails
    /// the suite before any agent runs, naming the file and line.
    pub fn require_agreement(mut self, labels: impl Into<std::path::PathBuf>, min_kappa: f64) -> Self {
        self.agreement = Some(Requirement {
            labels: labels.into(),
            min_kappa,
        });
        self
    }

    /// The sampling temperature (0 by default).
    pub fn temperature(mut self, temperature: f64) -> Self {
        self.temperature = temperature;
        self
    }

    /// Asks for the verdict, asking again after an invalid reply; the feedback under the key.
    async fn verdict(&self, ctx: &ScoreCtx, shown: &Shown<'_>) -> Feedback {
        let key = &self.spec.key;
        let mut request = ChatRequest {
            messages: prompt::messages(shown),
            temperature: self.temperature,
            max_tokens: None,
            schema: Some(ReplySchema {
                name: "verdict".to_owned(),
                schema: self.scale.schema(),
            }),
        };
        let mut why = String::new();
        let mut reply = ChatReply::default();
        for asked in 1..=self.retries.saturating_add(1) {
            reply = match self.ask(ctx, &request).await {
                Ok(reply) => reply,
                Err(error) => return Feedback::ungradeable(key, format!("judge `{}`: {error}", self.model.name())),
            };
            match read_verdict(&reply.text, &self.scale) {
                Ok(verdict) => return self.feedback(verdict, asked),
                Err(invalid) => why = invalid,
            }
            ctx.custom("eval.judge_invalid_verdict", json!({"attempt": asked, "why": why}));
            request
                .messages
                .push(ChatMessage::new(Role::Assistant, reply.text.clone()));
            request.messages.push(prompt::ask_again(&why));
        }
        let asked = self.retries.saturating_add(1);
        let raw = excerpt(&reply.text);
        Feedback::ungradeable(
            key,
            format!(
                "judge `{}` gave no valid verdict in {asked} replies ({why}); last reply: {raw:?}",
                self.model.name()
            ),
        )
    }

    /// One call, through the cassettes, its cost recorded.
    async fn ask(&self, ctx: &ScoreCtx, request: &ChatRequest) -> Result<ChatReply, ModelError> {
        let recorded = JudgeCall {
            template_version: TEMPLATE_VERSION,
            model: self.model.name(),
            criterion: &self.criterion,
            scale: &self.scale,
            request,
        };
        let reply: ChatReply = ctx
            .replay(JUDGE_KIND, &recorded, || self.model.complete(request))
            .await?;
        ctx.model_response(ModelResponse {
            text: Some(reply.text.clone()),
            model: reply.model.clone().or_else(|| Some(self.model.name().to_owned())),
            finish_reason: reply.finish_reason.clone(),
        });
        ctx.usage_detailed(TokenUsage {
            input: reply.input_tokens,
            output: reply.output_tokens,
            ..TokenUsage::default()
        });
        Ok(reply)
    }

    fn feedback(&self, verdict: super::verdict::Verdict, asked: u32) -> Feedback {
        let key = &self.spec.key;
        let mut feedback = match verdict.score {
            Score::Pass(pass) => Feedback::pass_fail(key, pass),
            Score::Number(n) => Feedback::number(key, n),
        };
        let comment = match &verdict.adjusted {
            Some(adjusted) => format!("{} ({adjusted})", verdict.reasoning),
            None => verdict.reasoning.clone(),
        };
        feedback.comment = (!comment.is_empty()).then_some(comment);
        feedback.detail = Some(json!({
            "judge": self.model.name(),
            "criterion": self.criterion,
            "scale": self.scale.to_string(),
            "replies": asked,
        }));
        feedback
    }
}

/// What keys a judge's recording: everything that could change its verdict.
#[derive(Serialize)]
struct JudgeCall<'a> {
    template_version: u32,
    model: &'a str,
    criterion: &'a str,
    scale: &'a Scale,
    request: &'a ChatRequest,
}

fn excerpt(text: &str) -> String {
    match text.char_indices().nth(RAW_REPLY_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

impl<I, R, O> Scorer<I, R, O> for Judge
where
    I: Serialize + Sync,
    R: Serialize + Sync,
    O: Sync,
{
    fn spec(&self) -> &ScorerSpec {
        &self.spec
    }

    fn score<'a>(&'a self, input: &'a ScoreInput<'a, I, R, O>) -> ScoreFuture<'a> {
        Box::pin(async move {
            let key = &self.spec.key;
            if input.outputs.is_none() {
                let why = match &input.trace.exception {
                    Some(e) => format!("no response to judge: the agent failed ({}: {})", e.kind, e.message),
                    None => "no response to judge".to_owned(),
                };
                return vec![Feedback::ungradeable(key, why)];
            }
            let inputs = serde_json::to_value(input.task.inputs()).unwrap_or(Value::Null);
            let reference = match self.show_reference {
                true => Some(serde_json::to_value(input.task.reference_outputs()).unwrap_or(Value::Null)),
                false => None,
            };
            let shown = Shown {
                criterion: &self.criterion,
                scale: &self.scale,
                inputs: &inputs,
                reference: reference.as_ref(),
                trajectory: self.show_trajectory.then_some(input.trace),
                answer: input.outputs_json,
            };
            vec![self.verdict(input.ctx(), &shown).await]
        })
    }

    fn uses_ctx(&self) -> bool {
        true
    }

    fn agreement(&self) -> Option<&Requirement> {
        self.agreement.as_ref()
    }

    fn check(&self) -> Result<(), String> {
        self.model
            .check()
            .map_err(|why| format!("judge `{}` has no model to ask: {why}", self.spec.key))
    }
}

crate::scorers::spec_builders!(Judge);
