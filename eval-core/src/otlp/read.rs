//! Reading OTLP JSON (`{"resourceSpans": [{"resource": {"attributes": […]}, "scopeSpans":
//! [{"spans": […]}]}]}`, the OTLP/HTTP JSON encoding a collector's file exporter writes, one
//! document per line or one per file) into spans with plain JSON attribute values.

use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// One span of an OTLP file.
#[derive(Debug, Clone, PartialEq)]
pub struct OtlpSpan {
    /// The trace it belongs to (hex).
    pub trace_id: String,
    /// Its id (hex).
    pub span_id: String,
    /// Its parent's id, empty for a root.
    pub parent_span_id: String,
    /// Its name.
    pub name: String,
    /// When it started and ended, in nanoseconds since the epoch.
    pub start_ns: u64,
    /// See `start_ns`.
    pub end_ns: u64,
    /// Its attributes, then its resource's (a span's own come first), as JSON values: strings,
    /// numbers, booleans, arrays and objects.
    pub attributes: Vec<(String, Value)>,
    /// The status message when the span ended in error (status code 2).
    pub error: Option<String>,
    /// The file it was read from.
    pub file: PathBuf,
}

impl OtlpSpan {
    /// The value of attribute `key`, if the span or its resource has it.
    pub fn attribute(&self, key: &str) -> Option<&Value> {
        self.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The span as messages name it: its name and id.
    pub fn describe(&self) -> String {
        format!("span `{}` ({})", self.name, self.span_id)
    }
}

/// Why an OTLP file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum OtlpError {
    /// The file or directory could not be read.
    #[error("cannot read {path}: {why}")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The system's reason.
        why: String,
    },
    /// The file is not OTLP JSON (or is cut short).
    #[error("{path}{}: not OTLP JSON: {why}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    NotOtlp {
        /// The file.
        path: PathBuf,
        /// The line of the document, for a file of one document per line.
        line: Option<usize>,
        /// What is wrong.
        why: String,
    },
}

/// The spans of the OTLP JSON file at `path`, or of every `.json`/`.jsonl` file in the
/// directory at `path` (sorted by name). A file is one OTLP document, or one per line.
pub fn read_spans(path: &Path) -> Result<Vec<OtlpSpan>, OtlpError> {
    let read_error = |path: &Path, e: std::io::Error| OtlpError::Read {
        path: path.to_owned(),
        why: e.to_string(),
    };
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| read_error(path, e))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|file| file.is_file() && file.extension().is_some_and(|ext| ext == "json" || ext == "jsonl"))
            .collect();
        files.sort();
        let mut spans = Vec::new();
        for file in files {
            spans.extend(read_file(&file)?);
        }
        return Ok(spans);
    }
    read_file(path)
}

fn read_file(path: &Path) -> Result<Vec<OtlpSpan>, OtlpError> {
    let text = std::fs::read_to_string(path).map_err(|e| OtlpError::Read {
        path: path.to_owned(),
        why: e.to_string(),
    })?;
    let not_otlp = |line: Option<usize>, why: String| OtlpError::NotOtlp {
        path: path.to_owned(),
        line,
        why,
    };
    // One document, or (a collector's file exporter) one per line.
    let documents: Vec<(Option<usize>, Value)> = match serde_json::from_str::<Value>(&text) {
        Ok(document) => vec![(None, document)],
        Err(whole) => {
            let mut documents = Vec::new();
            for (index, line) in text.lines().enumerate().filter(|(_, line)| !line.trim().is_empty()) {
                let document = serde_json::from_str(line).map_err(|e| {
                    let why = match text.lines().filter(|l| !l.trim().is_empty()).count() {
                        1 => whole.to_string(),
                        _ => e.to_string(),
                    };
                    not_otlp(Some(index + 1), why)
                })?;
                documents.push((Some(index + 1), document));
            }
            if documents.is_empty() {
                return Err(not_otlp(None, "the file is empty".to_owned()));
            }
            documents
        }
    };
    let mut spans = Vec::new();
    for (line, document) in documents {
        let resource_spans = document
            .get("resourceSpans")
            .and_then(Value::as_array)
            .ok_or_else(|| not_otlp(line, "no `resourceSpans` list".to_owned()))?;
        for resource_span in resource_spans {
            let resource = attributes(&resource_span["resource"]["attributes"]);
            let scopes = resource_span["scopeSpans"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            for scope in scopes {
                for span in scope["spans"].as_array().map(Vec::as_slice).unwrap_or_default() {
                    spans.push(parse_span(span, &resource, path).map_err(|why| not_otlp(line, why))?);
                }
            }
        }
    }
    Ok(spans)
}

fn parse_span(span: &Value, resource: &[(String, Value)], file: &Path) -> Result<OtlpSpan, String> {
    let text = |name: &str| span[name].as_str().unwrap_or_default().to_owned();
    let trace_id = text("traceId");
    let span_id = text("spanId");
    if trace_id.is_empty() || span_id.is_empty() {
        return Err(format!(
            "a span without `traceId` or `spanId` (`{}`)",
            span["name"].as_str().unwrap_or("unnamed")
        ));
    }
    let nanos = |name: &str| match &span[name] {
        Value::String(text) => text.parse().unwrap_or(0),
        Value::Number(n) => n.as_u64().unwrap_or(0),
        _ => 0,
    };
    let mut attributes = attributes(&span["attributes"]);
    attributes.extend(resource.iter().cloned());
    let error = match span["status"]["code"].as_u64() {
        Some(2) => Some(
            span["status"]["message"]
                .as_str()
                .unwrap_or("the span ended in error")
                .to_owned(),
        ),
        _ if span["status"]["code"] == "STATUS_CODE_ERROR" => Some(
            span["status"]["message"]
                .as_str()
                .unwrap_or("the span ended in error")
                .to_owned(),
        ),
        _ => None,
    };
    Ok(OtlpSpan {
        trace_id,
        span_id,
        parent_span_id: text("parentSpanId"),
        name: text("name"),
        start_ns: nanos("startTimeUnixNano"),
        end_ns: nanos("endTimeUnixNano"),
        attributes,
        error,
        file: file.to_owned(),
    })
}

/// OTLP's `[{"key": …, "value": {"stringValue": …}}, …]` as (key, JSON value) pairs.
fn attributes(list: &Value) -> Vec<(String, Value)> {
    list.as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|kv| Some((kv["key"].as_str()?.to_owned(), any_value(&kv["value"]))))
        .collect()
}

