//! Continuous batching: many jobs as sequences of one llama.cpp context (`n_seq_max` = the
//! slots, its KV cache split among them), each step decoding what every running sequence needs
//! in one batch. One mechanism serves `reflect serve --parallel N` (`Command::Serve`: jobs
//! arrive while others run) and `reflect eval --parallel N` (`Command::GenerateMany`: all
//! queued up front).
//!
//! - **Per job, what a generation alone does** (`model::Sequence`, the same token loop): its
//!   sampler built and seeded as alone, router, counts, end-of-turn guard, token limit,
//!   `</output>` stop, tools (calls read, markers shown) and the thinking budget (forced text is
//!   several tokens of that sequence in the next batch; an extension takes tokens back out of
//!   its slot).
//! - **Speculation per slot** (`--lookup`, `--model-draft`): a sequence whose feed is its
//!   sampled token drafts (prompt lookup over its own tokens; the draft model in a context of
//!   the slot's own, `model::DraftSource`) in the room the batch has left once every sequence's
//!   feed and the prompt's micro-batch are in, shared out evenly (`speculate`); logits at the
//!   token and each draft. A draft that is the token sampled is taken and the next position
//!   sampled at once; a rejected one leaves that slot's cache alone (`kv_cache_seq_rm` of its
//!   sequence id), never another's.
//! - **Admission at once**: while sequences decode, a new job is taken each step when a slot is
//!   free; when nothing runs, the loop waits for one. It goes to the free slot whose cache
//!   shares the longest prefix with its prompt when that is at least half of it, else to the
//!   slot unused longest (`choose`); the prefix shared is kept, only the rest is decoded
//!   (`usage.prompt_tokens_evaluated`). A slot keeps its tokens after its job ends.
//! - **Prefill interleaved**: one prompt at a time is prefilled, at most one micro-batch of it
//!   a step, in the same batch as the running sequences' tokens, so that a long prompt never
//!   stalls the streams; the next job is admitted once that prompt is in. Admitting in order
//!   also keeps `GenerateMany`'s errors in the order of its requests.
//! - **Cancel**: each job's flag is read every step; a cancelled job ends with its
//!   `Done(Cancelled)` and frees its slot at once.
//! - **Context**: each slot holds `n_ctx / slots` tokens (as llama-server divides its context
//!   among `--parallel` slots); a prompt too long for a slot fails its job alone
//!   (`PromptTooLong` with the slot's size), the others run on. `GenerateMany` gives each
//!   sequence the whole context (`eval --parallel` as before) and ends at the first error.
//!
//! `Command::Serve` with one slot does not come here: the single-generation path serves it,
//! one job at a time, so that `--parallel 1` keeps what that path has and this loop has not
//! (the tokenization memo, the whole context). The batched context is one of its own; the
//! worker swaps the single path's for a small one while it lives (`worker::lent`), and the
//! draft model's context for the slots' (`Loaded::slot_drafters`), so that one KV cache of
//! each model is allocated, not two.

mod job;
mod prompt;

use super::model::{decode_error, Cache, Drafter, Loaded, Next};
use crate::llm::{EngineError, EngineEvent, Generation, ServeJob, StopReason, Timings};
use job::Job;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::DecodeError;
use std::num::NonZeroU32;
use std::sync::mpsc;
use std::time::Instant;

/// The context's shape: sequences at once, the context of each, batch and threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Shape {
    pub sequences: u32,
    pub n_ctx_seq: u32,
    pub n_batch: u32,
    pub threads: u32,
    /// One KV buffer for all the sequences (`kv_unified`): while speculating, so that one
    /// slot's drafts go into the same pass as the others' tokens. With a buffer per sequence
    /// llama.cpp splits a batch into passes of equal tokens per sequence, and a slot's drafts
    /// cost every slot a pass of its own (measured: 2.5–4% of the throughput at 4 slots); without
    /// drafts the split buffers were the faster (0.5–5.5%, docs/benchmarks.md).
    pub unified: bool,
}

