//! The MCP servers' configuration: `mcp.json` in reflect's config directory and a project's
//! `.mcp.json`, in the `{"mcpServers": {NAME: {...}}}` shape other MCP clients share, read
//! strictly (a mistake names the file, the key and what is expected).

use crate::config::ConfigError;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The user's file, in the config directory.
pub const USER_FILE: &str = "mcp.json";
/// A project's file, in the workspace.
pub const PROJECT_FILE: &str = ".mcp.json";
/// How long a server may take to start (answer `initialize` and list its tools) by default.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a tool call may take by default.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// How reflect reaches a server.
#[derive(Clone, Debug, PartialEq)]
pub enum Transport {
    /// A child process speaking JSON-RPC on stdin/stdout.
    Stdio {
        command: String,
        args: Vec<String>,
        /// Set on top of reflect's environment without its secrets.
        env: BTreeMap<String, String>,
        /// Where it runs; `None`: reflect's working directory.
        cwd: Option<PathBuf>,
    },
    /// A streamable HTTP endpoint.
    Http {
        url: String,
        headers: BTreeMap<String, String>,
    },
}

/// One configured server.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerSpec {
    /// The key under `mcpServers`: the prefix of its tools' names.
    pub name: String,
    pub transport: Transport,
    /// The file it comes from (for messages).
    pub file: PathBuf,
    pub start_timeout: Duration,
    pub call_timeout: Duration,
}

/// The servers of one file, in the file's order of names (sorted).
pub fn parse(file: &Path, text: &str) -> Result<Vec<ServerSpec>, ConfigError> {
    let shown = file.display().to_string();
    let root: Value = serde_json::from_str(text)
        .map_err(|e| ConfigError::new(&shown, e.line(), format!("not valid JSON: {e}")))?;
    let err = |key: &str, what: &str| ConfigError::new(&shown, 0, format!("{key}: {what}"));
    let root = root
        .as_object()
        .ok_or_else(|| err("(top level)", "expected an object {\"mcpServers\": {...}}"))?;
    if let Some(key) = root.keys().find(|k| *k != "mcpServers") {
        return Err(err(key, "unknown key: expected only \"mcpServers\""));
    }
    let Some(servers) = root.get("mcpServers") else {
        return Ok(Vec::new());
    };
    let servers = servers
        .as_object()
        .ok_or_else(|| err("mcpServers", "expected an object of servers by name"))?;
    servers
        .iter()
        .map(|(name, v)| server(file, name, v).map_err(|(key, what)| err(&key, &what)))
        .collect()
}

/// Reads `file`; a missing file has no servers.
pub fn read(file: &Path) -> Result<Vec<ServerSpec>, ConfigError> {
    match std::fs::read_to_string(file) {
        Ok(text) => parse(file, &text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(ConfigError::new(
            file.display().to_string(),
            0,
            format!("cannot read: {e}"),
        )),
    }
}

type KeyError = (String, String);

fn server(file: &Path, name: &str, v: &Value) -> Result<ServerSpec, KeyError> {
    let at = |k: &str| {
        format!(
            "mcpServers.{name}{}{k}",
            if k.is_empty() { "" } else { "." }
        )
    };
    if !super::naming::valid_server_name(name) {
        return Err((
            at(""),
            "a server name is letters, digits, '-' and at most one '_' in a row (its tools are named NAME__TOOL)".into(),
        ));
    }
    let obj = v.as_object().ok_or_else(|| {
        (
            at(""),
            "expected an object with \"command\" or \"url\"".to_string(),
        )
    })?;
    const KEYS: [&str; 9] = [
        "command",
        "args",
        "env",
        "cwd",
        "url",
        "headers",
        "type",
        "startup_timeout_sec",
        "tool_timeout_sec",
    ];
    if let Some(k) = obj.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err((
            at(k),
            format!("unknown key: expected one of {}", KEYS.join(", ")),
        ));
    }
    if let Some(t) = obj.get("type") {
        if !matches!(t.as_str(), Some("stdio" | "http" | "streamable-http")) {
            let what = "expected \"stdio\" or \"http\" (the older SSE transport is not supported)";
            return Err((at("type"), what.into()));
        }
    }
    let seconds = |k: &str, default: Duration| match obj.get(k) {
        None => Ok(default),
        Some(v) => v
            .as_f64()
            .filter(|s| *s > 0.0 && *s <= 86_400.0)
            .map(Duration::from_secs_f64)
            .ok_or_else(|| (at(k), "expected a number of seconds above 0".to_string())),
    };
    let transport = match (obj.get("command"), obj.get("url")) {
        (Some(_), Some(_)) => {
            return Err((at(""), "has both \"command\" and \"url\": give one".into()))
        }
        (None, None) => {
            return Err((
                at(""),
                "expected \"command\" (stdio) or \"url\" (HTTP)".into(),
            ))
        }
        (Some(c), None) => Transport::Stdio {
            command: string(c).ok_or_else(|| (at("command"), "expected a string".into()))?,
            args: strings(obj.get("args")).map_err(|w| (at("args"), w))?,
            env: string_map(obj.get("env"), at("env"))?,
            cwd: match obj.get("cwd") {
                None => None,
                Some(c) => {
                    Some(PathBuf::from(string(c).ok_or_else(|| {
                        (at("cwd"), "expected a string".to_string())
                    })?))
                }
            },
        },
        (None, Some(u)) => {
            let url = string(u).ok_or_else(|| (at("url"), "expected a string".to_string()))?;
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err((
                    at("url"),
                    format!("expected an http:// or https:// URL, not '{url}'"),
                ));
            }
            Transport::Http {
                url,
                headers: string_map(obj.get("headers"), at("headers"))?,
            }
        }
    };
    Ok(ServerSpec {
        name: name.to_string(),
        transport,
        file: file.to_path_buf(),
        start_timeout: seconds("startup_timeout_sec", START_TIMEOUT)?,
        call_timeout: seconds("tool_timeout_sec", CALL_TIMEOUT)?,
    })
}

