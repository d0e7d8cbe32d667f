//! The parts of reflect that the fuzz targets test, compiled from the main crate's own source
//! files by path (no copy), so that no fuzz build compiles llama.cpp. The module tree mirrors
//! the main crate's where those files expect it (`crate::config`, `crate::stream`, …); `llm`
//! takes the real message and sampling files by path (not `engine`, which wraps llama.cpp).

#![allow(dead_code, unused_imports)]

/// The main crate's `src/`: modules declared here resolve their files (and submodules) exactly
/// as they do in the main crate.
#[path = "../../src"]
mod main_src {
    pub mod config;
    pub mod exit;
    pub mod gpu_layers;
    pub mod profile;
    pub mod prompt;
    pub mod stream;
    pub mod theme;
}

pub mod llm;
pub mod tools;

/// `tools::call` names its ids with the main crate's hash.
#[path = "../../src/hash.rs"]
pub mod hash;

pub use main_src::{config, exit, gpu_layers, profile, prompt, stream, theme};

/// The GGUF reader and the writers that make seed files. `src/gguf/mod.rs` does not export
/// `inspect_read` or `write_llama_with`, so the files are listed one by one (the `path` makes this
/// module's files those of the main crate's `src/gguf/`).
#[path = "../../src/gguf"]
pub mod gguf {
    mod format;
    mod llama;
    mod reader;
    mod writer;

    pub use format::{GgufType, Value};
    pub use llama::{write_llama_with, LlamaShape, LlamaVocabSpec, TokenKind, VocabToken};
    pub use reader::{inspect, inspect_read, GgufInfo, ValidationError};
    pub use writer::GgufWriter;
}

pub mod catalog_entry;
pub mod check;
