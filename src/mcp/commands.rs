//! `reflect mcp list`, `reflect mcp call NAME__TOOL JSON` and `reflect mcp trust`: check a
//! setup without a model.

use super::naming::SEPARATOR;
use super::servers::{Servers, State};
use super::sources::Sources;
use super::trust;
use crate::exit::{code, Failure};
use crate::tools::ToolCall;
use std::fmt::Write;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// Where `reflect mcp` looks: the config and data directories and the workspace.
pub struct Places<'a> {
    pub config_dir: Option<&'a Path>,
    pub data_dir: Option<&'a Path>,
    pub workspace: &'a Path,
}

impl Places<'_> {
    fn sources(&self) -> Result<Sources, Failure> {
        Ok(Sources::load(
            self.config_dir,
            self.data_dir,
            self.workspace,
        )?)
    }
}

/// `reflect mcp list`: each server, started or why not, its protocol version, tools and
/// prompts. Exit code 0 (a server that fails is listed as such).
pub fn list(places: &Places) -> Result<(i32, String), Failure> {
    let sources = places.sources()?;
    let mut out = String::new();
    let specs = sources.to_start();
    if specs.is_empty() && sources.untrusted().is_none() {
        let file = sources.user_file.as_ref().map(|f| f.display().to_string());
        let file = file.unwrap_or_else(|| "mcp.json in reflect's config directory".into());
        let _ = writeln!(out, "no MCP servers configured (add them to {file})");
    }
    let servers = Servers::start(specs).map_err(Failure::runtime)?;
    for s in servers.servers() {
        let _ = writeln!(out, "{}  ({})", s.spec.name, s.spec.file.display());
        match s.state() {
            State::Failed(why) => {
                let _ = writeln!(out, "  not started: {why}");
            }
            State::Running(c) => {
                let _ = writeln!(out, "  started, protocol {}", c.protocol);
                let _ = writeln!(out, "  tools ({}):", c.tools.len());
                for t in &c.tools {
                    let renamed = if t.name.ends_with(&t.original) {
                        String::new()
                    } else {
                        format!(" (the server's '{}')", t.original)
                    };
                    let _ = writeln!(
                        out,
                        "    {}{renamed}  {}",
                        t.name,
                        first_line(&t.description)
                    );
                }
                for w in &c.withdrawn {
                    let _ = writeln!(out, "    withdrawn: {w}");
                }
                let _ = writeln!(out, "  prompts ({}):", c.prompts.len());
                for p in &c.prompts {
                    let args: Vec<String> = p
                        .arguments
                        .iter()
                        .map(|(a, req)| if *req { a.clone() } else { format!("[{a}]") })
                        .collect();
                    let _ = writeln!(
                        out,
                        "    /{}:{} {}  {}",
                        s.spec.name,
                        p.name,
                        args.join(" "),
                        first_line(&p.description)
                    );
                }
            }
        }
    }
    if let Some(p) = sources.untrusted() {
        let names: Vec<&str> = p.servers.iter().map(|s| s.name.as_str()).collect();
        let _ = writeln!(
            out,
            "{} is not trusted, so its servers ({}) were not started: review it, then run `reflect mcp trust`",
            p.file.display(),
            names.join(", ")
        );
    }
    Ok((code::OK, out))
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// `reflect mcp trust`: trusts the workspace's `.mcp.json` as it is now.
pub fn trust(places: &Places) -> Result<(i32, String), Failure> {
    let sources = places.sources()?;
    let Some(p) = &sources.project else {
        return Err(Failure::usage(format!(
            "there is no {} in {}",
            super::config::PROJECT_FILE,
            places.workspace.display()
        )));
    };
    let mut out = String::new();
    if p.trusted {
        let _ = writeln!(out, "{} is already trusted", p.file.display());
        return Ok((code::OK, out));
    }
    trust::remember(places.data_dir, &p.file, &p.hash).map_err(Failure::runtime)?;
    let _ = writeln!(
        out,
        "trusted {} (as it is now: an edit asks again); its servers:",
        p.file.display()
    );
    for s in &p.servers {
        let what = match &s.transport {
            super::Transport::Stdio { command, args, .. } => {
                format!("runs {command} {}", args.join(" "))
            }
            super::Transport::Http { url, .. } => format!("connects to {url}"),
        };
        let _ = writeln!(out, "  {}: {}", s.name, what.trim_end());
    }
    Ok((code::OK, out))
}

/// `reflect mcp call NAME__TOOL JSON`: the result on stdout; exit 0 when the tool succeeded, 1
/// when it failed or its server did, 2 for an unknown tool or arguments that are not a JSON
/// object.
pub fn call(
    places: &Places,
    name: &str,
    arguments: &str,
    timeout: Option<Duration>,
    stop: &AtomicBool,
) -> Result<(i32, String), Failure> {
    let args: serde_json::Value = serde_json::from_str(if arguments.trim().is_empty() { "{}" } else { arguments })
        .map_err(|e| Failure::usage(format!("the arguments are not valid JSON: {e} (expected an object, e.g. '{{\"path\": \"a.txt\"}}')")))?;
    let serde_json::Value::Object(args) = args else {
        return Err(Failure::usage(
            "the arguments must be a JSON object, e.g. '{\"path\": \"a.txt\"}'",
        ));
    };
    let sources = places.sources()?;
    let specs = sources.to_start();
    let server = name.split(SEPARATOR).next().unwrap_or("");
    let Some(spec) = specs.iter().find(|s| s.name == server) else {
        let known: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        return Err(Failure::usage(format!(
            "no MCP server '{server}' for tool '{name}' (tools are named SERVER{SEPARATOR}TOOL; servers: {})",
            if known.is_empty() { "none".to_string() } else { known.join(", ") }
        )));
    };
    let servers = Servers::start(vec![spec.clone()]).map_err(Failure::runtime)?;
    if let State::Failed(why) = servers.servers()[0].state() {
        return Err(Failure::runtime(format!(
            "MCP server '{server}' did not start: {why}"
        )));
    }
    if servers.find(name).is_none() {
        let tools: Vec<String> = servers.tools().into_iter().map(|(_, t)| t.name).collect();
        return Err(Failure::usage(format!(
            "unknown tool '{name}' (server '{server}' has: {})",
            tools.join(", ")
        )));
    }
    let call = ToolCall::new(name, args);
    let outcome = servers.call_within(&call, stop, timeout);
    let mut text = outcome.text;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok((if outcome.ok { code::OK } else { code::RUNTIME }, text))
}
