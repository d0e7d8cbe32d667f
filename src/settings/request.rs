//! What the user asked for, as plain values: the one thing settings resolve (with the
//! environment, config.toml and the profile). The command line is turned into a [`Request`]
//! once, in `cli`; tests and embedders build one directly.

use crate::engine::GpuLayers;
use std::path::PathBuf;

/// A run as asked for: the model, the engine's knobs, the profile and what to set over it.
/// `None` (or `false`) leaves the choice to the levels below.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Request {
    /// A GGUF file; with an endpoint (asked for or from the environment or config), the
    /// server's model id. A Hugging Face model is fetched, and named here, before settings.
    pub model: Option<PathBuf>,
    /// The built-in demo model.
    pub demo: bool,
    /// An endpoint name from config.toml, or a URL.
    pub endpoint: Option<String>,
    /// With an endpoint: a tokenizer.json path or a repo id in the HF cache.
    pub tokenizer: Option<String>,
    /// A llama.cpp chat format name, `plain`, or a template file.
    pub chat_template: Option<String>,
    pub gpu_layers: Option<GpuLayers>,
    pub ctx_size: Option<u32>,
    pub threads: Option<u32>,
    pub batch_size: Option<u32>,
    /// Prompt lookup: drafts of up to this many tokens (`Some(0)`: off).
    pub lookup: Option<u32>,
    /// A draft model for speculative decoding (`--hf-draft` is fetched, and named here,
    /// before settings), with `--draft-max` and `--draft-p-min`.
    pub model_draft: Option<PathBuf>,
    pub draft_max: Option<u32>,
    pub draft_p_min: Option<f32>,
    /// A profile name or .toml file.
    pub profile: Option<String>,
    /// What is set over the profile.
    pub overrides: Overrides,
    /// What the command line asks of tools.
    pub tools: ToolFlags,
}

/// The tool flags: `--tools` / `--no-tools`, `--workspace`, `--yes`, `--allow`, `--max-steps`.
/// Over config.toml's `tools` and the profile's.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ToolFlags {
    /// `Some(true)`: `--tools`; `Some(false)`: `--no-tools`.
    pub on: Option<bool>,
    /// Where tool paths resolve and commands run (default: the current directory).
    pub workspace: Option<PathBuf>,
    /// `--yes`: every call runs unless config.toml denies its tool.
    pub yes: bool,
    /// `--allow TOOL`: these run without asking.
    pub allow: Vec<String>,
    /// `--max-steps N`.
    pub max_steps: Option<u32>,
}

impl ToolFlags {
    /// The flags given that only matter with tools on, as typed (for the error when tools are
    /// off).
    pub fn given(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(w) = &self.workspace {
            out.push(format!("--workspace {}", w.display()));
        }
        if self.yes {
            out.push("--yes".to_string());
        }
        out.extend(self.allow.iter().map(|t| format!("--allow {t}")));
        if let Some(n) = self.max_steps {
            out.push(format!("--max-steps {n}"));
        }
        out
    }
}

/// What a request sets over the profile. For the limits, `Some(None)` lifts the profile's.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overrides {
    pub system: Option<String>,
    pub think_carefully: Option<bool>,
    pub temperature: Option<f32>,
    pub top_p: Option<f32>,
    pub top_k: Option<u32>,
    pub min_p: Option<f32>,
    pub repeat_penalty: Option<f32>,
    pub seed: Option<u32>,
    pub max_tokens: Option<Option<u32>>,
    pub think_budget: Option<Option<u32>>,
    pub min_think: Option<Option<u32>>,
}
