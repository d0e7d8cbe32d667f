//! Which calls run without asking: each tool's policy (allowed, ask, denied), from the
//! built-in defaults (`builtin::policies`), config.toml's `[tools]` lists and the command line (`--yes`,
//! `--allow TOOL`).

use std::collections::BTreeMap;

/// What happens when the model calls a tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Runs without asking.
    Allow,
    /// Runs once the user says yes; in pipe mode (no one to ask), denied.
    Ask,
    /// Never runs; the model is told so.
    Deny,
}

impl Policy {
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Allow => "allowed",
            Policy::Ask => "ask",
            Policy::Deny => "denied",
        }
    }
}

/// The policy of every tool.
#[derive(Debug, Clone, PartialEq)]
pub struct Policies {
    by_tool: BTreeMap<String, Policy>,
    /// `--yes`: everything not denied runs.
    yes: bool,
}

impl Policies {
    /// Each tool's policy as given (the built-in tools' defaults: `builtin::policies()`).
    pub fn new(by_tool: impl IntoIterator<Item = (String, Policy)>) -> Policies {
        Policies {
            by_tool: by_tool.into_iter().collect(),
            yes: false,
        }
    }

    /// Sets the policy of the named tools (config.toml's `allow`, `ask`, `deny` lists).
    pub fn set(&mut self, tools: &[String], policy: Policy) {
        for t in tools {
            self.by_tool.insert(t.clone(), policy);
        }
    }

    /// `--yes`: every call runs without asking, except those config.toml denies.
    pub fn yes_to_all(&mut self) {
        self.yes = true;
    }

    /// The policy for a call to `tool` (a tool no list names is asked about).
    pub fn get(&self, tool: &str) -> Policy {
        match self.by_tool.get(tool).copied().unwrap_or(Policy::Ask) {
            Policy::Ask if self.yes => Policy::Allow,
            p => p,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_config_lists_and_yes_combine() {
        let mut p = crate::tools::builtin::policies();
        assert_eq!(p.get("read_file"), Policy::Allow);
        assert_eq!(p.get("run_command"), Policy::Ask);
        assert_eq!(p.get("some_mcp_tool"), Policy::Ask);
        p.set(&["run_command".into()], Policy::Deny);
        p.set(&["write_file".into()], Policy::Allow);
        p.set(&["read_file".into()], Policy::Ask);
        assert_eq!(p.get("run_command"), Policy::Deny);
        assert_eq!(p.get("write_file"), Policy::Allow);
        assert_eq!(p.get("read_file"), Policy::Ask);
        p.yes_to_all();
        assert_eq!(p.get("read_file"), Policy::Allow);
        assert_eq!(p.get("edit_file"), Policy::Allow);
        assert_eq!(
            p.get("run_command"),
            Policy::Deny,
            "--yes never overrides a deny"
        );
    }
}
