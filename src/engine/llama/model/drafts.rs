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
//!
//! What drafts cost where none is accepted: each batch of drafts is decoded with logits at
//! every position, so it costs the target more than the token alone (on a CPU, one thread,
//! the 8x768 random model: 2.1x a token with one or two drafts, 4.4x with eight;
//! docs/benchmarks.md). The draft length adapts (two drafts first, twice as many after a
//! batch accepted whole, fewer after one that was not), repeated misses pause drafting, and
//! prompt lookup matches at least three tokens (`lookup`), so that chance matches are rare.

use std::collections::VecDeque;

/// Batches that did not pay (half of them or less accepted) before drafting pauses.
const MISSES_BEFORE_PAUSE: u32 = 2;
/// The first pause, in tokens; doubled each time, up to [`LONGEST_PAUSE`].
const FIRST_PAUSE: u32 = 4;
const LONGEST_PAUSE: u32 = 256;
/// The first and the shortest draft length. On a CPU a batch of the token and one draft costs
/// the target about what a batch with two drafts does (twice a token alone, docs/benchmarks.md):
/// a single draft would cost as much and gain less.
const FIRST_SIZE: u32 = 2;
/// The longest draft length; the loop's own maximum (`--lookup`, `--draft-max`) caps it too.
const LONGEST_SIZE: u32 = 256;

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
    /// The drafts in the current batch.
    batch: u32,
    /// The most drafts to decode in the next batch (see [`Drafts::room`]).
    size: u32,
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
            batch: 0,
            size: FIRST_SIZE,
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

    /// How many drafts to decode after the next token, at most `max` (what the loop allows):
    /// the adaptive draft length, always at least 1 where `max` is.
    pub(super) fn room(&self, max: usize) -> usize {
        max.min(self.size as usize)
    }

    /// `drafts` were decoded after the token at batch index 0.
    pub(super) fn decoded(&mut self, drafts: &[T]) {
        self.pending.clear();
        self.pending
            .extend(drafts.iter().enumerate().map(|(i, t)| (*t, i as i32 + 1)));
        self.drafted += drafts.len() as u32;
        self.hits = 0;
        self.batch = drafts.len() as u32;
    }

    /// The draft model was asked and drafted nothing (its best token was below
    /// `--draft-p-min`): a miss, as a batch nothing of which was accepted.
    pub(super) fn withheld(&mut self) {
        self.hits = 0;
        self.batch = 0;
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

    /// A batch of drafts is judged. Its length sets the next one's: twice as long after a
    /// batch accepted whole (never shorter: a draft model may stop short of the length), one
    /// more than what was accepted after one accepted in part, half as long after a miss (a
    /// draft model that drafted nothing leaves it as it was); never under [`FIRST_SIZE`]. A
    /// batch that paid for itself, more than half of it accepted, is a hit; any other is a
    /// miss (a verify batch costs the target about a token a row once it holds several:
    /// docs/benchmarks.md). Repeated misses pause drafting, each pause twice the last; a hit
    /// ends the pauses.
    fn settle(&mut self) {
        self.size = match (self.hits, self.batch) {
            (_, 0) => self.size,
            (h, n) if h >= n => n.saturating_mul(2).max(self.size),
            (0, n) => n / 2,
            (h, _) => h + 1,
        }
        .clamp(FIRST_SIZE, LONGEST_SIZE);
        // One line a verify batch (the benchmarks count them): `--log-file` at debug level.
        tracing::debug!(
            drafts = self.batch,
            accepted = self.hits,
            next = self.size,
            "speculation: a batch of drafts judged"
        );
        if self.hits * 2 > self.batch {
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
    use proptest::prelude::*;

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

    /// A batch of `n` drafts (1, 2, …) of which the target accepts the first `accepted`.
    fn judge(d: &mut Drafts<u32>, n: u32, accepted: u32) {
        let drafts: Vec<u32> = (1..=n).collect();
        d.decoded(&drafts);
        for t in 1..=accepted {
            assert_eq!(d.offer(t), Verdict::Accepted(t as i32));
        }
        if accepted < n {
            assert_eq!(d.offer(0), Verdict::Rejected);
        }
    }

    #[test]
    fn the_draft_length_doubles_after_a_whole_batch_and_shrinks_after_one_that_failed() {
        let mut d = Drafts::<u32>::default();
        assert_eq!(d.room(8), FIRST_SIZE as usize, "it starts short");
        // (drafts in the batch, accepted of them, room(8) after, room(3) after)
        for (n, accepted, room8, room3) in [
            (2, 2, 4, 3), // accepted whole: twice as long
            (4, 4, 8, 3), // …up to the loop's own maximum
            (8, 8, 8, 3), // (the length is 16, the maximum 8)
            (8, 3, 4, 3), // accepted in part: one more than accepted
            (4, 0, 2, 2), // a miss: half as long
            (2, 0, 2, 2), // …but never under two drafts
            (1, 0, 2, 2), // (a batch of one: the loop's own maximum was 1)
            (2, 2, 4, 3), // a batch accepted whole doubles again
            (4, 1, 2, 2), // one of four: 1 + 1
            (2, 2, 4, 3), // whole: twice as long
            (3, 3, 6, 3), // shorter than its room (the context's end) and whole: twice its own
            (1, 1, 6, 3), // (a draft model that stopped short): never shorter after a whole one
        ] {
            judge(&mut d, n, accepted);
            assert_eq!(
                (d.room(8), d.room(3)),
                (room8, room3),
                "after {accepted} of {n} accepted"
            );
        }
        assert_eq!(d.room(0), 0, "no room, no drafts");
    }

    #[test]
    fn a_draft_model_that_drafts_nothing_leaves_the_length_and_dropped_drafts_too() {
        let mut d = Drafts::<u32>::default();
        judge(&mut d, 2, 2);
        assert_eq!(d.room(8), 4);
        d.withheld();
        assert_eq!(d.room(8), 4, "withheld: nothing said about the length");
        d.decoded(&[1, 2, 3, 4]);
        d.dropped();
        assert_eq!(d.room(8), 4, "dropped: not judged");
    }

    /// One thing the loop does with the drafts.
    #[derive(Clone, Copy, Debug)]
    enum Op {
        /// Decode this many drafts (at most the room), then the target accepts this many.
        Batch(u8, u8),
        Withheld,
        Dropped(u8),
        Wanted,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u8..=255, 0u8..=255).prop_map(|(n, a)| Op::Batch(n, a)),
            1 => Just(Op::Withheld),
            1 => (0u8..=255).prop_map(Op::Dropped),
            4 => Just(Op::Wanted),
        ]
    }

    proptest! {
        /// Whatever the target accepts, the next batch is 1 to `max` drafts long (never more
        /// than twice the longest batch the loop allowed, inside), the pause never exceeds its
        /// cap, and no more drafts are accepted than were drafted.
        #[test]
        fn the_draft_length_and_the_pause_stay_within_their_bounds(
            max in 1usize..=64,
            ops in proptest::collection::vec(op(), 0..200),
        ) {
            let mut d = Drafts::<u32>::default();
            for op in ops {
                match op {
                    Op::Batch(n, a) => {
                        let n = u32::from(n) % (d.room(max) as u32 + 1);
                        judge(&mut d, n, u32::from(a) % (n + 1));
                    }
                    Op::Withheld => d.withheld(),
                    Op::Dropped(n) => {
                        let n = u32::from(n) % (d.room(max) as u32 + 1);
                        d.decoded(&(1..=n).collect::<Vec<_>>());
                        d.dropped();
                    }
                    Op::Wanted => {
                        d.wanted();
                    }
                }
                prop_assert!((1..=max).contains(&d.room(max)), "room {} of {max}", d.room(max));
                prop_assert!(d.size >= 1 && d.size <= LONGEST_SIZE);
                prop_assert!(d.size as usize <= (2 * max).max(FIRST_SIZE as usize));
                prop_assert!(d.pause <= LONGEST_PAUSE && d.skip <= LONGEST_PAUSE);
                prop_assert!(d.accepted <= d.drafted);
            }
        }
    }

    #[test]
    fn a_batch_that_did_not_pay_for_itself_counts_as_a_miss() {
        // (drafts, accepted) of two batches in a row, and whether drafting pauses after them.
        for (batches, pauses) in [
            ([(2, 0), (2, 0)], true),
            // Half of a batch is not enough: the rows cost about what they bring.
            ([(2, 1), (2, 1)], true),
            ([(8, 4), (4, 2)], true),
            // More than half: a hit, no pause.
            ([(2, 2), (2, 1)], false),
            ([(8, 5), (4, 1)], false),
            ([(4, 3), (8, 0)], false),
        ] {
            let mut d = Drafts::default();
            for (n, a) in batches {
                assert!(d.wanted(), "{batches:?}");
                judge(&mut d, n, a);
            }
            assert_eq!(!d.wanted(), pauses, "{batches:?}");
        }
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
