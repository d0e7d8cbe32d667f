//! One generation on the loaded model, as a small state machine: refuse what cannot fit, fit
//! the conversation to the context (`fit`), prefill the prompt (`prefill`), then step token by
//! token ([`Decoding::step`]: the checks and forced text before a token, sampling, the guards
//! that hold back tags spelled in text, routing, decoding) until a stop condition, and finish
//! (what is still held, the timings, the memo). The thinking budget (`llm::budget`) is watched
//! here: forced text (the end of thinking, an extension) goes into the cache, the router, the
//! memo and the sampler exactly as generated tokens do, only not charged.

use super::super::fit::{fit_context, room_to_answer};
use super::super::fit::{left_out, room_for};
use super::super::memo::Memo;
use super::super::sampler_chain::PENALTY_LAST_N;
use super::super::template::special_token;
use super::super::tool_template::CALL_MARKERS;
use super::drafts::{Drafts, Verdict};
use super::end_guard::{EndGuard, Offer, Piece};
use super::prefill::Prefilled;
use super::{is_hidden, timings, Loaded};
use crate::llm::budget::{Act, Budget, BudgetStep, ForcedBy, Token};
use crate::llm::{
    Completion, EngineError, EngineEvent, EventSender, GenerateRequest, Generation, StopReason,
};
use crate::stream::{Channel, TagToken};
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::vocab::LlamaVocab;
use llama_cpp_2::DecodeError;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
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

/// A rendered prompt and its tokens.
#[derive(Clone)]
struct Prompt {
    text: String,
    tokens: Vec<LlamaToken>,
}

/// What the caller gave one generation: the request, where its events go, and the flags that
/// cancel it or ask for the answer now (each holds the highest generation id it applies to).
struct Call<'r> {
    req: &'r GenerateRequest,
    events: &'r EventSender,
    cancel: &'r AtomicU64,
    answer_now: &'r AtomicU64,
}

pub(in crate::engine::llama) fn run(
    s: &mut Loaded<'_>,
    req: &GenerateRequest,
    events: &EventSender,
    cancel: &AtomicU64,
    answer_now: &AtomicU64,
) -> Result<Completion, EngineError> {
    let started = Instant::now();
    refuse_too_long(s, req)?;
    let prompt = fit_prompt(s, req, events)?;
    let cancelled = || cancel.load(Ordering::SeqCst) >= req.id;
    let prefilled = s.prefill(&prompt.tokens, req.id, events, cancelled)?;
    let prompt_done = Instant::now();
    let _ = events.send(EngineEvent::PromptProcessed {
        id: req.id,
        prompt_tokens: prefilled.usage.prompt_tokens,
        evaluated: prefilled.usage.prompt_tokens_evaluated,
    });
    let call = Call {
        req,
        events,
        cancel,
        answer_now,
    };
    let (mut d, stop) = Decoding::new(s, call, prefilled, &prompt);
    let stop = match stop {
        Some(stop) => stop,
        None => loop {
            if let Some(stop) = d.step(s)? {
                break stop;
            }
        },
    };
    Ok(d.finish(s, stop, started, prompt_done))
}

/// Megabytes of text (a file piped in) are refused before tokenizing them, which could take
/// seconds.
fn refuse_too_long(s: &Loaded<'_>, req: &GenerateRequest) -> Result<(), EngineError> {
    let n_ctx = s.ctx.n_ctx();
    let message_bytes = req.messages.last().map_or(0, |m| m.content.len());
    if message_bytes > n_ctx as usize {
        let at_least = s.fewest_tokens(message_bytes);
        if at_least >= n_ctx as usize {
            return Err(EngineError::MessageTooLong {
                bytes: message_bytes as u64,
                at_least: at_least as u64,
                n_ctx,
            });
        }
    }
    Ok(())
}

