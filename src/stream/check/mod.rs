//! Invariant checks for the router, shared by the property tests and the fuzz target.
//!
//! Each check feeds pieces to a [`Router`] and returns `Err` with a description when an
//! invariant fails. Kept in the library (std only) so that `tests/it/router_props.rs` and the
//! fuzz crate, which includes this module by path, check exactly the same things. This file
//! holds the feeding and re-splitting helpers; `invariants.rs` the checks.

mod fence_model;
mod invariants;

use std::convert::Infallible;

use super::channel::{Channel, TagToken};
use super::router::{Router, RouterConfig, Summary};
use super::sink::{Anomaly, Collected, Sink};

pub use invariants::{
    check_all, check_equivalent, check_holdback, check_no_tags, check_nothing_lost, check_summary,
    check_trimming,
};

/// One input piece.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Tag(TagToken),
}

/// Everything a sink hears, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Text(Channel, String),
    Tag(TagToken, String),
    ReflectionStart(usize),
    ReflectionEnd(usize),
    Anomaly(Anomaly),
    Ignored(String),
    /// Not from the router: the feeder is about to push a tag token.
    TokenPushed,
}

/// A sink recording every event (and collecting channel text).
#[derive(Clone, Debug, Default)]
pub struct Recorder {
    pub events: Vec<Event>,
    pub collected: Collected,
    /// Bytes reported as text, tags or ignored input.
    pub reported_bytes: usize,
}

impl Sink for Recorder {
    fn text(&mut self, channel: Channel, text: &str) {
        self.reported_bytes += text.len();
        self.collected.text(channel, text);
        self.events.push(Event::Text(channel, text.to_owned()));
    }
    fn reflection_start(&mut self, n: usize) {
        self.collected.reflection_start(n);
        self.events.push(Event::ReflectionStart(n));
    }
    fn reflection_end(&mut self, n: usize) {
        self.events.push(Event::ReflectionEnd(n));
    }
    fn anomaly(&mut self, a: Anomaly) {
        self.collected.anomaly(a.clone());
        self.events.push(Event::Anomaly(a));
    }
    fn tag(&mut self, tag: TagToken, text: &str) {
        self.reported_bytes += text.len();
        self.events.push(Event::Tag(tag, text.to_owned()));
    }
    fn ignored(&mut self, text: &str) {
        self.reported_bytes += text.len();
        self.events.push(Event::Ignored(text.to_owned()));
    }
}

/// The result of feeding pieces and finishing.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub events: Vec<Event>,
    pub collected: Collected,
    pub summary: Summary,
}

/// Feed `pieces` to a fresh router, then finish. `after_push` sees the router after each piece
/// and may stop the run with an error.
pub fn feed_with<E>(
    config: &RouterConfig,
    pieces: &[Piece],
    mut after_push: impl FnMut(&Router, &Recorder, &Piece) -> Result<(), E>,
) -> Result<Outcome, E> {
    let mut router = Router::new(config.clone());
    let mut rec = Recorder::default();
    for piece in pieces {
        match piece {
            Piece::Text(text) => router.push_text(text, &mut rec),
            Piece::Tag(tag) => {
                rec.events.push(Event::TokenPushed);
                router.push_tag(*tag, &mut rec);
            }
        }
        after_push(&router, &rec, piece)?;
    }
    let summary = router.finish(&mut rec);
    Ok(Outcome {
        events: rec.events,
        collected: rec.collected,
        summary,
    })
}

/// Feed `pieces` to a fresh router, then finish.
pub fn feed(config: &RouterConfig, pieces: &[Piece]) -> Outcome {
    match feed_with(config, pieces, |_, _, _| Ok::<(), Infallible>(())) {
        Ok(outcome) => outcome,
        Err(never) => match never {},
    }
}

/// The input as one text: tag tokens spelled canonically.
pub fn input_text(config: &RouterConfig, pieces: &[Piece]) -> String {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Text(t) => t.clone(),
            Piece::Tag(tag) => config.tags.canonical(*tag),
        })
        .collect()
}

