//! config.toml's `tools` key: `tools = true | false`, or a `[tools]` table with `on`, the
//! policy lists `allow`, `ask`, `deny` and `max_steps`. Every name must be a built-in tool or
//! an MCP server's `SERVER__TOOL`, and a tool may stand in one list only.

use super::error::ConfigError;
use super::strict_toml::Field;
use crate::tools::names::{is_mcp_tool_name, BUILTIN_NAMES};
use crate::tools::Policy;

/// The keys of the `[tools]` table.
pub const TOOLS_KEYS: &[&str] = &["on", "allow", "ask", "deny", "max_steps"];

/// What config.toml says about tools (every key optional).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ToolsConfig {
    /// `tools = true|false` or `[tools] on = …`: whether tools are offered.
    pub on: Option<bool>,
    /// Each listed tool with the policy of its list, in file order.
    pub policies: Vec<(String, Policy)>,
    /// Generations per turn before a runaway loop is stopped.
    pub max_steps: Option<u32>,
}

impl ToolsConfig {
    /// The tools of one policy list.
    pub fn listed(&self, policy: Policy) -> Vec<String> {
        self.policies
            .iter()
            .filter(|(_, p)| *p == policy)
            .map(|(t, _)| t.clone())
            .collect()
    }
}

/// The built-in tools' names, comma-separated: what errors list.
pub fn tool_names() -> String {
    BUILTIN_NAMES.join(", ")
}

/// Why `name` is not a tool, with the closest one as a suggestion; `None` when it is one.
pub fn unknown_tool(name: &str) -> Option<String> {
    // An MCP server's tool (SERVER__TOOL) is known only once its server started.
    if BUILTIN_NAMES.contains(&name) || is_mcp_tool_name(name) {
        return None;
    }
    let hint = super::suggest::did_you_mean(name, BUILTIN_NAMES.iter().copied());
    Some(format!(
        "there is no tool named '{name}'{hint} (the tools: {})",
        tool_names()
    ))
}

/// A list of tool names (`tools.allow`, a profile's `tools`): each must be a built-in tool.
pub fn tool_list(f: &Field<'_>) -> Result<Vec<String>, ConfigError> {
    let names = f.str_array()?;
    for name in &names {
        if let Some(why) = unknown_tool(name) {
            return Err(f.error(format!("{}: {why}", f.path)));
        }
    }
    Ok(names)
}

/// Reads the `tools` key.
pub fn parse(f: &Field<'_>) -> Result<ToolsConfig, ConfigError> {
    if !f.is_table() {
        return match f.bool() {
            Ok(on) => Ok(ToolsConfig {
                on: Some(on),
                ..ToolsConfig::default()
            }),
            Err(_) => Err(f.error(format!(
                "tools must be true or false, or a [tools] table (on, allow, ask, deny, \
                 max_steps), not {}",
                f.written()
            ))),
        };
    }
    let t = f.table()?;
    t.check_keys(TOOLS_KEYS, &[])?;
    let mut out = ToolsConfig {
        on: t.bool("on")?,
        ..ToolsConfig::default()
    };
    let mut seen: Vec<(String, &str)> = Vec::new();
    for (key, policy) in [
        ("allow", Policy::Allow),
        ("ask", Policy::Ask),
        ("deny", Policy::Deny),
    ] {
        let Some(list) = t.get(key) else { continue };
        for name in tool_list(&list)? {
            if let Some((_, first)) = seen.iter().find(|(n, _)| *n == name) {
                return Err(list.error(format!(
                    "{}: {name} is also in tools.{first}; put each tool in one list",
                    list.path
                )));
            }
            seen.push((name.clone(), key));
            out.policies.push((name, policy));
        }
    }
    if let Some(m) = t.get("max_steps") {
        let n = m.int()?;
        out.max_steps = Some(
            u32::try_from(n)
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| m.out_of_range("must be 1 or more"))?,
        );
    }
    Ok(out)
}
