//! GGUF files: a writer for the tiny models reflect's tests, demo and benchmarks run on, and a
//! reader that checks a model file before llama.cpp (which aborts on some damage) sees it.
//!
//! This module knows nothing of llama.cpp, the router or terminals.

mod file_type;
mod format;
mod hf_tokenizer;
mod llama;
mod random;
mod reader;
mod scripted;
mod writer;

pub mod agent;
pub mod demo;

pub use file_type::{file_type_name, tensor_type_name};
pub use format::{GgufType, Value};
pub use hf_tokenizer::tokenizer_json;
pub use llama::{ChatTokens, LlamaShape, LlamaVocabSpec, TokenKind, VocabToken, LLAMA3_TEMPLATE};
pub use random::{write_random_model, RandomModelSpec, WeightScales};
pub use reader::{inspect, GgufInfo, ValidationError};
pub use scripted::{push_prose, Padding, ScriptItem, ScriptedModel, TemplateStyle};
pub use writer::GgufWriter;
