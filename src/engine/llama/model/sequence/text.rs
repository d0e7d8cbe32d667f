//! What a sequence's tokens come to: the end-of-turn guard, the router, the counts, the memo
//! and the thinking budget; forced text, which goes the same way as if generated (only not
//! charged) and into the feed.

use super::super::end_guard::{Offer, Piece};
use super::super::is_hidden;
use super::{Cache, Sequence};
use crate::llm::budget::{Act, BudgetStep, ForcedBy, Token};
use crate::llm::{EngineError, EngineEvent};
use crate::stream::Channel;
use llama_cpp_2::token::LlamaToken;

/// What the pieces the end-of-turn guard let through came to.
pub(super) struct Passed {
    /// To route, in order.
    pub pieces: Vec<Piece>,
    /// When they completed the end of the turn: the text before it, the last of the answer.
    pub tail: Option<Vec<u8>>,
}

impl<'m> Sequence<'m> {
    /// With the chat format's end of turn in text, the pieces pass its guard first; `None`
    /// without such a guard. `in_cache(j)`: whether the `j`th piece is in the cache.
    pub(super) fn through_turn_end<'p>(
        &mut self,
        route: impl Iterator<Item = (LlamaToken, &'p [u8])> + Clone,
        in_cache: impl Fn(usize) -> bool,
    ) -> Option<Passed> {
        let g = self.turn_end.as_mut()?;
        let mut out = Vec::new();
        for (i, (tok, pc)) in route.clone().enumerate() {
            if self.tag_tokens.contains_key(&tok) {
                out.extend(g.drain());
                out.push((tok, pc.to_vec()));
                continue;
            }
            let waiting = g.held().to_vec();
            match g.offer(tok, pc) {
                Offer::Route(r) => out.extend(r),
                Offer::Complete { before, .. } => {
                    // The turn is over: what came before its end is the last of the answer.
                    // The tokens that spelled it, and any after them, are not routed; those in
                    // the cache stay in the memo.
                    let mut spent = waiting.len() as u32;
                    for (t, p) in &waiting {
                        self.memo.push(*t, p);
                    }
                    for (j, (t, p)) in route.clone().enumerate().skip(i) {
                        spent += 1;
                        if in_cache(j) {
                            self.memo.push(t, p);
                        }
                    }
                    self.gen.count(spent);
                    return Some(Passed {
                        pieces: out,
                        tail: Some(before),
                    });
                }
            }
        }
        Some(Passed {
            pieces: out,
            tail: None,
        })
    }

    /// Pieces to the memo and the router, counted and shown to the budget (which may set text
    /// to force next); whether the answer is complete.
    pub(super) fn route<'p>(
        &mut self,
        pieces: impl Iterator<Item = (LlamaToken, &'p [u8])>,
    ) -> bool {
        for (tok, pc) in pieces {
            self.memo.push(tok, pc);
            let tag = self.tag_tokens.get(&tok).map(|(_, tag)| *tag);
            if let Some(tag) = tag {
                self.gen.tag(tag);
            } else if self.shown(tok) {
                self.gen.bytes(pc);
            }
            self.gen.count(1);
            if self.gen.answer_done() {
                return true;
            }
            let channel = self.gen.channel();
            let act = self.budget.after(Token {
                channel,
                in_reflection: channel == Channel::Reflection,
                char_complete: self.gen.char_complete(),
                line_end: tag.is_some() || pc.ends_with(b"\n"),
            });
            if let Act::Force(text) = act {
                let by = self.budget.report().forced_by.unwrap_or(ForcedBy::Budget);
                self.pending = Some((text, BudgetStep::Forced(by)));
            } else if channel != Channel::Output && self.budget.settings().active() {
                self.report(None);
            }
        }
        false
    }

    /// The end of the turn was spelled in text: `before` it is the last of the answer. What
    /// the thinking guard holds comes after it: never routed; in the memo where it is in the
    /// cache (all of it but this token, when the guard holds this one: not `current_last`).
    pub(super) fn end_turn(&mut self, before: &[u8], current_last: bool) {
        self.gen.bytes(before);
        if let Some(g) = self.guard.as_mut() {
            let mut rest = g.drain();
            if !current_last {
                rest.pop();
            }
            for (t, p) in &rest {
                self.memo.push(*t, p);
            }
            self.gen.count(rest.len() as u32);
        }
    }

    /// `text` (special tokens parsed, so that a tag that is one token in the vocabulary is
    /// forced as that token) as if it had been generated: routed, kept in the memo, told to
    /// the sampler, and fed (drafts still in the cache leave it first). How many tokens,
    /// `None` when they do not fit the context.
    pub(super) fn force(
        &mut self,
        cache: &mut Cache<'_, 'm>,
        text: &str,
    ) -> Result<Option<u32>, EngineError> {
        let tokens = self.vocab.tokenize(text.as_bytes(), false, true);
        if tokens.is_empty() {
            return Ok(Some(0));
        }
        self.drop_drafts(cache)?;
        if (cache.cached.len() + tokens.len()) as u64 >= u64::from(cache.n_ctx) {
            return Ok(None);
        }
        let mut piece = Vec::new();
        for t in &tokens {
            piece.clear();
            self.vocab.token_to_piece_into(*t, &mut piece, true, None);
            self.memo.push(*t, &piece);
            if let Some((_, tag)) = self.tag_tokens.get(t) {
                self.gen.tag(*tag);
            } else if self.shown(*t) {
                self.gen.bytes(&piece);
            }
            self.gen.count(1);
            self.sampler.accept(*t);
        }
        self.feed.extend_from_slice(&tokens);
        Ok(Some(tokens.len() as u32))
    }

    /// Whether a token that is not a tag goes to the router as text: all but hidden control
    /// tokens, and call markers even then.
    fn shown(&self, token: LlamaToken) -> bool {
        !is_hidden(&self.vocab, token) || self.markers.contains(&token)
    }

    /// The budget's state to the front ends, with the step just taken if any.
    pub(super) fn report(&self, step: Option<BudgetStep>) {
        let _ = self.flags.events.send(EngineEvent::Budget {
            id: self.id,
            report: self.budget.report().clone(),
            step,
        });
    }
}
