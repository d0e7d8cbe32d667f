//! The one error type of configuration files: which file, which line, what is wrong with which
//! key. Shown as `FILE:LINE: MESSAGE`; a usage error (exit 2) on the command line.

use crate::exit::Failure;
use std::fmt;

/// A problem in a configuration file (config.toml, a profile, a theme).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The file as shown to the user: a path, or `<bundled>/prompts/NAME.toml`; empty when
    /// the problem is not in a file (e.g. `--profile` names no profile).
    pub file: String,
    /// 1-based line; 0 when the problem is the file as a whole (e.g. it cannot be read).
    pub line: usize,
    /// What is wrong, naming the key (e.g. `sampling.temperature = -1 is out of range: …`).
    pub message: String,
}

impl ConfigError {
    pub fn new(file: impl Into<String>, line: usize, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.into(),
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.file.is_empty() {
            f.write_str(&self.message)
        } else if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Self {
        Failure::usage(e.to_string())
    }
}
