//! The model, profile and sampling flags: defined once, flattened into the main command and
//! into `eval`, so both take the same flags with the same help. What settings resolve a run from.

use super::ProfileFlags;
use crate::gpu_layers::parse_gpu_layers;
use crate::gpu_layers::GpuLayers;
use crate::settings::{Overrides, Request};
use std::path::PathBuf;

/// Which model, with what profile and sampling: the flags every run that asks a model takes.
#[derive(Clone, Debug, Default, PartialEq, clap::Args)]
pub struct RunFlags {
    /// GGUF model file
    ///
    /// [env: REFLECT_MODEL] [config: model]; with --endpoint, the server's model id.
    #[arg(short, long, value_name = "PATH", help_heading = "Model")]
    pub model: Option<PathBuf>,

    /// Run on the built-in demo model
    ///
    /// It is written to the cache directory on first use.
    #[arg(long, conflicts_with_all = ["model", "endpoint"], help_heading = "Model")]
    pub demo: bool,

    /// A GGUF model from Hugging Face, downloaded once
    ///
    /// ORG/REPO[:QUANT], e.g. bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M. Without QUANT: a
    /// cached one, else Q4_K_M, else the largest that fits in memory. Honours HF_TOKEN,
    /// HF_ENDPOINT, HF_HOME and HF_HUB_OFFLINE; `reflect models pull` downloads without asking.
    #[arg(long, value_name = "ORG/REPO[:QUANT]", conflicts_with_all = ["model", "demo", "endpoint"], help_heading = "Model")]
    pub hf: Option<String>,

    /// The chat format when the model has no usable template: a llama.cpp built-in name
    /// (llama3, chatml, gemma, mistral-v7, phi3, …), plain, or a file holding a Jinja template
    /// llama.cpp recognises [default: the model's own, else chosen from its vocabulary]
    /// [config: profile key chat_template].
    #[arg(
        long,
        value_name = "NAME|FILE",
        hide_short_help = true,
        help_heading = "Model"
    )]
    pub chat_template: Option<String>,

    /// An OpenAI-compatible server: a name from config.toml or a URL
    ///
    /// vLLM, llama-server, Ollama, a hosted API: a name from config.toml's [endpoints.NAME] or
    /// a base URL such as http://gpu-box:8000/v1. With it,
    /// -m names the server's model id (default: the only one it lists). The API key comes from
    /// the endpoint's api_key_env variable, else REFLECT_API_KEY [env: REFLECT_ENDPOINT]
    /// [config: endpoint].
    #[arg(long, value_name = "NAME|URL", help_heading = "Model")]
    pub endpoint: Option<String>,

    /// With --endpoint: the model's tokenizer.json, a path or a Hugging Face repo id found in
    /// the local HF cache, for exact per-channel token counts [config: endpoints.NAME.tokenizer].
    #[arg(
        long,
        value_name = "PATH|REPO",
        requires = "endpoint",
        hide_short_help = true,
        help_heading = "Model"
    )]
    pub tokenizer: Option<String>,

    /// Layers to offload to the GPU: a number or "all" [default: all with a GPU build, else 0]
    /// [env: REFLECT_GPU_LAYERS] [config: gpu_layers].
    #[arg(long, value_name = "N|all", value_parser = parse_gpu_layers, hide_short_help = true, help_heading = "Model")]
    pub gpu_layers: Option<GpuLayers>,

    /// Context size in tokens [default: the smaller of 8192 and the model's training context]
    /// [env: REFLECT_CTX_SIZE] [config: ctx_size].
    #[arg(long, value_name = "N", value_parser = crate::profile::parse_ctx_size, hide_short_help = true, help_heading = "Model")]
    pub ctx_size: Option<u32>,

    /// CPU threads [default: the number of physical cores] [env: REFLECT_THREADS]
    /// [config: threads].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024), hide_short_help = true, help_heading = "Model")]
    pub threads: Option<u32>,

    /// Prompt tokens decoded per batch [default: 2048].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), hide_short_help = true, help_heading = "Model")]
    pub batch_size: Option<u32>,

    /// Speculative decoding by prompt lookup: draft up to N tokens from earlier text (the
    /// prompt and what was generated, thinking included), verified N at a time; the output is
    /// what it is without [default: 0, off] [config: lookup].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=i64::from(crate::config::MAX_LOOKUP)), hide_short_help = true, help_heading = "Model")]
    pub lookup: Option<u32>,

    /// Speculative decoding with a draft model: a small GGUF model with the same vocabulary
    /// drafts up to --draft-max tokens, verified at once; the output is what it is without.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["hf_draft", "endpoint"], hide_short_help = true, help_heading = "Model")]
    pub model_draft: Option<PathBuf>,

    /// The draft model from Hugging Face (ORG/REPO[:QUANT]), downloaded once as --hf is.
    #[arg(
        long,
        value_name = "ORG/REPO[:QUANT]",
        conflicts_with = "endpoint",
        hide_short_help = true,
        help_heading = "Model"
    )]
    pub hf_draft: Option<String>,

    /// With a draft model: the most tokens it drafts at once [default: 16].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256), hide_short_help = true, help_heading = "Model")]
    pub draft_max: Option<u32>,

    /// With a draft model: stop drafting at a token it gives less than this probability
    /// [default: 0.75].
    #[arg(long, value_name = "P", value_parser = parse_probability, hide_short_help = true, help_heading = "Model")]
    pub draft_p_min: Option<f32>,

    /// Prompt profile: a name (see `reflect profiles list`) or a .toml file
    ///
    /// [default: reflection] [env: REFLECT_PROFILE] [config: profile].
    #[arg(long, value_name = "NAME|PATH", help_heading = "Prompt and sampling")]
    pub profile: Option<String>,

    /// What the flags set over the profile: system prompt, "Think carefully.", sampling.
    #[command(flatten)]
    pub profile_flags: ProfileFlags,
}