/// Where the jobs come from, and what a job's failure does.
pub(super) enum Jobs<'a> {
    /// `Command::Serve`: jobs arrive while others run, until the channel closes; a job that
    /// fails gets its `Error`, the others run on.
    Arriving(&'a mpsc::Receiver<ServeJob>),
    /// `Command::GenerateMany`: all queued up front; the first failure ends them all.
    Queued(std::vec::IntoIter<ServeJob>),
}

impl Jobs<'_> {
    /// The next job: waiting for one when `wait`; `None` when there is none now (or ever).
    fn next(&mut self, wait: bool) -> Option<ServeJob> {
        match self {
            Jobs::Arriving(rx) if wait => rx.recv().ok(),
            Jobs::Arriving(rx) => rx.try_recv().ok(),
            Jobs::Queued(q) => q.next(),
        }
    }

    /// `job` failed with `e`: its `Error` (serving), or `e` for the command (queued).
    fn failed(&self, job: &ServeJob, e: EngineError) -> Result<(), EngineError> {
        match self {
            Jobs::Arriving(_) => {
                let _ = job.events.send(EngineEvent::Error(e));
                Ok(())
            }
            Jobs::Queued(_) => Err(e),
        }
    }
}

/// Runs the jobs, `shape.sequences` at a time, until there are no more (the channel closed
/// and what ran finished). An error is returned only for the queued jobs of `GenerateMany`.
pub(super) fn run<'m>(
    loaded: &mut Loaded<'m>,
    backend: &LlamaBackend,
    cached_ctx: &mut Option<(Shape, LlamaContext<'m>)>,
    shape: Shape,
    mut jobs: Jobs<'_>,
) -> Result<(), EngineError> {
    let ctx = match context(loaded, backend, cached_ctx, shape) {
        Ok(ctx) => ctx,
        Err(e) => {
            // Every job that comes is told why it cannot run.
            while let Some(job) = jobs.next(true) {
                jobs.failed(&job, e.clone())?;
            }
            return Ok(());
        }
    };
    let n_ctx_seq = ctx.n_ctx() / shape.sequences;
    let drafters = match loaded.slot_drafters(backend, shape.sequences, n_ctx_seq) {
        Ok(d) => d,
        Err(e) => {
            while let Some(job) = jobs.next(true) {
                jobs.failed(&job, e.clone())?;
            }
            return Ok(());
        }
    };
    let mut b = Batched::new(ctx, shape, drafters, loaded.lookup());
    loop {
        b.end_cancelled();
        while b.can_admit() {
            let Some(job) = jobs.next(b.idle()) else {
                if b.idle() {
                    return Ok(());
                }
                break;
            };
            b.admit(loaded, job, &jobs)?;
        }
        if let Err(e) = b.step() {
            b.fail_all(&e, &jobs)?;
        }
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
            .with_kv_unified(shape.unified)
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

/// One sequence id of the context: the tokens its cache holds, and the job running there.
struct Slot<'m> {
    cached: Vec<LlamaToken>,
    job: Option<Job<'m>>,
    /// The draft model's context of its own, when there is a draft model.
    drafter: Option<Drafter<'m>>,
    /// When its last job ended (the count of jobs ended before); 0: never used.
    ended: u64,
}

/// A free slot, as a new job sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Free {
    slot: usize,
    /// Tokens its cache shares with the job's prompt.
    common: usize,
    ended: u64,
}

/// The slot for a prompt of `len` tokens (llama-server's rule): the one sharing the longest
/// prefix when that is at least half the prompt (a conversation goes on where its cache is);
/// else the one unused longest (so that a new conversation does not evict the cache another
/// may come back to, for a system prompt in common).
fn choose(free: &[Free], len: usize) -> Option<Free> {
    let best = free
        .iter()
        .max_by_key(|f| (f.common, std::cmp::Reverse(f.slot)))?;
    if best.common * 2 >= len {
        return Some(*best);
    }
    free.iter().min_by_key(|f| (f.ended, f.slot)).copied()
}

