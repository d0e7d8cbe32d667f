//! The drafts of speculative decoding between two tokens: those decoded into the KV cache past
//! the accepted tokens, waiting for the target's own choice at their position, with the counts
//! and the back-off. Pure bookkeeping: the loop (`decode`) samples, decodes and rolls back.
//!
//! The rule that keeps the output exact: the target samples each position with its own chain
//! (the same sampler, the same random draws, in the same order as without drafts) and a draft
//! is accepted when it is the token sampled. Greedy, that is the argmax walk; sampled, it is
//! the speculative sampling rule for a draft that is one token for sure (a point mass q):
//! accept x with probability p(x), else a token from p with x taken out, renormalised. Both
//! prompt lookup and a greedy draft model propose such drafts.

use std::collections::VecDeque;

/// Steps with nothing accepted before drafting pauses.
const MISSES_BEFORE_PAUSE: u32 = 2;
/// The first pause, in tokens; doubled each time, up to [`LONGEST_PAUSE`].
const FIRST_PAUSE: u32 = 4;
const LONGEST_PAUSE: u32 = 256;

/// What the token the target chose means for the drafts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// It is the next draft: already in the cache; its logits are at this batch index.
    Accepted(i32),
    /// The drafts still in the cache are wrong: they leave it.
    Rejected,
    /// There were no drafts.
    NoDrafts,
}

/// Drafts in flight, how many were drafted and accepted, and when to draft again.
#[derive(Debug)]
pub(super) struct Drafts<T> {
    /// The drafts past the accepted tokens, in the cache, with their batch index.
    pending: VecDeque<(T, i32)>,
    /// Accepted so far from the current batch.
    hits: u32,
    misses: u32,
    pause: u32,
    /// Tokens to go before drafting again.
    skip: u32,
    pub drafted: u32,
    pub accepted: u32,
}

impl<T: PartialEq + Copy> Default for Drafts<T> {
    fn default() -> Self {
        Drafts {
            pending: VecDeque::new(),
            hits: 0,
            misses: 0,
            pause: FIRST_PAUSE,
            skip: 0,
            drafted: 0,
            accepted: 0,
        }
    }
}

impl<T: PartialEq + Copy> Drafts<T> {
    /// The target chose `token` at the position of the next draft.
    pub(super) fn offer(&mut self, token: T) -> Verdict {
        let Some((draft, at)) = self.pending.pop_front() else {
            return Verdict::NoDrafts;
        };
        if draft == token {
            self.hits += 1;
            self.accepted += 1;
            if self.pending.is_empty() {
                self.settle();
            }
            return Verdict::Accepted(at);
        }
        self.pending.clear();
        self.settle();
        Verdict::Rejected
    }

    /// Whether to draft after this token: not while paused.
    pub(super) fn wanted(&mut self) -> bool {
        if self.skip > 0 {
            self.skip -= 1;
            return false;
        }
        true
    }

    /// `drafts` were decoded after the token at batch index 0.
    pub(super) fn decoded(&mut self, drafts: &[T]) {
        self.pending.clear();
        self.pending
            .extend(drafts.iter().enumerate().map(|(i, t)| (*t, i as i32 + 1)));
        self.drafted += drafts.len() as u32;
        self.hits = 0;
    }

    /// The draft model was asked and drafted nothing (its best token was below
    /// `--draft-p-min`): a miss, as a batch nothing of which was accepted.
    pub(super) fn withheld(&mut self) {
        self.hits = 0;
        self.settle();
    }

    /// Drafts still in the cache past the accepted tokens (to take out before anything else
    /// goes in).
    pub(super) fn in_cache(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The drafts left the cache unjudged (forced text, the end of the generation): they
    /// count as neither hit nor miss.
    pub(super) fn dropped(&mut self) {
        self.pending.clear();
    }

    /// A batch of drafts is judged: a miss when nothing of it was accepted; repeated misses
    /// pause drafting, each pause twice the last; a hit ends the pauses.
    fn settle(&mut self) {
        if self.hits > 0 {
            self.misses = 0;
            self.pause = FIRST_PAUSE;
            return;
        }
        self.misses += 1;
        if self.misses >= MISSES_BEFORE_PAUSE {
            self.misses = 0;
            self.skip = self.pause;
            self.pause = (self.pause * 2).min(LONGEST_PAUSE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_model_that_drafts_nothing_pauses_as_rejected_drafts_do() {
        let mut d = Drafts::<char>::default();
        for _ in 0..MISSES_BEFORE_PAUSE {
            assert!(d.wanted());
            d.withheld();
        }
        // Paused for the first pause, then asked again.
        for _ in 0..FIRST_PAUSE {
            assert!(!d.wanted());
        }
        assert!(d.wanted());
        // Accepted drafts end the pauses.
        d.decoded(&['a']);
        assert_eq!(d.offer('a'), Verdict::Accepted(1));
        d.withheld();
        assert!(d.wanted(), "one miss after a hit does not pause");
    }

    #[test]
    fn the_target_token_accepts_drafts_until_the_first_that_differs() {
        // Drafts b c d after a; the target chooses b, c, then x: two accepted, then rollback.
        let mut d = Drafts::default();
        d.decoded(&['b', 'c', 'd']);
        assert!(d.in_cache());
        assert_eq!(d.offer('b'), Verdict::Accepted(1));
        assert_eq!(d.offer('c'), Verdict::Accepted(2));
        assert_eq!(d.offer('x'), Verdict::Rejected);
        assert!(!d.in_cache());
        assert_eq!(d.offer('y'), Verdict::NoDrafts);
        assert_eq!((d.drafted, d.accepted), (3, 2));
    }

    #[test]
    fn all_drafts_accepted_leave_the_last_logits_to_sample() {
        let mut d = Drafts::default();
        d.decoded(&[1, 2]);
        assert_eq!(d.offer(1), Verdict::Accepted(1));
        assert_eq!(d.offer(2), Verdict::Accepted(2));
        assert_eq!(
            d.offer(3),
            Verdict::NoDrafts,
            "the bonus token is the target's own"
        );
        assert!(d.wanted(), "a hit never pauses");
    }

    #[test]
    fn repeated_misses_pause_drafting_for_twice_as_long_each_time() {
        let mut d = Drafts::default();
        let mut pauses = Vec::new();
        for _ in 0..4 {
            // Misses until drafting pauses, then count the tokens without drafting.
            let mut paused = 0;
            loop {
                if !d.wanted() {
                    paused += 1;
                    continue;
                }
                if paused > 0 {
                    break;
                }
                d.decoded(&[1]);
                assert_eq!(d.offer(2), Verdict::Rejected);
            }
            pauses.push(paused);
        }
        assert_eq!(pauses, [4, 8, 16, 32]);
        // A hit: the next misses pause for the first pause again.
        d.decoded(&[1]);
        assert_eq!(d.offer(1), Verdict::Accepted(1));
        for _ in 0..2 {
            assert!(d.wanted());
            d.decoded(&[1]);
            d.offer(2);
        }
        assert_eq!((0..10).filter(|_| !d.wanted()).count(), 4);
    }

    #[test]
    fn dropped_drafts_are_neither_hit_nor_miss() {
        let mut d = Drafts::default();
        for _ in 0..5 {
            d.decoded(&[1, 2]);
            d.dropped();
            assert!(!d.in_cache());
            assert!(d.wanted());
        }
        assert_eq!((d.drafted, d.accepted), (10, 0));
    }
}
