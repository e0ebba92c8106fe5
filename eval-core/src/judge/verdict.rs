//! A judge's verdict: the scale it is given on, and reading it from a model's reply, strictly
//! where the reply is well formed and tolerantly where a model wrapped it in prose or fences.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::fmt;

/// The scale a judge scores on. The judge enforces it: a number outside the range is clamped
/// (and the feedback's comment says so); a reply that is not on the scale at all (a word for
/// a number) is invalid, and the judge asks again.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Scale {
    /// Pass or fail: the verdict is a boolean.
    PassFail,
    /// Whole points from `min` to `max` (a 1–5 rubric). A fraction is rounded, saying so.
    Points {
        /// The lowest score.
        min: i64,
        /// The highest score.
        max: i64,
    },
    /// Any number from `min` to `max` (0–1).
    Continuous {
        /// The lowest score.
        min: f64,
        /// The highest score.
        max: f64,
    },
}

impl Scale {
    /// Whole points from `min` to `max`.
    pub fn points(min: i64, max: i64) -> Self {
        Scale::Points {
            min: min.min(max),
            max: max.max(min),
        }
    }

    /// Any number from `min` to `max`.
    pub fn continuous(min: f64, max: f64) -> Self {
        Scale::Continuous {
            min: min.min(max),
            max: max.max(min),
        }
    }

    /// The scale as the prompt states it.
    pub(crate) fn instruction(&self) -> String {
        match self {
            Scale::PassFail => {
                "`score` is `true` when the response meets the criterion and `false` when it does not".to_owned()
            }
            Scale::Points { min, max } => {
                format!("`score` is a whole number from {min} (the criterion is not met at all) to {max} (fully met)")
            }
            Scale::Continuous { min, max } => {
                format!("`score` is a number from {min} (the criterion is not met at all) to {max} (fully met)")
            }
        }
    }

    /// The JSON Schema of a verdict on this scale: the reasoning first, so that a model
    /// writing in order reasons before it scores.
    pub(crate) fn schema(&self) -> Value {
        let score = match self {
            Scale::PassFail => json!({"type": "boolean"}),
            Scale::Points { min, max } => json!({"type": "integer", "minimum": min, "maximum": max}),
            Scale::Continuous { min, max } => json!({"type": "number", "minimum": min, "maximum": max}),
        };
        json!({
            "type": "object",
            "properties": {"reasoning": {"type": "string"}, "score": score},
            "required": ["reasoning", "score"],
            "additionalProperties": false,
        })
    }
}

impl fmt::Display for Scale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scale::PassFail => f.write_str("pass/fail"),
            Scale::Points { min, max } => write!(f, "{min}..={max} points"),
            Scale::Continuous { min, max } => write!(f, "{min}..={max}"),
        }
    }
}

/// A verdict read from a reply and put on the scale.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Verdict {
    pub(crate) score: Score,
    pub(crate) reasoning: String,
    /// What was changed to put the score on the scale (`clamped 7 to 5`), if anything.
    pub(crate) adjusted: Option<String>,
}

/// A verdict's score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Score {
    Pass(bool),
    Number(f64),
}

/// Reads the verdict in `reply` and puts it on `scale`; `Err` says why the reply is not one,
/// in words the model is told when asked again.
pub(crate) fn read_verdict(reply: &str, scale: &Scale) -> Result<Verdict, String> {
    let object = find_object(reply, "score").ok_or_else(|| {
        "the reply holds no JSON object; reply with exactly one object {\"reasoning\": …, \"score\": …}".to_owned()
    })?;
    let reasoning = reasoning_in(&object);
    let score = object
        .get("score")
        .ok_or_else(|| "the object has no `score` field".to_owned())?;
    let (score, adjusted) = on_scale(score, scale)?;
    Ok(Verdict {
        score,
        reasoning,
        adjusted,
    })
}

/// The reasoning a verdict object gives, under any of the names models use for it.
pub(crate) fn reasoning_in(object: &Map<String, Value>) -> String {
    ["reasoning", "reason", "explanation", "rationale"]
        .iter()
        .find_map(|name| object.get(*name))
        .map(|value| match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        })
        .unwrap_or_default()
}

/// The first JSON object in `reply` that has the field `wanted`: the whole reply, else inside
/// a code fence, else the first balanced `{…}` that parses.
pub(crate) fn find_object(reply: &str, wanted: &str) -> Option<Map<String, Value>> {
    let as_object = |text: &str| match serde_json::from_str::<Value>(text.trim()) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    };
    if let Some(map) = as_object(reply) {
        return Some(map);
    }
    let mut fallback = None;
    for (start, _) in reply.match_indices('{') {
        if let Some(end) = balanced_end(&reply[start..])
            && let Some(map) = as_object(&reply[start..start + end])
        {
            if map.contains_key(wanted) {
                return Some(map);
            }
            fallback.get_or_insert(map);
        }
    }
    fallback
}

