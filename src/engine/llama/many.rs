//! Many generations at once (`Command::GenerateMany`, for `reflect eval --parallel N` on a
//! local model): up to N sequences share one llama.cpp context (its KV cache split N ways,
//! `n_seq_max` = N) and each step decodes one token of every running sequence in one batch, so
//! that one model in memory serves them all. Each sequence has its own sampler chain, built
//! and seeded exactly as a generation alone builds it, its own router and counts; as one ends
//! the next request takes its place. The thinking budget is not supported here.

use super::model::{decode_error, is_hidden, timings, EndGuard, Loaded, Offer};
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
use llama_cpp_2::vocab::LlamaVocab;
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
    let ctx = context(loaded, backend, cached_ctx, shape)?;
    let mut b = Batched::new(loaded, ctx, shape, events, cancel);
    let mut waiting = requests.iter();
    loop {
        // Fill the free slots: prefill each new prompt and draw its first token.
        while let Some(&slot) = b.free.last() {
            let Some(req) = waiting.next() else { break };
            b.start(req, slot)?;
        }
        if b.running.is_empty() {
            return Ok(());
        }
        b.step_all()?;
    }
}

/// The context for `shape`: the one made before when it has that shape, else a new one, made
/// only where its KV cache fits the memory available.
fn context<'c, 'm>(
    loaded: &Loaded<'m>,
    backend: &LlamaBackend,
    cached_ctx: &'c mut Option<(Shape, LlamaContext<'m>)>,
    shape: Shape,
) -> Result<&'c mut LlamaContext<'m>, EngineError> {
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
    match cached_ctx.as_mut() {
        Some((_, ctx)) => Ok(ctx),
        None => Err(EngineError::Gone),
    }
}

/// The shared context and its batch, the free slots and the running sequences.
struct Batched<'a, 'm> {
    loaded: &'a Loaded<'m>,
    ctx: &'a mut LlamaContext<'m>,
    batch: LlamaBatch<'static>,
    n_batch: usize,
    n_ctx_seq: u32,
    vocab: LlamaVocab<'m>,
    events: &'a EventSender,
    cancel: &'a AtomicU64,
    /// Sequence ids not in use; the last is taken first.
    free: Vec<u32>,
    running: Vec<Seq<'a>>,
}

impl<'a, 'm> Batched<'a, 'm> {
    fn new(
        loaded: &'a Loaded<'m>,
        ctx: &'a mut LlamaContext<'m>,
        shape: Shape,
        events: &'a EventSender,
        cancel: &'a AtomicU64,
    ) -> Self {
        ctx.clear_kv_cache();
        let n_ctx_seq = ctx.n_ctx() / shape.sequences;
        let n_batch = (ctx.n_batch().max(1) as usize).max(shape.sequences as usize);
        Batched {
            loaded,
            ctx,
            batch: LlamaBatch::new(n_batch, 1),
            n_batch,
            n_ctx_seq,
            vocab: loaded.model().vocab(),
            events,
            cancel,
            free: (0..shape.sequences).rev().collect(),
            running: Vec::new(),
        }
    }

    /// Starts `req` in sequence `slot` (the last free one): its prompt prefilled and its first
    /// token drawn. A request cancelled before it started is done at once.
    fn start(&mut self, req: &'a GenerateRequest, slot: u32) -> Result<(), EngineError> {
        let started = Instant::now();
        let mut gen = Generation::new(req, self.events);
        if self.cancel.load(Ordering::SeqCst) >= req.id {
            let done = gen.finish(StopReason::Cancelled, Timings::default(), String::new());
            send_done(self.events, done, None);
            return Ok(());
        }
        self.free.pop();
        let prompt = self
            .vocab
            .tokenize(self.loaded.render(&req.messages).as_bytes(), true, true);
        if prompt.is_empty() || prompt.len() as u64 >= u64::from(self.n_ctx_seq) {
            return Err(EngineError::PromptTooLong {
                prompt_tokens: prompt.len() as u32,
                n_ctx: self.n_ctx_seq,
            });
        }
        self.prefill(&prompt, slot)?;
        let n = prompt.len() as u32;
        gen.usage = Usage {
            prompt_tokens: n,
            prompt_tokens_evaluated: n,
            ..Usage::default()
        };
        let _ = self.events.send(EngineEvent::PromptProcessed {
            id: req.id,
            prompt_tokens: n,
            evaluated: n,
        });
        let (sampler, seed) = req.sampling.build(self.loaded.n_vocab());
        let mut seq = Seq {
            req,
            slot,
            gen,
            sampler,
            seed,
            tag_tokens: self.loaded.tag_tokens(&req.router.tags),
            pos: n,
            next: LlamaToken(0),
            text: Vec::new(),
            turn_end: self.loaded.end_text().map(EndGuard::new),
            piece: Vec::new(),
            started,
            prompt_done: Instant::now(),
            first_token: None,
        };
        let logits_at = self.batch.n_tokens() - 1;
        let cancel = self.cancel;
        let cancelled = |id: u64| cancel.load(Ordering::SeqCst) >= id;
        match step(
            &mut seq,
            self.ctx,
            logits_at,
            self.n_ctx_seq,
            &self.vocab,
            &cancelled,
        ) {
            None => self.running.push(seq),
            Some(stop) => self.end(seq, stop),
        }
        Ok(())
    }

