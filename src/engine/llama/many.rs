//! Many generations at once (`Command::GenerateMany`, for `reflect eval --parallel N` on a
//! local model): up to N sequences share one llama.cpp context (its KV cache split N ways,
//! `n_seq_max` = N) and each step decodes one token of every running sequence in one batch, so
//! that one model in memory serves them all. Each sequence has its own sampler chain, built
//! and seeded exactly as a generation alone builds it, its own router and counts; as one ends
//! the next request takes its place. The thinking budget is not supported here.

use super::model::{decode_error, is_hidden, EndGuard, Loaded, Offer};
use crate::llm::{
    Completion, EngineError, EngineEvent, EventSender, GenerateRequest, Generation, StopReason,
    Timings, Usage,
};
use crate::stream::TagToken;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::DecodeError;
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// The context's shape: sequences at once, the context of each, batch and threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Shape {
    pub sequences: u32,
    pub n_ctx_seq: u32,
    pub n_batch: u32,
    pub threads: u32,
}

/// One running generation.
struct Seq<'r> {
    req: &'r GenerateRequest,
    slot: u32,
    gen: Generation,
    sampler: LlamaSampler,
    seed: Option<u32>,
    tag_tokens: HashMap<LlamaToken, (String, TagToken)>,
    /// Its tokens in the cache (prompt and generated).
    pos: u32,
    /// Sampled, not yet decoded.
    next: LlamaToken,
    /// Everything generated, as written.
    text: Vec<u8>,
    /// The chat format's end of turn, where it is text: the tokens that may be spelling it
    /// wait here until they cannot be (as in a generation alone).
    turn_end: Option<EndGuard>,
    /// The last token's piece (one buffer for the whole generation).
    piece: Vec<u8>,
    started: Instant,
    prompt_done: Instant,
    first_token: Option<Instant>,
}

