//! One generation's token loop, the same for a generation alone (`model::decode`) and for each
//! job of the batched slots (`slots`): feed-based, it never decodes by itself. What it needs in
//! the cache (its sampled token and the drafts to verify with it, forced text, the rest of a
//! slot's prompt) waits in its `feed` for its driver to decode; once the feed is in,
//! [`Sequence::advance`] runs the checks before a token (cancel, the answer asked for now,
//! forced text, the token limit, a full context), samples, and passes the token through the
//! guards that hold back tags spelled in text, the router, the counts, the memo and the
//! thinking budget, until it has something to feed again or stops. A sampled token that is the
//! next draft is already in the cache: it is taken and the next position sampled at once.
//! The cache it works on is a [`Cache`]: the whole context's, or one slot's.

mod cache;
mod text;

pub(in crate::engine::llama) use cache::Cache;

use super::super::memo::Memo;
use super::super::sampler_chain::PENALTY_LAST_N;
use super::super::template::special_token;
use super::super::tool_template::CALL_MARKERS;
use super::drafts::{Drafts, Verdict};
use super::end_guard::{EndGuard, Offer, Piece};
use super::{timings, Loaded};
use crate::llm::budget::{Act, Budget, BudgetStep, ForcedBy};
use crate::llm::Usage;
use crate::llm::{Completion, EngineError, EventSender, GenerateRequest, Generation, StopReason};
use crate::stream::{Channel, TagToken};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::vocab::LlamaVocab;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Rebuilds the sampler's history (what its repetition penalty looks back over) from the
/// generated tokens in the cache, after tokens it had accepted were left out of the context
/// (an extension took the end of thinking's place). `prompt` tokens come first in `cached`.
pub(in crate::engine::llama) fn rebuild_history(
    sampler: &mut LlamaSampler,
    cached: &[LlamaToken],
    prompt: usize,
) {
    sampler.reset();
    let from = cached.len().saturating_sub(PENALTY_LAST_N).max(prompt);
    sampler.accept_many(&cached[from.min(cached.len())..]);
}

/// Whether `prompt` ends with an opening thinking tag (`<think>`, `<thinking>`, …).
pub(in crate::engine::llama) fn opens_thinking(prompt: &str, tags: &crate::stream::TagSet) -> bool {
    let end = prompt.trim_end();
    tags.thinking
        .iter()
        .any(|n| end.ends_with(&format!("<{n}>")))
}

/// The call markers that are control tokens of this vocabulary, when `req` offers tools.
fn call_markers(s: &Loaded<'_>, req: &GenerateRequest) -> Vec<LlamaToken> {
    if req.tools.is_empty() {
        return Vec::new();
    }
    CALL_MARKERS
        .iter()
        .filter_map(|m| special_token(s.model(), m))
        .collect()
}

/// What a sequence does after [`Sequence::advance`].
#[derive(Debug, PartialEq, Eq)]
pub(in crate::engine::llama) enum Next {
    /// Its feed holds tokens to decode.
    Feed,
    Stop(StopReason),
}

/// Where a sequence's events go, and the flags that cancel it or ask for the answer now (each
/// holds the highest generation id it applies to; serving passes one that never fires).
pub(in crate::engine::llama) struct Flags {
    pub events: EventSender,
    pub cancel: Arc<AtomicU64>,
    pub answer_now: Arc<AtomicU64>,
}

/// The prompt a sequence starts after, and what its usage counts so far.
pub(in crate::engine::llama) struct Start<'p> {
    pub text: &'p str,
    pub tokens: &'p [LlamaToken],
    pub usage: Usage,
    pub started: Instant,
}

