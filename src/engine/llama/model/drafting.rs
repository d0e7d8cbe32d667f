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
                source.drafter(backend, n_ctx).map(Some).map_err(|e| {
                    EngineError::Decode(format!(
                        "the draft model's context for {slots} slots of {n_ctx} tokens: {e}; lower --parallel or --ctx-size"
                    ))
                })
            })
            .collect()
    }

    /// The single path's drafter made again (after the slots' were dropped), for the whole
    /// context.
    pub(in crate::engine::llama) fn restore_drafter(
        &mut self,
        backend: &LlamaBackend,
    ) -> Result<(), EngineError> {
        if self.drafter.is_some() {
            return Ok(());
        }
        if let Some(source) = &self.draft_source {
            let drafter = source.drafter(backend, self.ctx.n_ctx()).map_err(|e| {
                EngineError::Decode(format!(
                    "the draft model's context could not be made again after batched generation: {e}"
                ))
            })?;
            self.drafter = Some(drafter);
        }
        Ok(())
    }
}
