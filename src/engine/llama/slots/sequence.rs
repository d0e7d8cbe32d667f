//! One job in a slot: a generation alone's token loop (`model::decode`), step for step, except
//! that it never decodes by itself. What it needs in the cache (the rest of its prompt, forced
//! text, its sampled token) waits in its `feed` for the next batch; once its last token is
//! decoded, [`Seq::advance`] runs the checks before a token (cancel, forced text, the token
//! limit, a full slot), samples, and passes the token through the same guards, router, counts
//! and thinking budget as alone, until it has something to feed again or stops.

use super::super::model::{
    call_markers, is_hidden, opens_thinking, rebuild_history, timings, EndGuard, Loaded, Offer,
};
use super::prompt::Prompt;
use crate::llm::budget::{Act, Budget, BudgetStep, ForcedBy, Token};
use crate::llm::{Completion, EngineError, EngineEvent, Generation, ServeJob, StopReason, Usage};
use crate::stream::{Channel, TagToken};
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::vocab::LlamaVocab;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// A sampled token and its piece.
type Piece = (LlamaToken, Vec<u8>);

/// What a sequence does after [`Seq::advance`].
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Next {
    /// Its feed holds tokens to decode in the next batch.
    Feed,
    Stop(StopReason),
}

/// The slot a sequence runs in: its sequence id and the tokens its cache holds.
pub(super) struct SlotCache<'c, 'm> {
    pub ctx: &'c mut LlamaContext<'m>,
    pub id: i32,
    pub cached: &'c mut Vec<LlamaToken>,
    pub n_ctx: u32,
}

pub(super) struct Seq<'m> {
    pub job: ServeJob,
    vocab: LlamaVocab<'m>,
    pub gen: Generation,
    sampler: LlamaSampler,
    seed: Option<u32>,
    tag_tokens: HashMap<LlamaToken, (String, TagToken)>,
    markers: Vec<LlamaToken>,
    budget: Budget,
    end_of_thinking: TagToken,
    guard: Option<EndGuard>,
    turn_end: Option<EndGuard>,
    pending: Option<(String, BudgetStep)>,
    /// Tokens to decode next, in order; the last one's logits are sampled.
    pub feed: Vec<LlamaToken>,
    /// How many of them the prompt's (still being prefilled).
    pub prompt_left: usize,
    prompt_tokens: usize,
    /// Everything generated or forced into the cache, as written.
    text: Vec<u8>,
    piece: Vec<u8>,
    started: Instant,
    pub prompt_done: Option<Instant>,
    first_token: Option<Instant>,
}

impl<'m> Seq<'m> {
    /// A job starting in a slot whose cache holds `common` tokens of `prompt` already.
    pub(super) fn new(
        loaded: &Loaded<'m>,
        job: ServeJob,
        prompt: &Prompt,
        common: usize,
        started: Instant,
    ) -> Self {
        let req = &job.request;
        let tag_tokens = loaded.tag_tokens(&req.router.tags);
        let (sampler, seed) = req.sampling.build(loaded.n_vocab());
        let mut gen = Generation::new(req, &job.events);
        if !req.tools.is_empty() {
            gen = gen.read_calls(loaded.call_format());
            if !req.router.start_in_thinking && opens_thinking(&prompt.text, &req.router.tags) {
                gen.tag(TagToken::open(Channel::Thinking));
            }
        }
        let n = prompt.tokens.len();
        gen.usage = Usage {
            prompt_tokens: n as u32,
            prompt_tokens_evaluated: (n - common) as u32,
            ..Usage::default()
        };
        let mut budget = Budget::new(req.budget.clone(), &req.router);
        let end_of_thinking = TagToken::close(Channel::Thinking);
        let one_token_end = tag_tokens.values().any(|(_, t)| *t == end_of_thinking);
        let guard = (req.budget.min_thinking.is_some() && !one_token_end)
            .then(|| EndGuard::new(&req.router.tags.canonical(end_of_thinking)));
        let pending = match budget.at_start() {
            Act::Force(text) => Some((text, BudgetStep::Forced(ForcedBy::NoThinking))),
            Act::Nothing => None,
        };
        let markers = call_markers(loaded, req);
        Seq {
            vocab: loaded.model().vocab(),
            gen,
            sampler,
            seed,
            tag_tokens,
            markers,
            budget,
            end_of_thinking,
            guard,
            turn_end: loaded.end_text().map(EndGuard::new),
            pending,
            feed: prompt.tokens[common..].to_vec(),
            prompt_left: n - common,
            prompt_tokens: n,
            text: Vec::new(),
            piece: Vec::new(),
            started,
            prompt_done: None,
            first_token: None,
            job,
        }
    }