/// The conversation rendered and tokenized, its oldest turns left out (with a warning) where
/// it no longer fits the context with room to answer.
fn fit_prompt(
    s: &mut Loaded<'_>,
    req: &GenerateRequest,
    events: &EventSender,
) -> Result<Prompt, EngineError> {
    let n_ctx = s.ctx.n_ctx();
    if !req.tools.is_empty() {
        if let Some(note) = s.take_tools_note() {
            let _ = events.send(EngineEvent::Warning(note));
        }
    }
    let failed = std::cell::RefCell::new(None);
    let (prompt, dropped, new_cut) = fit_context(
        &req.messages,
        n_ctx as usize,
        room_to_answer(req.max_tokens, n_ctx),
        s.cut.as_ref(),
        |m| {
            let text = s.render_with_tools(m, &req.tools).unwrap_or_else(|e| {
                failed.borrow_mut().get_or_insert(e);
                String::new()
            });
            let tokens = s.tokenize(&text);
            Prompt { text, tokens }
        },
        |p| p.tokens.len(),
    );
    if let Some(e) = failed.into_inner() {
        return Err(EngineError::Unsupported(format!(
            "the prompt with tools could not be rendered: {e}"
        )));
    }
    if dropped == 0 {
        s.cut = None;
    }
    if let Some(cut) = new_cut {
        s.cut = Some(cut);
        let _ = events.send(left_out(n_ctx, dropped));
    }
    room_for(prompt.tokens.len(), n_ctx)?;
    Ok(prompt)
}

/// The call markers that are control tokens of this vocabulary, when `req` offers tools.
pub(in crate::engine::llama) fn call_markers(
    s: &Loaded<'_>,
    req: &GenerateRequest,
) -> Vec<LlamaToken> {
    if req.tools.is_empty() {
        return Vec::new();
    }
    CALL_MARKERS
        .iter()
        .filter_map(|m| special_token(s.model(), m))
        .collect()
}

/// What the pieces the end-of-turn guard let through came to.
struct Passed {
    /// To route, in order.
    pieces: Vec<Piece>,
    /// When they completed the end of the turn: the text before it, the last of the answer.
    tail: Option<Vec<u8>>,
}

/// One generation between two tokens: everything the token loop carries from one to the next.
struct Decoding<'r, 'm> {
    call: Call<'r>,
    vocab: LlamaVocab<'m>,
    n_ctx: u32,
    prompt_tokens: usize,
    gen: Generation,
    memo: Memo,
    sampler: LlamaSampler,
    seed: Option<u32>,
    /// Reused for every decode; its last token's logits are sampled (at `logits_at`).
    batch: LlamaBatch<'static>,
    logits_at: i32,
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
    first_token: Option<Instant>,
    /// The answer was asked for now (once is enough).
    asked: bool,
    /// Speculative decoding: drafts in the cache past `s.cached`, waiting for the model's own
    /// token at their position (nothing else sees them), and the buffer they are drafted in.
    drafts: Drafts<LlamaToken>,
    drafting: Vec<LlamaToken>,
}

/// Whether `prompt` ends with an opening thinking tag (`<think>`, `<thinking>`, …).
pub(in crate::engine::llama) fn opens_thinking(prompt: &str, tags: &crate::stream::TagSet) -> bool {
    let end = prompt.trim_end();
    tags.thinking
        .iter()
        .any(|n| end.ends_with(&format!("<{n}>")))
}

impl<'r, 'm> Decoding<'r, 'm> {
    /// The loop's state after prefill, and the stop prefill already decided (cancelled).
    fn new(
        s: &Loaded<'m>,
        call: Call<'r>,
        prefilled: Prefilled<'static>,
        prompt: &Prompt,
    ) -> (Self, Option<StopReason>) {
        let req = call.req;
        let tag_tokens = s.tag_tokens(&req.router.tags);
        let (sampler, seed) = req.sampling.build(s.model.n_vocab());
        let mut gen = Generation::new(req, call.events);
        if !req.tools.is_empty() {
            gen = gen.read_calls(s.call_format());
            // A tool template that opens the thinking itself (QwQ's ends with `<think>`): the
            // model starts inside it, and nothing it thinks is read for calls.
            if !req.router.start_in_thinking && opens_thinking(&prompt.text, &req.router.tags) {
                gen.prompt_tag(TagToken::open(Channel::Thinking));
            }
        }
        gen.usage = prefilled.usage;
        let mut budget = Budget::new(req.budget.clone(), &req.router);
        let end_of_thinking = TagToken::close(Channel::Thinking);
        let one_token_end = tag_tokens.values().any(|(_, t)| *t == end_of_thinking);
        let guard = (req.budget.min_thinking.is_some() && !one_token_end)
            .then(|| EndGuard::new(&req.router.tags.canonical(end_of_thinking)));
        let pending = match budget.at_start() {
            Act::Force(text) => Some((text, BudgetStep::Forced(ForcedBy::NoThinking))),
            Act::Nothing => None,
        };
        let decoding = Decoding {
            call,
            vocab: s.model().vocab(),
            n_ctx: s.ctx.n_ctx(),
            prompt_tokens: prompt.tokens.len(),
            gen,
            memo: Memo::new(&prompt.text, &prompt.tokens),
            sampler,
            seed,
            logits_at: prefilled.batch.n_tokens() - 1,
            batch: prefilled.batch,
            tag_tokens,
            markers: call_markers(s, req),
            budget,
            end_of_thinking,
            guard,
            turn_end: s.template.end_text.as_deref().map(EndGuard::new),
            pending,
            piece: Vec::new(),
            first_token: None,
            asked: false,
            drafts: Drafts::default(),
            drafting: Vec::new(),
        };
        (decoding, prefilled.stop)
    }

