//! A job in a slot: its token loop (`model::Sequence`, a generation alone's), the rest of its
//! prompt still to prefill (the first tokens of its feed), and the reports of its prompt.

use super::super::model::{Flags, Loaded, Sequence, Start};
use super::prompt::Prompt;
use crate::llm::{EngineEvent, ServeJob, Usage};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;

pub(super) struct Job<'m> {
    pub job: ServeJob,
    pub seq: Sequence<'m>,
    /// How many tokens of its feed are its prompt's (still being prefilled).
    pub prompt_left: usize,
}

impl<'m> Job<'m> {
    /// `job` starting in a slot whose cache holds `common` tokens of `prompt` already. Serving
    /// never asks for the answer now.
    pub(super) fn new(
        loaded: &Loaded<'m>,
        job: ServeJob,
        prompt: &Prompt,
        common: usize,
        started: Instant,
    ) -> Self {
        let n = prompt.tokens.len();
        let flags = Flags {
            events: job.events.clone(),
            cancel: job.cancel.clone(),
            answer_now: Arc::new(AtomicU64::new(0)),
        };
        let start = Start {
            text: &prompt.text,
            tokens: &prompt.tokens,
            usage: Usage {
                prompt_tokens: n as u32,
                prompt_tokens_evaluated: (n - common) as u32,
                ..Usage::default()
            },
            started,
        };
        let mut seq = Sequence::new(loaded, &job.request, flags, start);
        seq.feed = prompt.tokens[common..].to_vec();
        Job {
            job,
            seq,
            prompt_left: n - common,
        }
    }

    /// `n` tokens of the prompt are in: progress of a prompt longer than one step
    /// (`prompt_step`), as a generation alone reports it.
    pub(super) fn prefilled(&mut self, n: usize, prompt_step: usize) {
        self.prompt_left -= n.min(self.prompt_left);
        let total = self.seq.gen.usage.prompt_tokens_evaluated as usize;
        if total > prompt_step {
            let _ = self.job.events.send(EngineEvent::PromptProgress {
                id: self.job.request.id,
                done: (total - self.prompt_left) as u32,
                total: total as u32,
            });
        }
    }

    /// The prompt is in: generation begins.
    pub(super) fn prompt_processed(&mut self) {
        self.seq.prompt_done = Some(Instant::now());
        let _ = self.job.events.send(EngineEvent::PromptProcessed {
            id: self.job.request.id,
            prompt_tokens: self.seq.gen.usage.prompt_tokens,
            evaluated: self.seq.gen.usage.prompt_tokens_evaluated,
        });
    }
}