/// Adjacent texts merged: the one-shot form of the same input.
pub fn one_shot(pieces: &[Piece]) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    for p in pieces {
        match (out.last_mut(), p) {
            (Some(Piece::Text(acc)), Piece::Text(t)) => acc.push_str(t),
            _ => out.push(p.clone()),
        }
    }
    out.retain(|p| !matches!(p, Piece::Text(t) if t.is_empty()));
    out
}

/// Every text split into single characters.
pub fn single_chars(pieces: &[Piece]) -> Vec<Piece> {
    pieces
        .iter()
        .flat_map(|p| match p {
            Piece::Text(t) => t.chars().map(|c| Piece::Text(c.to_string())).collect(),
            Piece::Tag(_) => vec![p.clone()],
        })
        .collect()
}

/// The same input re-split: texts merged, then cut at each `cuts[i] % (chars + 1)` character
/// offset of the whole text they form (tokens stay where they are).
pub fn resplit(pieces: &[Piece], cuts: &[usize]) -> Vec<Piece> {
    let mut out = Vec::new();
    for p in one_shot(pieces) {
        let Piece::Text(text) = p else {
            out.push(p);
            continue;
        };
        let bounds: Vec<usize> = text
            .char_indices()
            .map(|(i, _)| i)
            .chain([text.len()])
            .collect();
        let mut offsets: Vec<usize> = cuts
            .iter()
            .filter_map(|c| bounds.get(c % bounds.len()).copied())
            .collect();
        offsets.extend([0, text.len()]);
        offsets.sort_unstable();
        offsets.dedup();
        for w in offsets.windows(2) {
            if let Some(part) = text.get(w[0]..w[1]) {
                out.push(Piece::Text(part.to_owned()));
            }
        }
    }
    out
}

/// Events with adjacent texts of one channel (and adjacent ignored texts) merged and feeder
/// markers removed: what must not depend on how the input was split.
pub fn normalize(events: &[Event]) -> Vec<Event> {
    let mut out: Vec<Event> = Vec::new();
    for e in events {
        match (out.last_mut(), e) {
            (_, Event::TokenPushed) => {}
            (Some(Event::Text(c, acc)), Event::Text(c2, t)) if c == c2 => acc.push_str(t),
            (Some(Event::Ignored(acc)), Event::Ignored(t)) => acc.push_str(t),
            _ => out.push(e.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Piece {
        Piece::Text(s.to_owned())
    }

    const THINK: TagToken = TagToken::open(Channel::Thinking);

    #[test]
    fn one_shot_merges_adjacent_texts_only() {
        let pieces = [text("a"), text(""), text("b"), Piece::Tag(THINK), text("c")];
        assert_eq!(
            one_shot(&pieces),
            [text("ab"), Piece::Tag(THINK), text("c")]
        );
    }

    #[test]
    fn single_chars_keeps_characters_whole() {
        assert_eq!(
            single_chars(&[text("é🤔"), Piece::Tag(THINK)]),
            [text("é"), text("🤔"), Piece::Tag(THINK)]
        );
    }

    #[test]
    fn resplit_cuts_at_char_offsets_modulo_length() {
        let pieces = [text("ab"), text("c思"), Piece::Tag(THINK)];
        // "abc思" has 5 cut points (0..=4 chars); cuts 1, 3 and 8 % 5 = 3.
        assert_eq!(
            resplit(&pieces, &[1, 3, 8]),
            [text("a"), text("bc"), text("思"), Piece::Tag(THINK)]
        );
        assert_eq!(resplit(&pieces, &[]), one_shot(&pieces));
    }

    #[test]
    fn normalize_merges_text_of_one_channel() {
        let events = [
            Event::Text(Channel::Output, "a".into()),
            Event::TokenPushed,
            Event::Text(Channel::Output, "b".into()),
            Event::Text(Channel::Thinking, "c".into()),
            Event::Ignored("x".into()),
            Event::Ignored("y".into()),
        ];
        assert_eq!(
            normalize(&events),
            [
                Event::Text(Channel::Output, "ab".into()),
                Event::Text(Channel::Thinking, "c".into()),
                Event::Ignored("xy".into()),
            ]
        );
    }

    #[test]
    fn input_text_spells_tokens() {
        let config = RouterConfig::default();
        assert_eq!(
            input_text(&config, &[text("a"), Piece::Tag(THINK)]),
            "a<thinking>"
        );
    }
}