    /// One turn of the loop: the checks and forced text before a token, then one token
    /// sampled, routed and decoded (or an extension of the thinking set up in its place).
    /// `Some` when the generation stops.
    fn step(&mut self, s: &mut Loaded<'m>) -> Result<Option<StopReason>, EngineError> {
        if let Some(stop) = self.before_token(s)? {
            return Ok(Some(stop));
        }
        let token = self.sampler.sample(&s.ctx, self.logits_at);
        if self.vocab.is_eog(token) {
            return Ok(Some(StopReason::EndOfTurn));
        }
        self.first_token.get_or_insert_with(Instant::now);
        let tag = self.tag_tokens.get(&token).map(|(_, tag)| *tag);
        if tag == Some(self.end_of_thinking) {
            // Thinking that ends too soon is extended: the end is not taken, the message is.
            if let Some(text) = self.budget.extend() {
                // Sampling accepted the end into the sampler's history; it never entered the
                // context.
                self.extend_with(s, text);
                return Ok(None);
            }
        }
        let mut piece = std::mem::take(&mut self.piece);
        piece.clear();
        self.vocab
            .token_to_piece_into(token, &mut piece, true, None);
        let stop = self.take(s, token, tag, &piece);
        self.piece = piece;
        stop
    }

    /// Before sampling: cancel, the answer asked for now, pending forced text, the token
    /// limit and a full context.
    fn before_token(&mut self, s: &mut Loaded<'m>) -> Result<Option<StopReason>, EngineError> {
        let id = self.call.req.id;
        if self.call.cancel.load(Ordering::SeqCst) >= id {
            return Ok(Some(StopReason::Cancelled));
        }
        if !self.asked && self.call.answer_now.load(Ordering::SeqCst) >= id {
            self.asked = true;
            self.budget.answer_now(self.gen.channel());
        }
        if let Some((text, step)) = self.pending.take() {
            // The step first, so that the front ends mark the place before the forced text.
            self.report(Some(step));
            match self.force(s, &text)? {
                Some(n) => {
                    self.budget.forced(n);
                    self.report(None);
                    if n > 0 {
                        self.logits_at = self.batch.n_tokens() - 1;
                    }
                }
                None => return Ok(Some(StopReason::ContextFull)),
            }
            if self.gen.answer_done() {
                return Ok(Some(StopReason::OutputClosed));
            }
        }
        let used = self.gen.usage.completion_tokens;
        if self.call.req.max_tokens.is_some_and(|max| used >= max) {
            return Ok(Some(StopReason::MaxTokens));
        }
        if s.cached.len() as u64 >= u64::from(self.n_ctx) {
            return Ok(Some(StopReason::ContextFull));
        }
        Ok(None)
    }

