//! The flags of `reflect eval`: the question file, the arms, throughput and where results go,
//! plus the model and profile flags of a one-shot run (a subcommand does not see the main
//! command's flags), turned back into [`Args`] for the settings to resolve.

use super::{Args, ProfileFlags};
use crate::gpu_layers::{parse_gpu_layers, GpuLayers};
use clap::ValueEnum;
use std::path::PathBuf;

/// What `--compare` runs each question with and without.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Compare {
    /// "Think carefully." appended to the question, and not.
    ThinkCarefully,
}

#[derive(Clone, Debug, PartialEq, clap::Args)]
pub struct EvalArgs {
    /// The questions, JSON Lines: {"id": "q1", "question": "…", "answer": "…", "match":
    /// "exact|number|choice|regex|contains"} (match: exact by default; "tolerance" for numbers).
    #[arg(value_name = "FILE.jsonl")]
    pub file: PathBuf,

    /// Run each question with and without "Think carefully." (two arms).
    #[arg(long, value_enum, value_name = "WHAT", help_heading = "Arms")]
    pub compare: Option<Compare>,

    /// Run each question under each of these profiles (names or .toml files, comma-separated).
    #[arg(
        long,
        value_name = "NAME,NAME,…",
        value_delimiter = ',',
        num_args = 1..,
        help_heading = "Arms"
    )]
    pub profiles: Option<Vec<String>>,

    /// Questions answered at once: concurrent requests to an endpoint; on a local model,
    /// sequences of one context decoded together (its KV cache holds N × --ctx-size tokens).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64), help_heading = "Arms")]
    pub parallel: u32,

    /// Write one JSON line per question and arm to this file, as each is judged.
    #[arg(long, value_name = "FILE.jsonl", help_heading = "Results")]
    pub out: Option<PathBuf>,

    /// Skip the questions and arms already in this results file, and append the rest to it.
    #[arg(long, value_name = "FILE.jsonl", help_heading = "Results")]
    pub resume: Option<PathBuf>,

    /// Write a self-contained HTML report (the summary, and charts of accuracy per arm and of
    /// thinking tokens against correctness) to this file.
    #[arg(long, value_name = "FILE.html", help_heading = "Results")]
    pub report: Option<PathBuf>,

    /// Absolute tolerance of "number" questions that give none [default: 0].
    #[arg(long, value_name = "X", value_parser = parse_tolerance, allow_negative_numbers = true, help_heading = "Results")]
    pub tolerance: Option<f64>,

    /// GGUF model file [env: REFLECT_MODEL] [config: model]; with --endpoint, the server's model
    /// id.
    #[arg(short, long, value_name = "PATH", help_heading = "Model")]
    pub model: Option<PathBuf>,

    /// Run on the built-in demo model.
    #[arg(long, conflicts_with_all = ["model", "endpoint"], help_heading = "Model")]
    pub demo: bool,

    /// A GGUF model from Hugging Face, ORG/REPO[:QUANT], downloaded once into the HF cache.
    #[arg(long, value_name = "ORG/REPO[:QUANT]", conflicts_with_all = ["model", "demo", "endpoint"], help_heading = "Model")]
    pub hf: Option<String>,

    /// The chat format when the model has no usable template: a llama.cpp built-in name,
    /// plain, or a template file.
    #[arg(long, value_name = "NAME|FILE", help_heading = "Model")]
    pub chat_template: Option<String>,

    /// An OpenAI-compatible server: a name from config.toml or a URL [env: REFLECT_ENDPOINT].
    #[arg(long, value_name = "NAME|URL", help_heading = "Model")]
    pub endpoint: Option<String>,

    /// With --endpoint: the model's tokenizer.json (path or Hugging Face repo id).
    #[arg(
        long,
        value_name = "PATH|REPO",
        requires = "endpoint",
        help_heading = "Model"
    )]
    pub tokenizer: Option<String>,

    /// Layers to offload to the GPU: a number or "all".
    #[arg(long, value_name = "N|all", value_parser = parse_gpu_layers, help_heading = "Model")]
    pub gpu_layers: Option<GpuLayers>,

    /// Context size in tokens.
    #[arg(long, value_name = "N", value_parser = crate::profile::parse_ctx_size, help_heading = "Model")]
    pub ctx_size: Option<u32>,

    /// CPU threads.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024), help_heading = "Model")]
    pub threads: Option<u32>,

    /// Prompt profile: a name or a .toml file [default: reflection] [env: REFLECT_PROFILE].
    #[arg(
        long,
        value_name = "NAME|PATH",
        conflicts_with = "profiles",
        help_heading = "Prompt and sampling"
    )]
    pub profile: Option<String>,

    #[command(flatten)]
    pub flags: ProfileFlags,
}

fn parse_tolerance(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(t) if t >= 0.0 && t.is_finite() => Ok(t),
        _ => Err(format!("'{s}' is not a tolerance: use a number 0 or more")),
    }
}

impl EvalArgs {
    /// The flags of a one-shot run with these model flags, `profile` and the profile flags:
    /// what the settings of one arm are resolved from.
    pub fn to_args(&self, profile: Option<String>) -> Args {
        let mut args = Args::for_profile(profile, self.flags.clone());
        args.model = self.model.clone();
        args.demo = self.demo;
        args.endpoint = self.endpoint.clone();
        args.tokenizer = self.tokenizer.clone();
        args.gpu_layers = self.gpu_layers;
        args.ctx_size = self.ctx_size;
        args.threads = self.threads;
        args.chat_template = self.chat_template.clone();
        args
    }
}
