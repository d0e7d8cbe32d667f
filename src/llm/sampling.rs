//! Sampling settings, as profiles, flags and sessions give them. Free of llama.cpp, so that
//! the fuzz crate compiles this very file; the sampler chain is built in `sampler.rs`.

use serde::{Deserialize, Serialize};

/// Sampling settings. Defaults follow the Reflection model card (temperature 0.7, top_p 0.95)
/// and llama.cpp for the rest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SamplingSettings {
    pub temperature: f32,
    pub top_p: f32,
    pub top_k: i32,
    pub min_p: f32,
    pub repeat_penalty: f32,
    /// Fixed seed for reproducible runs; `None` draws one per generation.
    pub seed: Option<u32>,
}

impl Default for SamplingSettings {
    fn default() -> Self {
        SamplingSettings {
            temperature: 0.7,
            top_p: 0.95,
            top_k: 40,
            min_p: 0.05,
            repeat_penalty: 1.0,
            seed: None,
        }
    }
}