/// A probability from 0 to 1.
fn parse_probability(v: &str) -> Result<f32, String> {
    v.trim()
        .parse::<f32>()
        .ok()
        .filter(|p| (0.0..=1.0).contains(p))
        .ok_or_else(|| format!("'{v}' is not a probability: use a number from 0 to 1"))
}

impl RunFlags {
    /// The request these flags make: what settings resolve. `--hf` is fetched, and named by
    /// `model`, before this (by the caller, which reports the download).
    pub fn request(&self) -> Request {
        Request {
            model: self.model.clone(),
            demo: self.demo,
            endpoint: self.endpoint.clone(),
            tokenizer: self.tokenizer.clone(),
            chat_template: self.chat_template.clone(),
            gpu_layers: self.gpu_layers,
            ctx_size: self.ctx_size,
            threads: self.threads,
            batch_size: self.batch_size,
            lookup: self.lookup,
            model_draft: self.model_draft.clone(),
            draft_max: self.draft_max,
            draft_p_min: self.draft_p_min,
            profile: self.profile.clone(),
            overrides: self.profile_flags.overrides(),
            tools: crate::settings::ToolFlags::default(),
        }
    }
}

impl ProfileFlags {
    /// What these flags set over the profile.
    pub fn overrides(&self) -> Overrides {
        let think_carefully = match (self.think_carefully, self.no_think_carefully) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        };
        Overrides {
            system: self.system.clone(),
            think_carefully,
            temperature: self.temperature,
            top_p: self.top_p,
            top_k: self.top_k,
            min_p: self.min_p,
            repeat_penalty: self.repeat_penalty,
            seed: self.seed,
            max_tokens: self.max_tokens.map(|m| m.0),
            think_budget: self.think_budget.map(|t| t.0),
            min_think: self.min_think.map(|t| t.0),
        }
    }
}
