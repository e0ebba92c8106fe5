//! A weather assistant: a multi-step tool loop over a scripted model.
//!
//! Tools: `get_weather(city)` (current conditions, fails for unknown cities) and
//! `convert_temperature(celsius)` (to Fahrenheit). The scripted model reads the question and
//! the tool results so far, and either calls a tool or answers.

use eval_engine::Ctx;
use eval_engine::trace::{ModelResponse, TokenUsage};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::fmt;

/// The assistant's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    /// The city the answer is about (empty when the assistant could not tell).
    pub city: String,
    pub temp_c: Option<f64>,
    pub temp_f: Option<f64>,
    pub conditions: Option<String>,
    /// The text shown to the user.
    pub answer: String,
}

/// Why the assistant gave up.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentError {
    /// The model kept calling tools past the turn limit.
    TooManyTurns(usize),
}

impl fmt::Display for AgentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgentError::TooManyTurns(n) => write!(f, "no answer after {n} model turns"),
        }
    }
}

impl std::error::Error for AgentError {}

/// How the assistant is configured.
#[derive(Debug, Clone)]
pub struct WeatherAgent {
    pub model: &'static str,
    pub max_turns: usize,
    /// Simulated latency of one model call, in milliseconds.
    pub latency_ms: u64,
}

impl Default for WeatherAgent {
    fn default() -> Self {
        WeatherAgent {
            model: "scripted-weather-1",
            max_turns: 6,
            latency_ms: 5,
        }
    }
}

