//! Keeping secrets out of recordings: what a redaction hook removes from a request is neither
//! part of its key nor written to disk.

use serde_json::Value;

/// Object keys the default redaction drops wherever they appear in a request, compared
/// case-insensitively. Exact names, so that `max_tokens` stays while `token` goes.
pub const DEFAULT_SECRET_KEYS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "api_key",
    "api-key",
    "apikey",
    "x-api-key",
    "password",
    "secret",
    "client_secret",
    "token",
    "access_token",
    "refresh_token",
    "cookie",
    "set-cookie",
];

/// The default redaction: removes every object entry whose key is one of
/// [`DEFAULT_SECRET_KEYS`], at any depth.
///
/// A custom hook can start from it:
///
/// ```
/// use eval_engine::{CassetteMode, Cassettes, cassette::redact_secrets};
/// use serde_json::{json, Value};
///
/// let cassettes = Cassettes::new("tests/cassettes/weather", CassetteMode::Auto).with_redaction(
///     |_kind: &str, request: &mut Value| {
///         redact_secrets(request);
///         // A per-run id would make every key new.
///         if let Some(fields) = request.as_object_mut() {
///             fields.remove("request_id");
///         }
///     },
/// );
/// let with = json!({"q": "hi", "request_id": "r-19", "headers": {"Authorization": "Bearer sk-1"}});
/// let without = json!({"q": "hi", "headers": {}});
/// assert_eq!(cassettes.key("model", &with).unwrap(), cassettes.key("model", &without).unwrap());
/// ```
pub fn redact_secrets(request: &mut Value) {
    match request {
        Value::Object(fields) => {
            fields.retain(|key, _| !is_secret_key(key));
            fields.values_mut().for_each(redact_secrets);
        }
        Value::Array(items) => items.iter_mut().for_each(redact_secrets),
        _ => {}
    }
}

fn is_secret_key(key: &str) -> bool {
    DEFAULT_SECRET_KEYS
        .iter()
        .any(|secret| key.eq_ignore_ascii_case(secret))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_go_at_any_depth_and_other_keys_stay() {
        let mut request = json!({
            "model": "m",
            "max_tokens": 10,
            "API_KEY": "sk-1",
            "headers": {"X-Api-Key": "k", "Accept": "json"},
            "attempts": [{"password": "p", "user": "u"}]
        });
        redact_secrets(&mut request);
        assert_eq!(
            request,
            json!({"model": "m", "max_tokens": 10, "headers": {"Accept": "json"}, "attempts": [{"user": "u"}]})
        );
    }
}
