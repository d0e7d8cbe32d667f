//! The KV cache one sequence decodes into, as its token loop sees it: the whole context's
//! (a generation alone, sequence 0) or one slot's (continuous batching), the tokens it holds,
//! and what drafts for it (prompt lookup over those tokens, the draft model).

use super::super::draft::Drafter;
use super::super::lookup;
use crate::llm::EngineError;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::token::LlamaToken;

/// One sequence's part of a context.
pub(in crate::engine::llama) struct Cache<'c, 'm> {
    pub ctx: &'c mut LlamaContext<'m>,
    /// Its sequence id in the context.
    pub id: i32,
    /// The tokens whose keys and values are in the cache, in order (drafts not yet accepted
    /// are past them).
    pub cached: &'c mut Vec<LlamaToken>,
    /// The most tokens it may hold.
    pub n_ctx: u32,
    /// Prompt lookup: the most tokens it drafts (0: off).
    pub lookup: usize,
    /// The draft model that drafts where prompt lookup finds nothing.
    pub drafter: Option<&'c mut Drafter<'m>>,
}

impl Cache<'_, '_> {
    /// Takes the tokens from position `at` on out of the cache (drafts, a tag taken back).
    pub(in crate::engine::llama) fn forget_from(&mut self, at: usize) -> Result<(), EngineError> {
        self.ctx
            .kv_cache_seq_rm(self.id, Some(at as u32), None)
            .map_err(|_| {
                EngineError::Decode("llama.cpp could not take tokens back out of its cache".into())
            })?;
        self.cached.truncate(at);
        Ok(())
    }

    /// Empties the sequence's cache (where taking some tokens out failed).
    pub(in crate::engine::llama) fn clear(&mut self) {
        let _ = self.ctx.kv_cache_seq_rm(self.id, None, None);
        self.cached.clear();
    }

    /// The most tokens to draft at once: 0 when speculation is off.
    pub(in crate::engine::llama) fn draft_max(&self) -> usize {
        self.lookup.max(self.drafter.as_ref().map_or(0, |d| d.max))
    }

    /// Up to `n` drafts into `out` to follow the cached tokens and `next`: prompt lookup's
    /// (free) when it finds some, else the draft model's. `true` when the draft model was
    /// asked (caught up): that costs its decodes even when it drafts nothing.
    pub(in crate::engine::llama) fn draft(
        &mut self,
        next: LlamaToken,
        n: usize,
        out: &mut Vec<LlamaToken>,
    ) -> bool {
        self.cached.push(next);
        let asked = self.draft_after(n, out);
        self.cached.pop();
        asked
    }

    fn draft_after(&mut self, n: usize, out: &mut Vec<LlamaToken>) -> bool {
        if lookup::draft(self.cached, n.min(self.lookup), out).is_some() {
            return false;
        }
        match self.drafter.as_mut() {
            Some(d) => d.draft(self.cached, n, out),
            None => false,
        }
    }
}