/// One generation between two decodes: everything its token loop carries.
pub(in crate::engine::llama) struct Sequence<'m> {
    id: u64,
    max_tokens: Option<u32>,
    flags: Flags,
    /// The answer was asked for now (once is enough).
    asked: bool,
    vocab: LlamaVocab<'m>,
    pub gen: Generation,
    /// The prompt and everything generated or forced, as tokens and text.
    memo: Memo,
    sampler: LlamaSampler,
    seed: Option<u32>,
    tag_tokens: HashMap<LlamaToken, (String, TagToken)>,
    /// Control tokens that spell call markers (`<|python_tag|>`, `[TOOL_CALLS]`): shown as
    /// text when tools are offered, so that the call parser reads them.
    markers: Vec<LlamaToken>,
    budget: Budget,
    end_of_thinking: TagToken,
    /// Where the end of thinking is plain text, the tokens that may be spelling it wait for
    /// the router until they cannot be (only while an extension is possible).
    guard: Option<EndGuard>,
    /// Where the chat format's end of turn is text (`<|im_end|>` split across tokens, or the
    /// plain format's "User:"), generation stops there; the tokens that may be spelling it
    /// wait for the router until they cannot be.
    turn_end: Option<EndGuard>,
    /// Text to force before the next token: the end of thinking, or an extension.
    pending: Option<(String, BudgetStep)>,
    /// The last token's piece (one buffer for the whole generation).
    piece: Vec<u8>,
    prompt_tokens: usize,
    /// Tokens to decode next, in order.
    pub feed: Vec<LlamaToken>,
    /// The feed is the token just sampled (drafts may follow it).
    sampled: bool,
    /// How many tokens at the end of the feed are drafts.
    drafted: usize,
    /// Where the logits of the feed's first token with logits were: the drafts' follow it.
    base: i32,
    /// Where the logits to sample next are.
    at: i32,
    /// Speculative decoding: drafts in the cache past the cached tokens, waiting for the
    /// model's own token at their position (nothing else sees them), and the buffer they are
    /// drafted in.
    drafts: Drafts<LlamaToken>,
    drafting: Vec<LlamaToken>,
    started: Instant,
    pub prompt_done: Option<Instant>,
    first_token: Option<Instant>,
}

impl<'m> Sequence<'m> {
    /// The loop's state for `req`, its prompt in the cache or in the feed.
    pub(in crate::engine::llama) fn new(
        s: &Loaded<'m>,
        req: &GenerateRequest,
        flags: Flags,
        start: Start<'_>,
    ) -> Self {
        let tag_tokens = s.tag_tokens(&req.router.tags);
        let (sampler, seed) = req.sampling.build(s.model.n_vocab());
        let mut gen = Generation::new(req, &flags.events);
        if !req.tools.is_empty() {
            gen = gen.read_calls(s.call_format());
            // A tool template that opens the thinking itself (QwQ's ends with `<think>`): the
            // model starts inside it, and nothing it thinks is read for calls.
            if !req.router.start_in_thinking && opens_thinking(start.text, &req.router.tags) {
                gen.prompt_tag(TagToken::open(Channel::Thinking));
            }
        }
        gen.usage = start.usage;
        let mut budget = Budget::new(req.budget.clone(), &req.router);
        let end_of_thinking = TagToken::close(Channel::Thinking);
        let one_token_end = tag_tokens.values().any(|(_, t)| *t == end_of_thinking);
        let guard = (req.budget.min_thinking.is_some() && !one_token_end)
            .then(|| EndGuard::new(&req.router.tags.canonical(end_of_thinking)));
        let pending = match budget.at_start() {
            Act::Force(text) => Some((text, BudgetStep::Forced(ForcedBy::NoThinking))),
            Act::Nothing => None,
        };
        Sequence {
            id: req.id,
            max_tokens: req.max_tokens,
            flags,
            asked: false,
            vocab: s.model().vocab(),
            gen,
            memo: Memo::new(start.text, start.tokens),
            sampler,
            seed,
            markers: call_markers(s, req),
            tag_tokens,
            budget,
            end_of_thinking,
            guard,
            turn_end: s.end_text().map(EndGuard::new),
            pending,
            piece: Vec::new(),
            prompt_tokens: start.tokens.len(),
            feed: Vec::new(),
            sampled: false,
            drafted: 0,
            base: 0,
            at: 0,
            drafts: Drafts::default(),
            drafting: Vec::new(),
            started: start.started,
            prompt_done: None,
            first_token: None,
        }
    }

    pub(in crate::engine::llama) fn cancelled(&self) -> bool {
        self.flags.cancel.load(Ordering::SeqCst) >= self.id
    }

