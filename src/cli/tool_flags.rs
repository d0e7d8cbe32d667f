//! The tool flags of the main command (`--tools`, `--workspace`, `--yes`, `--allow`,
//! `--max-steps`): what the model may call, where, and without asking. `eval` takes none.

use crate::settings::ToolFlags;
use crate::tools::builtin::BUILTINS;
use clap::builder::{PossibleValue, TypedValueParser};
use std::path::PathBuf;

/// Which tools the model may call, and which run without asking.
#[derive(Clone, Debug, Default, PartialEq, clap::Args)]
#[command(next_help_heading = "Tools")]
pub struct ToolArgs {
    /// Offer the model the built-in tools: files, search, commands
    ///
    /// read_file, list_dir and search run; write_file, edit_file and run_command need approval
    /// (in pipe mode they are denied unless --allow TOOL or --yes). A call counts only in the
    /// answer (<output>), never in the thinking [config: tools] [profile: tools, e.g.
    /// --profile agent].
    #[arg(long, overrides_with = "no_tools", hide_short_help = true)]
    pub tools: bool,

    /// Offer no tools, whatever config.toml or the profile says.
    #[arg(long, overrides_with = "tools", hide_short_help = true)]
    pub no_tools: bool,

    /// The directory tools work in: paths resolve inside it, commands run in it (it must
    /// exist) [default: the current directory].
    #[arg(long, value_name = "DIR", hide_short_help = true)]
    pub workspace: Option<PathBuf>,

    /// Run every call without asking, except tools config.toml's [tools] deny list names.
    #[arg(long, hide_short_help = true)]
    pub yes: bool,

    /// Run calls to TOOL without asking (repeatable), even one config.toml denies.
    #[arg(long, value_name = "TOOL", value_parser = ToolName, hide_short_help = true)]
    pub allow: Vec<String>,

    /// Generations per answer before a model that keeps calling tools is stopped [default: 10]
    /// [config: tools.max_steps].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), hide_short_help = true)]
    pub max_steps: Option<u32>,
}

impl ToolArgs {
    /// What these flags ask of tools.
    pub fn flags(&self) -> ToolFlags {
        let on = match (self.tools, self.no_tools) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        };
        ToolFlags {
            on,
            workspace: self.workspace.clone(),
            yes: self.yes,
            allow: self.allow.clone(),
            max_steps: self.max_steps,
        }
    }
}

/// `--allow`'s value: a built-in tool (offered for completion) or an MCP server's tool,
/// `SERVER__TOOL` (known only once its server started).
#[derive(Clone, Copy, Debug)]
struct ToolName;

impl TypedValueParser for ToolName {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        let name = value.to_string_lossy();
        if BUILTINS.iter().any(|b| b.name == name) || crate::mcp::naming::is_mcp_tool_name(&name) {
            return Ok(name.into_owned());
        }
        let names: Vec<&str> = BUILTINS.iter().map(|b| b.name).collect();
        let arg = arg.map_or("--allow <TOOL>".to_string(), |a| a.to_string());
        let message = format!(
            "invalid value '{name}' for '{arg}': possible values: {}, or an MCP server's tool as SERVER__TOOL\n",
            names.join(", ")
        );
        Err(clap::Error::raw(clap::error::ErrorKind::InvalidValue, message).with_cmd(cmd))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            BUILTINS.iter().map(|b| PossibleValue::new(b.name)),
        ))
    }
}