/// An OTLP `AnyValue` as plain JSON (an `intValue` is a string in OTLP JSON: read as a number).
fn any_value(value: &Value) -> Value {
    let Some(object) = value.as_object() else {
        return Value::Null;
    };
    if let Some(text) = object.get("stringValue") {
        return text.clone();
    }
    if let Some(int) = object.get("intValue") {
        return match int {
            Value::String(text) => text.parse::<i64>().map(Value::from).unwrap_or_else(|_| int.clone()),
            other => other.clone(),
        };
    }
    if let Some(double) = object.get("doubleValue") {
        return double.clone();
    }
    if let Some(flag) = object.get("boolValue") {
        return flag.clone();
    }
    if let Some(array) = object.get("arrayValue") {
        return Value::Array(
            array["values"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(any_value)
                .collect(),
        );
    }
    if let Some(list) = object.get("kvlistValue") {
        let map: Map<String, Value> = attributes(&list["values"]).into_iter().collect();
        return Value::Object(map);
    }
    Value::Null
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn attribute_values_become_plain_json() {
        let list = json!([
            {"key": "s", "value": {"stringValue": "x"}},
            {"key": "i", "value": {"intValue": "42"}},
            {"key": "d", "value": {"doubleValue": 0.5}},
            {"key": "b", "value": {"boolValue": true}},
            {"key": "a", "value": {"arrayValue": {"values": [{"stringValue": "stop"}]}}},
            {"key": "k", "value": {"kvlistValue": {"values": [{"key": "n", "value": {"intValue": 1}}]}}},
        ]);
        let read: Vec<(String, Value)> = attributes(&list);
        let values: Vec<Value> = read.into_iter().map(|(_, v)| v).collect();
        assert_eq!(
            values,
            [
                json!("x"),
                json!(42),
                json!(0.5),
                json!(true),
                json!(["stop"]),
                json!({"n": 1})
            ]
        );
    }

    #[test]
    fn a_truncated_file_or_one_that_is_not_otlp_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let cut = dir.path().join("cut.json");
        std::fs::write(&cut, r#"{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "#).unwrap();
        let error = read_spans(&cut).unwrap_err().to_string();
        assert!(
            error.starts_with(&format!("{}:1: not OTLP JSON: EOF", cut.display())),
            "{error}"
        );
        let other = dir.path().join("other.json");
        std::fs::write(&other, r#"{"tasks": []}"#).unwrap();
        assert_eq!(
            read_spans(&other).unwrap_err().to_string(),
            format!("{}: not OTLP JSON: no `resourceSpans` list", other.display())
        );
        let empty = dir.path().join("empty.jsonl");
        std::fs::write(&empty, "\n").unwrap();
        assert!(
            read_spans(&empty)
                .unwrap_err()
                .to_string()
                .ends_with("the file is empty")
        );
    }
}