    /// Its feed is the token just sampled: drafts may follow it ([`Sequence::speculate`]).
    pub(in crate::engine::llama) fn may_draft(&self) -> bool {
        self.sampled && self.feed.len() == 1
    }

    /// Where in the feed logits are wanted from: its last token, or the sampled token and
    /// every draft after it.
    pub(in crate::engine::llama) fn logits_from(&self) -> usize {
        self.feed.len().saturating_sub(1 + self.drafted)
    }

    /// The first `n` tokens of the feed were decoded: into `cached`, but for drafts, which wait
    /// past it for the model's own tokens.
    pub(in crate::engine::llama) fn fed(&mut self, n: usize, cached: &mut Vec<LlamaToken>) {
        // A feed with drafts goes in whole (the drivers size drafts to the room they give):
        // split, its drafts would enter `cached` unverified.
        debug_assert!(
            self.drafted == 0 || n == self.feed.len(),
            "a feed with drafts split"
        );
        let drafts = if n == self.feed.len() {
            self.drafted
        } else {
            0
        };
        cached.extend_from_slice(&self.feed[..n - drafts]);
        if self.sampled {
            self.drafts.decoded(&self.feed[n - drafts..n]);
        }
        self.feed.drain(..n);
        self.drafted = 0;
        self.sampled = false;
    }

    /// Its feed was decoded, the logits of its first token with logits at `at`: on until it
    /// has something to feed again or stops (what a generation does between two decodes).
    pub(in crate::engine::llama) fn advance(
        &mut self,
        cache: &mut Cache<'_, 'm>,
        at: i32,
    ) -> Result<Next, EngineError> {
        self.base = at;
        self.at = at;
        loop {
            if let Some(next) = self.before_token(cache)? {
                return Ok(next);
            }
            let token = self.sampler.sample(cache.ctx, self.at);
            if self.vocab.is_eog(token) {
                return Ok(Next::Stop(StopReason::EndOfTurn));
            }
            self.first_token.get_or_insert_with(Instant::now);
            let tag = self.tag_tokens.get(&token).map(|(_, tag)| *tag);
            if tag == Some(self.end_of_thinking) {
                // Thinking that ends too soon is extended: the end is not taken, the message is.
                if let Some(text) = self.budget.extend() {
                    // Sampling accepted the end into the sampler's history; it never entered
                    // the context.
                    self.extend_with(cache.cached, text);
                    continue;
                }
            }
            let mut piece = std::mem::take(&mut self.piece);
            piece.clear();
            self.vocab
                .token_to_piece_into(token, &mut piece, true, None);
            let next = self.take(cache, token, tag, &piece);
            self.piece = piece;
            if let Some(next) = next? {
                return Ok(next);
            }
        }
    }

    /// Before sampling: cancel, the answer asked for now, pending forced text (fed, then back
    /// here), the token limit and a full context. `None`: sample now.
    fn before_token(&mut self, cache: &mut Cache<'_, 'm>) -> Result<Option<Next>, EngineError> {
        if self.cancelled() {
            return Ok(Some(Next::Stop(StopReason::Cancelled)));
        }
        if !self.asked && self.flags.answer_now.load(Ordering::SeqCst) >= self.id {
            self.asked = true;
            self.budget.answer_now(self.gen.channel());
        }
        if let Some((text, step)) = self.pending.take() {
            // The step first, so that the front ends mark the place before the forced text.
            self.report(Some(step));
            let Some(n) = self.force(cache, &text)? else {
                return Ok(Some(Next::Stop(StopReason::ContextFull)));
            };
            self.budget.forced(n);
            self.report(None);
            if self.gen.answer_done() {
                return Ok(Some(Next::Stop(StopReason::OutputClosed)));
            }
            if n > 0 {
                return Ok(Some(Next::Feed));
            }
        }
        let used = self.gen.usage.completion_tokens;
        if self.max_tokens.is_some_and(|max| used >= max) {
            return Ok(Some(Next::Stop(StopReason::MaxTokens)));
        }
        if cache.cached.len() as u64 >= u64::from(cache.n_ctx) {
            return Ok(Some(Next::Stop(StopReason::ContextFull)));
        }
        Ok(None)
    }

