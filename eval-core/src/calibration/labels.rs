//! The labels file: what people said of each task, one JSON object a line.
//!
//! ```text
//! {"task_id": "paris", "key": "judge", "label": "pass"}
//! {"task_id": "rome", "key": "judge", "label": false}
//! {"task_id": "paris", "key": "helpfulness", "score": 4}
//! ```
//!
//! A line gives a category as `label` (a string; `true` and `false` are `"pass"` and `"fail"`)
//! or a number as `score`, never both. Other fields (the `inputs` and `outputs` of a label sheet)
//! are ignored. Blank lines are skipped, and so is a line whose `label` (or `score`) is `null`:
//! a line of a label sheet that nobody has filled in yet.

use super::error::CalibrationError;
use crate::dataset::json_kind;
use crate::regular_file::{Links, MAX_RUN_FILE_BYTES, OpenError, open_regular, read_capped};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

/// What a person (or a judge) said of one task: a category or a number.
#[derive(Debug, Clone, PartialEq)]
pub enum Label {
    /// A category: `pass`, `fail`, or any other name.
    Category(String),
    /// A number on some scale.
    Number(f64),
}

impl Label {
    /// `pass` or `fail`.
    pub fn pass_fail(passed: bool) -> Label {
        Label::Category(if passed { "pass" } else { "fail" }.to_owned())
    }

    /// The number, for a numeric label.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Label::Number(n) => Some(*n),
            Label::Category(_) => None,
        }
    }

    /// Whether this is a number.
    pub fn is_number(&self) -> bool {
        matches!(self, Label::Number(_))
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Label::Category(name) => f.write_str(name),
            // `4`, not `4.0`: scores are written as people wrote them.
            Label::Number(n) => write!(f, "{n}"),
        }
    }
}

impl Serialize for Label {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Label::Category(name) => serializer.serialize_str(name),
            Label::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => serializer.serialize_i64(*n as i64),
            Label::Number(n) => serializer.serialize_f64(*n),
        }
    }
}

/// One labelled line of a labels file.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelLine {
    /// The line, from 1.
    pub line: usize,
    /// The task labelled (its id without an attempt suffix).
    pub task_id: String,
    /// The feedback key the label is for.
    pub key: String,
    /// What the person said.
    pub label: Label,
}

/// A labels file, read and checked: every line well formed, no (task, key) labelled twice.
#[derive(Debug, Clone, PartialEq)]
pub struct Labels {
    path: PathBuf,
    lines: Vec<LabelLine>,
    unfilled: Vec<usize>,
}

impl Labels {
    /// Reads and checks the labels file at `path`. A FIFO, a device or a directory is refused
    /// without being read.
    pub fn load(path: impl AsRef<Path>) -> Result<Labels, CalibrationError> {
        let path = path.as_ref();
        let file = open_regular(path, std::fs::OpenOptions::new().read(true), Links::Follow).map_err(|e| match e {
            OpenError::NotRegular(kind) => CalibrationError::NotRegular {
                path: path.to_owned(),
                kind,
            },
            OpenError::Io(source) if source.kind() == std::io::ErrorKind::NotFound => {
                CalibrationError::NotFound { path: path.to_owned() }
            }
            OpenError::Io(source) => CalibrationError::Io {
                path: path.to_owned(),
                source,
            },
        })?;
        let bytes = read_capped(&file, MAX_RUN_FILE_BYTES)
            .map_err(|source| CalibrationError::Io {
                path: path.to_owned(),
                source,
            })?
            .ok_or_else(|| CalibrationError::TooLarge {
                path: path.to_owned(),
                limit: MAX_RUN_FILE_BYTES,
            })?;
        Labels::parse(path, &bytes)
    }

    /// Reads labels from `bytes`, the contents of the file at `path` (named in errors).
    pub fn parse(path: impl AsRef<Path>, bytes: &[u8]) -> Result<Labels, CalibrationError> {
        let path = path.as_ref();
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let mut labels = Labels {
            path: path.to_owned(),
            lines: Vec::new(),
            unfilled: Vec::new(),
        };
        let mut seen: HashMap<(String, String), usize> = HashMap::new();
        for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
            let line = index + 1;
            let text = std::str::from_utf8(raw).map_err(|_| CalibrationError::InvalidUtf8 {
                path: path.to_owned(),
                line,
            })?;
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            let (task_id, key, label) = parse_line(path, line, text)?;
            if let Some(first) = seen.insert((task_id.clone(), key.clone()), line) {
                return Err(CalibrationError::DuplicateLabel {
                    path: path.to_owned(),
                    task_id,
                    key,
                    first,
                    second: line,
                });
            }
            match label {
                Some(label) => labels.lines.push(LabelLine {
                    line,
                    task_id,
                    key,
                    label,
                }),
                None => labels.unfilled.push(line),
            }
        }
        Ok(labels)
    }

    /// The file the labels were read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every labelled line, in file order.
    pub fn lines(&self) -> &[LabelLine] {
        &self.lines
    }

    /// The labelled lines of `key`, in file order.
    pub fn for_key<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a LabelLine> + 'a {
        self.lines.iter().filter(move |line| line.key == key)
    }

    /// The keys labelled, sorted.
    pub fn keys(&self) -> Vec<String> {
        let keys: BTreeSet<&str> = self.lines.iter().map(|line| line.key.as_str()).collect();
        keys.into_iter().map(str::to_owned).collect()
    }

    /// The lines whose label is still `null` (a label sheet not filled in everywhere); they are
    /// left out of every comparison.
    pub fn unfilled_lines(&self) -> &[usize] {
        &self.unfilled
    }
}