/// The shared context and its batch, and the slots.
struct Batched<'a, 'm> {
    ctx: &'a mut LlamaContext<'m>,
    batch: LlamaBatch<'static>,
    /// Tokens one batch holds.
    n_batch: usize,
    /// Prompt tokens one step decodes at most (a micro-batch).
    prompt_step: usize,
    n_ctx_seq: u32,
    /// Prompt lookup's most drafts (0: off).
    lookup: usize,
    slots: Vec<Slot<'m>>,
    /// Jobs ended so far.
    ended: u64,
}

impl<'a, 'm> Batched<'a, 'm> {
    fn new(
        ctx: &'a mut LlamaContext<'m>,
        shape: Shape,
        drafters: Vec<Option<Drafter<'m>>>,
        lookup: usize,
    ) -> Self {
        ctx.clear_kv_cache();
        let n_ctx_seq = ctx.n_ctx() / shape.sequences;
        let n_batch = (ctx.n_batch().max(1) as usize).max(shape.sequences as usize);
        let prompt_step = (ctx.n_ubatch() as usize).min(shape.n_batch as usize).max(1);
        Batched {
            ctx,
            batch: LlamaBatch::new(n_batch, 1),
            n_batch,
            prompt_step,
            n_ctx_seq,
            lookup,
            slots: drafters
                .into_iter()
                .map(|drafter| Slot {
                    cached: Vec::new(),
                    job: None,
                    drafter,
                    ended: 0,
                })
                .collect(),
            ended: 0,
        }
    }

    /// Nothing runs.
    fn idle(&self) -> bool {
        self.slots.iter().all(|s| s.job.is_none())
    }

    /// A slot is free and no prompt is being prefilled.
    fn can_admit(&self) -> bool {
        let mut free = false;
        for s in &self.slots {
            match &s.job {
                None => free = true,
                Some(job) if job.prompt_left > 0 => return false,
                Some(_) => {}
            }
        }
        free
    }

    /// Starts `job` in the free slot sharing the longest prefix with its prompt (the rest of
    /// the prompt is its feed). A job cancelled before it started is done at once; one whose
    /// prompt cannot be made or does not fit fails alone.
    fn admit(
        &mut self,
        loaded: &mut Loaded<'m>,
        job: ServeJob,
        jobs: &Jobs<'_>,
    ) -> Result<(), EngineError> {
        let started = Instant::now();
        let req = &job.request;
        if job.cancel.load(std::sync::atomic::Ordering::SeqCst) >= req.id {
            let gen = Generation::new(req, &job.events);
            let done = gen.finish(StopReason::Cancelled, Timings::default(), String::new());
            let _ = job.events.send(EngineEvent::Done(Box::new(done)));
            return Ok(());
        }
        let prompt = match prompt::prepare(loaded, req, self.n_ctx_seq, &job.events) {
            Ok(p) => p,
            Err(e) => return jobs.failed(&job, e),
        };
        let free: Vec<Free> = (self.slots.iter().enumerate())
            .filter(|(_, s)| s.job.is_none())
            .map(|(i, s)| Free {
                slot: i,
                common: prompt::common_prefix(&s.cached, &prompt.tokens),
                ended: s.ended,
            })
            .collect();
        let Some(Free {
            slot: i, common, ..
        }) = choose(&free, prompt.tokens.len())
        else {
            return Err(EngineError::Gone);
        };
        // At least the last token is decoded again, for its logits.
        let mut common = common.min(prompt.tokens.len() - 1);
        if self
            .ctx
            .kv_cache_seq_rm(i as i32, Some(common as u32), None)
            .is_err()
        {
            let _ = self.ctx.kv_cache_seq_rm(i as i32, None, None);
            common = 0;
        }
        let slot = &mut self.slots[i];
        slot.cached.truncate(common);
        slot.job = Some(Job::new(loaded, job, &prompt, common, started));
        Ok(())
    }

