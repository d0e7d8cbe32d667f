//! `config.toml`: the user's defaults for the model, profile, theme and engine. A missing file
//! is fine; a broken one is an error naming file, line and key.

use super::catalog::{expand_home, read_text};
use super::doc::Source;
use super::error::ConfigError;
use crate::engine::GpuLayers;
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
];

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
        if let Some(f) = root.get("gpu_layers") {
            out.gpu_layers = Some(if f.is_int() {
                let n = f.int()?;
                GpuLayers::Count(u32::try_from(n).map_err(|_| f.out_of_range("must be 0 or more"))?)
            } else {
                match f.str() {
                    Ok(s) if s.eq_ignore_ascii_case("all") => GpuLayers::All,
                    Ok(_) => return Err(f.invalid("use a number or \"all\"")),
                    Err(_) => {
                        return Err(f.error(format!(
                            "{} must be a number or \"all\", not {}",
                            f.path,
                            f.written()
                        )))
                    }
                }
            });
        }
        if let Some(f) = root.get("ctx_size") {
            let n = f.int()?;
            out.ctx_size = Some(
                u32::try_from(n)
                    .ok()
                    .filter(|n| *n >= 16)
                    .ok_or_else(|| f.out_of_range("must be 16 or more"))?,
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
        Ok(out)
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
        assert_eq!(
            parse("gpu_layers = 12").unwrap().gpu_layers,
            Some(GpuLayers::Count(12))
        );
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
                "c.toml:2: ctx_size = 8 is out of range: must be 16 or more",
            ),
            (
                "threads = 0",
                "c.toml:1: threads = 0 is out of range: must be between 1 and 1024",
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