    /// The sampled token through the guards to the router, then into the cache.
    fn take(
        &mut self,
        s: &mut Loaded<'m>,
        token: LlamaToken,
        tag: Option<TagToken>,
        piece: &[u8],
    ) -> Result<Option<StopReason>, EngineError> {
        let Some((held, this)) = self.hold(s, token, tag, piece)? else {
            return Ok(None);
        };
        let route = held
            .iter()
            .map(|(t, p)| (*t, p.as_slice()))
            .chain(this.then_some((token, piece)));
        // The route ends with this token (not yet decoded) unless the thinking guard still
        // holds it; every other piece in it is in the cache.
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
            return Ok(Some(StopReason::OutputClosed));
        }
        if let Some(before) = passed.and_then(|p| p.tail) {
            self.end_turn(&before, current_last);
            return Ok(Some(StopReason::EndOfTurn));
        }
        self.decode(s, token)
    }

    /// What reaches the router now: tokens the thinking guard held (while the end of thinking
    /// may be forming in text) and whether this one goes with them. Without a guard: this one
    /// alone, with nothing allocated. `None` when the held tokens and this one spell the end
    /// of thinking: they are taken back out of the cache and the thinking is extended instead.
    fn hold(
        &mut self,
        s: &mut Loaded<'m>,
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
                let at = s.cached.len() - held;
                // Drafts past the cached tokens go out with them.
                self.drafts.dropped();
                s.forget_from(at)?;
                s.cached.truncate(at);
                let before = String::from_utf8_lossy(&before);
                self.extend_with(s, format!("{before}{text}"));
                Ok(None)
            }
        }
    }

    /// The thinking goes on with `text` forced next, in place of its end: the sampler forgets
    /// the tokens that are no longer in the context.
    fn extend_with(&mut self, s: &Loaded<'m>, text: String) {
        rebuild_history(&mut self.sampler, &s.cached, self.prompt_tokens);
        let n = self.budget.report().extensions;
        self.pending = Some((text, BudgetStep::Extended(n)));
    }

    /// With the chat format's end of turn in text, the pieces pass its guard first; `None`
    /// without such a guard. `in_cache(j)`: whether the `j`th piece is in the cache.
    fn through_turn_end<'p>(
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
    fn route<'p>(&mut self, pieces: impl Iterator<Item = (LlamaToken, &'p [u8])>) -> bool {
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
    fn end_turn(&mut self, before: &[u8], current_last: bool) {
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

    /// The sampled token into the cache; its logits are the next to sample. A token that is
    /// the next draft is in the cache already, its logits computed; one that is not takes the
    /// drafts after it out. With speculation on, drafts to follow the token are decoded with
    /// it, logits at every position.
    fn decode(
        &mut self,
        s: &mut Loaded<'m>,
        token: LlamaToken,
    ) -> Result<Option<StopReason>, EngineError> {
        match self.drafts.offer(token) {
            Verdict::Accepted(at) => {
                s.cached.push(token);
                self.logits_at = at;
                return Ok(None);
            }
            Verdict::Rejected => s.forget_from(s.cached.len())?,
            Verdict::NoDrafts => {}
        }
        let mut drafts = std::mem::take(&mut self.drafting);
        drafts.clear();
        let at = s.cached.len();
        s.cached.push(token);
        let room = self.draft_room(s);
        if room > 0 && self.drafts.wanted() && s.draft(room, &mut drafts) && drafts.is_empty() {
            // The draft model was asked and was not sure enough of anything: a miss, so that
            // one that never drafts pauses (and stops keeping up) as rejected drafts do.
            self.drafts.withheld();
        }
        self.batch.clear();
        let add = |batch: &mut LlamaBatch, (i, t): (usize, &LlamaToken)| {
            batch
                .add(*t, (at + i) as i32, &[0], true)
                .map_err(|e| EngineError::Decode(e.to_string()))
        };
        for item in std::iter::once(&token).chain(&drafts).enumerate() {
            if let Err(e) = add(&mut self.batch, item) {
                s.cached.pop();
                return Err(e);
            }
        }
        let decoded = s.ctx.decode(&mut self.batch);
        if decoded.is_err() {
            s.cached.pop();
        }
        match decoded {
            Ok(()) => {}
            Err(DecodeError::NoKvCacheSlot) => return Ok(Some(StopReason::ContextFull)),
            Err(e) => return Err(super::decode_error(e)),
        }
        self.drafts.decoded(&drafts);
        self.drafting = drafts;
        self.logits_at = 0;
        Ok(None)
    }

    /// How many drafts may follow the token just cached: no more than asked for (and than the
    /// drafts' adaptive length, `Drafts::room`), than a batch holds, than the context has room
    /// for, or than the token limit leaves to generate.
    fn draft_room(&self, s: &Loaded<'m>) -> usize {
        let max = self.drafts.room(s.draft_max());
        // Forced text comes next, in the drafts' place.
        if max == 0 || self.pending.is_some() {
            return 0;
        }
        let batch = (s.ctx.n_batch() as usize).saturating_sub(1);
        let context = (self.n_ctx as usize).saturating_sub(s.cached.len() + 1);
        let left = self.call.req.max_tokens.map_or(usize::MAX, |m| {
            m.saturating_sub(self.gen.usage.completion_tokens) as usize
        });
        max.min(batch).min(context).min(left)
    }

    /// Drafts still in the cache leave it unjudged: forced text goes in their place, or the
    /// generation ends.
    fn drop_drafts(&mut self, s: &mut Loaded<'m>) -> Result<(), EngineError> {
        if self.drafts.in_cache() {
            self.drafts.dropped();
            s.forget_from(s.cached.len())?;
        }
        Ok(())
    }

    /// Decodes `text` (special tokens parsed, so that a tag that is one token in the vocabulary
    /// is forced as that token) into the cache as if it had been generated: routed, kept in the
    /// memo, told to the sampler. Returns how many tokens, `None` when they do not fit.
    fn force(&mut self, s: &mut Loaded<'m>, text: &str) -> Result<Option<u32>, EngineError> {
        let tokens = self.vocab.tokenize(text.as_bytes(), false, true);
        if tokens.is_empty() {
            return Ok(Some(0));
        }
        self.drop_drafts(s)?;
        if (s.cached.len() + tokens.len()) as u64 >= u64::from(self.n_ctx) {
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
        let n_batch = s.ctx.n_batch().max(1) as usize;
        for chunk in tokens.chunks(n_batch) {
            self.batch.clear();
            let last = chunk.len() - 1;
            let at = s.cached.len();
            for (i, t) in chunk.iter().enumerate() {
                self.batch
                    .add(*t, (at + i) as i32, &[0], i == last)
                    .map_err(|e| EngineError::Decode(e.to_string()))?;
            }
            match s.ctx.decode(&mut self.batch) {
                Ok(()) => s.cached.extend_from_slice(chunk),
                Err(DecodeError::NoKvCacheSlot) => return Ok(None),
                Err(e) => return Err(super::decode_error(e)),
            }
        }
        Ok(Some(tokens.len() as u32))
    }

    /// Whether a token that is not a tag goes to the router as text: all but hidden control
    /// tokens, and call markers even then.
    fn shown(&self, token: LlamaToken) -> bool {
        !is_hidden(&self.vocab, token) || self.markers.contains(&token)
    }

    /// The budget's state to the front ends, with the step just taken if any.
    fn report(&self, step: Option<BudgetStep>) {
        let _ = self.call.events.send(EngineEvent::Budget {
            id: self.call.req.id,
            report: self.budget.report().clone(),
            step,
        });
    }

    /// The tokens still held (they are in the cache: part of the answer as written), the
    /// timings, the memo kept for the next prompt; the completion.
    fn finish(
        mut self,
        s: &mut Loaded<'m>,
        stop: StopReason,
        started: Instant,
        prompt_done: Instant,
    ) -> Completion {
        // The cache keeps only what was generated, for the next turn to reuse.
        let forgot = self.drop_drafts(s);
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
        for (tok, pc) in still_held {
            self.memo.push(tok, &pc);
            self.gen.bytes(&pc);
            self.gen.count(1);
        }
        let mut timings = timings(
            s.load_ms,
            started,
            prompt_done,
            self.first_token,
            self.gen.usage.completion_tokens,
        );
        if s.draft_max() > 0 {
            timings.draft_tokens = Some(self.drafts.drafted);
            timings.draft_accepted = Some(self.drafts.accepted);
        }
        if forgot.is_err() {
            // The cache holds drafts no generation took: the next turn starts afresh.
            s.ctx.clear_kv_cache();
            s.cached.clear();
        }
        let text = String::from_utf8_lossy(self.memo.generated()).into_owned();
        s.memo = Some(self.memo);
        let mut done = self.gen.finish(stop, timings, text);
        done.seed = self.seed;
        done.budget = self.budget.active().then(|| self.budget.report().clone());
        done
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
