//! Prefill: the prompt into the KV cache. The longest prefix the cache already holds is kept;
//! the rest is decoded one micro-batch at a time (what llama.cpp computes at once anyway), so
//! that progress is reported, and a cancel heard, after each.

use super::{decode_error, Loaded};
use crate::llm::{EngineError, EngineEvent, EventSender, StopReason, Usage};
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::token::LlamaToken;

/// What prefilling leaves for the token loop.
pub(super) struct Prefilled<'a> {
    /// The batch, its last token's logits wanted: the loop samples from them, then reuses it.
    pub batch: LlamaBatch<'a>,
    pub usage: Usage,
    /// Cancelled before the prompt was read.
    pub stop: Option<StopReason>,
}

impl Loaded<'_> {
    /// Decodes what of `tokens` the cache lacks (always at least the last token, so that
    /// logits exist), sending `PromptProgress` for generation `id` after each micro-batch of a
    /// prompt longer than one.
    pub(super) fn prefill(
        &mut self,
        tokens: &[LlamaToken],
        id: u64,
        events: &EventSender,
        cancelled: impl Fn() -> bool,
    ) -> Result<Prefilled<'static>, EngineError> {
        let mut common = self
            .cached
            .iter()
            .zip(tokens)
            .take_while(|(a, b)| a == b)
            .count();
        common = common.min(tokens.len() - 1);
        if self
            .ctx
            .kv_cache_seq_rm(0, Some(common as u32), None)
            .is_err()
        {
            self.ctx.clear_kv_cache();
            common = 0;
        }
        self.cached.truncate(common);

        let mut usage = Usage {
            prompt_tokens: tokens.len() as u32,
            ..Usage::default()
        };
        let n_batch = self.ctx.n_batch().max(1) as usize;
        let step = (self.ctx.n_ubatch().max(1) as usize).min(n_batch);
        let todo = tokens.len() - common;
        let mut batch = LlamaBatch::new(n_batch, 1);
        for start in (common..tokens.len()).step_by(step) {
            if cancelled() {
                return Ok(Prefilled {
                    batch,
                    usage,
                    stop: Some(StopReason::Cancelled),
                });
            }
            let end = (start + step).min(tokens.len());
            batch.clear();
            for (i, t) in tokens.iter().enumerate().take(end).skip(start) {
                batch
                    .add(*t, i as i32, &[0], i + 1 == tokens.len())
                    .map_err(|e| EngineError::Decode(e.to_string()))?;
            }
            self.ctx.decode(&mut batch).map_err(decode_error)?;
            self.cached.extend_from_slice(&tokens[start..end]);
            usage.prompt_tokens_evaluated += (end - start) as u32;
            if todo > step {
                let _ = events.send(EngineEvent::PromptProgress {
                    id,
                    done: (end - common) as u32,
                    total: todo as u32,
                });
            }
        }
        Ok(Prefilled {
            batch,
            usage,
            stop: None,
        })
    }
}
