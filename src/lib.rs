//! reflect: a terminal app for reasoning models (they think in `<thinking>`, correct themselves
//! in `<reflection>` and answer in `<output>`), run locally through llama.cpp or on an
//! OpenAI-compatible server.
//!
//! The way through: `cli` turns the command line into a plain `settings::Request`; `settings`
//! resolves it with the environment, `config` and a `profile` into a run's settings; `engine`
//! starts a backend (llama.cpp on its own thread, or an HTTP client) that speaks `llm`'s
//! vocabulary; `stream` routes the model's output into thinking / reflection / output; the
//! front ends show it: `tui` the full-screen chat, `pipe` one answer, `eval` a question file.
//! `hub` gets models from Hugging Face, `session` keeps conversations, `gguf` writes the tiny
//! models the tests run on and checks model files before llama.cpp reads them.

pub mod abort;
pub mod cli;
pub mod config;
pub mod conversation;
pub mod engine;
pub mod env;
pub mod eval;
pub mod exit;
pub mod gguf;
pub mod gpu_layers;
pub mod hash;
pub mod hub;
pub mod jinja;
pub mod llm;
pub mod mcp;
pub mod memory;
pub mod models;
pub mod pipe;
pub mod profile;
pub mod prompt;
pub mod serve;
pub mod session;
pub mod settings;
pub mod signals;
pub mod stream;
pub mod term_safe;
pub mod term_size;
pub mod theme;
pub mod tools;
pub mod tui;
