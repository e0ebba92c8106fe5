//! A tiny OpenAI-compatible endpoint on `127.0.0.1`, answering deterministically and counting
//! the requests it gets: what the tests record against, and what re-records the committed
//! cassettes without an account (`cargo run -p http-agent-example --bin fake-openai`).
//!
//! It serves `POST /v1/chat/completions` with a scripted model: to a question naming a city it
//! answers with a `get_weather` tool call; once a tool result is in the conversation it answers in
//! one sentence; a question mentioning "overloaded" gets `503` with an OpenAI-style error body.
//! Asked by a judge (a system message that starts with "You grade"), it gives a verdict
//! `{"reasoning", "score"}` from 1 to 5 on how fully the response answers a weather question.
//! Started with [`FakeOpenAi::start_requiring_key`], it answers `401` to a request without that
//! key, as a real endpoint does.
//! One request per connection (`Connection: close`), which is all the client needs.

use crate::client::{ChatRequest, ChatResponse, Choice, FunctionCall, Message, ToolCall, Usage};
use serde_json::{Value, json};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// A running fake endpoint. Dropping it (or [`FakeOpenAi::stop`]) closes the port.
#[derive(Debug)]
pub struct FakeOpenAi {
    addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    server: JoinHandle<()>,
}

impl FakeOpenAi {
    /// Serves on a free port of `127.0.0.1`.
    pub async fn start() -> io::Result<Self> {
        FakeOpenAi::start_on(0).await
    }

    /// Serves on `127.0.0.1:port` (0: any free port).
    pub async fn start_on(port: u16) -> io::Result<Self> {
        FakeOpenAi::listen(port, None).await
    }

    /// Serves on a free port of `127.0.0.1`, answering `401` to every request that does not
    /// carry `Authorization: Bearer <key>`.
    pub async fn start_requiring_key(key: impl Into<String>) -> io::Result<Self> {
        FakeOpenAi::listen(0, Some(Arc::from(key.into()))).await
    }

