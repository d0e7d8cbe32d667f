//! Command-line flags (clap), checked value by value. Resolving them together with the
//! environment, config.toml, profiles and model defaults happens in `settings`.

use crate::engine::GpuLayers;
use clap::{ArgGroup, Parser, ValueEnum};
use std::path::PathBuf;

pub use crate::settings::RunSettings;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The answer only, streamed to stdout.
    Text,
    /// One JSON object at the end.
    Json,
    /// One JSON event per line as it happens.
    Jsonl,
}

/// Chat with, script and inspect local reasoning models (llama.cpp).
///
/// Prints only the answer (the <output> section) on stdout; the model's thinking and
/// reflections with --show-thinking on stderr.
#[derive(Clone, Debug, Parser)]
#[command(name = "reflect", version, about, long_about = None, after_help = EXIT_CODES)]
#[command(group(ArgGroup::new("info").multiple(false)))]
pub struct Args {
    /// The question. With text on stdin too, the prompt is stdin, a blank line, then this.
    #[arg(value_name = "PROMPT")]
    pub prompt: Vec<String>,

    /// GGUF model file [env: REFLECT_MODEL] [config: model]; with --endpoint, the server's
    /// model id.
    #[arg(short, long, value_name = "PATH")]
    pub model: Option<PathBuf>,

    /// Run on the built-in demo model (written to the cache directory on first use).
    #[arg(long, conflicts_with_all = ["model", "endpoint"])]
    pub demo: bool,

    /// An OpenAI-compatible server (vLLM, llama-server, Ollama, a hosted API): a name from
    /// config.toml's [endpoints.NAME] or a base URL such as http://gpu-box:8000/v1. With it,
    /// -m names the server's model id (default: the only one it lists). The API key comes from
    /// the endpoint's api_key_env variable, else REFLECT_API_KEY [env: REFLECT_ENDPOINT]
    /// [config: endpoint].
    #[arg(long, value_name = "NAME|URL")]
    pub endpoint: Option<String>,

    /// With --endpoint: the model's tokenizer.json, a path or a Hugging Face repo id found in
    /// the local HF cache, for exact per-channel token counts [config: endpoints.NAME.tokenizer].
    #[arg(long, value_name = "PATH|REPO", requires = "endpoint")]
    pub tokenizer: Option<String>,

    /// Layers to offload to the GPU: a number or "all" [default: all with a GPU build, else 0]
    /// [env: REFLECT_GPU_LAYERS] [config: gpu_layers].
    #[arg(long, value_name = "N|all", value_parser = parse_gpu_layers)]
    pub gpu_layers: Option<GpuLayers>,

    /// Context size in tokens [default: the smaller of 8192 and the model's training context]
    /// [env: REFLECT_CTX_SIZE] [config: ctx_size].
    #[arg(long, value_name = "N", value_parser = crate::profile::parse_ctx_size)]
    pub ctx_size: Option<u32>,

    /// CPU threads [default: the number of physical cores] [env: REFLECT_THREADS]
    /// [config: threads].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: Option<u32>,

    /// Prompt tokens decoded per batch [default: 2048].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_size: Option<u32>,

    /// Stop after this many generated tokens; "none" lifts the profile's limit [default: the
    /// profile's, else no limit].
    #[arg(long, value_name = "N|none", value_parser = parse_max_tokens)]
    pub max_tokens: Option<MaxTokens>,

    /// Sampling temperature; 0 means greedy [default: the profile's, else the model file's, else
    /// 0.7].
    #[arg(long, value_name = "T", value_parser = parse_temperature, allow_negative_numbers = true)]
    pub temperature: Option<f32>,

    /// Nucleus sampling threshold, in (0, 1] [default: the profile's, else the model file's, else
    /// 0.95].
    #[arg(long, value_name = "P", value_parser = parse_unit_open, allow_negative_numbers = true)]
    pub top_p: Option<f32>,

    /// Keep only the K most likely tokens; 0 disables [default: the profile's, else the model
    /// file's, else 40].
    #[arg(long, value_name = "K")]
    pub top_k: Option<u32>,

    /// Minimum probability relative to the most likely token, in [0, 1] [default: the profile's,
    /// else the model file's, else 0.05].
    #[arg(long, value_name = "P", value_parser = parse_unit_closed, allow_negative_numbers = true)]
    pub min_p: Option<f32>,