/// The length of the balanced `{…}` that `text` starts with, strings and escapes respected.
fn balanced_end(text: &str) -> Option<usize> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, c) in text.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' => depth += 1,
            '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

fn on_scale(score: &Value, scale: &Scale) -> Result<(Score, Option<String>), String> {
    match scale {
        Scale::PassFail => pass_or_fail(score).map(|pass| (Score::Pass(pass), None)),
        Scale::Points { min, max } => {
            let n = number(score)?;
            #[allow(clippy::cast_precision_loss)]
            let (lo, hi) = (*min as f64, *max as f64);
            let rounded = n.round();
            let clamped = rounded.clamp(lo, hi);
            let adjusted = if rounded != n && clamped != rounded {
                Some(format!("rounded {n} and clamped it to {clamped} (scale {scale})"))
            } else if rounded != n {
                Some(format!("rounded {n} to {rounded} (scale {scale})"))
            } else if clamped != n {
                Some(format!("clamped {n} to {clamped} (scale {scale})"))
            } else {
                None
            };
            Ok((Score::Number(clamped), adjusted))
        }
        Scale::Continuous { min, max } => {
            let n = number(score)?;
            let clamped = n.clamp(*min, *max);
            let adjusted = (clamped != n).then(|| format!("clamped {n} to {clamped} (scale {scale})"));
            Ok((Score::Number(clamped), adjusted))
        }
    }
}

fn number(score: &Value) -> Result<f64, String> {
    let n = match score {
        Value::Number(n) => n.as_f64(),
        Value::String(text) => text.trim().parse::<f64>().ok(),
        _ => None,
    };
    n.filter(|n| n.is_finite())
        .ok_or_else(|| format!("`score` is {score}, not a number"))
}

fn pass_or_fail(score: &Value) -> Result<bool, String> {
    match score {
        Value::Bool(pass) => Ok(*pass),
        Value::String(text) => match text.trim().to_lowercase().as_str() {
            "true" | "pass" | "passed" | "yes" => Ok(true),
            "false" | "fail" | "failed" | "no" => Ok(false),
            _ => Err(format!("`score` is {score}, not true or false")),
        },
        Value::Number(n) if n.as_f64() == Some(1.0) => Ok(true),
        Value::Number(n) if n.as_f64() == Some(0.0) => Ok(false),
        _ => Err(format!("`score` is {score}, not true or false")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(reply: &str) -> Result<Verdict, String> {
        read_verdict(reply, &Scale::points(1, 5))
    }

    #[test]
    fn reads_a_well_formed_verdict() {
        let verdict = points(r#"{"reasoning": "names the city", "score": 4}"#).unwrap();
        assert_eq!(verdict.score, Score::Number(4.0));
        assert_eq!(verdict.reasoning, "names the city");
        assert_eq!(verdict.adjusted, None);
    }

    #[test]
    fn finds_the_verdict_in_prose_and_fences() {
        let fenced = "Here is my verdict:\n```json\n{\"reasoning\": \"ok {fine}\", \"score\": \"3\"}\n```";
        assert_eq!(points(fenced).unwrap().score, Score::Number(3.0));
        let after_other = r#"I considered {"a": 1} first. Verdict: {"reason": "short", "score": 2} done"#;
        let verdict = points(after_other).unwrap();
        assert_eq!(
            (verdict.score, verdict.reasoning.as_str()),
            (Score::Number(2.0), "short")
        );
    }

    #[test]
    fn puts_scores_on_the_scale_saying_so() {
        let high = points(r#"{"reasoning": "", "score": 7}"#).unwrap();
        assert_eq!(high.score, Score::Number(5.0));
        assert_eq!(high.adjusted.as_deref(), Some("clamped 7 to 5 (scale 1..=5 points)"));
        let fraction = points(r#"{"reasoning": "", "score": 3.6}"#).unwrap();
        assert_eq!(fraction.score, Score::Number(4.0));
        assert!(fraction.adjusted.unwrap().starts_with("rounded 3.6 to 4"));
        let unit = read_verdict(r#"{"score": -0.5}"#, &Scale::continuous(0.0, 1.0)).unwrap();
        assert_eq!(unit.score, Score::Number(0.0));
        let pass = read_verdict(r#"{"score": "PASS"}"#, &Scale::PassFail).unwrap();
        assert_eq!(pass.score, Score::Pass(true));
    }

    #[test]
    fn says_why_a_reply_is_not_a_verdict() {
        assert!(points("I think it is good.").unwrap_err().contains("no JSON object"));
        assert!(points(r#"{"reasoning": "x"}"#).unwrap_err().contains("no `score`"));
        assert!(points(r#"{"score": "good"}"#).unwrap_err().contains("not a number"));
        assert!(
            read_verdict(r#"{"score": 3}"#, &Scale::PassFail)
                .unwrap_err()
                .contains("not true or false")
        );
        assert!(points(r#"{"score": "NaN"}"#).is_err());
        assert!(points("{ unbalanced").is_err());
    }
}
