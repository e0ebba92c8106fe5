//! Any text as a scorecard: parsing never panics, an error names a line of the text, and a
//! scorecard that parses renders to text that parses back to it.

#![no_main]

use eval_engine::Scorecard;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    // Scorecards are text files; bytes that are not UTF-8 never reach the parser.
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    match Scorecard::parse(text) {
        Ok(card) => {
            let rendered = card.render();
            let again = Scorecard::parse(&rendered)
                .unwrap_or_else(|e| panic!("a rendered scorecard does not parse: {e}\n{rendered}"));
            assert_eq!(again, card, "the scorecard changed in a render and parse:\n{rendered}");
        }
        Err(e) => {
            let lines = text.lines().count();
            assert!(
                (1..=lines).contains(&e.line),
                "error on line {} of {lines}: {e}",
                e.line
            );
        }
    }
});
