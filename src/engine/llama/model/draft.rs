//! The draft model of speculative decoding (`--model-draft`): a second, small model with the
//! model's own vocabulary, in a context of its own, that drafts greedily what comes next. Its
//! cache follows the model's accepted tokens: each draft starts from the longest prefix it
//! still holds (rejected drafts leave it then). Greedy drafts are one token for sure, so the
//! model's own sampling judges them exactly (see `drafts`).

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;
use std::num::NonZeroU32;

/// A draft model's context and what its cache holds.
pub(in crate::engine::llama) struct Drafter<'m> {
    ctx: LlamaContext<'m>,
    cached: Vec<LlamaToken>,
    batch: LlamaBatch<'static>,
    /// The most tokens drafted at once.
    pub max: usize,
    /// Drafting stops at a token the draft model gives less than this probability.
    p_min: f32,
    /// Tokens decoded into the cache so far (catching up and drafting): what keeping in step
    /// with the model's accepted tokens costs.
    decoded: u64,
    /// Times the cache was cleared (it could not be rolled back, or a decode failed), so that
    /// everything was to be decoded again from the start: a slip that costs speed, never a
    /// wrong token; the tests hold it at 0.
    restarts: u32,
    /// The most tokens caught up per draft (`stepwise`); `None`: all at once.
    step: Option<usize>,
}

/// The first token the two vocabularies spell differently, said for people: `None` when they
/// are the same.
pub(in crate::engine::llama) fn vocabulary_difference(
    model: &LlamaModel,
    draft: &LlamaModel,
) -> Option<String> {
    let (a, b) = (model.vocab(), draft.vocab());
    let (n, m) = (a.n_tokens(), b.n_tokens());
    let (mut pa, mut pb) = (Vec::new(), Vec::new());
    for i in 0..n.min(m) {
        let t = LlamaToken(i);
        pa.clear();
        pb.clear();
        a.token_to_piece_into(t, &mut pa, true, None);
        b.token_to_piece_into(t, &mut pb, true, None);
        if pa != pb {
            return Some(format!(
                "its vocabulary differs from the model's: token {i} is {:?} in the model and {:?} in the draft model",
                String::from_utf8_lossy(&pa),
                String::from_utf8_lossy(&pb)
            ));
        }
    }
    (n != m).then(|| {
        format!("its vocabulary differs from the model's: it has {m} tokens, the model {n}")
    })
}

impl<'m> Drafter<'m> {
    /// A context on `draft` as large as the model's (`n_ctx`), batches of `n_batch`.
    pub(in crate::engine::llama) fn new(
        draft: &'m LlamaModel,
        backend: &LlamaBackend,
        n_ctx: u32,
        n_batch: u32,
        threads: u32,
        max: u32,
        p_min: f32,
    ) -> Result<Self, String> {
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(n_ctx))
            .with_n_batch(n_batch)
            .with_n_ubatch(n_batch.min(512))
            .with_n_threads(threads as i32)
            .with_n_threads_batch(threads as i32);
        let ctx = draft
            .new_context(backend, params)
            .map_err(|e| format!("llama.cpp could not make its context: {e}"))?;
        Ok(Drafter {
            ctx,
            cached: Vec::new(),
            batch: LlamaBatch::new(n_batch.max(1) as usize, 1),
            max: max as usize,
            p_min,
            decoded: 0,
            restarts: 0,
            step: None,
        })
    }

    /// Catches up at most `step` tokens per draft: a batched slot's drafter, so that a new
    /// job's long prompt goes into the draft model a micro-batch a step, as into the model,
    /// instead of stalling every stream at once.
    pub(in crate::engine::llama) fn stepwise(mut self, step: usize) -> Self {
        self.step = Some(step.max(1));
        self
    }

    /// Up to `n` greedy drafts into `out` (cleared first) to follow `history`. Nothing is
    /// drafted where the draft model cannot (its cache full, a failed decode): the model then
    /// goes on alone. `false` when it was not asked in earnest: still catching up on the
    /// history a step at a time (`stepwise`), which is no miss.
    pub(in crate::engine::llama) fn draft(
        &mut self,
        history: &[LlamaToken],
        n: usize,
        out: &mut Vec<LlamaToken>,
    ) -> bool {
        out.clear();
        let n = n.min(self.max);
        if n == 0 || history.is_empty() {
            return false;
        }
        match self.catch_up(history) {
            Some(true) => {}
            Some(false) => return false,
            None => return true,
        }
        let mut at = self.batch.n_tokens() - 1;
        for k in 0..n {
            let (best, p) = top(self.ctx.get_logits_ith(at));
            if p < self.p_min {
                break;
            }
            out.push(best);
            if k + 1 == n || self.decode(&[best]).is_none() {
                break;
            }
            at = 0;
        }
        true
    }

    /// Brings the cache to `history` (all of it but what it already holds), the last token's
    /// logits computed: `Some(true)`. `Some(false)`: a `step` of it decoded, more to come;
    /// `None`: llama.cpp failed.
    fn catch_up(&mut self, history: &[LlamaToken]) -> Option<bool> {
        let common = self
            .cached
            .iter()
            .zip(history)
            .take_while(|(a, b)| a == b)
            .count()
            .min(history.len() - 1);
        if self
            .ctx
            .kv_cache_seq_rm(0, Some(common as u32), None)
            .is_err()
        {
            self.restart("its cache could not be rolled back");
            return self.decode_upto(history);
        }
        self.cached.truncate(common);
        self.decode_upto(history)
    }

    /// What the cache lacks of `history` decoded, or the next `step` of it.
    fn decode_upto(&mut self, history: &[LlamaToken]) -> Option<bool> {
        let from = self.cached.len();
        let lacks = history.len() - from;
        match self.step {
            Some(step) if lacks > step => {
                self.decode(&history[from..from + step])?;
                Some(false)
            }
            _ => self.decode(&history[from..]).map(|()| true),
        }
    }

    /// `tokens` into the cache after what it holds, in batches; the last one's logits wanted.
    /// `None` (and the cache cleared) when llama.cpp cannot.
    fn decode(&mut self, tokens: &[LlamaToken]) -> Option<()> {
        let n_batch = self.ctx.n_batch().max(1) as usize;
        for chunk in tokens.chunks(n_batch) {
            self.batch.clear();
            let at = self.cached.len();
            for (i, t) in chunk.iter().enumerate() {
                let last = i + 1 == chunk.len();
                self.batch.add(*t, (at + i) as i32, &[0], last).ok()?;
            }
            if self.ctx.decode(&mut self.batch).is_err() {
                self.restart("a decode failed");
                return None;
            }
            self.decoded += chunk.len() as u64;
            self.cached.extend_from_slice(chunk);
        }
        Some(())
    }

    /// Clears the cache: the next draft decodes the whole history again.
    fn restart(&mut self, why: &str) {
        self.ctx.clear_kv_cache();
        self.cached.clear();
        self.restarts += 1;
        tracing::debug!(
            restarts = self.restarts,
            decoded = self.decoded,
            "draft model: {why}; its cache starts over"
        );
    }
}

