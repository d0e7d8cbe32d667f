//! The main crate's backend-neutral vocabulary, as far as the included files (`config`,
//! `profile`, `prompt`) name it: the real files, by path.

#[path = "../../src/llm/message.rs"]
mod message;
#[path = "../../src/llm/sampling.rs"]
mod sampling;

pub use message::{ChatMessage, Role};
pub use sampling::SamplingSettings;
