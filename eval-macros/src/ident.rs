//! Test-name segments: task ids and scorer names turned into Rust identifiers.
//!
//! The twin of this file is `eval_harness::names::ident_segment` (eval-harness/src/names.rs),
//! which names the trials at run time. The IDE anchors this crate emits only find their trials
//! if both give the same answer, so change them together; a test in eval-harness pins that they
//! agree through `__ident_segment!`.

/// Turns an id or key into an identifier segment: lowercase ASCII letters, digits and `_`;
/// every run of other characters becomes one `_` between words and nothing at either end; a
/// leading digit gets a `_` prefix; keywords get a trailing `_`.
pub(crate) fn ident_segment(raw: &str) -> String {
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
        // `_` alone is not a name an item can have.
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

/// The name an identifier was written with, without a raw prefix (`r#match` → `match`).
pub(crate) fn unraw(ident: &syn::Ident) -> String {
    let text = ident.to_string();
    match text.strip_prefix("r#") {
        Some(name) => name.to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments() {
        // The same table as the twin's test in eval-harness.
        for (raw, expected) in [
            ("weather_001", "weather_001"),
            ("Weather 001", "weather_001"),
            ("Weather-001", "weather_001"),
            ("reg-2", "reg_2"),
            ("", "__"),
            ("_", "__"),
            ("-", "__"),
            ("9", "_9"),
            ("1st", "_1st"),
            ("self", "self_"),
            ("match", "match_"),
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
    fn every_segment_is_an_identifier() {
        for raw in ["", "_", "9", "self", "Self", "crate", "a b", "é", "__eval_suite"] {
            let segment = ident_segment(raw);
            assert!(syn::parse_str::<syn::Ident>(&segment).is_ok(), "{raw:?} → {segment:?}");
        }
    }

    #[test]
    fn raw_identifiers_lose_their_prefix() {
        let ident: syn::Ident = syn::parse_str("r#match").unwrap();
        assert_eq!(unraw(&ident), "match");
        let ident: syn::Ident = syn::parse_str("weather").unwrap();
        assert_eq!(unraw(&ident), "weather");
    }
}
