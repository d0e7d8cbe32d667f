//! Property tests for the stream router (`reflect::stream`): generated texts mixing tags,
//! partial tags, `<`, code fences, whitespace, CJK and emoji, with tag tokens interleaved.
//!
//! The invariants themselves live in `reflect::stream::check`, shared with the fuzz target.

use proptest::prelude::*;
use reflect::stream::check::{self, Piece};
use reflect::stream::{Channel, RouterConfig, TagSet, TagToken};

/// Text fragments chosen to hit tag, fence and whitespace edge cases often.
const FRAGMENTS: &[&str] = &[
    "<thinking>",
    "</thinking>",
    "<reflection>",
    "</reflection>",
    "<output>",
    "</output>",
    "<think>",
    "</think>",
    "<",
    "</",
    "<thin",
    "</thi",
    "<refl",
    "</reflectio",
    "<outpu",
    "</output",
    "<<",
    "<>",
    " a < b ",
    "x<=y",
    "<div>",
    "```",
    "~~~",
    "```rust\n",
    "\n```\n",
    "````",
    "   ```",
    "    ~~~",
    " ",
    "\n",
    "\n\n",
    "\t",
    "\u{3000}",
    "word",
    "思考",
    "答え",
    "🤔",
    "é",
    "👩‍💻",
];

fn token() -> impl Strategy<Value = TagToken> {
    (prop::sample::select(Channel::ALL.to_vec()), any::<bool>())
        .prop_map(|(channel, closing)| TagToken { channel, closing })
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        12 => prop::sample::select(FRAGMENTS).prop_map(|s| Piece::Text(s.to_owned())),
        3 => "[a-z<>/`~ \n思🤔]{0,8}".prop_map(Piece::Text),
        1 => token().prop_map(Piece::Tag),
    ]
}

fn pieces() -> impl Strategy<Value = Vec<Piece>> {
    prop::collection::vec(piece(), 0..40)
}

fn config() -> impl Strategy<Value = RouterConfig> {
    (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(think, start_in_thinking, trim_whitespace, stop_after_output)| RouterConfig {
            tags: if think {
                TagSet::think()
            } else {
                TagSet::default()
            },
            start_in_thinking,
            trim_whitespace,
            stop_after_output,
        },
    )
}

fn cuts() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(any::<usize>(), 0..30)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// (1) Any re-splitting of the same input, down to single characters, gives the same
    /// channel texts, events and summary.
    #[test]
    fn resplitting_does_not_matter(config in config(), pieces in pieces(), cuts in cuts()) {
        let whole = check::one_shot(&pieces);
        let r = check::check_equivalent(&config, &check::resplit(&pieces, &cuts), &whole);
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
        let r = check::check_equivalent(&config, &check::single_chars(&pieces), &whole);
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
    }

    /// (2) Streaming the pieces as generated equals routing the whole input at once.
    #[test]
    fn streaming_equals_one_shot(config in config(), pieces in pieces()) {
        let r = check::check_equivalent(&config, &pieces, &check::one_shot(&pieces));
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
    }

    /// (3) No structural tag appears in a channel's text (outside code fences in Output).
    #[test]
    fn no_structural_tag_in_channel_text(config in config(), pieces in pieces()) {
        for trim_whitespace in [true, false] {
            let config = RouterConfig { trim_whitespace, ..config.clone() };
            let r = check::check_no_tags(&config, &pieces);
            prop_assert!(r.is_ok(), "{}", r.unwrap_err());
        }
    }

    /// (4) Held-back text is shorter than the longest tag and exactly what could still
    /// become a tag; everything else is already out.
    #[test]
    fn holdback_is_bounded_and_minimal(config in config(), pieces in pieces()) {
        let r = check::check_holdback(&config, &pieces);
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
        let r = check::check_holdback(&config, &check::single_chars(&pieces));
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
    }

    /// (5) Nothing is lost: in raw mode, channel text plus consumed tags (plus input ignored
    /// after the answer) reproduce the input exactly.
    #[test]
    fn nothing_is_lost(config in config(), pieces in pieces(), cuts in cuts()) {
        let r = check::check_nothing_lost(&config, &pieces);
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
        let r = check::check_nothing_lost(&config, &check::resplit(&pieces, &cuts));
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
    }

    /// Trimming only touches whitespace, and the summary agrees with the events.
    #[test]
    fn trimming_and_summary_are_consistent(config in config(), pieces in pieces()) {
        let r = check::check_trimming(&config, &pieces);
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
        let r = check::check_summary(&config, &pieces);
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
    }
}

/// The equivalence check must be able to fail (the invariant checks were also mutation-tested
/// against deliberately broken routers).
#[test]
fn equivalence_check_can_fail() {
    let config = RouterConfig::default();
    let pieces = vec![Piece::Text("a<thinking>b".into())];
    // Splitting differently but changing the text must be reported as a difference.
    let other = vec![Piece::Text("a<thinking>c".into())];
    assert!(check::check_equivalent(&config, &pieces, &other).is_err());
    assert!(check::check_equivalent(&config, &pieces, &check::single_chars(&pieces)).is_ok());
}