fn string(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

fn strings(v: Option<&Value>) -> Result<Vec<String>, String> {
    let Some(v) = v else { return Ok(Vec::new()) };
    let list = v.as_array().ok_or("expected a list of strings")?;
    list.iter()
        .enumerate()
        .map(|(i, a)| {
            a.as_str()
                .map(str::to_string)
                .ok_or(format!("item {i}: expected a string"))
        })
        .collect()
}

/// An object of strings at `key` (values `${VAR}`-expanded); errors name `key.NAME`.
fn string_map(v: Option<&Value>, key: String) -> Result<BTreeMap<String, String>, KeyError> {
    let Some(v) = v else {
        return Ok(BTreeMap::new());
    };
    let obj: &Map<String, Value> = v
        .as_object()
        .ok_or_else(|| (key.clone(), "expected an object of strings".to_string()))?;
    obj.iter()
        .map(|(k, v)| match v.as_str() {
            Some(s) => Ok((k.clone(), expand(s))),
            None => Err((format!("{key}.{k}"), "expected a string".to_string())),
        })
        .collect()
}

/// `${VAR}` in a value replaced by reflect's own variable (empty when unset): the way to hand a
/// server one secret that the scrubbed environment would leave out.
pub fn expand(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start + 2..].find('}') else {
            break;
        };
        out.push_str(&rest[..start]);
        let var = &rest[start + 2..start + 2 + len];
        out.push_str(&std::env::var(var).unwrap_or_default());
        rest = &rest[start + 3 + len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdio_and_http_servers_in_the_shared_shape() {
        std::env::set_var("REFLECT_MCP_TEST_TOKEN", "t0k");
        let text = r#"{"mcpServers": {
            "fs": {"command": "npx", "args": ["-y", "server-filesystem", "."],
                   "env": {"A": "1", "TOKEN": "Bearer ${REFLECT_MCP_TEST_TOKEN}${UNSET_VAR_X}"},
                   "tool_timeout_sec": 5},
            "web": {"type": "http", "url": "https://example.org/mcp", "headers": {"X-Key": "k"},
                    "startup_timeout_sec": 1.5}
        }}"#;
        let servers = parse(Path::new("/c/mcp.json"), text).unwrap();
        assert_eq!(servers.len(), 2);
        let fs = &servers[0];
        assert_eq!(
            (fs.name.as_str(), fs.call_timeout, fs.start_timeout),
            ("fs", Duration::from_secs(5), START_TIMEOUT)
        );
        let Transport::Stdio {
            command,
            args,
            env,
            cwd,
        } = &fs.transport
        else {
            panic!("stdio")
        };
        assert_eq!((command.as_str(), args.len(), cwd), ("npx", 3, &None));
        assert_eq!(
            env["TOKEN"], "Bearer t0k",
            "${{VAR}} expanded, an unset one empty"
        );
        let web = &servers[1];
        assert_eq!(web.start_timeout, Duration::from_millis(1500));
        assert!(
            matches!(&web.transport, Transport::Http { url, headers } if url == "https://example.org/mcp" && headers["X-Key"] == "k")
        );
        assert!(parse(Path::new("x"), "{}").unwrap().is_empty());
    }

    #[test]
    fn mistakes_name_the_file_and_the_key() {
        let table = [
            ("[]", "(top level): expected an object"),
            (r#"{"servers": {}}"#, "servers: unknown key"),
            (r#"{"mcpServers": []}"#, "mcpServers: expected an object"),
            (
                r#"{"mcpServers": {"a": 1}}"#,
                "mcpServers.a: expected an object",
            ),
            (
                r#"{"mcpServers": {"a": {}}}"#,
                "mcpServers.a: expected \"command\" (stdio) or \"url\"",
            ),
            (
                r#"{"mcpServers": {"a": {"command": "x", "url": "http://h"}}}"#,
                "mcpServers.a: has both",
            ),
            (
                r#"{"mcpServers": {"a": {"command": 3}}}"#,
                "mcpServers.a.command: expected a string",
            ),
            (
                r#"{"mcpServers": {"a": {"command": "x", "args": [1]}}}"#,
                "mcpServers.a.args: item 0: expected a string",
            ),
            (
                r#"{"mcpServers": {"a": {"url": "http://h", "headers": []}}}"#,
                "mcpServers.a.headers: expected an object",
            ),
            (
                r#"{"mcpServers": {"a": {"command": "x", "tool_timeout_sec": 0}}}"#,
                "mcpServers.a.tool_timeout_sec: expected a number",
            ),
        ];
        for (text, message) in table {
            let e = parse(Path::new("/c/mcp.json"), text)
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("/c/mcp.json: ") && e.contains(message),
                "{text}: {e}"
            );
        }
        let e = parse(Path::new("/c/mcp.json"), "{\n,").unwrap_err();
        assert_eq!(
            (e.line, e.message.starts_with("not valid JSON")),
            (2, true),
            "{e}"
        );
    }
}