/// One non-blank line: its task id, key, and label (`None` when it is `null`).
fn parse_line(path: &Path, line: usize, text: &str) -> Result<(String, String, Option<Label>), CalibrationError> {
    let value: Value = serde_json::from_str(text).map_err(|e| CalibrationError::InvalidJson {
        path: path.to_owned(),
        line,
        message: e.to_string(),
    })?;
    let Value::Object(object) = value else {
        return Err(CalibrationError::NotAnObject {
            path: path.to_owned(),
            line,
            found: json_kind(&value),
        });
    };
    let invalid = |field: &'static str, expected: &'static str, found: &Value| CalibrationError::InvalidField {
        path: path.to_owned(),
        line,
        field,
        expected,
        found: json_kind(found),
    };
    let text_field = |field: &'static str| match object.get(field) {
        None | Some(Value::Null) => Err(CalibrationError::MissingField {
            path: path.to_owned(),
            line,
            field,
        }),
        Some(Value::String(text)) => Ok(text.clone()),
        Some(other) => Err(invalid(field, "a string", other)),
    };
    let task_id = text_field("task_id")?;
    let key = text_field("key")?;
    let label = match object.get("label") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(passed)) => Some(Label::pass_fail(*passed)),
        Some(Value::String(name)) if !name.trim().is_empty() => Some(Label::Category(name.clone())),
        Some(other) => {
            let expected = match other {
                Value::Number(_) => "a string or true/false (a number goes in `score`)",
                _ => "a non-empty string or true/false",
            };
            return Err(invalid("label", expected, other));
        }
    };
    let score = match object.get("score") {
        None | Some(Value::Null) => None,
        // serde_json parses every JSON number into a finite f64.
        Some(Value::Number(n)) => n.as_f64().map(Label::Number),
        Some(other) => return Err(invalid("score", "a number", other)),
    };
    match (label, score) {
        (Some(_), Some(_)) => Err(CalibrationError::BothLabelAndScore {
            path: path.to_owned(),
            line,
        }),
        (Some(label), None) | (None, Some(label)) => Ok((task_id, key, Some(label))),
        (None, None) if has_neither(&object) => Err(CalibrationError::NeitherLabelNorScore {
            path: path.to_owned(),
            line,
        }),
        (None, None) => Ok((task_id, key, None)),
    }
}

