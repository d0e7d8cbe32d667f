//! The llama.cpp sampler chain built from [`SamplingSettings`]: only the samplers that change
//! something (a penalty of 1.0, `top_k` 0, `top_p` 1.0 or `min_p` 0 add nothing to the chain).

use crate::llm::SamplingSettings;
use llama_cpp_2::sampling::LlamaSampler;

/// Tokens the repetition penalty looks back over.
pub(crate) const PENALTY_LAST_N: usize = 64;

/// One sampler of the chain, in llama.cpp's order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Stage {
    Penalty(f32),
    TopK(i32),
    TopP(f32),
    MinP(f32),
    Temperature(f32),
    /// The draw from what is left, with this seed.
    Draw(u32),
    Greedy,
}

impl SamplingSettings {
    /// The chain's stages in llama.cpp's order: penalties, top_k, top_p, min_p, temperature,
    /// then the draw; a temperature of 0 (or below) means the penalty, then greedy. A stage that
    /// would change nothing is left out: llama.cpp still calls it for every token (a disabled
    /// penalty keeps its history in a hash map), and the output is the same without it.
    pub(crate) fn stages(&self, seed: u32) -> Vec<Stage> {
        let penalty = (self.repeat_penalty != 1.0).then_some(Stage::Penalty(self.repeat_penalty));
        if self.temperature <= 0.0 {
            return penalty.into_iter().chain([Stage::Greedy]).collect();
        }
        penalty
            .into_iter()
            .chain((self.top_k > 0).then_some(Stage::TopK(self.top_k)))
            .chain((self.top_p < 1.0).then_some(Stage::TopP(self.top_p)))
            .chain((self.min_p > 0.0).then_some(Stage::MinP(self.min_p)))
            .chain([Stage::Temperature(self.temperature), Stage::Draw(seed)])
            .collect()
    }

    /// The sampler chain, and the seed drawn with (the settings' own, else one taken from the
    /// clock), `None` when greedy.
    pub(crate) fn build(&self, n_vocab: i32) -> (LlamaSampler, Option<u32>) {
        let seed = (self.temperature > 0.0).then(|| self.seed_or_clock());
        let chain = self
            .stages(seed.unwrap_or(0))
            .into_iter()
            .map(|stage| stage.sampler(n_vocab));
        (LlamaSampler::chain_simple(chain), seed)
    }

    fn seed_or_clock(&self) -> u32 {
        self.seed
            .filter(|s| *s != crate::profile::RANDOM_SEED)
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.subsec_nanos() ^ d.as_secs() as u32)
                    .unwrap_or(0x5EED)
            })
    }
}

impl Stage {
    fn sampler(self, n_vocab: i32) -> LlamaSampler {
        match self {
            Stage::Penalty(p) => {
                LlamaSampler::penalties(n_vocab, PENALTY_LAST_N as i32, p, 0.0, 0.0)
            }
            Stage::TopK(k) => LlamaSampler::top_k(k),
            Stage::TopP(p) => LlamaSampler::top_p(p, 1),
            Stage::MinP(p) => LlamaSampler::min_p(p, 1),
            Stage::Temperature(t) => LlamaSampler::temp(t),
            Stage::Draw(seed) => LlamaSampler::dist(seed),
            Stage::Greedy => LlamaSampler::greedy(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Stage::*;
    use crate::llm::SamplingSettings;

    fn settings(
        temperature: f32,
        top_k: i32,
        top_p: f32,
        min_p: f32,
        repeat: f32,
    ) -> SamplingSettings {
        SamplingSettings {
            temperature,
            top_p,
            top_k,
            min_p,
            repeat_penalty: repeat,
            seed: Some(7),
        }
    }

    #[test]
    fn the_chain_holds_only_the_samplers_that_change_something() {
        let cases = [
            // reflect's defaults: no penalty at 1.0.
            (
                settings(0.7, 40, 0.95, 0.05, 1.0),
                vec![TopK(40), TopP(0.95), MinP(0.05), Temperature(0.7), Draw(7)],
            ),
            // `--top-k 0 --min-p 0`: the minimal loop's chain, nothing more.
            (
                settings(0.7, 0, 0.95, 0.0, 1.0),
                vec![TopP(0.95), Temperature(0.7), Draw(7)],
            ),
            (
                settings(0.7, 0, 1.0, 0.0, 1.0),
                vec![Temperature(0.7), Draw(7)],
            ),
            (
                settings(0.7, 20, 0.9, 0.1, 1.1),
                vec![
                    Penalty(1.1),
                    TopK(20),
                    TopP(0.9),
                    MinP(0.1),
                    Temperature(0.7),
                    Draw(7),
                ],
            ),
            (settings(0.0, 40, 0.95, 0.05, 1.0), vec![Greedy]),
            (
                settings(0.0, 40, 0.95, 0.05, 1.2),
                vec![Penalty(1.2), Greedy],
            ),
            (settings(-1.0, 0, 1.0, 0.0, 0.9), vec![Penalty(0.9), Greedy]),
        ];
        for (s, want) in cases {
            assert_eq!(s.stages(7), want, "{s:?}");
        }
    }

    #[test]
    fn the_seed_is_the_settings_own_and_greedy_has_none() {
        let s = settings(0.7, 40, 0.95, 0.05, 1.0);
        assert_eq!(s.build(32).1, Some(7));
        assert_eq!(settings(0.0, 40, 0.95, 0.05, 1.0).build(32).1, None);
    }
}
