//! One generation on the loaded model: refuse what cannot fit, fit the conversation to the
//! context (`fit`), prefill the prompt (`prefill`), then sample token by token through the
//! router until a stop condition, and time it all.

use super::super::fit::{fit_context, room_to_answer};
use super::super::memo::Memo;
use super::prefill::Prefilled;
use super::{is_hidden, Loaded};
use crate::llm::{
    Completion, EngineError, EngineEvent, EventSender, GenerateRequest, Generation, StopReason,
    Timings,
};
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::DecodeError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

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
) -> Result<Completion, EngineError> {
    let started = Instant::now();
    let cancelled = || cancel.load(Ordering::SeqCst) >= req.id;
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
    let stop = loop {
        if let Some(stop) = stop {
            break stop;
        }
        if cancelled() {
            break StopReason::Cancelled;
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
        piece.clear();
        vocab.token_to_piece_into(token, &mut piece, true, None);
        memo.push(token, &piece);
        if let Some((_, tag)) = tag_tokens.get(&token) {
            gen.tag(*tag);
        } else if !is_hidden(&vocab, token) {
            gen.bytes(&piece);
        }
        gen.count(1);
        if gen.answer_done() {
            break StopReason::OutputClosed;
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
    Ok(done)
}