    /// The sampled token through the guards to the router, then to the feed (or taken as the
    /// next draft). `None`: sample again (an accepted draft, or the thinking extended instead).
    fn take(
        &mut self,
        cache: &mut Cache<'_, 'm>,
        token: LlamaToken,
        tag: Option<TagToken>,
        piece: &[u8],
    ) -> Result<Option<Next>, EngineError> {
        let Some((held, this)) = self.hold(cache, token, tag, piece)? else {
            return Ok(None);
        };
        let route = held
            .iter()
            .map(|(t, p)| (*t, p.as_slice()))
            .chain(this.then_some((token, piece)));
        // The route ends with this token (not yet in the cache) unless the thinking guard
        // still holds it; every other piece in it is in the cache.
        let current_last = this || self.guard.as_ref().is_none_or(|g| g.held().is_empty());
        let pieces = held.len() + usize::from(this);
        let in_cache = |j: usize| !(current_last && j + 1 == pieces);
        let passed = self.through_turn_end(route.clone(), in_cache);
        // The guard's pieces when it is there, else the tokens straight (nothing allocated).
        let closed = match &passed {
            Some(p) => self.route(p.pieces.iter().map(|(t, p)| (*t, p.as_slice()))),
            None => self.route(route),
        };
        if closed {
            return Ok(Some(Next::Stop(StopReason::OutputClosed)));
        }
        if let Some(before) = passed.and_then(|p| p.tail) {
            self.end_turn(&before, current_last);
            return Ok(Some(Next::Stop(StopReason::EndOfTurn)));
        }
        self.next_token(cache, token)
    }

    /// What reaches the router now: tokens the thinking guard held (while the end of thinking
    /// may be forming in text) and whether this one goes with them. Without a guard: this one
    /// alone, with nothing allocated. `None` when the held tokens and this one spell the end
    /// of thinking: they are taken back out of the cache and the thinking is extended instead.
    fn hold(
        &mut self,
        cache: &mut Cache<'_, 'm>,
        token: LlamaToken,
        tag: Option<TagToken>,
        piece: &[u8],
    ) -> Result<Option<(Vec<Piece>, bool)>, EngineError> {
        let Some(g) = self.guard.as_mut() else {
            return Ok(Some((Vec::new(), true)));
        };
        if tag.is_some() || !self.budget.may_extend() {
            return Ok(Some((g.drain(), true)));
        }
        match g.offer(token, piece) {
            Offer::Route(r) => Ok(Some((r, false))),
            Offer::Complete { held, before } => {
                // The tag is complete: it is taken back out instead of ending the thinking, and
                // the text before it goes in again with the extension.
                let text = self.budget.extend().unwrap_or_default();
                // Drafts past the cached tokens go out with them.
                self.drafts.dropped();
                cache.forget_from(cache.cached.len() - held)?;
                let before = String::from_utf8_lossy(&before);
                self.extend_with(cache.cached, format!("{before}{text}"));
                Ok(None)
            }
        }
    }

    /// The thinking goes on with `text` forced next, in place of its end: the sampler forgets
    /// the tokens that are no longer in the context.
    fn extend_with(&mut self, cached: &[LlamaToken], text: String) {
        rebuild_history(&mut self.sampler, cached, self.prompt_tokens);
        let n = self.budget.report().extensions;
        self.pending = Some((text, BudgetStep::Extended(n)));
    }

    /// The token the model chose goes into the cache: a token that is the next draft is there
    /// already, its logits computed (sample again); one that is not takes the drafts after it
    /// out, and is fed.
    fn next_token(
        &mut self,
        cache: &mut Cache<'_, 'm>,
        token: LlamaToken,
    ) -> Result<Option<Next>, EngineError> {
        match self.drafts.offer(token) {
            Verdict::Accepted(i) => {
                cache.cached.push(token);
                self.at = self.base + i;
                return Ok(None);
            }
            Verdict::Rejected => cache.forget_from(cache.cached.len())?,
            Verdict::NoDrafts => {}
        }
        self.feed.push(token);
        self.sampled = true;
        Ok(Some(Next::Feed))
    }

