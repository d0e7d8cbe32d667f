//! The llama.cpp sampler chain built from [`SamplingSettings`].

use crate::llm::SamplingSettings;
use llama_cpp_2::sampling::LlamaSampler;

/// Tokens the repetition penalty looks back over.
pub(crate) const PENALTY_LAST_N: usize = 64;

impl SamplingSettings {
    /// llama.cpp's order: penalties, top_k, top_p, min_p, temperature, then the draw. A
    /// temperature of 0 (or below) means greedy decoding. Returns the seed drawn with (the
    /// settings' own, else one taken from the clock), `None` when greedy.
    pub(crate) fn build(&self, n_vocab: i32) -> (LlamaSampler, Option<u32>) {
        if self.temperature <= 0.0 {
            let greedy = LlamaSampler::chain_simple([
                LlamaSampler::penalties(
                    n_vocab,
                    PENALTY_LAST_N as i32,
                    self.repeat_penalty,
                    0.0,
                    0.0,
                ),
                LlamaSampler::greedy(),
            ]);
            return (greedy, None);
        }
        let seed = self
            .seed
            .filter(|s| *s != crate::profile::RANDOM_SEED)
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.subsec_nanos() ^ d.as_secs() as u32)
                    .unwrap_or(0x5EED)
            });
        let chain = LlamaSampler::chain_simple([
            LlamaSampler::penalties(
                n_vocab,
                PENALTY_LAST_N as i32,
                self.repeat_penalty,
                0.0,
                0.0,
            ),
            LlamaSampler::top_k(self.top_k),
            LlamaSampler::top_p(self.top_p, 1),
            LlamaSampler::min_p(self.min_p, 1),
            LlamaSampler::temp(self.temperature),
            LlamaSampler::dist(seed),
        ]);
        (chain, Some(seed))
    }
}
