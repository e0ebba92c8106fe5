//! A variant of a suite: one configuration of the agent (a model, a prompt, a set of tools)
//! under a name. A suite run once per variant answers "is the cheaper model good enough?" with
//! runs that can be compared; the agent reads its variant from its context.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// The most bytes a variant's name may have: it becomes part of file and test names.
const MAX_NAME_LEN: usize = 64;

/// One configuration of the agent under evaluation, with the name its runs and tests carry.
///
/// ```
/// use eval_engine::variant::Variant;
/// use serde_json::json;
///
/// let cheap = Variant::new("gpt-4o-mini", json!({"model": "gpt-4o-mini"})).unwrap();
/// assert_eq!(cheap.name(), "gpt-4o-mini");
/// assert_eq!(cheap.config()["model"], "gpt-4o-mini");
/// assert!(Variant::new("two words", json!(null)).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    name: String,
    config: Value,
    /// The id of the variants run this variant's run belongs to, once it is part of one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    group: Option<String>,
}

impl Variant {
    /// A variant named `name` (letters, digits, `.`, `_` and `-`, at most 64 bytes, starting
    /// with a letter or a digit) whose agent is configured by `config`.
    pub fn new(name: impl Into<String>, config: impl Serialize) -> Result<Variant, VariantError> {
        let name = name.into();
        check_variant_name(&name)?;
        let config = serde_json::to_value(config).map_err(|e| VariantError::Config {
            name: name.clone(),
            why: e.to_string(),
        })?;
        Ok(Variant {
            name,
            config,
            group: None,
        })
    }

    /// The variant's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The configuration the agent reads.
    pub fn config(&self) -> &Value {
        &self.config
    }

    /// The id of the variants run this variant ran in, if it ran as one of several.
    pub fn group(&self) -> Option<&str> {
        self.group.as_deref()
    }

    /// The same variant, as part of the variants run `group`.
    pub fn in_group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }
}

/// Why a variant cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VariantError {
    /// The name cannot name files and tests.
    #[error("variant name `{name}` is not allowed: {why}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The configuration is not JSON.
    #[error("variant `{name}`: its configuration cannot be turned into JSON: {why}")]
    Config {
        /// The variant's name.
        name: String,
        /// serde_json's reason.
        why: String,
    },
}

/// Checks that `name` can name a variant: it ends up in run file names, in snapshot names
/// (`evals__weather@<name>.snap`) and, made an identifier, in test names.
pub fn check_variant_name(name: &str) -> Result<(), VariantError> {
    let why = if name.is_empty() {
        Some("it is empty")
    } else if name.len() > MAX_NAME_LEN {
        Some("it is longer than 64 bytes")
    } else if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        Some("it must start with a letter or a digit")
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        Some("use only letters, digits, `.`, `_` and `-`")
    } else {
        None
    };
    match why {
        Some(why) => Err(VariantError::InvalidName {
            name: name.to_owned(),
            why,
        }),
        None => Ok(()),
    }
}

/// The runs of one variants run: the suite ran once per variant, each run saved on its own,
/// and this small file says which run is which variant's
/// (`<store>/<suite>.<group>.variants.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantGroup {
    /// The version of this file's shape ([`GROUP_SCHEMA_VERSION`]).
    pub schema_version: String,
    /// The variants run's id, which each of its runs records as its variant's `group`.
    pub group: String,
    /// The suite that ran.
    pub suite: String,
    /// When the variants run started (RFC 3339, UTC): the earliest of its runs.
    pub created_at: String,
    /// Each variant's run, in the suite's order of variants.
    pub runs: Vec<GroupedRun>,
}

/// The version of [`VariantGroup`]'s file shape.
pub const GROUP_SCHEMA_VERSION: &str = "1";

/// One variant's run in a [`VariantGroup`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupedRun {
    /// The variant's name.
    pub variant: String,
    /// Its configuration.
    pub config: Value,
    /// The run's id.
    pub run_id: String,
    /// The run file, relative to the store's root.
    pub file: String,
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_that_can_name_files_and_tests() {
        for good in ["a", "gpt-4o-mini", "claude_3.5", "0shot", "A.b-c_d"] {
            assert!(check_variant_name(good).is_ok(), "{good}");
        }
        let why = |name: &str| match check_variant_name(name) {
            Err(VariantError::InvalidName { why, .. }) => why,
            other => panic!("{name}: {other:?}"),
        };
        assert_eq!(why(""), "it is empty");
        assert_eq!(why("-x"), "it must start with a letter or a digit");
        assert_eq!(why(".hidden"), "it must start with a letter or a digit");
        assert_eq!(why("a b"), "use only letters, digits, `.`, `_` and `-`");
        assert_eq!(why("a/b"), "use only letters, digits, `.`, `_` and `-`");
        assert_eq!(why("a@b"), "use only letters, digits, `.`, `_` and `-`");
        assert_eq!(why("é"), "it must start with a letter or a digit");
        assert_eq!(why(&"x".repeat(65)), "it is longer than 64 bytes");
    }

    #[test]
    fn the_group_is_written_only_when_there_is_one() {
        let variant = Variant::new("cheap", json!({"model": "mini"})).unwrap();
        assert_eq!(
            serde_json::to_value(&variant).unwrap(),
            json!({"name": "cheap", "config": {"model": "mini"}})
        );
        let grouped = variant.in_group("01G");
        let text = serde_json::to_string(&grouped).unwrap();
        assert_eq!(text, r#"{"name":"cheap","config":{"model":"mini"},"group":"01G"}"#);
        assert_eq!(serde_json::from_str::<Variant>(&text).unwrap(), grouped);
    }
}
