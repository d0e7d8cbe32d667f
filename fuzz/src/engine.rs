//! Stand-in for the main crate's `engine` module, which wraps llama.cpp: only what the included
//! files name. `GpuLayers` mirrors `src/engine/llama/mod.rs` (which imports llama.cpp).

/// Mirrors `reflect::engine::GpuLayers`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GpuLayers {
    All,
    Count(u32),
}