    /// Repetition penalty; 1 disables [default: the profile's, else the model file's, else 1.0].
    #[arg(long, value_name = "X", value_parser = parse_positive, allow_negative_numbers = true)]
    pub repeat_penalty: Option<f32>,

    /// Random seed, for reproducible sampling; "random" draws one [default: the profile's, else
    /// the model file's, else random].
    #[arg(long, value_name = "N|random", value_parser = parse_seed)]
    pub seed: Option<u32>,

    /// Append "Think carefully." to the question (the model card's advice) [default: the
    /// profile's; on for reflection].
    #[arg(long, overrides_with = "no_think_carefully")]
    pub think_carefully: bool,

    /// Do not append "Think carefully.".
    #[arg(long, overrides_with = "think_carefully")]
    pub no_think_carefully: bool,

    /// Replace the system prompt [default: the profile's; the Reflection model card's].
    #[arg(long, value_name = "TEXT")]
    pub system: Option<String>,

    /// Also write the thinking and reflections to stderr.
    #[arg(long)]
    pub show_thinking: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Print the fully rendered prompt (with the earlier turns of --continue / --session, as
    /// the profile's history policy keeps them) and exit without generating.
    #[arg(long)]
    pub print_prompt: bool,

    /// Write the model's text as-is even when stdout is a terminal (by default escape
    /// sequences and control characters are shown neutralised there; files and pipes always
    /// get it as-is).
    #[arg(long)]
    pub raw: bool,

    /// Ask a follow-up in the most recently updated saved session (pipe mode).
    #[arg(short = 'c', long = "continue", conflicts_with_all = ["session", "resume"])]
    pub continue_latest: bool,

    /// Ask a follow-up in saved session ID (an id from --sessions, or its unique start).
    #[arg(long, value_name = "ID", conflicts_with = "resume")]
    pub session: Option<String>,

    /// Open a saved session in the full-screen chat [default: the most recent one].
    #[arg(long, value_name = "ID")]
    pub resume: Option<Option<String>>,

    /// Do not save this conversation (sessions are saved after every finished turn in
    /// $XDG_DATA_HOME/reflect/sessions, or REFLECT_DATA_DIR/sessions).
    #[arg(long)]
    pub no_save: bool,

    /// List the saved sessions (id, last update, turns, model, title) and exit.
    #[arg(long, group = "info")]
    pub sessions: bool,

    /// Export saved session ID as Markdown (or JSON: a .json file or --format json) and exit.
    #[arg(long, value_name = "ID", group = "info")]
    pub export: Option<String>,

    /// Where --export writes: a file, or - for stdout.
    #[arg(long, value_name = "PATH", default_value = "-", requires = "export")]
    pub to: PathBuf,

    /// Prompt profile: a name (see --list-profiles) or a path to a .toml file
    /// [default: reflection] [env: REFLECT_PROFILE] [config: profile].
    #[arg(long, value_name = "NAME|PATH")]
    pub profile: Option<String>,

    /// TUI theme: a name (see --list-themes) or a path to a .toml file [default: dark;
    /// monochrome when NO_COLOR is set] [env: REFLECT_THEME] [config: theme].
    #[arg(long, value_name = "NAME|PATH")]
    pub theme: Option<String>,

    /// List the prompt profiles (name, source, description) and exit.
    #[arg(long, group = "info")]
    pub list_profiles: bool,

    /// Print a profile, fully resolved (inheritance applied), as TOML and exit.
    #[arg(long, value_name = "NAME|PATH", group = "info")]
    pub show_profile: Option<String>,

    /// Save the profile that results from the current profile and flags as a user profile
    /// named NAME, print its path and exit.
    #[arg(long, value_name = "NAME", group = "info")]
    pub save_profile: Option<String>,

    /// List the themes (name, source, description) and exit; `*` marks the one in effect.
    #[arg(long, group = "info")]
    pub list_themes: bool,

    /// Print a theme, fully resolved, as TOML and exit [default: the theme in effect].
    #[arg(long, value_name = "NAME|PATH", group = "info")]
    pub show_theme: Option<Option<String>>,

    /// Write llama.cpp's and reflect's logs to this file.
    #[arg(long, env = "REFLECT_LOG", value_name = "PATH", hide_env_values = true)]
    pub log_file: Option<PathBuf>,
}

const EXIT_CODES: &str =
    "Exit codes: 0 answered, 1 runtime failure (model cannot load, decode failed, server \
unreachable or failing, stream cut), 2 usage or configuration error (also: a session that cannot \
be found or read, a refused API key, an unknown model, a prompt the context cannot hold), 3 the \
model produced no answer, 130 / 143 / 129 stopped by SIGINT / SIGTERM / SIGHUP.";

pub(crate) fn parse_gpu_layers(s: &str) -> Result<GpuLayers, String> {
    if s.eq_ignore_ascii_case("all") {
        return Ok(GpuLayers::All);
    }
    s.parse::<u32>()
        .map(GpuLayers::Count)
        .map_err(|_| format!("'{s}' is not a layer count: use a number or 'all'"))
}

/// `--max-tokens`: a limit, or none (which lifts a profile's limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxTokens(pub Option<u32>);

fn parse_max_tokens(s: &str) -> Result<MaxTokens, String> {
    crate::profile::parse_max_tokens(s).map(MaxTokens)
}

fn parse_seed(s: &str) -> Result<u32, String> {
    crate::profile::parse_seed(s)
}

fn parse_f32(s: &str) -> Result<f32, String> {
    s.parse::<f32>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("'{s}' is not a number"))
}

