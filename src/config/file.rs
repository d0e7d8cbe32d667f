//! `config.toml`: the user's defaults for the model, profile, theme, engine and thinking
//! budget. A missing file is fine; a broken one is an error naming file, line and key.

use super::catalog::{expand_home, read_text};
use super::error::ConfigError;
use super::strict_toml::Source;
use super::tokens::{self, CONTEXT_STEP};
use crate::gpu_layers::{parse_gpu_layers, GpuLayers};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The keys of config.toml.
pub const CONFIG_KEYS: &[&str] = &[
    "model",
    "profile",
    "theme",
    "gpu_layers",
    "ctx_size",
    "threads",
    "lookup",
    "thinking_budget",
    "min_thinking",
    "endpoint",
    "endpoints",
    "tools",
];

/// The most drafted tokens prompt lookup may ask for at once.
pub const MAX_LOOKUP: u32 = 64;

/// The keys of an `[endpoints.NAME]` table.
pub const ENDPOINT_KEYS: &[&str] = &[
    "url",
    "model",
    "api_key_env",
    "price",
    "context",
    "special_tokens",
    "connect_timeout",
    "first_byte_timeout",
    "tokenizer",
];

/// One `[endpoints.NAME]` table: an OpenAI-compatible server under a name of the user's.
#[derive(Clone, Debug, PartialEq)]
pub struct EndpointEntry {
    pub url: String,
    pub model: Option<String>,
    /// The environment variable that holds the API key.
    pub api_key_env: Option<String>,
    /// USD per million input and output tokens.
    pub price: Option<(f64, f64)>,
    pub context: Option<u32>,
    /// Ask the server to keep special tokens (`skip_special_tokens: false`).
    pub special_tokens: Option<bool>,
    /// Seconds.
    pub connect_timeout: Option<u64>,
    pub first_byte_timeout: Option<u64>,
    /// The model's tokenizer.json: a path (relative to the config directory) or a Hugging Face
    /// repo id found in the local HF cache.
    pub tokenizer: Option<String>,
    /// Where the table is, for errors.
    pub line: usize,
}

/// What config.toml says (every key optional).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConfigFile {
    /// The model; a relative path in the file is relative to the config directory, `~/` is
    /// the home directory.
    pub model: Option<PathBuf>,
    /// A profile name, or a path (relative to the config directory).
    pub profile: Option<String>,
    pub theme: Option<String>,
    pub gpu_layers: Option<GpuLayers>,
    pub ctx_size: Option<u32>,
    pub threads: Option<u32>,
    /// Prompt lookup: drafts of up to this many tokens (0: off).
    pub lookup: Option<u32>,
    /// Over the profile's; `Some(None)`: "none", no limit whatever the profile says.
    pub thinking_budget: Option<Option<u32>>,
    /// Over the profile's; `Some(None)`: "none", no minimum.
    pub min_thinking: Option<Option<u32>>,
    /// An endpoint name (a key of `endpoints`) or an OpenAI-compatible URL.
    pub endpoint: Option<String>,
    pub endpoints: BTreeMap<String, EndpointEntry>,
    /// `tools = true|false`, or the `[tools]` table: whether tools are offered, each tool's
    /// policy and the step limit.
    pub tools: super::tools::ToolsConfig,
    /// The file it was read from, if any.
    pub label: String,
    /// The line of each key present.
    pub lines: BTreeMap<String, usize>,
}

impl ConfigFile {
    /// Reads `dir/config.toml`; a missing file gives the defaults.
    pub fn load(dir: &Path) -> Result<ConfigFile, ConfigError> {
        let path = dir.join(super::CONFIG_FILE);
        if !path.exists() {
            return Ok(ConfigFile::default());
        }
        let text = read_text(&path)?;
        Self::parse(&Source::new(path.display().to_string(), text), dir)
    }

