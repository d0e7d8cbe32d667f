//! The tools reflect itself offers: their names, descriptions and JSON schemas (what the model
//! is shown), their default policies, and how each runs.

mod args;
pub mod command;
pub mod files;
pub mod search;
#[cfg(test)]
mod tests;

use super::policy::Policy;
use super::result::Outcome;
use super::workspace::Workspace;
use super::ToolCall;
use args::Args;
use serde_json::{json, Value};
use std::sync::atomic::AtomicBool;

/// One built-in tool.
pub struct Builtin {
    pub name: &'static str,
    pub description: &'static str,
    /// What runs unless config.toml says otherwise.
    pub policy: Policy,
    parameters: fn() -> Value,
}

impl Builtin {
    /// The tool in the OpenAI function-calling shape that chat templates and servers take.
    pub fn schema(&self) -> Value {
        json!({
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": (self.parameters)(),
            }
        })
    }
}

fn object(properties: Value, required: &[&str]) -> Value {
    json!({"type": "object", "properties": properties, "required": required})
}

/// The built-in tools, in the order they are offered.
pub const BUILTINS: [Builtin; 6] = [
    Builtin {
        name: "read_file",
        description: "Read a text file in the workspace, whole or lines start_line to end_line (1-based, inclusive).",
        policy: Policy::Allow,
        parameters: || object(json!({
            "path": {"type": "string", "description": "Path relative to the workspace"},
            "start_line": {"type": "integer", "description": "First line to read (1-based)"},
            "end_line": {"type": "integer", "description": "Last line to read (inclusive)"},
        }), &["path"]),
    },
    Builtin {
        name: "list_dir",
        description: "List a directory in the workspace: subdirectories end with '/', files show their size.",
        policy: Policy::Allow,
        parameters: || object(json!({
            "path": {"type": "string", "description": "Directory relative to the workspace (default: the workspace itself)"},
        }), &[]),
    },
    Builtin {
        name: "search",
        description: "Search the workspace's files for a regular expression (files ignored by .gitignore are skipped). Returns file:line:text lines.",
        policy: Policy::Allow,
        parameters: || object(json!({
            "pattern": {"type": "string", "description": "Regular expression (Rust syntax)"},
            "path": {"type": "string", "description": "File or directory to search (default: the whole workspace)"},
            "glob": {"type": "string", "description": "Only files matching this glob, e.g. *.rs"},
        }), &["pattern"]),
    },
    Builtin {
        name: "write_file",
        description: "Create or replace a file in the workspace with the given content.",
        policy: Policy::Ask,
        parameters: || object(json!({
            "path": {"type": "string", "description": "Path relative to the workspace"},
            "content": {"type": "string", "description": "The file's whole new content"},
        }), &["path", "content"]),
    },
    Builtin {
        name: "edit_file",
        description: "Replace one exact piece of text in a file. `old` must occur exactly once in the file; copy it exactly, with enough context to be unique.",
        policy: Policy::Ask,
        parameters: || object(json!({
            "path": {"type": "string", "description": "Path relative to the workspace"},
            "old": {"type": "string", "description": "The exact text to replace"},
            "new": {"type": "string", "description": "The text to put in its place"},
        }), &["path", "old", "new"]),
    },
    Builtin {
        name: "run_command",
        description: "Run a shell command (sh -c) in the workspace, without input. Returns the exit status, stdout and stderr.",
        policy: Policy::Ask,
        parameters: || object(json!({
            "command": {"type": "string", "description": "The command line"},
            "timeout_s": {"type": "integer", "description": "Seconds before the command is killed (default 60)"},
        }), &["command"]),
    },
];

/// The built-in tools' default policies.
pub fn policies() -> super::policy::Policies {
    super::policy::Policies::new(BUILTINS.iter().map(|b| (b.name.to_string(), b.policy)))
}

/// The built-in tool of that name.
pub fn find(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// Runs a call to a built-in tool. `stop` cancels a running command or search.
pub fn run(call: &ToolCall, ws: &Workspace, stop: &AtomicBool) -> Outcome {
    let args = Args::new(&call.name, &call.arguments);
    let result = match call.name.as_str() {
        "read_file" => files::read_file(ws, &args),
        "list_dir" => files::list_dir(ws, &args),
        "search" => search::search(ws, &args, stop),
        "write_file" => files::write_file(ws, &args),
        "edit_file" => files::plan_edit(ws, &args).and_then(|e| files::apply_edit(&e)),
        "run_command" => command::run_command(ws, &args, stop),
        other => Err(unknown(other)),
    };
    result.into()
}

/// What the model is told when it calls a tool that does not exist.
pub fn unknown(name: &str) -> String {
    let names: Vec<&str> = BUILTINS.iter().map(|b| b.name).collect();
    format!(
        "there is no tool named '{name}'; the tools are: {}",
        names.join(", ")
    )
}

/// What approval shows of a call beyond its name: the diff of an edit, the whole command, the
/// new content of a file.
pub fn preview(call: &ToolCall, ws: &Workspace) -> String {
    let args = Args::new(&call.name, &call.arguments);
    let shown = match call.name.as_str() {
        "edit_file" => files::plan_edit(ws, &args).map(|e| e.diff),
        "run_command" => args.str("command").map(|c| format!("$ {c}")),
        "write_file" => args.str("path").and_then(|p| {
            // The whole path, as it resolves: a long one is never cut short here.
            let target = ws.resolve(p).map(|r| ws.show(&r))?;
            let c = args.str("content")?;
            let lines = c.lines().count();
            Ok(format!("{target}: {lines} lines, {} bytes:\n{c}", c.len()))
        }),
        _ => Ok(summary(call)),
    };
    shown.unwrap_or_else(|e| format!("(this call will fail: {e})"))
}

/// The call in one line, as the user reads it: the tool and its short arguments.
pub fn shown(call: &ToolCall) -> String {
    format!("{} {}", call.name, summary(call))
        .trim_end()
        .to_string()
}

/// A call's arguments on one short line: `path=src/a.rs start_line=3`.
pub fn summary(call: &ToolCall) -> String {
    let mut parts = Vec::new();
    for (k, v) in &call.arguments {
        let v = match v {
            Value::String(s) => s.clone(),
            v => v.to_string(),
        };
        let v: String = v.replace('\n', "⏎");
        let short: String = v.chars().take(60).collect();
        let more = if short.len() < v.len() { "…" } else { "" };
        parts.push(format!("{k}={short}{more}"));
    }
    parts.join(" ")
}