/// Runs `requests`, `shape.sequences` at a time; a `Done` for each.
pub(super) fn run<'m>(
    loaded: &Loaded<'m>,
    backend: &LlamaBackend,
    cached_ctx: &mut Option<(Shape, LlamaContext<'m>)>,
    shape: Shape,
    requests: &[GenerateRequest],
    events: &EventSender,
    cancel: &AtomicU64,
) -> Result<(), EngineError> {
    if let Some(r) = requests.iter().find(|r| r.budget.active()) {
        return Err(EngineError::Unsupported(format!(
            "generation {}: a thinking budget or minimum is not supported with batched generation (--parallel); run it alone",
            r.id
        )));
    }
    if cached_ctx.as_ref().is_none_or(|(s, _)| *s != shape) {
        // The old one goes first: two KV caches at once may not fit.
        *cached_ctx = None;
        let model = loaded.model();
        // Keys and values (f16) for every layer and position, as the worker reckons them.
        let kv_gib = crate::memory::gib(crate::memory::kv_cache_bytes(
            u64::from(shape.n_ctx_seq) * u64::from(shape.sequences),
            u64::from(model.n_layer()),
            u64::from(model.n_head().max(1)),
            u64::from(model.n_head_kv().max(1)),
            model.n_embd().max(1) as u64,
        ));
        if let (None, Some(free)) = (super::gpu_backend(), crate::memory::available_gib()) {
            if kv_gib > free {
                return Err(EngineError::Unsupported(format!(
                    "{} sequences × {} tokens need about {kv_gib:.1} GiB of KV cache, more than the {free:.1} GiB of memory available; lower --parallel or --ctx-size",
                    shape.sequences, shape.n_ctx_seq
                )));
            }
        }
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(
                shape.n_ctx_seq.saturating_mul(shape.sequences),
            ))
            .with_n_seq_max(shape.sequences)
            .with_n_batch(shape.n_batch.max(shape.sequences))
            .with_n_ubatch(shape.n_batch.max(shape.sequences).min(512))
            .with_n_threads(shape.threads as i32)
            .with_n_threads_batch(shape.threads as i32);
        let ctx = model.new_context(backend, params).map_err(|e| {
            EngineError::Decode(format!(
                "llama.cpp could not make a context of {} sequences × {} tokens ({e}); lower --parallel or --ctx-size",
                shape.sequences, shape.n_ctx_seq
            ))
        })?;
        *cached_ctx = Some((shape, ctx));
    }
    let Some((_, ctx)) = cached_ctx.as_mut() else {
        return Err(EngineError::Gone);
    };
    ctx.clear_kv_cache();
    let n_ctx_seq = ctx.n_ctx() / shape.sequences;
    let n_batch = (ctx.n_batch().max(1) as usize).max(shape.sequences as usize);
    let mut batch = LlamaBatch::new(n_batch, 1);
    let vocab = loaded.model().vocab();
    let cancelled = |id: u64| cancel.load(Ordering::SeqCst) >= id;

    let mut waiting = requests.iter();
    let mut free: Vec<u32> = (0..shape.sequences).rev().collect();
    let mut running: Vec<Seq<'_>> = Vec::new();
    loop {
        // Fill the free slots: prefill each new prompt and draw its first token.
        while let Some(&slot) = free.last() {
            let Some(req) = waiting.next() else { break };
            let started = Instant::now();
            let mut gen = Generation::new(req, events);
            if cancelled(req.id) {
                send_done(
                    events,
                    gen.finish(StopReason::Cancelled, Timings::default(), String::new()),
                    None,
                );
                continue;
            }
            free.pop();
            let prompt = vocab.tokenize(loaded.render(&req.messages).as_bytes(), true, true);
            if prompt.is_empty() || prompt.len() as u64 >= u64::from(n_ctx_seq) {
                return Err(EngineError::PromptTooLong {
                    prompt_tokens: prompt.len() as u32,
                    n_ctx: n_ctx_seq,
                });
            }
            let _ = ctx.clear_kv_cache_seq(Some(slot), None, None);
            for (c, chunk) in prompt.chunks(n_batch).enumerate() {
                batch.clear();
                let at = c * n_batch;
                for (i, t) in chunk.iter().enumerate() {
                    let last = at + i + 1 == prompt.len();
                    batch
                        .add(*t, (at + i) as i32, &[slot as i32], last)
                        .map_err(|e| EngineError::Decode(e.to_string()))?;
                }
                ctx.decode(&mut batch).map_err(decode_error)?;
            }
            gen.usage = Usage {
                prompt_tokens: prompt.len() as u32,
                prompt_tokens_evaluated: prompt.len() as u32,
                ..Usage::default()
            };
            let _ = events.send(EngineEvent::PromptProcessed {
                id: req.id,
                prompt_tokens: prompt.len() as u32,
                evaluated: prompt.len() as u32,
            });
            let (sampler, seed) = req.sampling.build(loaded.n_vocab());
            let mut seq = Seq {
                req,
                slot,
                gen,
                sampler,
                seed,
                tag_tokens: loaded.tag_tokens(&req.router.tags),
                pos: prompt.len() as u32,
                next: LlamaToken(0),
                text: Vec::new(),
                turn_end: loaded.end_text().map(EndGuard::new),
                piece: Vec::new(),
                started,
                prompt_done: Instant::now(),
                first_token: None,
            };
            let logits_at = batch.n_tokens() - 1;
            match step(&mut seq, ctx, logits_at, n_ctx_seq, &vocab, &cancelled) {
                None => running.push(seq),
                Some(stop) => {
                    let _ = ctx.clear_kv_cache_seq(Some(slot), None, None);
                    free.push(slot);
                    finish(seq, stop, events);
                }
            }
        }
        if running.is_empty() {
            return Ok(());
        }
        // One token of every running sequence, in one batch.
        batch.clear();
        for seq in &running {
            batch
                .add(seq.next, seq.pos as i32, &[seq.slot as i32], true)
                .map_err(|e| EngineError::Decode(e.to_string()))?;
        }
        let full = match ctx.decode(&mut batch) {
            Ok(()) => false,
            Err(DecodeError::NoKvCacheSlot) => true,
            Err(e) => return Err(decode_error(e)),
        };
        let mut stops = Vec::with_capacity(running.len());
        for (i, seq) in running.iter_mut().enumerate() {
            if full {
                stops.push(Some(StopReason::ContextFull));
                continue;
            }
            seq.pos += 1;
            stops.push(step(seq, ctx, i as i32, n_ctx_seq, &vocab, &cancelled));
        }
        let mut still = Vec::with_capacity(running.len());
        for (seq, stop) in running.drain(..).zip(stops) {
            match stop {
                None => still.push(seq),
                Some(stop) => {
                    let _ = ctx.clear_kv_cache_seq(Some(seq.slot), None, None);
                    free.push(seq.slot);
                    finish(seq, stop, events);
                }
            }
        }
        running = still;
    }
}

