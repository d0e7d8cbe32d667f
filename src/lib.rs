//! reflect: a terminal app for reasoning models that run locally through llama.cpp.
//!
//! `stream` routes a model's output into thinking / reflection / output; `engine` owns llama.cpp
//! on its own thread; `pipe` is the one-shot front end; `gguf` writes the tiny models tests run
//! on and checks model files before llama.cpp reads them.

pub mod abort;
pub mod cli;
pub mod config;
pub mod conversation;
pub mod engine;
pub mod eval;
pub mod exit;
pub mod gguf;
pub mod gpu_layers;
pub mod hash;
pub mod hub;
pub mod llm;
pub mod memory;
pub mod models;
pub mod pipe;
pub mod profile;
pub mod prompt;
pub mod session;
pub mod settings;
pub mod signals;
pub mod stream;
pub mod term_safe;
pub mod term_size;
pub mod theme;
pub mod tui;
