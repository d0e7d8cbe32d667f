//! Every setting resolved in one place, with one precedence order:
//!
//! command-line flags > environment (`REFLECT_*`) > `config.toml` > prompt profile >
//! the model's GGUF sampling defaults (`general.sampling.*`) > built-in defaults.
//!
//! The levels hold different things: the engine settings (model, GPU layers, context size,
//! threads) and the choice of profile and theme come from flags, environment and config file;
//! what a profile holds (system prompt, "Think carefully.", sampling, tags, history) comes from
//! flags and the profile; sampling values the profile leaves unset come from the model file,
//! then from reflect's defaults. The thinking budget and minimum are held by the profile and
//! may be set at every level above it (flags, environment, config.toml). The process
//! environment is read once into an [`Environment`], so that tests can inject one.

mod flags;
mod generate;
mod request;
mod tools;

pub use crate::env::{config_dir, var, Environment, FLAG_VARS, VARS};
pub use flags::{apply_flags, profile_flags};
pub use request::{Overrides, Request, ToolFlags};
pub use tools::check_tool_flags_used;

use crate::config::{
    valid_name, Catalog, ConfigError, ConfigFile, Listed, PROFILES_DIR, THEMES_DIR,
};
use crate::engine::{ApiKey, BackendConfig, LlamaConfig, Price, RemoteConfig};
use crate::env::parse_count;
use crate::exit::Failure;
use crate::gpu_layers::{parse_gpu_layers, GpuLayers};
use crate::llm::{BudgetSettings, SamplingOverrides, SamplingSettings};
use crate::profile::{self, History, Profile};
use crate::stream::RouterConfig;
use crate::theme::{self, Theme};
use std::path::{Path, PathBuf};

/// Everything a one-shot run needs, resolved.
#[derive(Clone, Debug)]
pub struct RunSettings {
    pub engine: BackendConfig,
    pub sampling: SamplingSettings,
    pub router: RouterConfig,
    pub max_tokens: Option<u32>,
    pub system: Option<String>,
    pub think_carefully: bool,
    /// The resolved profile's name.
    pub profile: String,
    /// What later turns of a conversation see of earlier ones.
    pub history: History,
    /// The sampling values set by the profile, the flags and `/set`, the rest unset: what a
    /// saved profile holds, so that `/save-profile` and `--save-profile` pin the same values.
    pub overrides: SamplingOverrides,
    /// How much the model may think: the profile's, then config.toml, the environment and the
    /// flags (and the chat's `/budget`).
    pub budget: BudgetSettings,
    /// The tools offered, their policies, the workspace and the step limit (off unless the
    /// profile, config.toml or `--tools` turns them on).
    pub tools: crate::tools::ToolSettings,
}

impl RunSettings {
    /// For `--print-prompt`: a local model loads its vocabulary only, not its weights.
    pub fn vocab_only(mut self) -> RunSettings {
        if let BackendConfig::Llama(c) = &mut self.engine {
            c.vocab_only = true;
        }
        self
    }

    /// The settings for `engine`, with what the profile holds and `budget` (the profile's with
    /// the levels above it applied).
    fn new(
        engine: BackendConfig,
        sampling: SamplingSettings,
        profile: Profile,
        budget: BudgetSettings,
    ) -> Self {
        RunSettings {
            engine,
            sampling,
            router: profile.router(),
            max_tokens: profile.sampling.max_tokens,
            system: profile.system.clone(),
            think_carefully: profile.think_carefully,
            history: profile.history,
            overrides: profile.sampling.clone(),
            budget,
            profile: profile.name,
            tools: crate::tools::ToolSettings::default(),
        }
    }
}

/// One line of a listing: the entry, and what it resolves to (or why it does not).
pub type Row<T> = (Listed, Result<T, ConfigError>);