/// What the model sees: the question and every tool outcome so far.
#[derive(Debug, Clone)]
enum Step {
    ToolResult { name: &'static str, result: Value },
    ToolError { name: &'static str, message: String },
}

/// What the model decides.
#[derive(Debug, Clone)]
enum Decision {
    CallTool { name: &'static str, arguments: Value },
    Answer(Forecast),
}

impl WeatherAgent {
    /// Answers `question`, recording every model call, tool call and token count on `ctx`.
    pub async fn ask(&self, question: &str, ctx: &Ctx) -> Result<Forecast, AgentError> {
        let mut steps: Vec<Step> = Vec::new();
        for turn in 0..self.max_turns {
            tokio::time::sleep(std::time::Duration::from_millis(self.latency_ms)).await;
            let decision = scripted_model(question, &steps);
            ctx.usage_detailed(TokenUsage {
                input: prompt_tokens(question, &steps),
                output: 12 + 3 * turn as u64,
                cache_creation: 0,
                cache_read: if turn > 0 { 40 } else { 0 },
            });
            match decision {
                Decision::CallTool { name, arguments } => {
                    ctx.model_response_from(ModelResponse {
                        model: Some(self.model.to_owned()),
                        text: None,
                        finish_reason: Some("tool_calls".to_owned()),
                    });
                    ctx.tool_call(name, arguments.clone());
                    match run_tool(name, &arguments) {
                        Ok(result) => {
                            ctx.tool_result(name, result.clone());
                            steps.push(Step::ToolResult { name, result });
                        }
                        Err(message) => {
                            ctx.tool_error(name, message.clone());
                            steps.push(Step::ToolError { name, message });
                        }
                    }
                }
                Decision::Answer(forecast) => {
                    ctx.model_response_from(ModelResponse {
                        model: Some(self.model.to_owned()),
                        text: Some(forecast.answer.clone()),
                        finish_reason: Some("stop".to_owned()),
                    });
                    return Ok(forecast);
                }
            }
        }
        Err(AgentError::TooManyTurns(self.max_turns))
    }
}

/// Conditions the `get_weather` tool knows: city → (°C, conditions).
const STATIONS: &[(&str, f64, &str)] = &[
    ("Paris", 18.0, "sunny"),
    ("London", 12.5, "rain"),
    ("Tokyo", 22.0, "cloudy"),
    ("Oslo", -3.5, "snow"),
    ("Cairo", 35.0, "sunny"),
    ("Lima", 19.0, "fog"),
    ("Sydney", 25.5, "windy"),
    ("New York", 9.0, "cloudy"),
];

fn run_tool(name: &str, arguments: &Value) -> Result<Value, String> {
    match name {
        "get_weather" => {
            let city = arguments["city"].as_str().unwrap_or_default();
            STATIONS
                .iter()
                .find(|(known, _, _)| known.eq_ignore_ascii_case(city))
                .map(|(known, temp_c, conditions)| json!({"city": known, "temp_c": temp_c, "conditions": conditions}))
                .ok_or_else(|| format!("no weather station for `{city}`"))
        }
        "convert_temperature" => {
            let celsius = arguments["celsius"].as_f64().ok_or("`celsius` must be a number")?;
            Ok(json!({"fahrenheit": celsius * 9.0 / 5.0 + 32.0}))
        }
        other => Err(format!("unknown tool `{other}`")),
    }
}

/// The model: finds the city in the question, looks the weather up, converts when asked for
/// Fahrenheit, then answers. Like a real model it has blind spots: it only reads the first
/// city of a question, and it takes the last capitalised word when no known city is named.
fn scripted_model(question: &str, steps: &[Step]) -> Decision {
    let wants_fahrenheit = question.to_lowercase().contains("fahrenheit");
    let city = guess_city(question);
    let weather = steps.iter().find_map(|s| match s {
        Step::ToolResult {
            name: "get_weather",
            result,
        } => Some(result.clone()),
        _ => None,
    });
    let failed = steps.iter().find_map(|s| match s {
        Step::ToolError {
            name: "get_weather",
            message,
        } => Some(message.clone()),
        _ => None,
    });
    if let Some(message) = failed {
        return Decision::Answer(Forecast {
            city: city.clone(),
            temp_c: None,
            temp_f: None,
            conditions: None,
            answer: format!("Sorry, I could not get the weather for {city}: {message}."),
        });
    }
    let Some(weather) = weather else {
        return Decision::CallTool {
            name: "get_weather",
            arguments: json!({ "city": city }),
        };
    };
    let temp_c = weather["temp_c"].as_f64();
    let converted = steps.iter().find_map(|s| match s {
        Step::ToolResult {
            name: "convert_temperature",
            result,
        } => result["fahrenheit"].as_f64(),
        _ => None,
    });
    if wants_fahrenheit
        && converted.is_none()
        && let Some(celsius) = temp_c
    {
        return Decision::CallTool {
            name: "convert_temperature",
            arguments: json!({ "celsius": celsius }),
        };
    }
    let city = weather["city"].as_str().unwrap_or(&city).to_owned();
    let conditions = weather["conditions"].as_str().map(str::to_owned);
    let reading = match (converted, temp_c) {
        (Some(f), _) => format!("{f:.1}°F"),
        (None, Some(c)) => format!("{c:.1}°C"),
        (None, None) => "an unknown temperature".to_owned(),
    };
    Decision::Answer(Forecast {
        answer: format!(
            "It is {reading} and {} in {city}.",
            conditions.as_deref().unwrap_or("unknown")
        ),
        city,
        temp_c,
        temp_f: converted,
        conditions,
    })
}

fn guess_city(question: &str) -> String {
    let lower = question.to_lowercase();
    let known = STATIONS
        .iter()
        .filter_map(|(city, _, _)| lower.find(&city.to_lowercase()).map(|at| (at, *city)))
        .min_by_key(|(at, _)| *at);
    if let Some((_, city)) = known {
        return city.to_owned();
    }
    question
        .split(|c: char| !c.is_alphanumeric())
        .rfind(|w| w.starts_with(char::is_uppercase) && w.len() > 1)
        .unwrap_or("")
        .to_owned()
}

/// A rough token count of what the model reads.
fn prompt_tokens(question: &str, steps: &[Step]) -> u64 {
    let words = |s: &str| s.split_whitespace().count() as u64;
    let history: u64 = steps
        .iter()
        .map(|s| match s {
            Step::ToolResult { result, .. } => words(&result.to_string()) + 4,
            Step::ToolError { message, .. } => words(message) + 4,
        })
        .sum();
    20 + words(question) + history
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_with_tools_and_records_the_trace() {
        let ctx = Ctx::new("t", 1);
        let agent = WeatherAgent {
            latency_ms: 0,
            ..WeatherAgent::default()
        };
        let forecast = agent
            .ask("What's the weather in Oslo, in Fahrenheit?", &ctx)
            .await
            .unwrap();
        assert_eq!(forecast.city, "Oslo");
        assert_eq!(forecast.temp_f, Some(25.7));
        assert_eq!(forecast.answer, "It is 25.7°F and snow in Oslo.");
        let trace = eval_engine::Trace::new(ctx.events(), None, 0);
        let tools: Vec<&str> = trace.tool_calls().map(|c| c.name.as_str()).collect();
        assert_eq!(tools, ["get_weather", "convert_temperature"]);
        assert!(trace.tokens.total() > 0);
    }

    #[tokio::test]
    async fn unknown_cities_are_a_tool_error_and_an_apology() {
        let ctx = Ctx::new("t", 1);
        let forecast = WeatherAgent::default().ask("Weather in Atlantis?", &ctx).await.unwrap();
        assert_eq!(forecast.city, "Atlantis");
        assert!(forecast.answer.starts_with("Sorry"));
        assert_eq!(eval_engine::Trace::new(ctx.events(), None, 0).tool_errors().count(), 1);
    }
}
