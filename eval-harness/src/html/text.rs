//! Text for the page: escaped for HTML, and cut to a length a browser shows quickly.

use std::fmt::Write as _;

/// The longest text a value is shown with; the rest is cut with a marker saying how much.
pub(crate) const SHOWN_CHARS: usize = 4_000;

/// `text` escaped for HTML text and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `text` whole when it has at most `max` characters, else its first `max` and a marker.
pub(crate) fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((cut, _)) => {
            let rest = text[cut..].chars().count();
            let mut out = text[..cut].to_owned();
            let _ = write!(out, "… [cut: {rest} more characters]");
            out
        }
    }
}

/// A JSON document made safe to sit inside `<script type="application/json">`: `<`, `>` and
/// `&` only occur inside strings there, where their `\u` escapes mean the same.
pub(crate) fn script_safe(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape(r#"<img src=x onerror="alert('x')">&"#),
            "&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp;"
        );
    }

    #[test]
    fn long_text_is_cut_at_a_character_with_a_marker() {
        assert_eq!(clip("héllo", 5), "héllo");
        assert_eq!(clip("héllo wörld", 5), "héllo… [cut: 6 more characters]");
    }

    #[test]
    fn a_script_element_cannot_be_closed_from_inside_the_data() {
        let json = serde_json::to_string(&serde_json::json!({ "x": "</script><script>alert(1)</script>&" })).unwrap();
        let safe = script_safe(&json);
        assert!(!safe.contains("</"), "{safe}");
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["x"], "</script><script>alert(1)</script>&");
    }
}
