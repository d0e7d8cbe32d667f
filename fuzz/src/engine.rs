//! Stand-in for the main crate's `engine` module, which wraps llama.cpp: only the types that
//! the included files (`config`, `profile`, `prompt`) name. `SamplingSettings` and `GpuLayers`
//! mirror `src/engine/sampling.rs` and `src/engine/mod.rs` (those files import llama.cpp);
//! the chat message types are the real file.

#[path = "../../src/engine/template.rs"]
mod template;

pub use template::{ChatMessage, Role};

/// Mirrors `reflect::engine::SamplingSettings` (fields and defaults).
#[derive(Clone, Debug, PartialEq)]
pub struct SamplingSettings {
    pub temperature: f32,
    pub top_p: f32,
    pub top_k: i32,
    pub min_p: f32,
    pub repeat_penalty: f32,
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

/// Mirrors `reflect::engine::GpuLayers`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GpuLayers {
    All,
    Count(u32),
}
