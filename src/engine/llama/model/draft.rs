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
        })
    }

    /// Up to `n` greedy drafts into `out` (cleared first) to follow `history`. Nothing is
    /// drafted where the draft model cannot (its cache full, a failed decode): the model then
    /// goes on alone.
    pub(in crate::engine::llama) fn draft(
        &mut self,
        history: &[LlamaToken],
        n: usize,
        out: &mut Vec<LlamaToken>,
    ) {
        out.clear();
        let n = n.min(self.max);
        if n == 0 || history.is_empty() || self.catch_up(history).is_none() {
            return;
        }
        let mut at = self.batch.n_tokens() - 1;
        for k in 0..n {
            let (best, p) = top(self.ctx.get_logits_ith(at));
            if p < self.p_min {
                return;
            }
            out.push(best);
            if k + 1 == n || self.decode(&[best]).is_none() {
                return;
            }
            at = 0;
        }
    }

    /// Brings the cache to `history` (all of it but what it already holds), the last token's
    /// logits computed.
    fn catch_up(&mut self, history: &[LlamaToken]) -> Option<()> {
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
            self.ctx.clear_kv_cache();
            self.cached.clear();
            return self.decode(history);
        }
        self.cached.truncate(common);
        self.decode(&history[common..])
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
                self.ctx.clear_kv_cache();
                self.cached.clear();
                return None;
            }
            self.cached.extend_from_slice(chunk);
        }
        Some(())
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
mod tests {
    use super::top;
    use llama_cpp_2::token::LlamaToken;

    #[test]
    fn the_top_token_and_its_probability() {
        let (t, p) = top(&[0.0, 2.0_f32.ln(), 0.0]);
        assert_eq!(t, LlamaToken(1));
        assert!((p - 0.5).abs() < 1e-6, "{p}");
        let (t, p) = top(&[5.0]);
        assert_eq!((t, p), (LlamaToken(0), 1.0));
    }
}