/// After a decode: the stop checks of a generation alone, in its order, then the next token,
/// drawn from the logits at `at` and routed. `None` while the sequence goes on.
fn step(
    seq: &mut Seq<'_>,
    ctx: &LlamaContext<'_>,
    at: i32,
    n_ctx_seq: u32,
    vocab: &llama_cpp_2::vocab::LlamaVocab<'_>,
    cancelled: &impl Fn(u64) -> bool,
) -> Option<StopReason> {
    if cancelled(seq.req.id) {
        return Some(StopReason::Cancelled);
    }
    if seq
        .req
        .max_tokens
        .is_some_and(|max| seq.gen.usage.completion_tokens >= max)
    {
        return Some(StopReason::MaxTokens);
    }
    if seq.pos >= n_ctx_seq {
        return Some(StopReason::ContextFull);
    }
    let token = seq.sampler.sample(ctx, at);
    if vocab.is_eog(token) {
        return Some(StopReason::EndOfTurn);
    }
    seq.first_token.get_or_insert_with(Instant::now);
    seq.piece.clear();
    vocab.token_to_piece_into(token, &mut seq.piece, true, None);
    seq.text.extend_from_slice(&seq.piece);
    let tag = seq.tag_tokens.get(&token).map(|(_, t)| *t);
    let piece = std::mem::take(&mut seq.piece);
    let ended = match (seq.turn_end.as_mut(), tag) {
        (Some(g), None) => match g.offer(token, &piece) {
            Offer::Route(pieces) => {
                let done = pieces.iter().any(|(t, p)| route(seq, vocab, *t, p, None));
                done.then_some(StopReason::OutputClosed)
            }
            Offer::Complete { held, before } => {
                // The end of the turn, spelled across tokens: what came before it is the last
                // of the answer.
                seq.gen.bytes(&before);
                seq.gen.count(held as u32 + 1);
                Some(StopReason::EndOfTurn)
            }
        },
        (guard, tag) => {
            let held = guard.map(EndGuard::drain).unwrap_or_default();
            let done = held.iter().any(|(t, p)| route(seq, vocab, *t, p, None))
                || route(seq, vocab, token, &piece, tag);
            done.then_some(StopReason::OutputClosed)
        }
    };
    seq.piece = piece;
    if ended.is_some() {
        return ended;
    }
    seq.next = token;
    None
}

/// One piece to the router (a tag, or text unless the token is hidden), counted; whether the
/// answer is complete.
fn route(
    seq: &mut Seq<'_>,
    vocab: &llama_cpp_2::vocab::LlamaVocab<'_>,
    token: LlamaToken,
    piece: &[u8],
    tag: Option<TagToken>,
) -> bool {
    if let Some(tag) = tag {
        seq.gen.tag(tag);
    } else if !is_hidden(vocab, token) {
        seq.gen.bytes(piece);
    }
    seq.gen.count(1);
    seq.gen.answer_done()
}

fn finish(mut seq: Seq<'_>, stop: StopReason, events: &EventSender) {
    // Tokens still held (stopped for another reason) are part of the answer as written.
    if matches!(
        stop,
        StopReason::MaxTokens | StopReason::ContextFull | StopReason::Cancelled
    ) {
        for (_, p) in seq
            .turn_end
            .as_mut()
            .map(EndGuard::drain)
            .unwrap_or_default()
        {
            seq.gen.bytes(&p);
            seq.gen.count(1);
        }
    }
    let ended = Instant::now();
    let ms = |d: std::time::Duration| d.as_millis() as u64;
    let generation = ended - seq.prompt_done;
    let timings = Timings {
        load_ms: 0,
        prompt_ms: ms(seq.prompt_done - seq.started),
        first_token_ms: seq.first_token.map_or(0, |t| ms(t - seq.started)),
        generation_ms: ms(generation),
        tokens_per_second: if generation.as_secs_f64() > 0.0 {
            f64::from(seq.gen.usage.completion_tokens) / generation.as_secs_f64()
        } else {
            0.0
        },
    };
    let text = String::from_utf8_lossy(&seq.text).into_owned();
    send_done(events, seq.gen.finish(stop, timings, text), seq.seed);
}

fn send_done(events: &EventSender, mut done: Completion, seed: Option<u32>) {
    done.seed = seed;
    let _ = events.send(EngineEvent::Done(Box::new(done)));
}
