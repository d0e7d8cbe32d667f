//! Random-weight models of realistic shapes: for benchmarks, and (small, with attention that
//! matters) for tests whose model must notice a wrong KV cache or sampler (nothing is
//! downloaded).

use super::format::{GgufType, Value};
use super::llama::{write_llama_with, LlamaShape, LlamaVocabSpec, TokenKind};
use std::io;
use std::path::Path;

#[derive(Clone, Debug)]
pub struct RandomModelSpec {
    pub n_embd: u64,
    pub n_layer: u64,
    pub n_ff: u64,
    pub n_head: u64,
    pub n_vocab: usize,
    pub context_length: u32,
    pub seed: u64,
    /// The range of each group of weights: values are uniform in ±scale.
    pub scales: WeightScales,
    /// Extra metadata keys, e.g. `general.sampling.temp`.
    pub metadata: Vec<(String, Value)>,
    /// The matrices' type: f16, or Q8_0 as quantised models are run (norms stay f32).
    pub weight_type: GgufType,
}

/// Uniform ranges of the weight groups of a random model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WeightScales {
    pub embedding: f32,
    /// `attn_q` and `attn_k`: larger values make attention sharper, so that which earlier
    /// tokens a position attends to depends more on their content.
    pub query_key: f32,
    /// `attn_v` and `attn_output`: how much the context moves the residual stream.
    pub value_output: f32,
    pub feed_forward: f32,
    /// `output.weight`: the spread of the logits, so how peaked the next-token distribution is.
    pub output: f32,
}

impl Default for WeightScales {
    fn default() -> Self {
        WeightScales {
            embedding: 1.0,
            query_key: 0.05,
            value_output: 0.05,
            feed_forward: 0.05,
            output: 0.05,
        }
    }
}

impl RandomModelSpec {
    /// A ~2 MB model whose next token depends on the whole context, not only the last token:
    /// 4 layers of 128 wide with sharp attention that moves the residual stream, and a
    /// 1,024-token vocabulary whose logits spread enough that the top few tokens share most
    /// of the probability. What the scripted (bigram) models cannot do, this one does: a KV
    /// cache that lost or corrupted earlier tokens changes its greedy output, and every
    /// sampling setting changes what it draws.
    pub fn semantic() -> Self {
        RandomModelSpec {
            n_embd: 128,
            n_layer: 4,
            n_ff: 256,
            n_head: 4,
            n_vocab: 1024,
            context_length: 4096,
            seed: 7,
            scales: WeightScales {
                embedding: 1.0,
                query_key: 0.25,
                value_output: 0.15,
                feed_forward: 0.08,
                output: 0.45,
            },
            metadata: Vec::new(),
            weight_type: GgufType::F16,
        }
    }
}

impl Default for RandomModelSpec {
    /// 768-dim, 8 layers, 32k vocabulary (~120 M parameters, ~240 MB in f16).
    fn default() -> Self {
        RandomModelSpec {
            n_embd: 768,
            n_layer: 8,
            n_ff: 2048,
            n_head: 12,
            n_vocab: 32_000,
            context_length: 8192,
            seed: 42,
            scales: WeightScales::default(),
            metadata: Vec::new(),
            weight_type: GgufType::F16,
        }
    }
}

/// Bijective base-26 name of `i`: a, b, …, z, aa, ab, … (unique for each i).
fn word(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'a' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// Writes a llama model with uniformly random weights (f16, or `spec.weight_type`).
pub fn write_random_model(path: &Path, spec: &RandomModelSpec) -> io::Result<()> {
    let mut vocab = LlamaVocabSpec::base();
    let mut i = 0;
    while vocab.len() < spec.n_vocab {
        let w = word(i / 2);
        let text = if i % 2 == 0 { format!(" {w}") } else { w };
        vocab.push(&text, TokenKind::Normal);
        i += 1;
    }
    let shape = LlamaShape {
        name: format!("reflect-random-{}x{}", spec.n_layer, spec.n_embd),
        n_embd: spec.n_embd,
        n_layer: spec.n_layer,
        n_ff: spec.n_ff,
        n_head: spec.n_head,
        context_length: spec.context_length,
        ty: spec.weight_type,
        norm_ty: GgufType::F32,
    };
    let mut state = spec.seed;
    let scales = spec.scales;
    write_llama_with(path, &shape, &vocab, &spec.metadata, |name, dims| {
        let n: u64 = dims.iter().product();
        if name.ends_with("norm.weight") {
            return vec![1.0; n as usize];
        }
        let scale = match name.rsplit('.').nth(1).unwrap_or(name) {
            "token_embd" => scales.embedding,
            "output" => scales.output,
            "attn_q" | "attn_k" => scales.query_key,
            "attn_v" | "attn_output" => scales.value_output,
            _ => scales.feed_forward,
        };
        (0..n)
            .map(|_| {
                // splitmix64
                state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^= z >> 31;
                ((z >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::word;

    #[test]
    fn words_are_unique_and_bijective() {
        assert_eq!(word(0), "a");
        assert_eq!(word(25), "z");
        assert_eq!(word(26), "aa");
        assert_eq!(word(27), "ab");
        let all: std::collections::HashSet<String> = (0..20_000).map(word).collect();
        assert_eq!(all.len(), 20_000);
    }
}
