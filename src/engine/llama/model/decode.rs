//! One generation on the loaded model: refuse what cannot fit, fit the conversation to the
//! context (`fit`), prefill the prompt (`prefill`), then sample token by token through the
//! router until a stop condition, and time it all. The thinking budget (`llm::budget`) is
//! watched here: forced text (the end of thinking, an extension) goes into the cache, the
//! router, the memo and the sampler exactly as generated tokens do, only not charged.

use super::super::fit::{fit_context, room_to_answer};
use super::super::memo::Memo;
use super::super::sampler_chain::PENALTY_LAST_N;
use super::end_guard::{EndGuard, Offer, Piece};
use super::prefill::Prefilled;
use super::{is_hidden, Loaded};
use crate::llm::budget::{Act, Budget, BudgetStep, ForcedBy, Token};
use crate::llm::{
    Completion, EngineError, EngineEvent, EventSender, GenerateRequest, Generation, StopReason,
    Timings,
};
use crate::stream::{Channel, TagToken};
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::DecodeError;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Rebuilds the sampler's history (what its repetition penalty looks back over) from the
/// generated tokens in the cache, after tokens it had accepted were left out of the context
/// (an extension took the end of thinking's place). `prompt` tokens come first in `cached`.
fn rebuild_history(sampler: &mut LlamaSampler, cached: &[LlamaToken], prompt: usize) {
    sampler.reset();
    let from = cached.len().saturating_sub(PENALTY_LAST_N).max(prompt);
    sampler.accept_many(&cached[from.min(cached.len())..]);
}

/// What forcing text touches: the generation's stream, memo, sampler and batch.
struct Stream<'a, 'b> {
    gen: &'a mut Generation,
    memo: &'a mut Memo,
    sampler: &'a mut LlamaSampler,
    batch: &'a mut LlamaBatch<'b>,
    tag_tokens: &'a HashMap<LlamaToken, (String, TagToken)>,
}

impl Loaded<'_> {
    /// Decodes `text` (special tokens parsed, so that a tag that is one token in the vocabulary
    /// is forced as that token) into the cache as if it had been generated: routed, kept in the
    /// memo, told to the sampler. Returns how many tokens, `None` when they do not fit.
    fn force(&mut self, text: &str, st: &mut Stream<'_, '_>) -> Result<Option<u32>, EngineError> {
        let vocab = self.model.vocab();
        let tokens = vocab.tokenize(text.as_bytes(), false, true);
        if tokens.is_empty() {
            return Ok(Some(0));
        }
        if (self.cached.len() + tokens.len()) as u64 >= u64::from(self.ctx.n_ctx()) {
            return Ok(None);
        }
        let mut piece = Vec::new();
        for t in &tokens {
            piece.clear();
            vocab.token_to_piece_into(*t, &mut piece, true, None);
            st.memo.push(*t, &piece);
            if let Some((_, tag)) = st.tag_tokens.get(t) {
                st.gen.tag(*tag);
            } else if !is_hidden(&vocab, *t) {
                st.gen.bytes(&piece);
            }
            st.gen.count(1);
            st.sampler.accept(*t);
        }
        let n_batch = self.ctx.n_batch().max(1) as usize;
        for chunk in tokens.chunks(n_batch) {
            st.batch.clear();
            let last = chunk.len() - 1;
            let at = self.cached.len();
            for (i, t) in chunk.iter().enumerate() {
                st.batch
                    .add(*t, (at + i) as i32, &[0], i == last)
                    .map_err(|e| EngineError::Decode(e.to_string()))?;
            }
            match self.ctx.decode(st.batch) {
                Ok(()) => self.cached.extend_from_slice(chunk),
                Err(DecodeError::NoKvCacheSlot) => return Ok(None),
                Err(e) => return Err(super::decode_error(e)),
            }
        }
        Ok(Some(tokens.len() as u32))
    }
}

/// A rendered prompt and its tokens.
#[derive(Clone)]
struct Prompt {
    text: String,
    tokens: Vec<LlamaToken>,
}