/// The most probable token and its probability (softmax at temperature 1).
fn top(logits: &[f32]) -> (LlamaToken, f32) {
    let mut best = 0;
    for (i, l) in logits.iter().enumerate() {
        if *l > logits[best] {
            best = i;
        }
    }
    let max = logits.get(best).copied().unwrap_or(0.0);
    let sum: f32 = logits.iter().map(|l| (l - max).exp()).sum();
    (
        LlamaToken(best as i32),
        if sum > 0.0 { 1.0 / sum } else { 0.0 },
    )
}

#[cfg(test)]
impl Drafter<'_> {
    /// The model's logits after `history`, the cache caught up to it as a draft would.
    fn logits_after(&mut self, history: &[LlamaToken]) -> Vec<f32> {
        while !self.catch_up(history).expect("the draft model decodes") {}
        self.ctx.get_logits_ith(self.batch.n_tokens() - 1).to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::{top, Drafter};
    use crate::engine::llama::worker::backend;
    use crate::gguf::{write_random_model, RandomModelSpec};
    use llama_cpp_2::model::params::LlamaModelParams;
    use llama_cpp_2::model::LlamaModel;
    use llama_cpp_2::token::LlamaToken;

    /// Tokens of `history` the draft model's cache keeps when it catches up from `cached`: the
    /// common prefix, less the last token (decoded again for its logits).
    fn kept(cached: &[LlamaToken], history: &[LlamaToken]) -> usize {
        let common = cached.iter().zip(history).take_while(|(a, b)| a == b);
        common.count().min(history.len() - 1)
    }

    /// A random model whose next token depends on the whole context, so that a cache that
    /// kept a rejected draft, or lost an accepted token, changes its logits.
    fn semantic(dir: &std::path::Path) -> LlamaModel {
        let path = dir.join("semantic.gguf");
        write_random_model(&path, &RandomModelSpec::semantic()).expect("write the model");
        let params = LlamaModelParams::default().with_n_gpu_layers(0);
        LlamaModel::load_from_file(backend().expect("llama.cpp"), &path, &params)
            .expect("load the model")
    }

    /// The draft model through many rounds of the loop: it drafts after the accepted tokens,
    /// the target accepts some of the drafts (none, some, all) and adds its own token, at
    /// times goes on alone for a while (drafting paused) or takes tokens back (an extension
    /// of the thinking). After each round the draft model's cache holds exactly the accepted
    /// tokens (and the drafts it decoded), it decoded only what it lacked, it never started
    /// over, and its logits are those of a draft model that decoded the same tokens afresh.
    #[test]
    fn the_draft_models_cache_keeps_in_step_with_the_accepted_tokens() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let model = semantic(dir.path());
        let backend = backend().expect("llama.cpp");
        // Batches of 16, so that catching up takes several.
        let mut drafter = Drafter::new(&model, backend, 2048, 16, 1, 8, 0.0).expect("context");
        let mut fresh = Drafter::new(&model, backend, 2048, 512, 1, 8, 0.0).expect("context");
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut random = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let vocab = model.n_vocab() as usize;
        let mut history: Vec<LlamaToken> =
            (0..40).map(|_| LlamaToken(random(vocab) as i32)).collect();
        let mut drafts = Vec::new();
        let mut worst = 0.0f32;
        for round in 0..60 {
            // Caught up: the accepted tokens alone, what was not there decoded, nothing else.
            let (before, decoded) = (drafter.cached.clone(), drafter.decoded);
            let got = drafter.logits_after(&history);
            assert_eq!(
                drafter.cached, history,
                "round {round}: the cache holds the history"
            );
            let lacked = history.len() - kept(&before, &history);
            assert_eq!(drafter.decoded - decoded, lacked as u64, "round {round}");
            assert_eq!(drafter.restarts, 0, "round {round}: the cache started over");
            // The same logits as a draft model that decoded the history afresh, within what
            // batches of another shape round differently (measured: under 0.5% of the largest
            // logit; one token changed 100 tokens back moves them by 3%, 2 back by 10%).
            fresh.restart("the test compares");
            let want = fresh.logits_after(&history);
            let spread = want.iter().fold(0.0f32, |m, l| m.max(l.abs()));
            let diff = got
                .iter()
                .zip(&want)
                .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
            worst = worst.max(diff / spread);
            assert!(
                diff <= 0.015 * spread,
                "round {round}: logits differ by {diff} (of {spread}) from a fresh cache's"
            );
            // Drafts: the drafts but the last go into the cache after the history.
            let n = 1 + random(8);
            let decoded = drafter.decoded;
            drafter.draft(&history, n, &mut drafts);
            assert_eq!(drafts.len(), n, "round {round}: p-min 0 drafts as asked");
            let mut holds = history.clone();
            holds.extend_from_slice(&drafts[..n - 1]);
            assert_eq!(drafter.cached, holds, "round {round}: history and drafts");
            assert_eq!(
                drafter.decoded - decoded,
                n as u64,
                "round {round}: the last again"
            );
            // The target accepts some, then chooses its own token.
            let accepted = random(n + 1);
            history.extend_from_slice(&drafts[..accepted]);
            let mut own = LlamaToken(random(vocab) as i32);
            if drafts.get(accepted) == Some(&own) {
                own = LlamaToken((own.0 + 1) % vocab as i32);
            }
            history.push(own);
            match random(6) {
                // Drafting paused: the model goes on alone for a while.
                0 => history.extend((0..1 + random(20)).map(|_| LlamaToken(random(vocab) as i32))),
                // Tokens taken back out of the context, others in their place.
                1 => {
                    history.truncate(history.len() - 1 - random(3));
                    history.push(LlamaToken(random(vocab) as i32));
                }
                _ => {}
            }
        }
        assert_eq!(drafter.restarts, 0);
        eprintln!("largest logit difference: {worst:e} of the spread");
    }

    /// A batched slot's drafter takes a new job's prompt a step at a time, drafting nothing
    /// (and not asked: no miss) until it has caught up; then it drafts what a drafter that
    /// took the prompt at once drafts.
    #[test]
    fn a_slots_draft_model_catches_up_on_a_long_prompt_a_step_at_a_time() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let model = semantic(dir.path());
        let backend = backend().expect("llama.cpp");
        let vocab = model.n_vocab();
        let history: Vec<LlamaToken> = (0..50).map(|i| LlamaToken(i * 7 % vocab)).collect();
        let mut slot = Drafter::new(&model, backend, 2048, 512, 1, 4, 0.0)
            .expect("context")
            .stepwise(16);
        let mut out = Vec::new();
        for step in 1..=3u64 {
            assert!(
                !slot.draft(&history, 4, &mut out),
                "step {step}: catching up"
            );
            assert!(out.is_empty(), "step {step}");
            assert_eq!(slot.decoded, 16 * step, "step {step}: one step decoded");
        }
        assert!(slot.draft(&history, 4, &mut out), "caught up: asked");
        // The last 2 of the prompt, then the drafts but the last.
        assert_eq!(slot.decoded, 50 + 3);
        let mut alone = Drafter::new(&model, backend, 2048, 512, 1, 4, 0.0).expect("context");
        let mut want = Vec::new();
        assert!(alone.draft(&history, 4, &mut want));
        assert_eq!(alone.decoded, 50 + 3, "all of it at once");
        assert_eq!(out, want);
        assert_eq!((slot.restarts, alone.restarts), (0, 0));
    }

    #[test]
    fn the_top_token_and_its_probability() {
        let (t, p) = top(&[0.0, 2.0_f32.ln(), 0.0]);
        assert_eq!(t, LlamaToken(1));
        assert!((p - 0.5).abs() < 1e-6, "{p}");
        let (t, p) = top(&[5.0]);
        assert_eq!((t, p), (LlamaToken(0), 1.0));
    }
}