    /// Parses config.toml's text; relative paths resolve against `dir`.
    pub fn parse(src: &Source, dir: &Path) -> Result<ConfigFile, ConfigError> {
        let doc = src.parse()?;
        let root = doc.root();
        root.check_keys(CONFIG_KEYS, &[])?;
        let mut out = ConfigFile {
            label: src.label.clone(),
            ..ConfigFile::default()
        };
        for key in root.keys() {
            if let Some(f) = root.get(key) {
                out.lines.insert(key.to_string(), f.line);
            }
        }
        if let Some(f) = root.get("model") {
            let p = f.str()?;
            if p.trim().is_empty() {
                return Err(f.invalid("the model path is empty"));
            }
            let p = expand_home(Path::new(p));
            out.model = Some(if p.is_relative() { dir.join(p) } else { p });
        }
        out.profile = root.str("profile")?;
        out.theme = root.str("theme")?;
        out.gpu_layers = root.get("gpu_layers").map(|f| gpu_layers(&f)).transpose()?;
        if let Some(f) = root.get("ctx_size") {
            let n = f.int()?;
            let step = CONTEXT_STEP;
            out.ctx_size = Some(
                u32::try_from(n)
                    .ok()
                    .filter(|n| *n >= step)
                    .ok_or_else(|| {
                        f.out_of_range(format!(
                            "must be {step} or more (llama.cpp allocates the context in steps of {step})"
                        ))
                    })?,
            );
        }
        if let Some(f) = root.get("threads") {
            let n = f.int()?;
            out.threads = Some(
                u32::try_from(n)
                    .ok()
                    .filter(|n| (1..=1024).contains(n))
                    .ok_or_else(|| f.out_of_range("must be between 1 and 1024"))?,
            );
        }
        if let Some(f) = root.get("lookup") {
            let n = f.int()?;
            out.lookup = Some(
                u32::try_from(n)
                    .ok()
                    .filter(|n| *n <= MAX_LOOKUP)
                    .ok_or_else(|| f.out_of_range(format!("must be between 0 and {MAX_LOOKUP}")))?,
            );
        }
        out.thinking_budget = root
            .get("thinking_budget")
            .map(|f| tokens::budget(&f))
            .transpose()?;
        out.min_thinking = root
            .get("min_thinking")
            .map(|f| tokens::minimum(&f))
            .transpose()?;
        out.endpoint = root.str("endpoint")?;
        if let Some(f) = root.get("endpoints") {
            let table = f.table()?;
            for name in table.keys() {
                if let Some(e) = table.get(name) {
                    out.endpoints
                        .insert(name.to_string(), endpoint(&e.table()?)?);
                }
            }
        }
        if let Some(f) = root.get("tools") {
            out.tools = super::tools::parse(&f)?;
        }
        if let Some(name) = &out.endpoint {
            if !name.contains("://") && !out.endpoints.contains_key(name) {
                let line = root.get("endpoint").map_or(0, |f| f.line);
                let known: Vec<&str> = out.endpoints.keys().map(String::as_str).collect();
                let hint = crate::config::suggest::did_you_mean(name, known.iter().copied());
                return Err(src.error(
                    line,
                    format!(
                        "endpoint = \"{name}\" is neither a URL nor an [endpoints.{name}] table{hint}"
                    ),
                ));
            }
        }
        Ok(out)
    }

    /// The named endpoint, if config.toml has it.
    pub fn endpoint_named(&self, name: &str) -> Option<&EndpointEntry> {
        self.endpoints.get(name)
    }

    /// An error about one of this file's keys (e.g. `profile` names no profile).
    pub fn error_at(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::new(
            &self.label,
            self.lines.get(key).copied().unwrap_or(0),
            message,
        )
    }
}

/// `gpu_layers`: a number, or "all" (written as the flag and `REFLECT_GPU_LAYERS` take it).
fn gpu_layers(f: &super::strict_toml::Field<'_>) -> Result<GpuLayers, ConfigError> {
    if f.is_int() {
        let n = f.int()?;
        return Ok(GpuLayers::Count(
            u32::try_from(n).map_err(|_| f.out_of_range("must be 0 or more"))?,
        ));
    }
    match f.str() {
        Ok(s) => parse_gpu_layers(s).map_err(|_| f.invalid("use a number or \"all\"")),
        Err(_) => Err(f.error(format!(
            "{} must be a number or \"all\", not {}",
            f.path,
            f.written()
        ))),
    }
}