    /// Jobs cancelled since the last step end now.
    fn end_cancelled(&mut self) {
        for i in 0..self.slots.len() {
            if (self.slots[i].job.as_ref()).is_some_and(|j| j.seq.cancelled()) {
                self.end(i, StopReason::Cancelled);
            }
        }
    }

    /// One batch: every generating sequence's feed (its sampled token, or forced text), then
    /// up to a micro-batch of the prompt being prefilled; decoded at once. Then each sequence
    /// whose feed is all in goes on from its logits.
    fn step(&mut self) -> Result<(), EngineError> {
        let fed = self.fill()?;
        if fed.is_empty() {
            return Ok(());
        }
        match self.ctx.decode(&mut self.batch) {
            Ok(()) => {}
            Err(DecodeError::NoKvCacheSlot) => {
                for (i, _, _) in fed {
                    let _ = self.ctx.kv_cache_seq_rm(i as i32, None, None);
                    self.slots[i].cached.clear();
                    self.end(i, StopReason::ContextFull);
                }
                return Ok(());
            }
            Err(e) => return Err(decode_error(e)),
        }
        for (i, n, logits_at) in fed {
            let n_ctx = self.n_ctx_seq;
            let prompt_step = self.prompt_step;
            let lookup = self.lookup;
            let Slot {
                cached,
                job,
                drafter,
                ..
            } = &mut self.slots[i];
            let Some(j) = job.as_mut() else { continue };
            j.seq.fed(n, cached);
            if j.prompt_left > 0 {
                j.prefilled(n, prompt_step);
            }
            let Some(at) = logits_at else { continue };
            if j.seq.prompt_done.is_none() {
                j.prompt_processed();
            }
            let mut cache = slot_cache(self.ctx, i, cached, n_ctx, (lookup, drafter.as_mut()));
            match j.seq.advance(&mut cache, at)? {
                Next::Feed => {}
                Next::Stop(stop) => self.end(i, stop),
            }
        }
        Ok(())
    }

    /// The batch for this step: for each slot fed, how many tokens and where its logits are
    /// (when its feed is all in).
    fn fill(&mut self) -> Result<Vec<(usize, usize, Option<i32>)>, EngineError> {
        self.speculate();
        self.batch.clear();
        let mut fed = Vec::new();
        let mut room = self.n_batch;
        // The generating sequences first, then the prompt.
        for prefilling in [false, true] {
            for (i, slot) in self.slots.iter().enumerate() {
                let Some(Job {
                    seq: s,
                    prompt_left,
                    ..
                }) = &slot.job
                else {
                    continue;
                };
                if (*prompt_left > 0) != prefilling || s.feed.is_empty() {
                    continue;
                }
                let cap = if prefilling { self.prompt_step } else { room };
                let n = s.feed.len().min(room).min(cap);
                if n == 0 {
                    continue;
                }
                let all_in = n == s.feed.len();
                let from = s.logits_from();
                let at = slot.cached.len();
                let first = self.batch.n_tokens();
                for (k, t) in s.feed[..n].iter().enumerate() {
                    let logits = all_in && k >= from;
                    self.batch
                        .add(*t, (at + k) as i32, &[i as i32], logits)
                        .map_err(|e| EngineError::Decode(e.to_string()))?;
                }
                room -= n;
                let logits_at = all_in.then_some(first + from as i32);
                fed.push((i, n, logits_at));
            }
        }
        Ok(fed)
    }