    /// The prompt into sequence `slot` of the cache, a batch at a time, the last token's
    /// logits wanted.
    fn prefill(&mut self, prompt: &[LlamaToken], slot: u32) -> Result<(), EngineError> {
        let _ = self.ctx.clear_kv_cache_seq(Some(slot), None, None);
        for (c, chunk) in prompt.chunks(self.n_batch).enumerate() {
            self.batch.clear();
            let at = c * self.n_batch;
            for (i, t) in chunk.iter().enumerate() {
                let last = at + i + 1 == prompt.len();
                self.batch
                    .add(*t, (at + i) as i32, &[slot as i32], last)
                    .map_err(|e| EngineError::Decode(e.to_string()))?;
            }
            self.ctx.decode(&mut self.batch).map_err(decode_error)?;
        }
        Ok(())
    }

    /// One token of every running sequence, in one batch; then each one's next token, and
    /// those that stopped are done.
    fn step_all(&mut self) -> Result<(), EngineError> {
        self.batch.clear();
        for seq in &self.running {
            self.batch
                .add(seq.next, seq.pos as i32, &[seq.slot as i32], true)
                .map_err(|e| EngineError::Decode(e.to_string()))?;
        }
        let full = match self.ctx.decode(&mut self.batch) {
            Ok(()) => false,
            Err(DecodeError::NoKvCacheSlot) => true,
            Err(e) => return Err(decode_error(e)),
        };
        let cancel = self.cancel;
        let cancelled = |id: u64| cancel.load(Ordering::SeqCst) >= id;
        let mut stops = Vec::with_capacity(self.running.len());
        for (i, seq) in self.running.iter_mut().enumerate() {
            if full {
                stops.push(Some(StopReason::ContextFull));
                continue;
            }
            seq.pos += 1;
            let stop = step(
                seq,
                self.ctx,
                i as i32,
                self.n_ctx_seq,
                &self.vocab,
                &cancelled,
            );
            stops.push(stop);
        }
        let running = std::mem::replace(&mut self.running, Vec::with_capacity(stops.len()));
        for (seq, stop) in running.into_iter().zip(stops) {
            match stop {
                None => self.running.push(seq),
                Some(stop) => self.end(seq, stop),
            }
        }
        Ok(())
    }

    /// A sequence that stopped: its slot freed, its `Done` sent.
    fn end(&mut self, seq: Seq<'a>, stop: StopReason) {
        let _ = self.ctx.clear_kv_cache_seq(Some(seq.slot), None, None);
        self.free.push(seq.slot);
        finish(seq, stop, self.events);
    }
}

/// After a decode: the stop checks of a generation alone, in its order, then the next token,
/// drawn from the logits at `at` and routed. `None` while the sequence goes on.
fn step(
    seq: &mut Seq<'_>,
    ctx: &LlamaContext<'_>,
    at: i32,
    n_ctx_seq: u32,
    vocab: &LlamaVocab<'_>,
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
    vocab: &LlamaVocab<'_>,
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
    let timings = timings(
        0,
        seq.started,
        seq.prompt_done,
        seq.first_token,
        seq.gen.usage.completion_tokens,
    );
    let text = String::from_utf8_lossy(&seq.text).into_owned();
    send_done(events, seq.gen.finish(stop, timings, text), seq.seed);
}

fn send_done(events: &EventSender, mut done: Completion, seed: Option<u32>) {
    done.seed = seed;
    let _ = events.send(EngineEvent::Done(Box::new(done)));
}
