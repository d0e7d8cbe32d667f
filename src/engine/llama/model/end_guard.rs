//! Holds back the tokens that may be spelling the end of thinking as plain text (`</thinking>`
//! split across tokens), while `--min-think` may still extend the thinking: they go into the
//! cache at once (the model goes on from them) but reach the router only once they cannot be
//! the tag. When they complete it, the generation takes them back out of the cache instead, so
//! that the end of thinking is never routed. Pure: tokens and bytes in, decisions out.

use llama_cpp_2::token::LlamaToken;

/// A generated token and its piece.
pub(in crate::engine::llama) type Piece = (LlamaToken, Vec<u8>);

/// What to do with the token just offered.
#[derive(Debug, PartialEq, Eq)]
pub(in crate::engine::llama) enum Offer {
    /// Route these now, in order (held ones first; the offered token when it is among them).
    /// The offered token is decoded either way.
    Route(Vec<Piece>),
    /// The held tokens and the offered one spell the end of thinking: take the `held` tokens
    /// back out of the cache, do not decode the offered one, and force `before` (the text that
    /// came before the tag in them) instead.
    Complete { held: usize, before: Vec<u8> },
}

pub(in crate::engine::llama) struct EndGuard {
    tag: Vec<u8>,
    held: Vec<Piece>,
}

impl EndGuard {
    pub(in crate::engine::llama) fn new(tag: &str) -> EndGuard {
        EndGuard {
            tag: tag.as_bytes().to_vec(),
            held: Vec::new(),
        }
    }

    /// A token that is not a special tag, as generated.
    pub(in crate::engine::llama) fn offer(&mut self, token: LlamaToken, piece: &[u8]) -> Offer {
        let mut bytes: Vec<u8> = self.held.iter().flat_map(|(_, p)| p.clone()).collect();
        bytes.extend_from_slice(piece);
        if let Some(at) = find(&bytes, &self.tag) {
            let held = self.held.len();
            self.held.clear();
            return Offer::Complete {
                held,
                before: bytes[..at].to_vec(),
            };
        }
        self.held.push((token, piece.to_vec()));
        // Tokens wholly before the longest ending that could begin the tag go now.
        let start = bytes.len() - tag_start(&bytes, &self.tag);
        let mut out = Vec::new();
        let mut at = 0;
        while let Some((_, p)) = self.held.first() {
            if at + p.len() > start {
                break;
            }
            at += p.len();
            out.push(self.held.remove(0));
        }
        Offer::Route(out)
    }

    /// The tokens held now, in order.
    pub(in crate::engine::llama) fn held(&self) -> &[Piece] {
        &self.held
    }

    /// Everything held, to route now (the guard is no longer needed, or the generation ends).
    pub(in crate::engine::llama) fn drain(&mut self) -> Vec<Piece> {
        std::mem::take(&mut self.held)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The length of the longest ending of `bytes` that is a proper beginning of `tag`.
fn tag_start(bytes: &[u8], tag: &[u8]) -> usize {
    (1..tag.len().min(bytes.len() + 1))
        .rev()
        .find(|&k| bytes.ends_with(&tag[..k]))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(i: i32) -> LlamaToken {
        LlamaToken(i)
    }

    fn ids(pieces: &[Piece]) -> Vec<i32> {
        pieces.iter().map(|(t, _)| t.0).collect()
    }

    #[test]
    fn text_that_cannot_be_the_tag_goes_at_once() {
        let mut g = EndGuard::new("</thinking>");
        assert_eq!(
            g.offer(t(1), b"hello"),
            Offer::Route(vec![(t(1), b"hello".to_vec())])
        );
        assert!(g.drain().is_empty());
    }

    #[test]
    fn a_possible_start_is_held_until_it_is_not() {
        let mut g = EndGuard::new("</thinking>");
        let Offer::Route(r) = g.offer(t(1), b"so </th") else {
            panic!()
        };
        assert!(r.is_empty(), "the token holds the tag's start");
        let Offer::Route(r) = g.offer(t(2), b"e") else {
            panic!()
        };
        assert_eq!(ids(&r), [1, 2], "'</the' is not the tag: both go");
        let Offer::Route(r) = g.offer(t(3), b"x<") else {
            panic!()
        };
        assert!(r.is_empty(), "'<' may start it");
        assert_eq!(ids(&g.drain()), [3]);
    }

    #[test]
    fn the_tag_completed_across_tokens_is_taken_back_with_the_text_before_it() {
        let mut g = EndGuard::new("</thinking>");
        assert_eq!(g.offer(t(1), b"done. </thin"), Offer::Route(vec![]));
        assert_eq!(g.offer(t(2), b"k"), Offer::Route(vec![]));
        assert_eq!(
            g.offer(t(3), b"ing>\n<output>"),
            Offer::Complete {
                held: 2,
                before: b"done. ".to_vec()
            }
        );
        assert!(g.drain().is_empty());
        // In one token.
        assert_eq!(
            g.offer(t(4), b"x</thinking>"),
            Offer::Complete {
                held: 0,
                before: b"x".to_vec()
            }
        );
    }

    #[test]
    fn tokens_before_the_held_start_go_first() {
        let mut g = EndGuard::new("</thinking>");
        let Offer::Route(r) = g.offer(t(1), b"a</") else {
            panic!()
        };
        assert!(r.is_empty());
        // "a</" then "b": not the tag; then "</t" starts one again.
        let Offer::Route(r) = g.offer(t(2), b"b</t") else {
            panic!()
        };
        assert_eq!(ids(&r), [1], "token 1 is wholly before the new start");
        assert_eq!(ids(&g.drain()), [2]);
    }
}
