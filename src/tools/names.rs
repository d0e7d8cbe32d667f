//! The tool names settings may name, without the tools themselves: the built-in tools' names
//! and the shape of an MCP server's tool (`SERVER__TOOL`). Dependency-free, so that the config
//! files (and the fuzz crate, which includes them by path) check names without the tools.

/// The built-in tools' names, in the order they are offered (`builtin::BUILTINS`).
pub const BUILTIN_NAMES: [&str; 6] = [
    "read_file",
    "list_dir",
    "search",
    "write_file",
    "edit_file",
    "run_command",
];

/// The longest tool name the function-calling APIs take.
pub const MAX_LEN: usize = 64;
/// Between a server's name and its tool's.
pub const SEPARATOR: &str = "__";

/// A server name that can prefix tool names: letters, digits, `-`, `_` (never two `_` in a
/// row, which would blur where the tool's name starts), at most 32 characters.
pub fn valid_server_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !name.contains(SEPARATOR)
}

/// Whether `name` is a valid tool name in the function-calling APIs.
pub fn valid_tool_name(name: &str) -> bool {
    (1..=MAX_LEN).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Whether `name` has the shape of an MCP tool's offered name, `SERVER__TOOL`: what a config
/// list (`[tools] allow = ["fs__read_text_file"]`) may name besides the built-in tools, before
/// any server has started.
pub fn is_mcp_tool_name(name: &str) -> bool {
    valid_tool_name(name)
        && name
            .split_once(SEPARATOR)
            .is_some_and(|(server, tool)| valid_server_name(server) && !tool.is_empty())
}
