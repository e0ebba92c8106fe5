//! Any text as a scorecard: parsing never panics, an error names a line of the text (line 1
//! for an empty text), and a scorecard that parses renders to text that parses back to it.
//! A parsed text states pass rates its entries add up to, so dropping any one line of it never
//! reads as a scorecard with other pass rates: it fails, or drops only a line that counts in
//! no pass rate (a blank line, an informational entry).

#![no_main]

use eval_engine::scorecard::Scorecard;
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
            let lines: Vec<&str> = text.split_inclusive('\n').collect();
            for dropped in 0..lines.len() {
                let without: String = lines[..dropped].iter().chain(&lines[dropped + 1..]).copied().collect();
                if let Ok(smaller) = Scorecard::parse(&without) {
                    assert_eq!(
                        smaller.pass_counts(),
                        card.pass_counts(),
                        "dropping line {} changes the pass rates silently:\n{text}",
                        dropped + 1
                    );
                }
            }
        }
        Err(e) => {
            let lines = text.lines().count().max(1);
            assert!(
                (1..=lines).contains(&e.line),
                "error on line {} of {lines}: {e}",
                e.line
            );
        }
    }
});
