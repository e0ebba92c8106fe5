//! Names that become file names (run ids, labels, suite names) must be plain file names.

use thiserror::Error;

/// A run id, label or suite name that cannot be used as a file name.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{what} `{name}` is not a plain file name: {why}")]
pub struct InvalidName {
    /// What the name is for (`run id`, `label`, `suite name`).
    pub what: &'static str,
    /// The name given.
    pub name: String,
    /// What is wrong with it.
    pub why: &'static str,
}

/// Accepts `name` only if it is a plain file name: not empty, not `.` or `..`, no path
/// separators, no control characters, at most 200 bytes.
pub fn check_file_name(what: &'static str, name: &str) -> Result<(), InvalidName> {
    let why = if name.is_empty() {
        Some("it is empty")
    } else if name == "." || name == ".." {
        Some("it names a directory")
    } else if name.contains(['/', '\\']) {
        Some("it contains a path separator")
    } else if name.chars().any(|c| c.is_control()) {
        Some("it contains a control character")
    } else if name.contains([':', '*', '?', '"', '<', '>', '|']) {
        Some("it contains a character Windows does not allow in file names")
    } else if name.len() > 200 {
        Some("it is longer than 200 bytes")
    } else {
        None
    };
    match why {
        Some(why) => Err(InvalidName {
            what,
            name: name.to_owned(),
            why,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_pass_and_paths_do_not() {
        assert!(check_file_name("run id", "01JABCDEF").is_ok());
        assert!(check_file_name("run id", "nightly-2026.11").is_ok());
        for bad in ["", ".", "..", "a/b", "..\\x", "a\nb", "c:d"] {
            let err = check_file_name("run id", bad).unwrap_err();
            assert!(err.to_string().starts_with("run id `"), "{err}");
        }
    }
}
