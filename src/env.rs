//! The process environment, read once: the `REFLECT_*` variables, `NO_COLOR`, and the config
//! directory. Tests and embedders build an [`Environment`] by hand instead.

use crate::exit::Failure;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

/// The names of the environment variables reflect reads: the one place each is spelled.
pub mod var {
    pub const MODEL: &str = "REFLECT_MODEL";
    pub const PROFILE: &str = "REFLECT_PROFILE";
    pub const THEME: &str = "REFLECT_THEME";
    pub const GPU_LAYERS: &str = "REFLECT_GPU_LAYERS";
    pub const CTX_SIZE: &str = "REFLECT_CTX_SIZE";
    pub const THREADS: &str = "REFLECT_THREADS";
    pub const THINK_BUDGET: &str = "REFLECT_THINK_BUDGET";
    pub const MIN_THINK: &str = "REFLECT_MIN_THINK";
    pub const ENDPOINT: &str = "REFLECT_ENDPOINT";
    pub const API_KEY: &str = "REFLECT_API_KEY";
    pub const NO_COLOR: &str = "NO_COLOR";
    /// Read by the command line itself (clap's `env` on `--log-file`), not by settings.
    pub const LOG: &str = "REFLECT_LOG";
}

/// The variables that stand in for a flag, with that flag's long name: what the flags' help
/// (`[env: …]`), the README's options table and [`VARS`] are tested against.
pub const FLAG_VARS: &[(&str, &str)] = &[
    ("model", var::MODEL),
    ("profile", var::PROFILE),
    ("theme", var::THEME),
    ("gpu-layers", var::GPU_LAYERS),
    ("ctx-size", var::CTX_SIZE),
    ("threads", var::THREADS),
    ("think-budget", var::THINK_BUDGET),
    ("min-think", var::MIN_THINK),
    ("endpoint", var::ENDPOINT),
    ("log-file", var::LOG),
];

/// The environment variables an [`Environment`] captures.
pub const VARS: &[&str] = &[
    var::MODEL,
    var::PROFILE,
    var::THEME,
    var::GPU_LAYERS,
    var::CTX_SIZE,
    var::THREADS,
    var::THINK_BUDGET,
    var::MIN_THINK,
    var::ENDPOINT,
    var::API_KEY,
    var::NO_COLOR,
];

/// The environment, captured once: the variables in [`VARS`] and the config directory.
#[derive(Clone, Debug, Default)]
pub struct Environment {
    /// `REFLECT_CONFIG_DIR`, else `$XDG_CONFIG_HOME/reflect`, else the platform's config
    /// directory + `reflect`; `None` when none can be found.
    pub config_dir: Option<PathBuf>,
    /// `REFLECT_DATA_DIR`, else `$XDG_DATA_HOME/reflect`, else the platform's data directory +
    /// `reflect`: saved sessions live in its `sessions/`.
    pub data_dir: Option<PathBuf>,
    vars: BTreeMap<String, OsString>,
    /// Read from the process: a variable outside [`VARS`] (the one an endpoint's `api_key_env`
    /// names) is looked up there when asked for.
    live: bool,
}

impl Environment {
    /// Reads the process environment.
    pub fn from_process() -> Environment {
        let vars = VARS
            .iter()
            .filter_map(|k| std::env::var_os(k).map(|v| (k.to_string(), v)))
            .collect();
        let config_dir = config_dir(
            std::env::var_os("REFLECT_CONFIG_DIR"),
            std::env::var_os("XDG_CONFIG_HOME"),
            dirs::config_dir(),
        );
        let data_dir = self::config_dir(
            std::env::var_os("REFLECT_DATA_DIR"),
            std::env::var_os("XDG_DATA_HOME"),
            dirs::data_dir(),
        );
        Environment {
            config_dir,
            data_dir,
            vars,
            live: true,
        }
    }

    /// An environment with these variables and config directory (for tests and embedders).
    pub fn new<'a>(
        config_dir: Option<PathBuf>,
        vars: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Environment {
        Environment {
            config_dir,
            data_dir: None,
            vars: vars
                .into_iter()
                .map(|(k, v)| (k.to_string(), OsString::from(v)))
                .collect(),
            live: false,
        }
    }

    /// Any variable (e.g. the one holding an API key); empty counts as unset.
    pub fn any_var(&self, key: &str) -> Option<String> {
        if let Some(v) = self.var(key) {
            return Some(v.to_string());
        }
        if !self.live {
            return None;
        }
        std::env::var(key).ok().filter(|v| !v.is_empty())
    }

    /// A variable's value; empty counts as unset.
    pub fn var(&self, key: &str) -> Option<&str> {
        self.vars
            .get(key)
            .and_then(|v| v.to_str())
            .filter(|v| !v.is_empty())
    }

    pub(super) fn path(&self, key: &str) -> Option<PathBuf> {
        self.vars
            .get(key)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    }

    /// `NO_COLOR` is set to something (see no-color.org).
    pub fn no_color(&self) -> bool {
        self.vars.get(var::NO_COLOR).is_some_and(|v| !v.is_empty())
    }

    /// Parses a variable; a bad value is a usage error naming it.
    pub(super) fn parse<T>(
        &self,
        key: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, Failure> {
        self.var(key)
            .map(|v| parse(v).map_err(|why| Failure::usage(format!("{key}={v}: {why}"))))
            .transpose()
    }
}

/// The config (or data) directory from `REFLECT_CONFIG_DIR`, `XDG_CONFIG_HOME` (absolute paths
/// only, as the XDG spec says) and the platform's directory, in that order.
pub fn config_dir(
    reflect_dir: Option<OsString>,
    xdg: Option<OsString>,
    platform: Option<PathBuf>,
) -> Option<PathBuf> {
    if let Some(d) = reflect_dir.filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d));
    }
    let xdg = xdg.map(PathBuf::from).filter(|p| p.is_absolute());
    xdg.or(platform).map(|d| d.join("reflect"))
}

/// A whole number in `min..=max`, from an environment variable.
pub(super) fn parse_count(v: &str, min: u32, max: u32) -> Result<u32, String> {
    let n: u32 = v
        .trim()
        .parse()
        .map_err(|_| format!("'{v}' is not a whole number"))?;
    if n < min || n > max {
        return Err(format!(
            "{n} is out of range: must be between {min} and {max}"
        ));
    }
    Ok(n)
}