/// Which level chose a profile or theme: says so in errors.
#[derive(Clone, Debug)]
enum Chooser {
    /// What the user typed to name it, as they typed it: a flag (`--profile`, `--show-profile`),
    /// a command (`profiles show`) or a chat command (`/profile`).
    Asked(&'static str),
    Env(&'static str),
    Config(String),
    Default,
}

/// A profile or theme to load, and who asked for it.
#[derive(Clone, Debug)]
pub struct Choice {
    pub spec: String,
    /// For relative paths: the config directory when config.toml names a file.
    base: Option<PathBuf>,
    by: Chooser,
}

impl Choice {
    /// No flag, variable or config key chose it: the default (for themes, `monochrome` when
    /// NO_COLOR is set).
    pub fn is_default(&self) -> bool {
        matches!(self.by, Chooser::Default)
    }
}

/// The loaded configuration: environment, config.toml, and the profile and theme catalogues.
#[derive(Clone, Debug)]
pub struct Context {
    pub env: Environment,
    pub config: ConfigFile,
    pub profiles: Catalog,
    pub themes: Catalog,
}

impl Context {
    /// Reads config.toml (a missing one is fine) and finds the user's directories.
    pub fn load(env: Environment) -> Result<Context, ConfigError> {
        let config = match &env.config_dir {
            Some(d) => ConfigFile::load(d)?,
            None => ConfigFile::default(),
        };
        Ok(Context::with_config(env, config))
    }

    fn with_config(env: Environment, config: ConfigFile) -> Context {
        let dir = env.config_dir.clone();
        Context {
            profiles: profile::catalog(dir.as_ref().map(|d| d.join(PROFILES_DIR))),
            themes: theme::catalog(dir.as_ref().map(|d| d.join(THEMES_DIR))),
            config,
            env,
        }
    }

    /// For the TUI, which shows problems instead of exiting: like [`Context::load`], but a
    /// broken config.toml is set aside (its defaults are used) and its error returned.
    pub fn load_or_defaults(env: Environment) -> (Context, Option<ConfigError>) {
        match Context::load(env.clone()) {
            Ok(ctx) => (ctx, None),
            Err(e) => (Context::with_config(env, ConfigFile::default()), Some(e)),
        }
    }

    /// For the TUI: the profile as [`Context::profile`] resolves it, or, when that fails, the
    /// bundled default profile with the flags applied, and the error to show.
    pub fn profile_or_default(&self, run: &Request) -> (Profile, Option<ConfigError>) {
        match self.profile(run) {
            Ok(p) => (p, None),
            Err(e) => {
                let fallback =
                    profile::load_spec(&profile::catalog(None), profile::DEFAULT_PROFILE, None)
                        .unwrap_or_else(|_| Profile::builtin());
                (apply_flags(fallback, &run.overrides), Some(e))
            }
        }
    }

    /// For the TUI: the theme in effect, or, when it cannot be loaded, the bundled default
    /// (monochrome under NO_COLOR), and the error to show.
    pub fn theme_or_default(&self, theme: &Option<String>) -> (Theme, Option<ConfigError>) {
        match self.theme(theme) {
            Ok(t) => (t, None),
            Err(e) => {
                let name = if self.env.no_color() {
                    theme::MONOCHROME_THEME
                } else {
                    theme::DEFAULT_THEME
                };
                let fallback = theme::load_spec(&theme::catalog(None), name, None)
                    .unwrap_or_else(|_| Theme::plain(name));
                (fallback, Some(e))
            }
        }
    }

    fn choose(
        &self,
        flag: (&'static str, &Option<String>),
        env_key: &'static str,
        config_key: &str,
        config: &Option<String>,
        default: &str,
    ) -> Choice {
        let config_base = || self.env.config_dir.clone();
        if let Some(v) = flag.1 {
            return Choice {
                spec: v.clone(),
                base: None,
                by: Chooser::Asked(flag.0),
            };
        }
        if let Some(v) = self.env.var(env_key) {
            return Choice {
                spec: v.to_string(),
                base: None,
                by: Chooser::Env(env_key),
            };
        }
        if let Some(v) = config {
            return Choice {
                spec: v.clone(),
                base: config_base(),
                by: Chooser::Config(config_key.to_string()),
            };
        }
        Choice {
            spec: default.to_string(),
            base: None,
            by: Chooser::Default,
        }
    }

    /// The profile to use: `--profile` > `REFLECT_PROFILE` > config.toml > `reflection`.
    pub fn profile_choice(&self, run: &Request) -> Choice {
        self.choose(
            ("--profile", &run.profile),
            var::PROFILE,
            "profile",
            &self.config.profile,
            profile::DEFAULT_PROFILE,
        )
    }

    /// The theme to use: `--theme` > `REFLECT_THEME` > config.toml > `monochrome` when
    /// `NO_COLOR` is set > `dark`. (no-color.org: explicit configuration overrides NO_COLOR.)
    pub fn theme_choice(&self, theme: &Option<String>) -> Choice {
        let default = if self.env.no_color() {
            theme::MONOCHROME_THEME
        } else {
            theme::DEFAULT_THEME
        };
        self.choose(
            ("--theme", theme),
            var::THEME,
            "theme",
            &self.config.theme,
            default,
        )
    }

    /// Resolves a choice with `load`; a name that matches nothing is reported against where
    /// it was given (the flag, the variable, or config.toml's line).
    fn load_choice<T>(
        &self,
        choice: &Choice,
        catalog: &Catalog,
        load: fn(&Catalog, &str, Option<&Path>) -> Result<T, ConfigError>,
    ) -> Result<T, ConfigError> {
        load(catalog, &choice.spec, choice.base.as_deref()).map_err(|e| {
            if !e.file.is_empty() {
                return e;
            }
            let spec = &choice.spec;
            match &choice.by {
                Chooser::Asked(flag) => {
                    ConfigError::new("", 0, format!("{flag} {spec}: {}", e.message))
                }
                Chooser::Env(var) => {
                    ConfigError::new("", 0, format!("{var}={spec}: {}", e.message))
                }
                Chooser::Config(key) => self
                    .config
                    .error_at(key, format!("{key} = \"{spec}\": {}", e.message)),
                Chooser::Default => e,
            }
        })
    }

    /// A profile by name or path (no flags applied); errors name `by`, what the user did to
    /// ask: the flag, the command or the chat command (`--show-profile`, `profiles show`,
    /// `/profile`), never another one.
    pub fn named_profile(&self, spec: &str, by: &'static str) -> Result<Profile, ConfigError> {
        let choice = Choice {
            spec: spec.to_string(),
            base: None,
            by: Chooser::Asked(by),
        };
        self.load_choice(&choice, &self.profiles, profile::load_spec)
    }

    /// A theme by name or path; errors name `by`, what the user did to ask (`--show-theme`,
    /// `themes show`, `/theme`).
    pub fn named_theme(&self, spec: &str, by: &'static str) -> Result<Theme, ConfigError> {
        let choice = Choice {
            spec: spec.to_string(),
            base: None,
            by: Chooser::Asked(by),
        };
        self.load_choice(&choice, &self.themes, theme::load_spec)
    }

    /// The chosen profile with the command-line flags applied over it (flags > profile).
    pub fn profile(&self, run: &Request) -> Result<Profile, ConfigError> {
        let choice = self.profile_choice(run);
        let p = self.load_choice(&choice, &self.profiles, profile::load_spec)?;
        Ok(apply_flags(p, &run.overrides))
    }

    /// The theme in effect.
    pub fn theme(&self, theme: &Option<String>) -> Result<Theme, ConfigError> {
        let choice = self.theme_choice(theme);
        self.load_choice(&choice, &self.themes, theme::load_spec)
    }

    /// Resolves everything a one-shot run needs. `demo_model` is called only for `--demo`;
    /// `gguf` reads the model file's sampling defaults (`None` when it cannot be read: the
    /// engine then reports the problem).
    pub fn run_settings_with(
        &self,
        run: &Request,
        demo_model: impl FnOnce() -> Result<PathBuf, Failure>,
        gguf: impl FnOnce(&Path) -> Option<crate::gguf::GgufInfo>,
    ) -> Result<RunSettings, Failure> {
        self.settings_for_profile(run, self.profile(run)?, demo_model, gguf)
    }

    /// Like [`Context::run_settings_with`], for a profile already resolved (the TUI passes the
    /// fallback from [`Context::profile_or_default`]).
    pub fn settings_for_profile(
        &self,
        run: &Request,
        profile: Profile,
        demo_model: impl FnOnce() -> Result<PathBuf, Failure>,
        gguf: impl FnOnce(&Path) -> Option<crate::gguf::GgufInfo>,
    ) -> Result<RunSettings, Failure> {
        let tools = self.tool_settings(run, &profile)?;
        let mut settings = self.engine_settings(run, profile, demo_model, gguf)?;
        settings.tools = tools;
        Ok(settings)
    }

    /// [`Context::settings_for_profile`] but for the tools.
    fn engine_settings(
        &self,
        run: &Request,
        profile: Profile,
        demo_model: impl FnOnce() -> Result<PathBuf, Failure>,
        gguf: impl FnOnce(&Path) -> Option<crate::gguf::GgufInfo>,
    ) -> Result<RunSettings, Failure> {
        let env = &self.env;
        let budget = self.budget(run, &profile)?;
        if let Some(remote) = self.endpoint(run, &profile)? {
            // A server's model file is not here: no general.sampling.* defaults to read.
            let sampling = profile.sampling.finish(&SamplingSettings::default());
            return Ok(RunSettings::new(
                BackendConfig::Remote(remote),
                sampling,
                profile,
                budget,
            ));
        }
        let model_path = if run.demo {
            demo_model()?
        } else if let Some(m) = run
            .model
            .clone()
            .or_else(|| env.path(var::MODEL))
            .or_else(|| self.config.model.clone())
        {
            m
        } else {
            return Err(Failure::usage(format!(
                "no model given: pass -m path/to/model.gguf, set {}, set model in config.toml, or try --demo",
                var::MODEL
            )));
        };
        let gpu_layers = run
            .gpu_layers
            .or(env.parse(var::GPU_LAYERS, parse_gpu_layers)?)
            .or(self.config.gpu_layers)
            .unwrap_or_else(GpuLayers::default_for_build);
        let ctx_size = run
            .ctx_size
            .or(env.parse(var::CTX_SIZE, crate::profile::parse_ctx_size)?)
            .or(self.config.ctx_size);
        let threads = run
            .threads
            .or(env.parse(var::THREADS, |v| parse_count(v, 1, 1024))?)
            .or(self.config.threads);

        // The pre-load check, made once: its sampling defaults here, the rest for the engine.
        let checked = gguf(&model_path).map(std::sync::Arc::new);
        let from_model = checked
            .as_ref()
            .map(|info| SamplingOverrides::from_gguf(&info.sampling))
            .unwrap_or_default();
        let sampling = profile
            .sampling
            .or(&from_model)
            .finish(&SamplingSettings::default());
        let engine = BackendConfig::Llama(LlamaConfig {
            model_path,
            gpu_layers,
            ctx_size,
            threads,
            batch_size: run.batch_size,
            tags: profile.tags.clone(),
            vocab_only: false,
            checked,
            chat_template: self.chat_template(run, &profile)?,
            speculation: crate::engine::Speculation {
                lookup: run.lookup.or(self.config.lookup).unwrap_or(0),
                draft: run
                    .model_draft
                    .clone()
                    .map(|path| crate::engine::DraftModel {
                        path,
                        max: run
                            .draft_max
                            .unwrap_or(crate::engine::DraftModel::DEFAULT_MAX),
                        p_min: run
                            .draft_p_min
                            .unwrap_or(crate::engine::DraftModel::DEFAULT_P_MIN),
                    }),
            },
        });
        Ok(RunSettings::new(engine, sampling, profile, budget))
    }

    /// The thinking budget: `--think-budget` > `REFLECT_THINK_BUDGET` > config.toml's
    /// `thinking_budget` > the profile's, and the minimum likewise (`--min-think`,
    /// `REFLECT_MIN_THINK`, `min_thinking`); "none" at a level lifts the levels below. The rest
    /// (grace, messages, extensions) is the profile's. `p` has the flags applied already.
    fn budget(&self, run: &Request, p: &Profile) -> Result<BudgetSettings, Failure> {
        let mut b = p.budget.clone();
        let flags = &run.overrides;
        if flags.think_budget.is_none() {
            let env = self
                .env
                .parse(var::THINK_BUDGET, profile::parse_think_budget)?;
            if let Some(v) = env.or(self.config.thinking_budget) {
                b.limit = v;
            }
        }
        if flags.min_think.is_none() {
            let env = self.env.parse(var::MIN_THINK, profile::parse_min_think)?;
            if let Some(v) = env.or(self.config.min_thinking) {
                b.min_thinking = v;
            }
        }
        Ok(b)
    }

    /// The server to use, if one is chosen: `--endpoint` > `REFLECT_ENDPOINT` > config.toml's
    /// `endpoint`; a name is looked up in config.toml's `[endpoints]`, anything with `://` is a
    /// URL. The API key comes from the endpoint's `api_key_env` variable, else
    /// `REFLECT_API_KEY`; `-m` names the model id.
    fn endpoint(&self, run: &Request, profile: &Profile) -> Result<Option<RemoteConfig>, Failure> {
        if run.demo {
            return Ok(None);
        }
        let (spec, from) = match (&run.endpoint, self.env.var(var::ENDPOINT)) {
            (Some(e), _) => (e.clone(), "--endpoint".to_string()),
            (None, Some(e)) => (e.to_string(), var::ENDPOINT.to_string()),
            (None, None) => match &self.config.endpoint {
                Some(e) => (e.clone(), format!("{}: endpoint", self.config.label)),
                None => return Ok(None),
            },
        };
        let mut remote = if spec.contains("://") {
            if !(spec.starts_with("http://") || spec.starts_with("https://")) {
                return Err(Failure::usage(format!(
                    "{from} {spec}: use an http:// or https:// URL, e.g. http://gpu-box:8000/v1"
                )));
            }
            RemoteConfig::new(spec.trim())
        } else {
            let Some(entry) = self.config.endpoint_named(&spec) else {
                let known: Vec<&str> = self.config.endpoints.keys().map(String::as_str).collect();
                let hint = crate::config::suggest::did_you_mean(&spec, known.iter().copied());
                let listed = if known.is_empty() {
                    " (config.toml defines no [endpoints.NAME] table)".to_string()
                } else if hint.is_empty() {
                    format!(" (config.toml has: {})", known.join(", "))
                } else {
                    hint
                };
                return Err(Failure::usage(format!(
                    "{from} {spec}: no such endpoint{listed}; give a URL such as http://gpu-box:8000/v1 or define [endpoints.{spec}] in config.toml"
                )));
            };
            let mut r = RemoteConfig::new(&entry.url);
            r.name = Some(spec.clone());
            r.model = entry.model.clone();
            r.price = entry.price.map(|(input, output)| Price { input, output });
            r.context = entry.context;
            r.keep_special_tokens = entry.special_tokens;
            if let Some(s) = entry.connect_timeout {
                r.connect_timeout = std::time::Duration::from_secs(s);
            }
            if let Some(s) = entry.first_byte_timeout {
                r.first_byte_timeout = std::time::Duration::from_secs(s);
            }
            if let Some(var) = &entry.api_key_env {
                r.api_key_env = var.clone();
            }
            r
        };
        if let Some(m) = &run.model {
            remote.model = Some(m.to_string_lossy().into_owned());
        }
        let tokenizer = match (&run.tokenizer, spec.contains("://")) {
            (Some(t), _) => Some((t.clone(), "--tokenizer".to_string(), None)),
            (None, false) => self
                .config
                .endpoint_named(&spec)
                .and_then(|e| e.tokenizer.clone())
                .map(|t| {
                    (
                        t,
                        format!("{}: endpoints.{spec}.tokenizer", self.config.label),
                        self.env.config_dir.clone(),
                    )
                }),
            (None, true) => None,
        };
        if let Some((t, from, base)) = tokenizer {
            remote.tokenizer = Some(
                self.tokenizer_file(&t, base.as_deref())
                    .map_err(|why| Failure::usage(format!("{from} {t}: {why}")))?,
            );
        }
        let key = self
            .env
            .any_var(&remote.api_key_env)
            .or_else(|| self.env.var(var::API_KEY).map(str::to_string));
        if key.is_some()
            && remote.api_key_env != var::API_KEY
            && self.env.any_var(&remote.api_key_env).is_none()
        {
            remote.api_key_env = format!("{} (or {})", remote.api_key_env, var::API_KEY);
        }
        remote.api_key = key.map(ApiKey::new);
        remote.tags = profile.tags.clone();
        Ok(Some(remote))
    }

    /// A tokenizer.json from a path (relative to `base` when given) or a Hugging Face repo id
    /// (`ORG/NAME`) in the local HF cache (`HF_HUB_CACHE`, else `HF_HOME/hub`, else
    /// `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`): the snapshot
    /// `refs/main` names, else any. Never downloads.
    fn tokenizer_file(&self, spec: &str, base: Option<&Path>) -> Result<PathBuf, String> {
        let path = crate::config::expand_home(Path::new(spec));
        let path = match base {
            Some(b) if path.is_relative() => b.join(&path),
            _ => path,
        };
        if path.is_file() {
            return Ok(path);
        }
        let repo = spec.trim_matches('/');
        let looks_like_repo = repo.split('/').count() == 2 && !spec.ends_with(".json");
        if !looks_like_repo {
            return Err(
                "no such file (give a tokenizer.json path or a Hugging Face repo id)".into(),
            );
        }
        let cache = crate::hub::cache_root(&self.env)
            .map(crate::hub::Cache::new)
            .ok_or("no Hugging Face cache directory (set HF_HOME)")?;
        let dir = cache.repo_dir(repo);
        let mut snapshots: Vec<PathBuf> = cache
            .commit_of(repo, "main")
            .map(|rev| dir.join("snapshots").join(rev))
            .into_iter()
            .collect();
        if let Ok(entries) = std::fs::read_dir(dir.join("snapshots")) {
            let mut others: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            others.sort();
            snapshots.extend(others);
        }
        snapshots
            .into_iter()
            .map(|s| s.join("tokenizer.json"))
            .find(|p| p.is_file())
            .ok_or_else(|| {
                format!(
                    "not in the Hugging Face cache ({}); fetch it with `huggingface-cli download {repo} tokenizer.json`, or give a path",
                    dir.display()
                )
            })
    }

    /// The chat format asked for: `--chat-template`, else the profile's `chat_template`;
    /// a llama.cpp built-in name, `plain`, or a file that exists.
    fn chat_template(&self, run: &Request, profile: &Profile) -> Result<Option<String>, Failure> {
        let (spec, from) = match (&run.chat_template, &profile.chat_template) {
            (Some(t), _) => (t.clone(), "--chat-template".to_string()),
            (None, Some(t)) => (
                t.clone(),
                format!("profile '{}': chat_template", profile.name),
            ),
            (None, None) => return Ok(None),
        };
        if crate::engine::llama::CHAT_TEMPLATES.contains(&spec.as_str()) {
            return Ok(Some(spec));
        }
        let path = crate::config::expand_home(Path::new(&spec));
        if path.is_file() {
            return Ok(Some(path.to_string_lossy().into_owned()));
        }
        Err(Failure::usage(format!(
            "{from} {spec}: neither a chat format name nor a file; the names: {}",
            crate::engine::llama::CHAT_TEMPLATES.join(", ")
        )))
    }

    /// [`Context::run_settings_with`] reading the model file's sampling defaults.
    pub fn run_settings(
        &self,
        run: &Request,
        demo_model: impl FnOnce() -> Result<PathBuf, Failure>,
    ) -> Result<RunSettings, Failure> {
        self.run_settings_with(run, demo_model, |path| crate::gguf::inspect(path).ok())
    }

    /// The profile `--save-profile NAME` saves: the chosen profile with the flags applied,
    /// named NAME, inheritance flattened.
    pub fn profile_to_save(&self, run: &Request, name: &str) -> Result<Profile, Failure> {
        self.profile_to_save_as(run, name, "--save-profile")
    }

    /// [`Context::profile_to_save`], its errors naming `by`, what the user typed to save
    /// (`--save-profile`, `profiles save`).
    pub fn profile_to_save_as(
        &self,
        run: &Request,
        name: &str,
        by: &str,
    ) -> Result<Profile, Failure> {
        if !valid_name(name) {
            return Err(Failure::usage(format!(
                "{by}: '{name}' cannot be a profile name: it must not be empty, start with '.' or hold '/' or '\\'"
            )));
        }
        let base = self.profile_choice(run).spec;
        let mut p = self.profile(run)?;
        let flags = profile_flags(&run.overrides);
        p.description = if flags.is_empty() {
            format!("Saved from profile '{base}'")
        } else {
            format!("Saved from profile '{base}' with {}", flags.join(" "))
        };
        p.name = name.to_string();
        Ok(p)
    }

    /// Where user profiles are saved.
    pub fn profile_dir(&self) -> Result<&Path, Failure> {
        self.profiles.user_dir().ok_or_else(|| {
            Failure::usage(
                "cannot find a config directory to save profiles in: set XDG_CONFIG_HOME or REFLECT_CONFIG_DIR",
            )
        })
    }

    /// Every profile, resolved (or the error that stops it resolving).
    pub fn list_profiles(&self) -> Result<Vec<Row<Profile>>, ConfigError> {
        Ok(self
            .profiles
            .list()?
            .into_iter()
            .map(|l| {
                let p = profile::load(&self.profiles, &l.entry);
                (l, p)
            })
            .collect())
    }

    /// Every theme, resolved (or the error that stops it resolving).
    pub fn list_themes(&self) -> Result<Vec<Row<Theme>>, ConfigError> {
        Ok(self
            .themes
            .list()?
            .into_iter()
            .map(|l| {
                let t = theme::load(&self.themes, &l.entry);
                (l, t)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests;
