//! llama.cpp in this process: the only module, with `gguf`, that names a llama-cpp-2 type.
//! [`LlamaConfig`] says what to load; the worker (`worker`) loads the model on the engine
//! thread and serves the engine's commands with template detection and rendering
//! (`template`; prompts with tools through Jinja, `tool_template`), the loaded model and a
//! generation's stages (`model`: prefill, the token loop, the KV state file), context fitting
//! (`fit`), the tokenization memo (`memo`), the sampler chain (`sampler_chain`), llama.cpp's
//! log lines (`logs`) and continuous batching of many jobs in one context (`slots`). `facts`
//! says what a model file is without loading its weights.

mod facts;
mod fit;
mod logs;
mod memo;
mod model;
mod sampler_chain;
mod slots;
mod template;
mod tool_template;
mod worker;

pub use facts::{model_facts, profile_advice, ModelFacts, TemplateKind};
pub use template::{fallback_for, render_llama3, render_plain, Fallback, NAMES as CHAT_TEMPLATES};
pub(super) use worker::run;

use crate::stream::TagSet;
use std::path::PathBuf;

pub use crate::gpu_layers::GpuLayers;

impl GpuLayers {
    /// The default: all layers when a GPU back end is compiled in, none otherwise.
    pub fn default_for_build() -> Self {
        if gpu_backend().is_some() {
            GpuLayers::All
        } else {
            GpuLayers::Count(0)
        }
    }
}

/// The GPU back end this binary was built with, if any.
pub fn gpu_backend() -> Option<&'static str> {
    if cfg!(feature = "cuda") {
        Some("CUDA")
    } else if cfg!(feature = "vulkan") {
        Some("Vulkan")
    } else if cfg!(feature = "metal") {
        Some("Metal")
    } else {
        None
    }
}

/// llama.cpp's process-wide backend, started on first use with its logs sent to tracing. For
/// code that drives llama.cpp beside the engine in the same process (the tests' independent
/// reference decoder): llama.cpp can be started only once per process.
pub fn llama_backend() -> Result<&'static llama_cpp_2::llama_backend::LlamaBackend, String> {
    worker::backend()
}

/// Everything needed to load a model.
#[derive(Clone, Debug)]
pub struct LlamaConfig {
    pub model_path: PathBuf,
    pub gpu_layers: GpuLayers,
    /// Context size; default: the smaller of 8192 and the model's training context.
    pub ctx_size: Option<u32>,
    /// Threads; default: the number of physical cores.
    pub threads: Option<u32>,
    pub batch_size: Option<u32>,
    /// Tags whose single special tokens are recognised by id.
    pub tags: TagSet,
    /// Load the vocabulary and template only (`--print-prompt`): no weights are read, and the
    /// engine renders prompts but cannot generate.
    pub vocab_only: bool,
    /// The file's pre-load check, when the settings already made it (for its sampling
    /// defaults): not read a second time (262k-token vocabularies take a while to read).
    pub checked: Option<std::sync::Arc<crate::gguf::GgufInfo>>,
    /// `--chat-template` (or the profile's `chat_template`): a llama.cpp built-in name,
    /// `plain`, or a file's path; `None`: the model's own, else a fallback chosen from the file.
    pub chat_template: Option<String>,
    /// Speculative decoding: what drafts tokens for the model to verify (off by default).
    pub speculation: Speculation,
}

/// Speculative decoding: drafts the model verifies several at a time, keeping the output what
/// it would be without them (a generation alone, and each sequence of the batched slots).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Speculation {
    /// Prompt lookup (`--lookup N`): draft up to this many tokens from earlier text; 0: off.
    pub lookup: u32,
    /// A draft model (`--model-draft`): drafts where lookup finds nothing.
    pub draft: Option<DraftModel>,
}

/// A small model with the same vocabulary that drafts for the model.
#[derive(Clone, Debug, PartialEq)]
pub struct DraftModel {
    pub path: PathBuf,
    /// The most tokens drafted at once (`--draft-max`).
    pub max: u32,
    /// Drafting stops at a token the draft model gives less than this probability
    /// (`--draft-p-min`).
    pub p_min: f32,
}

impl DraftModel {
    /// `--draft-max`'s default.
    pub const DEFAULT_MAX: u32 = 16;
    /// `--draft-p-min`'s default, llama.cpp's.
    pub const DEFAULT_P_MIN: f32 = 0.75;
}