    /// Drafts for each sequence whose feed is its sampled token, decoded with it: in the room
    /// the batch has left once every sequence's feed and a micro-batch of the prompt are in
    /// (speculation never takes a slot's place), shared out evenly among them.
    fn speculate(&mut self) {
        let mut room = self.n_batch;
        let mut drafting = Vec::new();
        for (i, slot) in self.slots.iter().enumerate() {
            let Some(j) = &slot.job else { continue };
            let cap = if j.prompt_left > 0 {
                self.prompt_step
            } else {
                room
            };
            room = room.saturating_sub(j.seq.feed.len().min(cap));
            if j.seq.may_draft() {
                drafting.push(i);
            }
        }
        let (n_ctx, lookup, count) = (self.n_ctx_seq, self.lookup, drafting.len());
        for (k, i) in drafting.into_iter().enumerate() {
            let Slot {
                cached,
                job,
                drafter,
                ..
            } = &mut self.slots[i];
            let Some(j) = job.as_mut() else { continue };
            let mut cache = slot_cache(self.ctx, i, cached, n_ctx, (lookup, drafter.as_mut()));
            j.seq.speculate(&mut cache, room / (count - k));
            room -= j.seq.feed.len() - 1;
        }
    }

    /// The job in slot `i` stopped: its `Done` sent, the slot free (its cache kept for the
    /// next job that shares its start).
    fn end(&mut self, i: usize, stop: StopReason) {
        self.ended += 1;
        self.slots[i].ended = self.ended;
        let (n_ctx, lookup) = (self.n_ctx_seq, self.lookup);
        let Slot {
            cached,
            job,
            drafter,
            ..
        } = &mut self.slots[i];
        if let Some(Job { job, seq, .. }) = job.take() {
            let mut cache = slot_cache(self.ctx, i, cached, n_ctx, (lookup, drafter.as_mut()));
            let (done, _) = seq.finish(&mut cache, stop, 0);
            let _ = job.events.send(EngineEvent::Done(Box::new(done)));
        }
    }

    /// Decoding failed: every running job fails with `e` (serving: the slots are emptied and
    /// the loop goes on with the next jobs).
    fn fail_all(&mut self, e: &EngineError, jobs: &Jobs<'_>) -> Result<(), EngineError> {
        self.ctx.clear_kv_cache();
        for slot in &mut self.slots {
            slot.cached.clear();
            if let Some(job) = slot.job.take() {
                jobs.failed(&job.job, e.clone())?;
            }
        }
        Ok(())
    }
}

/// Slot `i`'s part of the context, holding `cached`, `n_ctx` tokens at most; drafted for by
/// prompt lookup (its most drafts) and the slot's drafter.
fn slot_cache<'c, 'm>(
    ctx: &'c mut LlamaContext<'m>,
    i: usize,
    cached: &'c mut Vec<LlamaToken>,
    n_ctx: u32,
    (lookup, drafter): (usize, Option<&'c mut Drafter<'m>>),
) -> Cache<'c, 'm> {
    Cache {
        ctx,
        id: i as i32,
        cached,
        n_ctx,
        lookup,
        drafter,
    }
}

#[cfg(test)]
mod tests {
    use super::{choose, Free};

    fn free(slot: usize, common: usize, ended: u64) -> Free {
        Free {
            slot,
            common,
            ended,
        }
    }

    #[test]
    fn a_job_goes_where_its_prefix_is_when_that_is_most_of_it_else_to_the_oldest_slot() {
        let slots = [
            free(0, 40, 5),
            free(1, 0, 0),
            free(2, 90, 7),
            free(3, 10, 2),
        ];
        // A conversation going on: 90 of its 100 tokens are in slot 2.
        assert_eq!(choose(&slots, 100).map(|f| f.slot), Some(2));
        // Exactly half is enough.
        assert_eq!(choose(&slots, 180).map(|f| f.slot), Some(2));
        // A new one sharing little: the slot never used, then the one unused longest.
        assert_eq!(choose(&slots, 400).map(|f| f.slot), Some(1));
        assert_eq!(choose(&slots[2..], 400).map(|f| f.slot), Some(3));
        // Ties go to the first slot.
        let tie = [free(0, 60, 1), free(1, 60, 0)];
        assert_eq!(choose(&tie, 100).map(|f| f.slot), Some(0));
        assert_eq!(choose(&[], 10), None);
    }
}
