//! Canonical JSON and content hashes.
//!
//! Two JSON values that mean the same thing (keys in another order, `1` vs `1.0`) must hash the
//! same, or a reformatted dataset would look like content drift. The canonical form sorts object
//! keys, writes no whitespace and writes integral floats as integers.

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::Write as _;

/// Writes `value` in canonical form: sorted keys, no whitespace, integral numbers without `.0`.
///
/// ```
/// use serde_json::json;
/// let a = eval_engine::canonical::to_canonical_json(&json!({"b": 1.0, "a": [true, null]}));
/// assert_eq!(a, r#"{"a":[true,null],"b":1}"#);
/// ```
pub fn to_canonical_json(value: &Value) -> String {
    let mut out = Vec::new();
    write_canonical(value, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// SHA-256 (lowercase hex) of the canonical JSON of each value, each prefixed by its length so
/// that the boundary between values counts. Equal to [`sha256_hex`] of the canonical texts.
pub fn canonical_sha256_hex(values: &[&Value]) -> String {
    hex(&canonical_sha256(values))
}

/// The digest [`canonical_sha256_hex`] writes out.
pub(crate) fn canonical_sha256(values: &[&Value]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    // The length prefix comes before the text, so each value is written to a reused buffer first.
    let mut buffer = Vec::with_capacity(256);
    for value in values {
        buffer.clear();
        write_canonical(value, &mut buffer);
        hasher.update((buffer.len() as u64).to_le_bytes());
        hasher.update(&buffer);
    }
    hasher.finalize().into()
}

fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::String(s) => write_string(s, out),
        Value::Number(n) => match n.as_f64() {
            // 2^53: above it an f64 no longer holds every integer, so keep serde_json's form.
            Some(f) if !n.is_i64() && !n.is_u64() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
                let _ = write!(out, "{}", f as i64);
            }
            _ => {
                let _ = write!(out, "{n}");
            }
        },
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        // A map already in key order (most small ones) is written as it is, without sorting a
        // list of its entries first.
        Value::Object(map) if map.keys().is_sorted() => write_entries(map.iter(), out),
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            write_entries(entries.into_iter(), out);
        }
    }
}

fn write_entries<'a>(entries: impl Iterator<Item = (&'a String, &'a Value)>, out: &mut Vec<u8>) {
    out.push(b'{');
    for (i, (key, item)) in entries.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(key, out);
        out.push(b':');
        write_canonical(item, out);
    }
    out.push(b'}');
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    // serde_json's own escaping, written straight into the buffer.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// SHA-256 over the given parts, each prefixed by its length so that `("ab", "c")` and
/// `("a", "bc")` differ. Returned as lowercase hex.
pub fn sha256_hex(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hex(&hasher.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .flat_map(|&byte| hex_digits(byte))
        .map(char::from)
        .collect()
}

/// The two lowercase hex digits of `byte`.
pub(crate) fn hex_digits(byte: u8) -> [u8; 2] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    [DIGITS[usize::from(byte >> 4)], DIGITS[usize::from(byte & 0xf)]]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_and_integral_floats_do_not_change_the_form() {
        let a = json!({"x": 1, "y": {"b": [1.0, 2.5], "a": "s"}});
        let b: Value = serde_json::from_str(r#"{"y":{"a":"s","b":[1,2.5]},"x":1.0}"#).unwrap();
        assert_eq!(to_canonical_json(&a), to_canonical_json(&b));
        assert_eq!(to_canonical_json(&a), r#"{"x":1,"y":{"a":"s","b":[1,2.5]}}"#);
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(to_canonical_json(&json!({"k\"": "a\nb"})), r#"{"k\"":"a\nb"}"#);
    }

    #[test]
    fn streamed_hash_equals_hash_of_the_text() {
        let a = json!({"b": [1.0, "x\"y"], "a": null});
        let b = json!("tail");
        assert_eq!(
            canonical_sha256_hex(&[&a, &b]),
            sha256_hex(&[&to_canonical_json(&a), &to_canonical_json(&b)])
        );
    }

    #[test]
    fn hash_separates_parts() {
        assert_ne!(sha256_hex(&["ab", "c"]), sha256_hex(&["a", "bc"]));
        assert_eq!(sha256_hex(&["x"]).len(), 64);
    }
}
