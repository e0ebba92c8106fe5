//! Test names: every segment of `<suite>::<task>::<scorer>` is a Rust identifier, computed the
//! same way here (trials) and in `eval-macros` (IDE anchors), so an IDE's "run this test" finds
//! its trial.

/// Turns an id or key into an identifier segment: lowercase ASCII letters, digits and `_`;
/// every run of other characters becomes one `_` between words and nothing at either end; a
/// leading digit gets a `_` prefix; keywords get a trailing `_`.
///
/// The twin of this function lives in `eval-macros` (`ident.rs`); a test pins that both agree.
///
/// ```
/// use eval_harness::names::ident_segment;
/// assert_eq!(ident_segment("Weather-001"), "weather_001");
/// assert_eq!(ident_segment("1st"), "_1st");
/// assert_eq!(ident_segment("match"), "match_");
/// assert_eq!(ident_segment("tool_called[get_weather]"), "tool_called_get_weather");
/// ```
pub fn ident_segment(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    // A run of other characters is one separator; none is kept at either end, so that
    // `tool_called[get_weather]` reads `tool_called_get_weather`, not `…_weather_`.
    let mut separated = false;
    for c in raw.chars() {
        match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '_' => {
                if separated && !out.is_empty() && !out.ends_with('_') {
                    out.push('_');
                }
                separated = false;
                out.push(c.to_ascii_lowercase());
            }
            _ => separated = true,
        }
    }
    if out.is_empty() || out == "_" {
        // Neither `` nor `_` is a name an item can have.
        out = "__".to_owned();
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if is_keyword(&out) {
        out.push('_');
    }
    out
}

fn is_keyword(word: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn",
        "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self",
        "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while", "abstract", "become",
        "box", "do", "final", "macro", "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
    ];
    KEYWORDS.contains(&word)
}

/// The path of a suite relative to its test crate's root: `module_path!()` without the crate
/// name, then the suite's function name (`evals::travel` + `paris` → `travel::paris`).
pub fn suite_path(module_path: &str, name: &str) -> String {
    match module_path.split_once("::") {
        Some((_crate_name, modules)) => format!("{modules}::{name}"),
        None => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments() {
        for (raw, expected) in [
            ("weather_001", "weather_001"),
            ("Weather 001", "weather_001"),
            ("reg-2", "reg_2"),
            ("", "__"),
            ("_", "__"),
            ("-", "__"),
            ("9", "_9"),
            ("self", "self_"),
            ("gen", "gen_"),
            ("Paris→Lyon", "paris_lyon"),
            ("task-0000#2", "task_0000_2"),
            ("tool_called[get_weather]", "tool_called_get_weather"),
            ("a - b", "a_b"),
            ("a_-b", "a_b"),
            ("[x]", "x"),
        ] {
            assert_eq!(ident_segment(raw), expected, "{raw:?}");
        }
    }

    #[test]
    fn the_macros_sanitise_identically() {
        // IDE anchors (eval-macros) and trials (here) must agree, or "run this test" finds nothing.
        macro_rules! agree {
            ($($raw:literal),* $(,)?) => {$(
                assert_eq!(eval_macros::__ident_segment!($raw), ident_segment($raw), "{:?}", $raw);
            )*};
        }
        agree!(
            "weather_001",
            "Weather 001",
            "reg-2",
            "",
            "_",
            "-",
            "9",
            "self",
            "gen",
            "match",
            "Paris→Lyon",
            "task-0000#2",
            "tool_called[get_weather]",
            "a - b",
            "(x)",
            "a_-b",
            "ÉTÉ",
            "a b\tc",
            "__",
            "Self",
            "r#type"
        );
    }

    #[test]
    fn suite_paths() {
        assert_eq!(suite_path("evals", "weather"), "weather");
        assert_eq!(suite_path("evals::travel::eu", "paris"), "travel::eu::paris");
    }
}