    /// Drafts to follow the token just sampled, decoded with it: at most `room` of them (what
    /// the batch has room for), and no more than asked for, than the context has room for,
    /// or than the token limit leaves to generate.
    pub(in crate::engine::llama) fn speculate(&mut self, cache: &mut Cache<'_, 'm>, room: usize) {
        if !self.may_draft() {
            return;
        }
        let room = self.draft_room(cache, room);
        if room == 0 || !self.drafts.wanted() {
            return;
        }
        let mut drafts = std::mem::take(&mut self.drafting);
        if cache.draft(self.feed[0], room, &mut drafts) && drafts.is_empty() {
            // The draft model was asked and was not sure enough of anything: a miss, so that
            // one that never drafts pauses (and stops keeping up) as rejected drafts do.
            self.drafts.withheld();
        }
        self.feed.extend_from_slice(&drafts);
        self.drafted = drafts.len();
        self.drafting = drafts;
    }

    /// No more than asked for, and than the drafts' adaptive length (`Drafts::room`).
    fn draft_room(&self, cache: &Cache<'_, 'm>, batch: usize) -> usize {
        let max = self.drafts.room(cache.draft_max());
        // Forced text comes next, in the drafts' place.
        if max == 0 || self.pending.is_some() {
            return 0;
        }
        let context = (cache.n_ctx as usize).saturating_sub(cache.cached.len() + 1);
        let left = self.max_tokens.map_or(usize::MAX, |m| {
            m.saturating_sub(self.gen.usage.completion_tokens) as usize
        });
        max.min(batch).min(context).min(left)
    }

    /// Drafts still in the cache leave it unjudged: forced text goes in their place, or the
    /// generation ends.
    fn drop_drafts(&mut self, cache: &mut Cache<'_, 'm>) -> Result<(), EngineError> {
        if self.drafts.in_cache() {
            self.drafts.dropped();
            cache.forget_from(cache.cached.len())?;
        }
        Ok(())
    }

    /// The tokens still held (they are in the cache: part of the answer as written), the
    /// timings (`load_ms` to load the model); the completion, and the memo of the prompt and
    /// what was generated, for the next prompt to reuse. Drafts leave the cache.
    pub(in crate::engine::llama) fn finish(
        mut self,
        cache: &mut Cache<'_, 'm>,
        stop: StopReason,
        load_ms: u64,
    ) -> (Completion, Memo) {
        // The cache keeps only what was generated, for the next turn to reuse.
        if self.drop_drafts(cache).is_err() {
            // The cache holds drafts no generation took: the next turn starts afresh.
            cache.clear();
        }
        let still_held = (self.guard.as_mut().map(EndGuard::drain).unwrap_or_default())
            .into_iter()
            .chain(
                self.turn_end
                    .as_mut()
                    .map(EndGuard::drain)
                    .unwrap_or_default(),
            );
        for (tok, pc) in still_held {
            self.memo.push(tok, &pc);
            self.gen.bytes(&pc);
            self.gen.count(1);
        }
        let mut timings = timings(
            load_ms,
            self.started,
            self.prompt_done.unwrap_or_else(Instant::now),
            self.first_token,
            self.gen.usage.completion_tokens,
        );
        if cache.draft_max() > 0 {
            timings.draft_tokens = Some(self.drafts.drafted);
            timings.draft_accepted = Some(self.drafts.accepted);
        }
        let text = String::from_utf8_lossy(self.memo.generated()).into_owned();
        let mut done = self.gen.finish(stop, timings, text);
        done.seed = self.seed;
        done.budget = self.budget.active().then(|| self.budget.report().clone());
        (done, self.memo)
    }
}

#[cfg(test)]
mod tests {
    use super::opens_thinking;
    use crate::stream::TagSet;

    #[test]
    fn a_prompt_that_opens_the_thinking_is_seen() {
        let tags = TagSet {
            thinking: vec!["thinking".into(), "think".into()],
            ..TagSet::default()
        };
        for (prompt, open) in [
            ("<|im_start|>assistant\n<think>\n", true),
            (
                "<|start_header_id|>assistant<|end_header_id|>\n\n<thinking>",
                true,
            ),
            ("<|im_start|>assistant\n", false),
            ("<think>\nold</think>\n<|im_start|>assistant\n", false),
        ] {
            assert_eq!(opens_thinking(prompt, &tags), open, "{prompt:?}");
        }
    }
}
