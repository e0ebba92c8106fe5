//! What every built-in scorer answers with: a future that is ready at once, and excerpts of
//! values short enough for a one-line comment.

use crate::feedback::Feedback;
use crate::scorer::ScoreFuture;

/// The future of a check that is decided on the spot.
pub(super) fn ready<'a>(feedback: Feedback) -> ScoreFuture<'a> {
    Box::pin(std::future::ready(vec![feedback]))
}

/// A value cut to a length that reads well inside a one-line comment.
pub(super) fn excerpt(text: &str) -> String {
    const MAX_CHARS: usize = 120;
    match text.char_indices().nth(MAX_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_cut_long_text_on_a_char_boundary() {
        assert_eq!(excerpt("short"), "short");
        let long = "é".repeat(200);
        let cut = excerpt(&long);
        assert_eq!(cut.chars().count(), 121);
        assert!(cut.ends_with('…'));
    }
}
