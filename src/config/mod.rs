//! reflect's configuration files: `config.toml` (`file`), and the machinery shared with prompt
//! profiles and themes, which build on it (it imports neither): strict TOML reading whose every
//! error names file, line and key (`strict_toml`, `error`), "did you mean" suggestions
//! (`suggest`), the token counts both write (`tokens`), TOML writing and atomic saves
//! (`write`), the `--list-*` table (`listing`), and named files that are bundled in the binary
//! or added by the user, with `extends` chains (`catalog`).
//!
//! Directory layout (the `Environment` says where the directory is):
//! `config.toml`, `prompts/NAME.toml`, `themes/NAME.toml`.

mod catalog;
mod error;
mod file;
pub mod listing;
mod strict_toml;
pub(crate) mod suggest;
pub mod tokens;
pub mod tools;
pub mod write;

pub use catalog::{
    expand_home, looks_like_path, read_text, valid_name, Bundled, Catalog, Entry, Extends,
    Inherits, Listed, Origin,
};
pub use error::ConfigError;
pub use file::{ConfigFile, CONFIG_KEYS, MAX_LOOKUP};
pub use strict_toml::{Doc, Field, Schema, Source, Table};
pub use suggest::{closest, did_you_mean, distance};
pub use tokens::CONTEXT_STEP;
pub use tools::ToolsConfig;

/// The file name of the config file inside the config directory.
pub const CONFIG_FILE: &str = "config.toml";
/// The subdirectory holding the user's prompt profiles.
pub const PROFILES_DIR: &str = "prompts";
/// The subdirectory holding the user's themes.
pub const THEMES_DIR: &str = "themes";
