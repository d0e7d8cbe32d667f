//! Prompt profiles: how to talk to a model (system prompt, "Think carefully.", sampling, tag
//! vocabulary, history policy), kept in TOML files. Bundled ones (`prompts/` in the source
//! tree) are embedded in the binary; the user's, in `…/reflect/prompts/NAME.toml`, override
//! them by name. `extends` inherits another profile; resolution yields a concrete [`Profile`].
//!
//! Every field is documented in `prompts/README.md`. Sampling values may stay unset in a
//! resolved profile: they then fall through to the model's GGUF defaults and reflect's own
//! (the precedence lives in `settings`). The thinking budget is concrete: unset keys are the
//! built-in defaults (no limit, no minimum).

pub(crate) mod budget;
mod emit;
mod resolve;
mod save;
pub(crate) mod schema;
mod values;

/// Beside the value parsers that check it; it lives below profiles, in `config::tokens`.
pub use crate::config::CONTEXT_STEP;
pub use save::{save, Saved};
pub use schema::{ProfileFile, TagsFile, SCHEMA};
pub use values::{
    parse_ctx_size, parse_max_tokens, parse_min_think, parse_positive, parse_seed,
    parse_temperature, parse_think_budget, parse_unit_closed, parse_unit_open, RANDOM_SEED,
};

use crate::config::{Bundled, Catalog, ConfigError, Entry};
use crate::llm::{BudgetSettings, SamplingOverrides};
use crate::prompt::REFLECTION_SYSTEM_PROMPT;
use crate::stream::{RouterConfig, TagSet};
use std::path::PathBuf;

/// The profile used when none is chosen.
pub const DEFAULT_PROFILE: &str = "reflection";

/// The bundled profiles, embedded from `prompts/`.
pub const BUNDLED: &[Bundled] = &[
    Bundled {
        name: "agent",
        text: include_str!("../../prompts/agent.toml"),
    },
    Bundled {
        name: "concise",
        text: include_str!("../../prompts/concise.toml"),
    },
    Bundled {
        name: "plain",
        text: include_str!("../../prompts/plain.toml"),
    },
    Bundled {
        name: "reflection",
        text: include_str!("../../prompts/reflection.toml"),
    },
    Bundled {
        name: "think",
        text: include_str!("../../prompts/think.toml"),
    },
];

/// What earlier turns of a conversation the model sees again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum History {
    /// Only the answers (the Output channel), as the model cards of reasoning models advise.
    #[default]
    Answer,
    /// Everything the model said, thinking and reflections included.
    Full,
}

impl History {
    pub fn as_str(self) -> &'static str {
        match self {
            History::Answer => "answer",
            History::Full => "full",
        }
    }
}

/// A resolved profile: inheritance applied, every field concrete except sampling values,
/// which may be left to lower precedence levels.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    pub name: String,
    pub description: String,
    /// `None`: no system prompt.
    pub system: Option<String>,
    /// Append "Think carefully." to each question.
    pub think_carefully: bool,
    pub history: History,
    /// How much the model may think (config.toml, the environment and flags may override it).
    pub budget: BudgetSettings,
    pub sampling: SamplingOverrides,
    pub tags: TagSet,
    pub start_in_thinking: bool,
    pub stop_after_output: bool,
    /// The chat format when the model has no usable template (or to replace it): a llama.cpp
    /// built-in name, `plain`, or a template file; `None`: the model's own, else chosen from
    /// the file.
    pub chat_template: Option<String>,
    /// The built-in tools the profile offers, and turns on; empty: none (tools are off unless
    /// config.toml or `--tools` turns them on, offering every built-in tool).
    pub tools: Vec<String>,
    /// Prompt lookup's drafts (speculative decoding), under config.toml's and `--lookup`;
    /// `None`: off unless those turn it on.
    pub lookup: Option<u32>,
}

impl Profile {
    /// The built-in defaults every profile starts from: the model card's settings for
    /// Reflection-Llama-3.1-70B, with sampling left to the model file and reflect's defaults.
    pub fn builtin() -> Profile {
        Profile {
            name: DEFAULT_PROFILE.into(),
            description: String::new(),
            system: Some(REFLECTION_SYSTEM_PROMPT.into()),
            think_carefully: true,
            history: History::Answer,
            budget: BudgetSettings::default(),
            sampling: SamplingOverrides::default(),
            tags: TagSet::default(),
            start_in_thinking: false,
            stop_after_output: true,
            chat_template: None,
            tools: Vec::new(),
            lookup: None,
        }
    }

    /// The router's settings for this profile.
    pub fn router(&self) -> RouterConfig {
        RouterConfig {
            tags: self.tags.clone(),
            start_in_thinking: self.start_in_thinking,
            stop_after_output: self.stop_after_output,
            ..RouterConfig::default()
        }
    }
}

/// The profiles: bundled ones plus those in `user_dir`.
pub fn catalog(user_dir: Option<PathBuf>) -> Catalog {
    Catalog::new("profile", crate::config::PROFILES_DIR, BUNDLED, user_dir)
}

/// Loads and resolves one profile with its `extends` chain.
pub fn load(catalog: &Catalog, entry: &Entry) -> Result<Profile, ConfigError> {
    let chain = catalog.chain(entry, ProfileFile::parse)?;
    resolve::resolve(&chain)
}

/// Loads the profile `spec` names: a profile name, or a file path (relative paths against
/// `base`, else the current directory).
pub fn load_spec(
    catalog: &Catalog,
    spec: &str,
    base: Option<&std::path::Path>,
) -> Result<Profile, ConfigError> {
    load(catalog, &catalog.select(spec, base)?)
}

#[cfg(test)]
mod tests;
