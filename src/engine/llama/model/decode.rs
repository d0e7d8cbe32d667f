//! One generation on the loaded model: refuse what cannot fit, fit the conversation to the
//! context (`fit`), prefill the prompt (`prefill`), then drive its token loop (`sequence`,
//! the same as each batched slot's): advance it from the logits, decode what it feeds (its
//! sampled token with the drafts to verify, forced text) at once, and on until it stops;
//! finish (the timings, the memo kept for the next turn).

use super::super::fit::{fit_context, room_to_answer};
use super::super::fit::{left_out, room_for};
use super::sequence::{Cache, Flags, Next, Sequence, Start};
use super::Loaded;
use crate::llm::{Completion, EngineError, EngineEvent, EventSender, GenerateRequest, StopReason};
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::DecodeError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// A rendered prompt and its tokens.
#[derive(Clone)]
struct Prompt {
    text: String,
    tokens: Vec<llama_cpp_2::token::LlamaToken>,
}

/// One generation: `cancel` and `answer_now` hold the highest generation id they apply to.
pub(in crate::engine::llama) fn run(
    s: &mut Loaded<'_>,
    req: &GenerateRequest,
    events: &EventSender,
    cancel: &Arc<AtomicU64>,
    answer_now: &Arc<AtomicU64>,
) -> Result<Completion, EngineError> {
    let started = Instant::now();
    s.refuse_too_long(req, s.ctx.n_ctx())?;
    let prompt = fit_prompt(s, req, events)?;
    let cancelled = || cancel.load(Ordering::SeqCst) >= req.id;
    let prefilled = s.prefill(&prompt.tokens, req.id, events, cancelled)?;
    let _ = events.send(EngineEvent::PromptProcessed {
        id: req.id,
        prompt_tokens: prefilled.usage.prompt_tokens,
        evaluated: prefilled.usage.prompt_tokens_evaluated,
    });
    let flags = Flags {
        events: events.clone(),
        cancel: cancel.clone(),
        answer_now: answer_now.clone(),
    };
    let start = Start {
        text: &prompt.text,
        tokens: &prompt.tokens,
        usage: prefilled.usage,
        started,
    };
    let mut seq = Sequence::new(s, req, flags, start);
    seq.prompt_done = Some(Instant::now());
    let mut batch = prefilled.batch;
    let stop = match prefilled.stop {
        Some(stop) => stop,
        None => generate(s, &mut seq, &mut batch)?,
    };
    let load_ms = s.load_ms;
    let (done, memo) = seq.finish(&mut s.cache(), stop, load_ms);
    s.memo = Some(memo);
    Ok(done)
}

/// The token loop from the prompt's logits (the last token of `batch`): the sequence goes on
/// from the logits, what it feeds is decoded at once, until it stops.
fn generate<'m>(
    s: &mut Loaded<'m>,
    seq: &mut Sequence<'m>,
    batch: &mut LlamaBatch<'static>,
) -> Result<StopReason, EngineError> {
    let mut at = batch.n_tokens() - 1;
    let n_batch = s.ctx.n_batch().max(1) as usize;
    loop {
        let mut cache = s.cache();
        if let Next::Stop(stop) = seq.advance(&mut cache, at)? {
            return Ok(stop);
        }
        seq.speculate(&mut cache, n_batch - 1);
        match decode_feed(&mut cache, seq, batch, n_batch)? {
            Some(logits) => at = logits,
            None => return Ok(StopReason::ContextFull),
        }
    }
}

/// The sequence's feed into the cache, `n_batch` tokens at a time, logits at its last token
/// (and at every draft with the token before them). Where the first of those logits are in the
/// last batch; `None` when the context is full.
fn decode_feed(
    cache: &mut Cache<'_, '_>,
    seq: &mut Sequence<'_>,
    batch: &mut LlamaBatch<'static>,
    n_batch: usize,
) -> Result<Option<i32>, EngineError> {
    let mut at = 0;
    while !seq.feed.is_empty() {
        let n = seq.feed.len().min(n_batch);
        let from = seq.logits_from();
        let pos = cache.cached.len();
        batch.clear();
        for (k, t) in seq.feed[..n].iter().enumerate() {
            batch
                .add(*t, (pos + k) as i32, &[cache.id], k >= from)
                .map_err(|e| EngineError::Decode(e.to_string()))?;
        }
        match cache.ctx.decode(batch) {
            Ok(()) => {}
            Err(DecodeError::NoKvCacheSlot) => return Ok(None),
            Err(e) => return Err(super::decode_error(e)),
        }
        at = from as i32;
        seq.fed(n, cache.cached);
    }
    Ok(Some(at))
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