    async fn listen(port: u16, key: Option<Arc<str>>) -> io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(AtomicUsize::new(0));
        let server = tokio::spawn(serve(listener, requests.clone(), key));
        Ok(FakeOpenAi { addr, requests, server })
    }

    /// The base URL to give a client: `http://127.0.0.1:<port>/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// How many HTTP requests it has received.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Stops serving: the port is closed when this returns. Returns the request count.
    pub async fn stop(mut self) -> usize {
        self.server.abort();
        // The listener and every open connection are dropped with the aborted task.
        let _ = (&mut self.server).await;
        self.requests()
    }
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn serve(listener: TcpListener, requests: Arc<AtomicUsize>, key: Option<Arc<str>>) {
    // Owned here so that aborting the accept loop also ends the connections in flight.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let requests = requests.clone();
                let key = key.clone();
                connections.spawn(async move {
                    let _ = answer(stream, &requests, key.as_deref()).await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Reads one HTTP/1.1 request from `stream` and writes the response; `key`, when set, is the
/// API key the request must carry.
async fn answer(stream: TcpStream, requests: &AtomicUsize, key: Option<&str>) -> io::Result<()> {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).await?;
    let mut content_length = 0;
    let mut bearer = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).await? == 0 || header == "\r\n" || header == "\n" {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name.eq_ignore_ascii_case("content-length") {
            content_length = value.trim().parse().unwrap_or(0);
        } else if name.eq_ignore_ascii_case("authorization") {
            bearer = value.trim().strip_prefix("Bearer ").map(str::to_owned);
        }
    }
    let mut body = vec![0; content_length];
    reader.read_exact(&mut body).await?;
    requests.fetch_add(1, Ordering::SeqCst);

    let mut parts = request_line.split_whitespace();
    let (status, reply) = match (parts.next(), parts.next()) {
        // OpenAI's wording; the key given is not echoed.
        _ if key.is_some() && bearer.is_none() => (401, error_body("You didn't provide an API key.")),
        _ if key.is_some() && bearer.as_deref() != key => (401, error_body("Incorrect API key provided.")),
        (Some("POST"), Some("/v1/chat/completions")) => match serde_json::from_slice::<ChatRequest>(&body) {
            Ok(request) => complete(&request),
            Err(e) => (400, error_body(&format!("not a chat completion request: {e}"))),
        },
        _ => (404, error_body("only POST /v1/chat/completions is served here")),
    };
    let body = reply.to_string();
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Service Unavailable",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let mut stream = reader.into_inner();
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

fn error_body(message: &str) -> Value {
    json!({"error": {"message": message, "type": "invalid_request_error"}})
}

/// The scripted model: a status and a JSON body.
fn complete(request: &ChatRequest) -> (u16, Value) {
    let grading = request
        .messages
        .first()
        .is_some_and(|m| m.role == "system" && m.content.as_deref().is_some_and(|c| c.starts_with("You grade")));
    if grading {
        return (
            200,
            reply(request, Message::text("assistant", verdict(request)), "stop"),
        );
    }
    let question = request
        .messages
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .and_then(|m| m.content.clone())
        .unwrap_or_default();
    if question.to_lowercase().contains("overloaded") {
        let body = json!({"error": {"message": "The server is overloaded. Try again later.", "type": "server_error"}});
        return (503, body);
    }
    let tool_result = request.messages.iter().rev().find(|m| m.role == "tool");
    let (message, finish_reason) = match (tool_result, city_in(&question)) {
        (Some(result), _) => {
            let result: Value = result
                .content
                .as_deref()
                .and_then(|c| serde_json::from_str(c).ok())
                .unwrap_or_default();
            let text = match (&result["city"], result["temp_c"].as_f64(), &result["conditions"]) {
                (Value::String(city), Some(temp), Value::String(conditions)) => {
                    format!("It is {temp}°C and {conditions} in {city}.")
                }
                _ => format!(
                    "Sorry, I could not get the weather: {}.",
                    result["error"].as_str().unwrap_or("the tool failed")
                ),
            };
            (Message::text("assistant", text), "stop")
        }
        (None, Some(city)) => {
            let call = ToolCall {
                id: format!("call_{}", request.messages.len()),
                kind: "function".to_owned(),
                function: FunctionCall {
                    name: "get_weather".to_owned(),
                    arguments: json!({ "city": city }).to_string(),
                },
            };
            let message = Message {
                content: None,
                tool_calls: vec![call],
                ..Message::text("assistant", "")
            };
            (message, "tool_calls")
        }
        (None, None) => (
            Message::text("assistant", "Which city would you like the weather for?"),
            "stop",
        ),
    };
    (200, reply(request, message, finish_reason))
}

/// A completion saying `message`, with usage estimated from the characters (four per token).
fn reply(request: &ChatRequest, message: Message, finish_reason: &str) -> Value {
    let prompt_chars: usize = request
        .messages
        .iter()
        .map(|m| m.content.as_deref().map_or(0, str::len))
        .sum();
    let completion_chars = message.content.as_deref().map_or(24, str::len);
    let response = ChatResponse {
        model: request.model.clone(),
        choices: vec![Choice {
            message,
            finish_reason: Some(finish_reason.to_owned()),
        }],
        usage: Some(Usage {
            prompt_tokens: (prompt_chars / 4 + 1) as u64,
            completion_tokens: (completion_chars / 4 + 1) as u64,
        }),
    };
    // Fields a real endpoint sends that the client ignores, so the client is tested against them.
    let mut body = serde_json::to_value(response).unwrap_or_default();
    body["id"] = json!("chatcmpl-fake");
    body["object"] = json!("chat.completion");
    body
}

/// A judge's verdict on the response in the prompt: 5 when it gives the conditions and the
/// temperature, 4 when it asks which city, 2 when it apologises, 1 otherwise.
fn verdict(request: &ChatRequest) -> String {
    let prompt = request
        .messages
        .get(1)
        .and_then(|m| m.content.as_deref())
        .unwrap_or_default();
    let response = prompt.rsplit("## The agent's response").next().unwrap_or_default();
    let (score, reasoning) = if response.contains("°C") {
        (5, "It gives the conditions and the temperature the user asked for.")
    } else if response.contains("Which city") {
        (4, "No city was named, and it asks for one.")
    } else if response.contains("Sorry") {
        (2, "It apologises instead of answering.")
    } else {
        (1, "It does not answer the question.")
    };
    json!({"reasoning": reasoning, "score": score}).to_string()
}

/// The capitalised word after " in " in `question` ("What's the weather in Paris?" → Paris).
fn city_in(question: &str) -> Option<String> {
    let (_, after) = question.rsplit_once(" in ")?;
    let word: String = after.chars().take_while(|c| c.is_alphabetic()).collect();
    word.starts_with(char::is_uppercase).then_some(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_city_is_the_capitalised_word_after_in() {
        assert_eq!(city_in("What's the weather in Paris?").as_deref(), Some("Paris"));
        assert_eq!(city_in("Is it cold in Oslo today").as_deref(), Some("Oslo"));
        assert_eq!(city_in("What's it like in general?"), None);
        assert_eq!(city_in("Hello"), None);
    }
}