    pub(super) fn cancelled(&self) -> bool {
        self.job.cancel.load(Ordering::SeqCst) >= self.job.request.id
    }

    /// Its feed was decoded, the last token's logits at `at`: on until it has something to
    /// feed again or stops (what a generation alone does between two decodes).
    pub(super) fn advance(
        &mut self,
        slot: &mut SlotCache<'_, 'm>,
        at: i32,
    ) -> Result<Next, EngineError> {
        loop {
            if let Some(next) = self.before_token(slot)? {
                return Ok(next);
            }
            let token = self.sampler.sample(slot.ctx, at);
            if self.vocab.is_eog(token) {
                return Ok(Next::Stop(StopReason::EndOfTurn));
            }
            self.first_token.get_or_insert_with(Instant::now);
            let tag = self.tag_tokens.get(&token).map(|(_, tag)| *tag);
            if tag == Some(self.end_of_thinking) {
                if let Some(text) = self.budget.extend() {
                    self.extend_with(slot.cached, text);
                    continue;
                }
            }
            let mut piece = std::mem::take(&mut self.piece);
            piece.clear();
            self.vocab
                .token_to_piece_into(token, &mut piece, true, None);
            let next = self.take(slot, token, tag, &piece);
            self.piece = piece;
            if let Some(next) = next? {
                return Ok(next);
            }
        }
    }

    /// Before sampling: cancel, pending forced text (fed, then back here), the token limit and
    /// a full slot. `None`: sample now.
    fn before_token(&mut self, slot: &SlotCache<'_, 'm>) -> Result<Option<Next>, EngineError> {
        if self.cancelled() {
            return Ok(Some(Next::Stop(StopReason::Cancelled)));
        }
        if let Some((text, step)) = self.pending.take() {
            self.report(Some(step));
            let Some(n) = self.force(&text, slot.cached.len(), slot.n_ctx) else {
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
        if self.job.request.max_tokens.is_some_and(|max| used >= max) {
            return Ok(Some(Next::Stop(StopReason::MaxTokens)));
        }
        if slot.cached.len() as u64 >= u64::from(slot.n_ctx) {
            return Ok(Some(Next::Stop(StopReason::ContextFull)));
        }
        Ok(None)
    }

    /// The sampled token through the guards to the router, then to the feed. `None`: the
    /// thinking is extended instead (sample again after the forced text).
    fn take(
        &mut self,
        slot: &mut SlotCache<'_, 'm>,
        token: LlamaToken,
        tag: Option<TagToken>,
        piece: &[u8],
    ) -> Result<Option<Next>, EngineError> {
        let Some((held, this)) = self.hold(slot, token, tag, piece)? else {
            return Ok(None);
        };
        let route: Vec<(LlamaToken, &[u8])> = held
            .iter()
            .map(|(t, p)| (*t, p.as_slice()))
            .chain(this.then_some((token, piece)))
            .collect();
        let current_last = this || self.guard.as_ref().is_none_or(|g| g.held().is_empty());
        let in_cache = |j: usize| !(current_last && j + 1 == route.len());
        let (pieces, tail) = self.through_turn_end(&route, in_cache);
        let closed = match &pieces {
            Some(p) => self.route(p.iter().map(|(t, p)| (*t, p.as_slice()))),
            None => self.route(route.iter().copied()),
        };
        if closed {
            return Ok(Some(Next::Stop(StopReason::OutputClosed)));
        }
        if let Some(before) = tail {
            self.end_turn(&before, current_last);
            return Ok(Some(Next::Stop(StopReason::EndOfTurn)));
        }
        self.feed.push(token);
        Ok(Some(Next::Feed))
    }

    /// What reaches the router now (see `Decoding::hold` in `model::decode`): `None` when the
    /// held tokens and this one spell the end of thinking, taken back out of the slot's cache
    /// and extended instead.
    fn hold(
        &mut self,
        slot: &mut SlotCache<'_, 'm>,
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
                let text = self.budget.extend().unwrap_or_default();
                let at = slot.cached.len() - held;
                if slot
                    .ctx
                    .kv_cache_seq_rm(slot.id, Some(at as u32), None)
                    .is_err()
                {
                    return Err(EngineError::Decode(
                        "llama.cpp could not take tokens back out of its cache".into(),
                    ));
                }
                slot.cached.truncate(at);
                let before = String::from_utf8_lossy(&before);
                self.extend_with(slot.cached, format!("{before}{text}"));
                Ok(None)
            }
        }
    }

    /// The thinking goes on with `text` forced next, in place of its end.
    fn extend_with(&mut self, cached: &[LlamaToken], text: String) {
        rebuild_history(&mut self.sampler, cached, self.prompt_tokens);
        let n = self.budget.report().extensions;
        self.pending = Some((text, BudgetStep::Extended(n)));
    }

