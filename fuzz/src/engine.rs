//! Stand-in for the main crate's `engine` module, which wraps llama.cpp: only the types that
//! the included files (`config`, `profile`, `prompt`) name. The chat message types and the
//! sampling settings are the real files; `GpuLayers` mirrors `src/engine/mod.rs` (which
//! imports llama.cpp).

#[path = "../../src/engine/sampling.rs"]
mod sampling;
#[path = "../../src/engine/template.rs"]
mod template;

pub use sampling::SamplingSettings;
pub use template::{ChatMessage, Role};

/// Mirrors `reflect::engine::GpuLayers`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GpuLayers {
    All,
    Count(u32),
}
