//! Which tools a run offers the model, under which policies, in which workspace, and for how
//! many steps: made from the profile, config.toml and the flags; the chat's `/tools` turns it
//! on and off.

use super::approval::MAX_STEPS;
use super::builtin::{self, BUILTINS};
use super::policy::Policies;
use serde_json::Value;
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq)]
pub struct ToolSettings {
    /// Whether tools are offered at all (`--tools`, `tools = true`, `/tools on`).
    pub on: bool,
    /// The tools offered when on, by name (a profile's `tools = [...]`; all built-ins by
    /// default).
    pub offered: Vec<String>,
    /// Each tool's policy (built-in defaults, config.toml's `[tools]`, `--yes`, `--allow`).
    pub policies: Policies,
    /// Where paths are resolved and commands run (`--workspace`; the current directory).
    pub workspace: PathBuf,
    /// Generations per turn before a runaway loop is stopped (`--max-steps`).
    pub max_steps: u32,
    /// The running MCP servers' tools (`SERVER__TOOL`), in the OpenAI function shape: offered
    /// beside the built-ins when tools are on (`mcp::Servers::schemas`).
    pub mcp: Vec<Value>,
}

impl Default for ToolSettings {
    fn default() -> Self {
        ToolSettings {
            on: false,
            offered: BUILTINS.iter().map(|b| b.name.to_string()).collect(),
            policies: builtin::policies(),
            workspace: PathBuf::from("."),
            max_steps: MAX_STEPS,
            mcp: Vec::new(),
        }
    }
}

impl ToolSettings {
    /// The offered tools' schemas, in the OpenAI function shape; empty when tools are off.
    pub fn schemas(&self) -> Vec<Value> {
        if !self.on {
            return Vec::new();
        }
        BUILTINS
            .iter()
            .filter(|b| self.offered.iter().any(|o| o == b.name))
            .map(|b| b.schema())
            .chain(self.mcp.iter().cloned())
            .collect()
    }
}
