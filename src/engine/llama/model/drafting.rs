//! Where drafters come from: the draft model as loaded (`--model-draft`) and how to make its
//! contexts, one as large as the model's for a generation alone, one per batched slot the
//! size of the slot's (llama-server gives each slot its own draft context). One KV cache of the
//! draft model at a time: the single path's drafter is dropped while the slots' live, and
//! made again after them, as the worker does for the model's own context (`worker::lent`).

use super::super::Speculation;
use super::draft::Drafter;
use super::Loaded;
use crate::llm::EngineError;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::model::LlamaModel;

/// The draft model and the settings of its contexts.
pub(in crate::engine::llama) struct DraftSource<'m> {
    pub model: &'m LlamaModel,
    pub n_batch: u32,
    pub threads: u32,
    /// `--draft-max`, `--draft-p-min`.
    pub max: u32,
    pub p_min: f32,
}

impl<'m> DraftSource<'m> {
    /// A drafter whose context holds `n_ctx` tokens.
    pub(in crate::engine::llama) fn drafter(
        &self,
        backend: &LlamaBackend,
        n_ctx: u32,
    ) -> Result<Drafter<'m>, String> {
        Drafter::new(
            self.model,
            backend,
            n_ctx,
            self.n_batch,
            self.threads,
            self.max,
            self.p_min,
        )
    }
}

impl<'m> Loaded<'m> {
    /// Speculative decoding as `speculation` says, with the draft model if any: its drafter
    /// made for the whole context.
    pub(in crate::engine::llama) fn with_speculation(
        mut self,
        speculation: Speculation,
        source: Option<DraftSource<'m>>,
        backend: &LlamaBackend,
    ) -> Result<Self, String> {
        self.speculation = speculation;
        self.drafter = match &source {
            Some(s) => Some(s.drafter(backend, self.ctx.n_ctx())?),
            None => None,
        };
        self.draft_source = source;
        Ok(self)
    }

    /// Whether it speculates (prompt lookup, a draft model).
    pub(in crate::engine::llama) fn speculates(&self) -> bool {
        self.speculation.lookup > 0 || self.draft_source.is_some()
    }

    /// Prompt lookup's most drafts (0: off).
    pub(in crate::engine::llama) fn lookup(&self) -> usize {
        self.speculation.lookup as usize
    }

    /// One drafter per slot of `n_ctx` tokens, when there is a draft model (else none): the
    /// single path's drafter goes first, so that one KV cache of the draft model is held.
    pub(in crate::engine::llama) fn slot_drafters(
        &mut self,
        backend: &LlamaBackend,
        slots: u32,
        n_ctx: u32,
    ) -> Result<Vec<Option<Drafter<'m>>>, EngineError> {
        let Some(source) = &self.draft_source else {
            return Ok((0..slots).map(|_| None).collect());
        };
        self.drafter = None;
        (0..slots)
            .map(|_| {
                // A micro-batch of a new job's prompt a step, as the model's own prefill.
                let step = source.n_batch.clamp(1, 512) as usize;
                let drafter = source.drafter(backend, n_ctx);
                drafter.map(|d| Some(d.stepwise(step))).map_err(|e| {
                    EngineError::Decode(format!(
                        "the draft model's context for {slots} slots of {n_ctx} tokens: {e}; lower --parallel or --ctx-size"
                    ))
                })
            })
            .collect()
    }

    /// The single path's drafter made again (after the slots' were dropped), for the whole
    /// context. Where llama.cpp cannot make it, the model goes on without its draft model
    /// (prompt lookup stays): what was generated stands, and the warning says why.
    pub(in crate::engine::llama) fn restore_drafter(
        &mut self,
        backend: &LlamaBackend,
    ) -> Option<String> {
        if self.drafter.is_some() {
            return None;
        }
        let source = self.draft_source.as_ref()?;
        match source.drafter(backend, self.ctx.n_ctx()) {
            Ok(drafter) => {
                self.drafter = Some(drafter);
                None
            }
            Err(e) => {
                self.draft_source = None;
                Some(format!(
                    "the draft model is no longer used: its context could not be made again after batched generation ({e})"
                ))
            }
        }
    }
}