fn has_neither(object: &Map<String, Value>) -> bool {
    !object.contains_key("label") && !object.contains_key("score")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Labels, CalibrationError> {
        Labels::parse("labels.jsonl", text.as_bytes())
    }

    fn error(text: &str) -> String {
        parse(text).expect_err("the labels are refused").to_string()
    }

    #[test]
    fn categories_numbers_and_booleans_are_read_and_blank_lines_skipped() {
        let labels = parse(concat!(
            "\u{feff}{\"task_id\": \"a\", \"key\": \"judge\", \"label\": \"pass\"}\n",
            "\n",
            "  {\"task_id\": \"b\", \"key\": \"judge\", \"label\": false, \"inputs\": {\"q\": 1}}\r\n",
            "{\"task_id\": \"c\", \"key\": \"judge\", \"label\": true}\n",
            "{\"task_id\": \"a\", \"key\": \"stars\", \"score\": 4}\n",
            "{\"task_id\": \"b\", \"key\": \"stars\", \"score\": 2.5, \"label\": null}\n",
            "{\"task_id\": \"c\", \"key\": \"tone\", \"label\": \"curt\"}\n",
        ))
        .unwrap();
        let read: Vec<(usize, &str, &str, Label)> = labels
            .lines()
            .iter()
            .map(|l| (l.line, l.task_id.as_str(), l.key.as_str(), l.label.clone()))
            .collect();
        assert_eq!(
            read,
            vec![
                (1, "a", "judge", Label::Category("pass".into())),
                (3, "b", "judge", Label::Category("fail".into())),
                (4, "c", "judge", Label::Category("pass".into())),
                (5, "a", "stars", Label::Number(4.0)),
                (6, "b", "stars", Label::Number(2.5)),
                (7, "c", "tone", Label::Category("curt".into())),
            ]
        );
        assert_eq!(labels.keys(), ["judge", "stars", "tone"]);
        assert_eq!(labels.for_key("stars").count(), 2);
        assert!(labels.unfilled_lines().is_empty());
        assert_eq!(Label::Number(4.0).to_string(), "4");
        assert_eq!(serde_json::to_string(&Label::Number(4.0)).unwrap(), "4");
        assert_eq!(serde_json::to_string(&Label::Number(2.5)).unwrap(), "2.5");
    }

    #[test]
    fn lines_of_a_sheet_left_null_are_skipped_and_counted() {
        let labels = parse(concat!(
            "{\"task_id\": \"a\", \"key\": \"judge\", \"label\": null}\n",
            "{\"task_id\": \"b\", \"key\": \"judge\", \"label\": \"fail\"}\n",
            "{\"task_id\": \"c\", \"key\": \"judge\", \"score\": null}\n",
        ))
        .unwrap();
        assert_eq!(labels.lines().len(), 1);
        assert_eq!(labels.unfilled_lines(), [1, 3]);
    }

    #[test]
    fn every_malformed_line_is_named_with_its_file_and_line() {
        let ok = "{\"task_id\": \"a\", \"key\": \"judge\", \"label\": \"pass\"}\n";
        let cases = [
            (
                format!("{ok}{{\"task_id\": \"b\", \"key\": \"judge\""),
                "labels.jsonl:2: not valid JSON: EOF while parsing an object",
            ),
            (
                format!("{ok}\n[1, 2]"),
                "labels.jsonl:3: a label must be a JSON object such as {\"task_id\": \"t1\", \"key\": \"judge\", \"label\": \"pass\"}, found an array",
            ),
            (
                "{\"key\": \"judge\", \"label\": \"pass\"}".to_owned(),
                "labels.jsonl:1: the label has no `task_id`",
            ),
            (
                format!("{ok}{{\"task_id\": \"b\", \"label\": \"pass\"}}"),
                "labels.jsonl:2: the label has no `key`",
            ),
            (
                "{\"task_id\": 7, \"key\": \"judge\", \"label\": \"pass\"}".to_owned(),
                "labels.jsonl:1: field `task_id` must be a string, found a number",
            ),
            (
                "{\"task_id\": \"a\", \"key\": [\"judge\"], \"label\": \"pass\"}".to_owned(),
                "labels.jsonl:1: field `key` must be a string, found an array",
            ),
            (
                "{\"task_id\": \"a\", \"key\": \"judge\", \"label\": 3}".to_owned(),
                "labels.jsonl:1: field `label` must be a string or true/false (a number goes in `score`), found a number",
            ),
            (
                "{\"task_id\": \"a\", \"key\": \"judge\", \"label\": \" \"}".to_owned(),
                "labels.jsonl:1: field `label` must be a non-empty string or true/false, found a string",
            ),
            (
                "{\"task_id\": \"a\", \"key\": \"judge\", \"score\": \"4\"}".to_owned(),
                "labels.jsonl:1: field `score` must be a number, found a string",
            ),
            (
                format!("{ok}{{\"task_id\": \"b\", \"key\": \"judge\", \"label\": \"pass\", \"score\": 1}}"),
                "labels.jsonl:2: the line has both a `label` and a `score`",
            ),
            (
                format!("{ok}{{\"task_id\": \"b\", \"key\": \"judge\"}}"),
                "labels.jsonl:2: the line has neither a `label` nor a `score`",
            ),
            (
                format!("{ok}\n{ok}"),
                "labels.jsonl: task `a` is labelled under key `judge` twice: at line 1 and again at line 3",
            ),
        ];
        for (text, expected) in cases {
            let error = error(&text);
            assert!(error.starts_with(expected), "{text:?}: {error}");
        }
        let not_utf8 = Labels::parse(
            "labels.jsonl",
            b"{\"task_id\": \"a\", \"key\": \"k\", \"score\": 1}\n\xff\xfe\n",
        )
        .unwrap_err();
        assert_eq!(not_utf8.to_string(), "labels.jsonl:2: the line is not valid UTF-8");
    }

    #[test]
    fn the_same_task_may_be_labelled_under_two_keys() {
        let labels = parse(concat!(
            "{\"task_id\": \"a\", \"key\": \"judge\", \"label\": \"pass\"}\n",
            "{\"task_id\": \"a\", \"key\": \"tone\", \"label\": \"pass\"}\n",
        ))
        .unwrap();
        assert_eq!(labels.lines().len(), 2);
    }

    #[test]
    fn a_missing_file_and_what_is_not_a_regular_file_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.jsonl");
        let error = Labels::load(&missing).unwrap_err();
        assert!(matches!(error, CalibrationError::NotFound { .. }), "{error}");
        assert!(error.to_string().contains("none.jsonl"), "{error}");
        let error = Labels::load(dir.path()).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "cannot read labels file {}: it is a directory, not a regular file",
                dir.path().display()
            )
        );
        let file = dir.path().join("labels.jsonl");
        std::fs::write(&file, "{\"task_id\": \"a\", \"key\": \"k\", \"score\": 1}\n").unwrap();
        assert_eq!(Labels::load(&file).unwrap().lines().len(), 1);
    }
}