pub(crate) fn parse_temperature(s: &str) -> Result<f32, String> {
    let v = parse_f32(s)?;
    if v < 0.0 {
        return Err(format!("{v} is negative: temperature must be 0 or more"));
    }
    Ok(v)
}

pub(crate) fn parse_unit_open(s: &str) -> Result<f32, String> {
    let v = parse_f32(s)?;
    if v <= 0.0 || v > 1.0 {
        return Err(format!("{v} is outside (0, 1]"));
    }
    Ok(v)
}

pub(crate) fn parse_unit_closed(s: &str) -> Result<f32, String> {
    let v = parse_f32(s)?;
    if !(0.0..=1.0).contains(&v) {
        return Err(format!("{v} is outside [0, 1]"));
    }
    Ok(v)
}

pub(crate) fn parse_positive(s: &str) -> Result<f32, String> {
    let v = parse_f32(s)?;
    if v <= 0.0 {
        return Err(format!("{v} must be greater than 0"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("reflect").chain(args.iter().copied()))
    }

    #[test]
    fn bad_values_are_rejected_with_the_reason() {
        let table = [
            (&["--temperature", "-1"][..], "negative"),
            (&["--top-p", "0"][..], "outside (0, 1]"),
            (&["--top-p", "1.5"][..], "outside (0, 1]"),
            (&["--min-p", "2"][..], "outside [0, 1]"),
            (&["--gpu-layers", "many"][..], "use a number or 'all'"),
            (&["--temperature", "NaN"][..], "not a number"),
            (&["--repeat-penalty", "0"][..], "greater than 0"),
            (&["--max-tokens", "0"][..], "1 or more"),
            (
                &["--ctx-size", "10"][..],
                "10 tokens is too small: use 256 or more",
            ),
            (&["--max-tokens", "lots"][..], "'lots' is not"),
            (&["--seed", "x"][..], "'x' is not a seed"),
        ];
        for (args, want) in table {
            let err = parse(args).unwrap_err().to_string();
            assert!(err.contains(want), "{args:?}: {err}");
        }
    }

    #[test]
    fn the_words_the_chat_takes_work_as_flags_too() {
        assert_eq!(
            parse(&["--max-tokens", "none"]).unwrap().max_tokens,
            Some(MaxTokens(None))
        );
        assert_eq!(
            parse(&["--max-tokens", "12"]).unwrap().max_tokens,
            Some(MaxTokens(Some(12)))
        );
        assert_eq!(
            parse(&["--seed", "random"]).unwrap().seed,
            Some(crate::profile::RANDOM_SEED)
        );
        assert_eq!(parse(&["--seed", "42"]).unwrap().seed, Some(42));
    }

    #[test]
    fn information_flags_exclude_each_other_and_take_optional_values() {
        let a = parse(&["--show-theme"]).unwrap();
        assert_eq!(a.show_theme, Some(None));
        let a = parse(&["--show-theme", "light"]).unwrap();
        assert_eq!(a.show_theme, Some(Some("light".into())));
        assert!(parse(&["--list-profiles", "--list-themes"]).is_err());
        assert!(parse(&["--show-profile", "x", "--save-profile", "y"]).is_err());
        let a = parse(&["--save-profile", "mine", "--temperature", "0.2"]).unwrap();
        assert_eq!(a.save_profile.as_deref(), Some("mine"));
    }
}