/// Reads one `[endpoints.NAME]` table.
fn endpoint(t: &super::strict_toml::Table<'_>) -> Result<EndpointEntry, ConfigError> {
    t.check_keys(ENDPOINT_KEYS, &[])?;
    let url = match t.get("url") {
        Some(f) => {
            let u = f.str()?.trim().to_string();
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                return Err(
                    f.invalid("use an http:// or https:// URL, e.g. \"http://gpu-box:8000/v1\"")
                );
            }
            u
        }
        None => {
            return Err(t.source().error(
                t.line(),
                "this endpoint has no url (e.g. url = \"http://gpu-box:8000/v1\")",
            ))
        }
    };
    let price = match t.get("price") {
        Some(f) => {
            let p = f.table()?;
            p.check_keys(&["input", "output"], &[])?;
            let get = |k: &str| -> Result<f64, ConfigError> {
                let Some(f) = p.get(k) else {
                    return Err(p.source().error(
                        p.line(),
                        format!("price needs both input and output (USD per million tokens); {k} is missing"),
                    ));
                };
                let v = if f.is_int() {
                    f.int()? as f64
                } else {
                    f.float()?
                };
                if !(v.is_finite() && v >= 0.0) {
                    return Err(f.out_of_range("must be 0 or more (USD per million tokens)"));
                }
                Ok(v)
            };
            Some((get("input")?, get("output")?))
        }
        None => None,
    };
    let seconds = |k: &str| -> Result<Option<u64>, ConfigError> {
        t.get(k)
            .map(|f| {
                let n = f.int()?;
                u64::try_from(n)
                    .ok()
                    .filter(|n| (1..=86_400).contains(n))
                    .ok_or_else(|| f.out_of_range("must be between 1 and 86400 seconds"))
            })
            .transpose()
    };
    let context = t
        .get("context")
        .map(|f| {
            let n = f.int()?;
            u32::try_from(n)
                .ok()
                .filter(|n| *n >= 16)
                .ok_or_else(|| f.out_of_range("must be 16 or more"))
        })
        .transpose()?;
    let api_key_env = t.str("api_key_env")?;
    if let (Some(v), Some(f)) = (&api_key_env, t.get("api_key_env")) {
        if v.is_empty() || v.contains('=') || v.starts_with("sk-") {
            return Err(f.invalid(
                "name the environment variable that holds the key (e.g. \"DEEPINFRA_TOKEN\"), never the key itself",
            ));
        }
    }
    Ok(EndpointEntry {
        url,
        model: t.str("model")?,
        api_key_env,
        price,
        context,
        special_tokens: t.bool("special_tokens")?,
        connect_timeout: seconds("connect_timeout")?,
        first_byte_timeout: seconds("first_byte_timeout")?,
        tokenizer: t.str("tokenizer")?,
        line: t.line(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ConfigFile, ConfigError> {
        ConfigFile::parse(&Source::new("c.toml", text), Path::new("/cfg"))
    }

    #[test]
    fn every_key() {
        let c = parse(
            "model = \"models/m.gguf\"\nprofile = \"think\"\ntheme = \"light\"\n\
             gpu_layers = \"all\"\nctx_size = 4096\nthreads = 4\n",
        )
        .unwrap();
        assert_eq!(c.model, Some(PathBuf::from("/cfg/models/m.gguf")));
        assert_eq!(c.profile.as_deref(), Some("think"));
        assert_eq!(c.theme.as_deref(), Some("light"));
        assert_eq!(c.gpu_layers, Some(GpuLayers::All));
        assert_eq!((c.ctx_size, c.threads), (Some(4096), Some(4)));
        assert_eq!(c.lines["theme"], 3);
        assert_eq!((c.thinking_budget, c.min_thinking), (None, None));
        let c = parse("thinking_budget = 0\nmin_thinking = \"none\"\n").unwrap();
        assert_eq!(
            (c.thinking_budget, c.min_thinking),
            (Some(Some(0)), Some(None))
        );
        assert_eq!(
            parse("gpu_layers = 12").unwrap().gpu_layers,
            Some(GpuLayers::Count(12))
        );
        // Written as the flag and REFLECT_GPU_LAYERS take it: one parser for all three.
        assert_eq!(
            parse("gpu_layers = \"ALL\"").unwrap().gpu_layers,
            Some(GpuLayers::All)
        );
        assert_eq!(
            parse("gpu_layers = \"12\"").unwrap().gpu_layers,
            Some(GpuLayers::Count(12))
        );
        assert_eq!(parse("lookup = 8").unwrap().lookup, Some(8));
        assert_eq!(
            parse("model = \"/abs/m.gguf\"").unwrap().model,
            Some(PathBuf::from("/abs/m.gguf"))
        );
    }

    #[test]
    fn bad_values_name_file_line_and_key() {
        let table = [
            (
                "\nctx_size = 8\n",
                "c.toml:2: ctx_size = 8 is out of range: must be 256 or more (llama.cpp allocates the context in steps of 256)",
            ),
            (
                "threads = 0",
                "c.toml:1: threads = 0 is out of range: must be between 1 and 1024",
            ),
            (
                "lookup = 65",
                "c.toml:1: lookup = 65 is out of range: must be between 0 and 64",
            ),
            (
                "gpu_layers = -1",
                "c.toml:1: gpu_layers = -1 is out of range: must be 0 or more",
            ),
            (
                "gpu_layers = \"many\"",
                "c.toml:1: gpu_layers = \"many\" is not valid: use a number or \"all\"",
            ),
            (
                "modle = \"x\"",
                "c.toml:1: unknown key 'modle' — did you mean 'model'?",
            ),
            (
                "threads = \"4\"",
                "c.toml:1: threads must be an integer, not a string",
            ),
            (
                "model = \"\"",
                "c.toml:1: model = \"\" is not valid: the model path is empty",
            ),
            (
                "\nthinking_budget = -1\n",
                "c.toml:2: thinking_budget = -1 is out of range: must be between 0 and 4294967295 (0 answers without thinking; \"none\" for no limit)",
            ),
            (
                "min_thinking = \"lots\"",
                "c.toml:1: min_thinking = \"lots\" is not valid: use a whole number of tokens, or \"none\" for no minimum",
            ),
        ];
        for (text, want) in table {
            assert_eq!(parse(text).unwrap_err().to_string(), want, "{text}");
        }
    }

    #[test]
    fn named_endpoints_are_read_and_checked() {
        let c = parse(
            "endpoint = \"deepinfra\"\n\
             [endpoints.deepinfra]\n\
             url = \"https://api.deepinfra.com/v1/openai\"\n\
             model = \"mattshumer/Reflection-Llama-3.1-70B\"\n\
             api_key_env = \"DEEPINFRA_TOKEN\"\n\
             price = { input = 0.35, output = 0.40 }\n\
             context = 8192\n\
             [endpoints.box]\nurl = \"http://gpu-box:8000/v1\"\nspecial_tokens = true\n",
        )
        .unwrap();
        assert_eq!(c.endpoint.as_deref(), Some("deepinfra"));
        let d = c.endpoint_named("deepinfra").unwrap();
        assert_eq!(d.price, Some((0.35, 0.40)));
        assert_eq!(d.context, Some(8192));
        assert_eq!(d.api_key_env.as_deref(), Some("DEEPINFRA_TOKEN"));
        assert_eq!(d.line, 2);
        assert_eq!(c.endpoint_named("box").unwrap().special_tokens, Some(true));
        let table = [
            (
                "[endpoints.a]\nurl = \"http://x/v1\"\nmodle = \"m\"\n",
                "c.toml:3: unknown key 'endpoints.a.modle' — did you mean 'model'?",
            ),
            (
                "[endpoints.a]\nurl = \"gpu-box:8000\"\n",
                "c.toml:2: endpoints.a.url = \"gpu-box:8000\" is not valid: use an http:// or https:// URL, e.g. \"http://gpu-box:8000/v1\"",
            ),
            (
                "[endpoints.a]\nmodel = \"m\"\n",
                "c.toml:1: this endpoint has no url (e.g. url = \"http://gpu-box:8000/v1\")",
            ),
            (
                "[endpoints.a]\nurl = \"http://x\"\nprice = { input = 1 }\n",
                "c.toml:3: price needs both input and output (USD per million tokens); output is missing",
            ),
            (
                "[endpoints.a]\nurl = \"http://x\"\napi_key_env = \"sk-abc\"\n",
                "c.toml:3: endpoints.a.api_key_env = \"sk-abc\" is not valid: name the environment variable that holds the key (e.g. \"DEEPINFRA_TOKEN\"), never the key itself",
            ),
            (
                "endpoint = \"boxx\"\n[endpoints.box]\nurl = \"http://x\"\n",
                "c.toml:1: endpoint = \"boxx\" is neither a URL nor an [endpoints.boxx] table — did you mean 'box'?",
            ),
        ];
        for (text, want) in table {
            assert_eq!(parse(text).unwrap_err().to_string(), want, "{text}");
        }
    }

    #[test]
    fn tools_is_a_switch_or_a_table_of_policy_lists() {
        use crate::tools::Policy;
        assert_eq!(parse("tools = true").unwrap().tools.on, Some(true));
        assert_eq!(parse("tools = false").unwrap().tools.on, Some(false));
        assert_eq!(parse("").unwrap().tools, Default::default());
        let c = parse(
            "[tools]\non = true\nallow = [\"write_file\"]\nask = [\"read_file\"]\n\
             deny = [\"run_command\", \"edit_file\"]\nmax_steps = 4\n",
        )
        .unwrap()
        .tools;
        assert_eq!(c.on, Some(true));
        assert_eq!(c.max_steps, Some(4));
        assert_eq!(c.listed(Policy::Allow), ["write_file"]);
        assert_eq!(c.listed(Policy::Ask), ["read_file"]);
        assert_eq!(c.listed(Policy::Deny), ["run_command", "edit_file"]);
        assert_eq!(parse("[tools]\ndeny = []\n").unwrap().tools.on, None);
        // An MCP server's tool is named SERVER__TOOL, known only once its server started.
        let mcp = parse("[tools]\nallow = [\"fs__read_text_file\"]\ndeny = [\"git__push\"]\n");
        let mcp = mcp.unwrap().tools;
        assert_eq!(mcp.listed(Policy::Allow), ["fs__read_text_file"]);
        assert_eq!(mcp.listed(Policy::Deny), ["git__push"]);
        assert!(parse("[tools]\nallow = [\"fs.read\"]\n").is_err());
    }

    #[test]
    fn bad_tools_settings_name_file_line_and_key() {
        let table = [
            (
                "tools = \"yes\"",
                "c.toml:1: tools must be true or false, or a [tools] table (on, allow, ask, deny, max_steps), not \"yes\"",
            ),
            (
                "[tools]\nallow = [\"red_file\"]\n",
                "c.toml:2: tools.allow: there is no tool named 'red_file' — did you mean 'read_file'? (the tools: read_file, list_dir, search, write_file, edit_file, run_command)",
            ),
            (
                "[tools]\ndeny = [\"rm\"]\n",
                "c.toml:2: tools.deny: there is no tool named 'rm' (the tools: read_file, list_dir, search, write_file, edit_file, run_command)",
            ),
            (
                "[tools]\nallow = [\"write_file\"]\n\ndeny = [\"run_command\", \"write_file\"]\n",
                "c.toml:4: tools.deny: write_file is also in tools.allow; put each tool in one list",
            ),
            (
                "[tools]\nallow = \"read_file\"\n",
                "c.toml:2: tools.allow must be an array of strings, not a string",
            ),
            (
                "[tools]\nmax_steps = 0\n",
                "c.toml:2: tools.max_steps = 0 is out of range: must be 1 or more",
            ),
            (
                "[tools]\nalow = []\n",
                "c.toml:2: unknown key 'tools.alow' — did you mean 'allow'?",
            ),
        ];
        for (text, want) in table {
            assert_eq!(parse(text).unwrap_err().to_string(), want, "{text}");
        }
    }

    #[test]
    fn a_missing_file_is_fine() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(ConfigFile::load(dir.path()).unwrap(), ConfigFile::default());
    }
}
