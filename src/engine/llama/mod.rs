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

impl Speculation {
    /// Whether it drafts at all.
    pub fn on(&self) -> bool {
        self.lookup > 0 || self.draft.is_some()
    }

    /// What of it runs on a model whose memory can (`rolls_back`) or cannot take tokens back
    /// out of its cache: recurrent and hybrid models (Mamba, Granite-4.0-H, LFM2, Qwen3-Next…)
    /// keep a state rather than a cache of positions, and llama.cpp cannot return it to before
    /// a rejected draft. Speculation is then off, and the warning says why.
    pub fn for_memory(self, rolls_back: bool, model: &str) -> (Speculation, Option<String>) {
        if rolls_back || !self.on() {
            return (self, None);
        }
        let why = format!(
            "speculative decoding is off: {model} is a recurrent or hybrid model, whose memory \
             cannot take rejected drafts back out (drop --lookup / --model-draft for it)"
        );
        (Speculation::default(), Some(why))
    }
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

#[cfg(test)]
mod tests {
    use super::{DraftModel, Speculation};

    #[test]
    fn speculation_is_off_for_a_model_that_cannot_roll_back_and_says_why() {
        let draft = DraftModel {
            path: "small.gguf".into(),
            max: 16,
            p_min: 0.75,
        };
        let lookup = Speculation {
            lookup: 8,
            draft: None,
        };
        let both = Speculation {
            lookup: 8,
            draft: Some(draft),
        };
        for (asked, rolls_back, kept, warned) in [
            (lookup.clone(), true, lookup.clone(), false),
            (both.clone(), true, both.clone(), false),
            (lookup, false, Speculation::default(), true),
            (both, false, Speculation::default(), true),
            // Nothing asked: nothing to say.
            (Speculation::default(), false, Speculation::default(), false),
        ] {
            let (got, why) = asked.clone().for_memory(rolls_back, "granite-4.0-h");
            assert_eq!(got, kept, "{asked:?} rolls back: {rolls_back}");
            assert_eq!(why.is_some(), warned, "{asked:?}");
            if let Some(why) = why {
                assert!(
                    why.contains("granite-4.0-h") && why.contains("recurrent"),
                    "{why}"
                );
            }
        }
    }
}