pub(in crate::engine::llama) fn run(
    s: &mut Loaded<'_>,
    req: &GenerateRequest,
    events: &EventSender,
    cancel: &AtomicU64,
    answer_now: &AtomicU64,
) -> Result<Completion, EngineError> {
    let started = Instant::now();
    let cancelled = || cancel.load(Ordering::SeqCst) >= req.id;
    let asked_to_answer = || answer_now.load(Ordering::SeqCst) >= req.id;
    let vocab = s.model.vocab();
    let n_ctx = s.ctx.n_ctx();
    // Megabytes of text (a file piped in) are refused before tokenizing them, which could
    // take seconds.
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
    let (Prompt { text, tokens }, dropped, new_cut) = fit_context(
        &req.messages,
        n_ctx as usize,
        room_to_answer(req.max_tokens, n_ctx),
        s.cut.as_ref(),
        |m| {
            let text = s.render(m);
            let tokens = s.tokenize(&text);
            Prompt { text, tokens }
        },
        |p| p.tokens.len(),
    );
    if dropped == 0 {
        s.cut = None;
    }
    if let Some(cut) = new_cut {
        s.cut = Some(cut);
        let turns = if dropped == 1 { "turn" } else { "turns" };
        let _ = events.send(EngineEvent::Warning(format!(
            "the conversation no longer fits the context ({n_ctx} tokens): left out the {dropped} oldest {turns}"
        )));
    }
    if tokens.is_empty() || tokens.len() as u64 >= u64::from(n_ctx) {
        return Err(EngineError::PromptTooLong {
            prompt_tokens: tokens.len() as u32,
            n_ctx,
        });
    }

    let Prefilled {
        mut batch,
        usage,
        mut stop,
    } = s.prefill(&tokens, req.id, events, cancelled)?;
    let prompt_done = Instant::now();
    let _ = events.send(EngineEvent::PromptProcessed {
        id: req.id,
        prompt_tokens: usage.prompt_tokens,
        evaluated: usage.prompt_tokens_evaluated,
    });

    let tag_tokens = s.tag_tokens(&req.router.tags);
    let (mut sampler, seed) = req.sampling.build(s.model.n_vocab());
    let mut gen = Generation::new(req, events);
    gen.usage = usage;
    let mut first_token = None;
    let mut logits_at = batch.n_tokens() - 1;
    let mut memo = Memo::new(&text, &tokens);
    let mut piece = Vec::new();
    let mut budget = Budget::new(req.budget.clone(), &req.router);
    let end_of_thinking = TagToken::close(Channel::Thinking);
    // Where the end of thinking is plain text, the tokens that may be spelling it wait for
    // the router until they cannot be (only while an extension is possible).
    let one_token_end = tag_tokens.values().any(|(_, t)| *t == end_of_thinking);
    let mut guard = (req.budget.min_thinking.is_some() && !one_token_end)
        .then(|| EndGuard::new(&req.router.tags.canonical(end_of_thinking)));
    // Where the chat format's end of turn is text (`<|im_end|>` split across tokens, or the
    // plain format's "User:"), generation stops there; the tokens that may be spelling it
    // wait for the router until they cannot be.
    let mut turn_end = s.template.end_text.as_deref().map(EndGuard::new);
    let mut turn_over = false;
    let mut tail: Option<Vec<u8>> = None;
    let report = |budget: &Budget, step: Option<BudgetStep>| {
        let _ = events.send(EngineEvent::Budget {
            id: req.id,
            report: budget.report().clone(),
            step,
        });
    };
    // Text to force before the next token: the end of thinking, or an extension.
    let mut pending: Option<(String, BudgetStep)> = match budget.at_start() {
        Act::Force(text) => Some((text, BudgetStep::Forced(ForcedBy::NoThinking))),
        Act::Nothing => None,
    };
    let mut asked = false;
    let stop = loop {
        if let Some(stop) = stop {
            break stop;
        }
        if cancelled() {
            break StopReason::Cancelled;
        }
        if !asked && asked_to_answer() {
            asked = true;
            budget.answer_now(gen.channel());
        }
        if let Some((text, step)) = pending.take() {
            let mut st = Stream {
                gen: &mut gen,
                memo: &mut memo,
                sampler: &mut sampler,
                batch: &mut batch,
                tag_tokens: &tag_tokens,
            };
            // The step first, so that the front ends mark the place before the forced text.
            report(&budget, Some(step));
            match s.force(&text, &mut st)? {
                Some(n) => {
                    budget.forced(n);
                    report(&budget, None);
                    if n > 0 {
                        logits_at = batch.n_tokens() - 1;
                    }
                }
                None => break StopReason::ContextFull,
            }
            if gen.answer_done() {
                break StopReason::OutputClosed;
            }
        }
        if req
            .max_tokens
            .is_some_and(|max| gen.usage.completion_tokens >= max)
        {
            break StopReason::MaxTokens;
        }
        if s.cached.len() as u64 >= u64::from(n_ctx) {
            break StopReason::ContextFull;
        }
        let token = sampler.sample(&s.ctx, logits_at);
        if vocab.is_eog(token) {
            break StopReason::EndOfTurn;
        }
        first_token.get_or_insert_with(Instant::now);
        let tag = tag_tokens.get(&token).map(|(_, tag)| *tag);
        if tag == Some(end_of_thinking) {
            // Thinking that ends too soon is extended: the end is not taken, the message is.
            if let Some(text) = budget.extend() {
                // Sampling accepted the end into the sampler's history; it never entered the
                // context.
                rebuild_history(&mut sampler, &s.cached, tokens.len());
                let n = budget.report().extensions;
                pending = Some((text, BudgetStep::Extended(n)));
                continue;
            }
        }
        piece.clear();
        vocab.token_to_piece_into(token, &mut piece, true, None);
        // What reaches the router now: tokens the guard held (while the end of thinking may be
        // forming in text) and, unless it holds it, this one. Without a guard: this one alone,
        // with nothing allocated.
        let (held, this) = match guard.as_mut() {
            Some(g) if tag.is_none() && budget.may_extend() => {
                match g.offer(token, &piece) {
                    Offer::Route(r) => (r, false),
                    Offer::Complete { held, before } => {
                        // The tag is complete: it is taken back out instead of ending the
                        // thinking, and the text before it goes in again with the extension.
                        let text = budget.extend().unwrap_or_default();
                        let at = s.cached.len() - held;
                        if s.ctx.kv_cache_seq_rm(0, Some(at as u32), None).is_err() {
                            return Err(EngineError::Decode(
                                "llama.cpp could not take tokens back out of its cache".into(),
                            ));
                        }
                        s.cached.truncate(at);
                        rebuild_history(&mut sampler, &s.cached, tokens.len());
                        let n = budget.report().extensions;
                        let before = String::from_utf8_lossy(&before);
                        pending = Some((format!("{before}{text}"), BudgetStep::Extended(n)));
                        continue;
                    }
                }
            }
            Some(g) => (g.drain(), true),
            None => (Vec::new(), true),
        };
        let route = held
            .iter()
            .map(|(t, p)| (*t, p.as_slice()))
            .chain(this.then_some((token, piece.as_slice())));
        // The route ends with this token (not yet decoded) unless the thinking guard still
        // holds it; every other piece in it is in the cache.
        let current_last = this || guard.as_ref().is_none_or(|g| g.held().is_empty());
        let pieces = held.len() + usize::from(this);
        let in_cache = |j: usize| !(current_last && j + 1 == pieces);
        // With the end of the turn in text, the pieces pass its guard first.
        let passed: Option<Vec<Piece>> = turn_end.as_mut().map(|g| {
            let mut out = Vec::new();
            for (i, (tok, pc)) in route.clone().enumerate() {
                if tag_tokens.contains_key(&tok) {
                    out.extend(g.drain());
                    out.push((tok, pc.to_vec()));
                    continue;
                }
                let waiting = g.held().to_vec();
                match g.offer(tok, pc) {
                    Offer::Route(r) => out.extend(r),
                    Offer::Complete { before, .. } => {
                        // The turn is over: what came before its end is the last of the
                        // answer. The tokens that spelled it, and any after them, are not
                        // routed; those in the cache stay in the memo.
                        let mut spent = waiting.len() as u32;
                        for (t, p) in &waiting {
                            memo.push(*t, p);
                        }
                        for (j, (t, p)) in route.clone().enumerate().skip(i) {
                            spent += 1;
                            if in_cache(j) {
                                memo.push(t, p);
                            }
                        }
                        gen.count(spent);
                        tail = Some(before);
                        turn_over = true;
                        break;
                    }
                }
            }
            out
        });
        // The guard's pieces when it is there, else the tokens straight (nothing allocated).
        let guarded = passed
            .as_ref()
            .map(|p| p.iter().map(|(t, p)| (*t, p.as_slice())));
        let straight = passed.is_none().then_some(route);
        let mut closed = false;
        for (tok, pc) in guarded
            .into_iter()
            .flatten()
            .chain(straight.into_iter().flatten())
        {
            memo.push(tok, pc);
            let tag = tag_tokens.get(&tok).map(|(_, tag)| *tag);
            if let Some(tag) = tag {
                gen.tag(tag);
            } else if !is_hidden(&vocab, tok) {
                gen.bytes(pc);
            }
            gen.count(1);
            if gen.answer_done() {
                closed = true;
                break;
            }
            let channel = gen.channel();
            let act = budget.after(Token {
                channel,
                in_reflection: channel == Channel::Reflection,
                char_complete: gen.char_complete(),
                line_end: tag.is_some() || pc.ends_with(b"\n"),
            });
            if let Act::Force(text) = act {
                let by = budget.report().forced_by.unwrap_or(ForcedBy::Budget);
                pending = Some((text, BudgetStep::Forced(by)));
            } else if channel != Channel::Output && budget.settings().active() {
                report(&budget, None);
            }
        }
        if closed {
            break StopReason::OutputClosed;
        }
        if turn_over {
            if let Some(before) = tail.take() {
                gen.bytes(&before);
            }
            // What the thinking guard holds comes after the end of the turn: never routed;
            // in the memo where it is in the cache (all of it but this token).
            if let Some(g) = guard.as_mut() {
                let mut rest = g.drain();
                if !current_last {
                    rest.pop();
                }
                for (t, p) in &rest {
                    memo.push(*t, p);
                }
                gen.count(rest.len() as u32);
            }
            break StopReason::EndOfTurn;
        }
        batch.clear();
        batch
            .add(token, s.cached.len() as i32, &[0], true)
            .map_err(|e| EngineError::Decode(e.to_string()))?;
        match s.ctx.decode(&mut batch) {
            Ok(()) => {}
            Err(DecodeError::NoKvCacheSlot) => {
                stop = Some(StopReason::ContextFull);
                continue;
            }
            Err(e) => return Err(super::decode_error(e)),
        }
        s.cached.push(token);
        logits_at = 0;
    };

    // Tokens still held are in the cache: they are part of the answer as written.
    let still_held = guard
        .as_mut()
        .map(EndGuard::drain)
        .unwrap_or_default()
        .into_iter();
    let still_held = still_held.chain(turn_end.as_mut().map(EndGuard::drain).unwrap_or_default());
    for (tok, pc) in still_held {
        memo.push(tok, &pc);
        gen.bytes(&pc);
        gen.count(1);
    }
    let ended = Instant::now();
    let ms = |d: std::time::Duration| d.as_millis() as u64;
    let generation = ended - prompt_done;
    let timings = Timings {
        load_ms: s.load_ms,
        prompt_ms: ms(prompt_done - started),
        first_token_ms: first_token.map_or(0, |t| ms(t - started)),
        generation_ms: ms(generation),
        tokens_per_second: if generation.as_secs_f64() > 0.0 {
            f64::from(gen.usage.completion_tokens) / generation.as_secs_f64()
        } else {
            0.0
        },
    };
    let text = String::from_utf8_lossy(memo.generated()).into_owned();
    s.memo = Some(memo);
    let mut done = gen.finish(stop, timings, text);
    done.seed = seed;
    done.budget = budget.active().then(|| budget.report().clone());
    Ok(done)
}