    /// With the chat format's end of turn in text, the pieces pass its guard first: the
    /// pieces to route (`None` without such a guard), and the text before the end of the turn
    /// when they completed it.
    fn through_turn_end(
        &mut self,
        route: &[(LlamaToken, &[u8])],
        in_cache: impl Fn(usize) -> bool,
    ) -> (Option<Vec<Piece>>, Option<Vec<u8>>) {
        let Some(g) = self.turn_end.as_mut() else {
            return (None, None);
        };
        let mut out = Vec::new();
        for (i, (tok, pc)) in route.iter().enumerate() {
            if self.tag_tokens.contains_key(tok) {
                out.extend(g.drain());
                out.push((*tok, pc.to_vec()));
                continue;
            }
            let waiting = g.held().to_vec();
            match g.offer(*tok, pc) {
                Offer::Route(r) => out.extend(r),
                Offer::Complete { before, .. } => {
                    let mut spent = waiting.len() as u32;
                    for (_, p) in &waiting {
                        self.text.extend_from_slice(p);
                    }
                    for (j, (_, p)) in route.iter().enumerate().skip(i) {
                        spent += 1;
                        if in_cache(j) {
                            self.text.extend_from_slice(p);
                        }
                    }
                    self.gen.count(spent);
                    return (Some(out), Some(before));
                }
            }
        }
        (Some(out), None)
    }

    /// Pieces to the text and the router, counted and shown to the budget; whether the answer
    /// is complete.
    fn route<'p>(&mut self, pieces: impl Iterator<Item = (LlamaToken, &'p [u8])>) -> bool {
        for (tok, pc) in pieces {
            self.text.extend_from_slice(pc);
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

    /// The end of the turn was spelled in text: `before` it is the last of the answer; what
    /// the thinking guard holds comes after it.
    fn end_turn(&mut self, before: &[u8], current_last: bool) {
        self.gen.bytes(before);
        if let Some(g) = self.guard.as_mut() {
            let mut rest = g.drain();
            if !current_last {
                rest.pop();
            }
            for (_, p) in &rest {
                self.text.extend_from_slice(p);
            }
            self.gen.count(rest.len() as u32);
        }
    }

    /// `text` routed as if generated and put in the feed; how many tokens, `None` when they do
    /// not fit the slot (which holds `cached` tokens of `n_ctx`).
    fn force(&mut self, text: &str, cached: usize, n_ctx: u32) -> Option<u32> {
        let tokens = self.vocab.tokenize(text.as_bytes(), false, true);
        if tokens.is_empty() {
            return Some(0);
        }
        if (cached + tokens.len()) as u64 >= u64::from(n_ctx) {
            return None;
        }
        let mut piece = Vec::new();
        for t in &tokens {
            piece.clear();
            self.vocab.token_to_piece_into(*t, &mut piece, true, None);
            self.text.extend_from_slice(&piece);
            if let Some((_, tag)) = self.tag_tokens.get(t) {
                self.gen.tag(*tag);
            } else if self.shown(*t) {
                self.gen.bytes(&piece);
            }
            self.gen.count(1);
            self.sampler.accept(*t);
        }
        self.feed.extend_from_slice(&tokens);
        Some(tokens.len() as u32)
    }

    fn shown(&self, token: LlamaToken) -> bool {
        !is_hidden(&self.vocab, token) || self.markers.contains(&token)
    }

    fn report(&self, step: Option<BudgetStep>) {
        let _ = self.job.events.send(EngineEvent::Budget {
            id: self.job.request.id,
            report: self.budget.report().clone(),
            step,
        });
    }

    /// The tokens still held (part of the answer as written), the timings; the completion.
    pub(super) fn finish(mut self, stop: StopReason) -> (Completion, ServeJob) {
        let still_held = self
            .guard
            .as_mut()
            .map(EndGuard::drain)
            .unwrap_or_default()
            .into_iter()
            .chain(
                self.turn_end
                    .as_mut()
                    .map(EndGuard::drain)
                    .unwrap_or_default(),
            );
        for (_, pc) in still_held {
            self.text.extend_from_slice(&pc);
            self.gen.bytes(&pc);
            self.gen.count(1);
        }
        let timings = timings(
            0,
            self.started,
            self.prompt_done.unwrap_or_else(Instant::now),
            self.first_token,
            self.gen.usage.completion_tokens,
        );
        let text = String::from_utf8_lossy(&self.text).into_owned();
        let mut done = self.gen.finish(stop, timings, text);
        done.seed = self.seed;
        done.budget = self.budget.active().then(|| self.budget.report().clone());
        (done, self.job)
    }
}
