//! The four cassette modes and how `EVAL_CASSETTES` selects one.

use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// What [`Cassettes::replay`](super::Cassettes::replay) does with a call.
///
/// | mode | recording exists | recording missing |
/// |---|---|---|
/// | `auto` (default) | replay it | call, record, return |
/// | `strict` (default when `CI` is set) | replay it | error of the call, naming the key and the path |
/// | `record` | call, re-record, return | call, record, return |
/// | `off` | call | call |
///
/// "Record" means: record an `Ok`, or an error the caller classified as the service's answer
/// ([`Cassettes::replay_answers`](super::Cassettes::replay_answers)). Any other failed call is
/// returned as it is and writes nothing; in `record` mode the old recording stays.
///
/// ```
/// use eval_engine::CassetteMode;
///
/// assert_eq!("strict".parse::<CassetteMode>().unwrap(), CassetteMode::Strict);
/// assert_eq!(CassetteMode::resolve(None, true).unwrap(), CassetteMode::Strict);
/// assert_eq!(CassetteMode::resolve(Some("record"), true).unwrap(), CassetteMode::Record);
/// assert!(CassetteMode::resolve(Some("replay"), false).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CassetteMode {
    /// Replay what is recorded, record what is not. Never replaces a recording.
    Auto,
    /// Replay only: a call without a recording fails. What CI wants: no network, no cost.
    Strict,
    /// Always call and (re)write the recording.
    Record,
    /// Always call; read and write nothing.
    Off,
}

/// The environment variable that selects the mode.
pub const CASSETTES_VAR: &str = "EVAL_CASSETTES";

/// A value of `EVAL_CASSETTES` that is not a mode.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{CASSETTES_VAR}={value:?} is not a cassette mode; use auto, strict, record or off")]
pub struct UnknownCassetteMode {
    /// The value given.
    pub value: String,
}

impl CassetteMode {
    /// The mode when nothing is asked: `strict` in CI (so a missing recording fails rather than
    /// reaching the network), `auto` elsewhere.
    pub fn default_for(ci: bool) -> Self {
        if ci { CassetteMode::Strict } else { CassetteMode::Auto }
    }

    /// The mode that `value` (of `EVAL_CASSETTES`; `None` or blank when unset) asks for, given
    /// whether this is CI.
    pub fn resolve(value: Option<&str>, ci: bool) -> Result<Self, UnknownCassetteMode> {
        match value.map(str::trim).filter(|v| !v.is_empty()) {
            Some(value) => value.parse(),
            None => Ok(CassetteMode::default_for(ci)),
        }
    }

    /// The mode from `EVAL_CASSETTES`, with CI detected from `CI` or `TF_BUILD` (set and not
    /// `0` or `false`), the way the harness does.
    pub fn from_env() -> Result<Self, UnknownCassetteMode> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let flag = |name: &str| var(name).is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false"));
        CassetteMode::resolve(var(CASSETTES_VAR).as_deref(), flag("CI") || flag("TF_BUILD"))
    }

    /// The mode's name, as `EVAL_CASSETTES` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            CassetteMode::Auto => "auto",
            CassetteMode::Strict => "strict",
            CassetteMode::Record => "record",
            CassetteMode::Off => "off",
        }
    }
}

impl FromStr for CassetteMode {
    type Err = UnknownCassetteMode;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(CassetteMode::Auto),
            "strict" => Ok(CassetteMode::Strict),
            "record" => Ok(CassetteMode::Record),
            "off" => Ok(CassetteMode::Off),
            _ => Err(UnknownCassetteMode {
                value: value.to_owned(),
            }),
        }
    }
}

impl fmt::Display for CassetteMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mode_parses_from_its_name() {
        for mode in [
            CassetteMode::Auto,
            CassetteMode::Strict,
            CassetteMode::Record,
            CassetteMode::Off,
        ] {
            assert_eq!(mode.as_str().parse::<CassetteMode>(), Ok(mode));
            assert_eq!(mode.to_string().to_uppercase().parse::<CassetteMode>(), Ok(mode));
        }
    }

    #[test]
    fn unset_means_auto_outside_ci_and_strict_in_ci() {
        assert_eq!(CassetteMode::resolve(None, false), Ok(CassetteMode::Auto));
        assert_eq!(CassetteMode::resolve(Some(" "), true), Ok(CassetteMode::Strict));
        assert_eq!(CassetteMode::resolve(Some("off"), true), Ok(CassetteMode::Off));
    }

    #[test]
    fn an_unknown_value_names_the_variable_and_the_modes() {
        let err = CassetteMode::resolve(Some("replay"), false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "EVAL_CASSETTES=\"replay\" is not a cassette mode; use auto, strict, record or off"
        );
    }
}
