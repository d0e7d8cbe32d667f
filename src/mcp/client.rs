//! One connection to one MCP server (rmcp): started as a child process (its own process group,
//! scrubbed environment, stderr to the log) or reached over streamable HTTP; its tools and
//! prompts listed once; tool calls with a time limit and a stop flag, both of which send
//! `notifications/cancelled`.

use super::config::{ServerSpec, Transport};
use super::group::Group;
use super::{content, naming};
use crate::tools::builtin::command::without_secrets;
use crate::tools::Outcome;
use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A tool of a server, as offered to the model.
#[derive(Clone, Debug, PartialEq)]
pub struct Tool {
    /// `SERVER__TOOL` (see [`naming`]).
    pub name: String,
    /// The server's own name for it.
    pub original: String,
    pub description: String,
    /// Its JSON schema, as the server gave it.
    pub schema: Value,
}

/// A prompt of a server.
#[derive(Clone, Debug, PartialEq)]
pub struct Prompt {
    pub name: String,
    pub description: String,
    /// Argument names; `true` for a required one.
    pub arguments: Vec<(String, bool)>,
}

/// A started server.
pub struct Connection {
    service: RunningService<RoleClient, ()>,
    pub protocol: String,
    pub tools: Vec<Tool>,
    /// Tools left out, with why (e.g. a schema that is not a JSON Schema object).
    pub withdrawn: Vec<String>,
    pub prompts: Vec<Prompt>,
    /// Dropped last: stops the child's process group.
    _group: Option<Group>,
}

/// Starts the server and lists what it offers, within its start timeout.
pub async fn connect(spec: &ServerSpec) -> Result<Connection, String> {
    let limit = spec.start_timeout;
    match tokio::time::timeout(limit, start(spec)).await {
        Ok(r) => r,
        Err(_) => Err(format!("did not start within {} s", secs(limit))),
    }
}

async fn start(spec: &ServerSpec) -> Result<Connection, String> {
    let (service, group) = match &spec.transport {
        Transport::Stdio {
            command,
            args,
            env,
            cwd,
        } => {
            let mut cmd = tokio::process::Command::new(command);
            cmd.args(args)
                .env_clear()
                .envs(without_secrets(std::env::vars_os()))
                .envs(env)
                .kill_on_drop(true)
                .process_group(0);
            if let Some(dir) = cwd {
                cmd.current_dir(dir);
            }
            let (transport, stderr) = rmcp::transport::TokioChildProcess::builder(cmd)
                .stderr(std::process::Stdio::piped())
                .spawn()
                .map_err(|e| format!("cannot run '{command}': {e}"))?;
            let group = transport.id().map(Group::new);
            if let Some(err) = stderr {
                tokio::spawn(log_stderr(spec.name.clone(), err));
            }
            let service = ().serve(transport).await.map_err(|e| format!("did not start: {e}"))?;
            (service, group)
        }
        Transport::Http { url, headers } => (http(url, headers).await?, None),
    };
    let info = service
        .peer()
        .peer_info()
        .map(|i| serde_json::to_value(&*i).unwrap_or_default());
    let info = info.unwrap_or_default();
    let protocol = info["protocolVersion"].as_str().unwrap_or("?").to_string();
    let caps = &info["capabilities"];
    let (tools, withdrawn) = if caps.get("tools").is_some() {
        let listed = service
            .peer()
            .list_all_tools()
            .await
            .map_err(|e| format!("cannot list its tools: {e}"))?;
        tools(
            &spec.name,
            listed
                .iter()
                .map(|t| serde_json::to_value(t).unwrap_or_default()),
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let prompts = if caps.get("prompts").is_some() {
        let listed = service
            .peer()
            .list_all_prompts()
            .await
            .map_err(|e| format!("cannot list its prompts: {e}"))?;
        listed
            .iter()
            .map(|p| prompt(&serde_json::to_value(p).unwrap_or_default()))
            .collect()
    } else {
        Vec::new()
    };
    Ok(Connection {
        service,
        protocol,
        tools,
        withdrawn,
        prompts,
        _group: group,
    })
}

async fn http(
    url: &str,
    headers: &std::collections::BTreeMap<String, String>,
) -> Result<RunningService<RoleClient, ()>, String> {
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
    use rmcp::transport::StreamableHttpClientTransport;
    // reqwest 0.13 is built without a crypto provider: rustls's ring one, as reflect's own.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut config = StreamableHttpClientTransportConfig::with_uri(url.to_string());
    for (k, v) in headers {
        let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| format!("header '{k}' is not a valid header name"))?;
        let value = reqwest::header::HeaderValue::from_str(v)
            .map_err(|_| format!("header '{k}' has a value that cannot be sent"))?;
        config.custom_headers.insert(name, value);
    }
    let transport = StreamableHttpClientTransport::from_config(config);
    ().serve(transport)
        .await
        .map_err(|e| format!("did not start: {e}"))
}

/// The offered tools (named, schemas checked) and those withdrawn, with why.
pub fn tools(server: &str, listed: impl Iterator<Item = Value>) -> (Vec<Tool>, Vec<String>) {
    let listed: Vec<Value> = listed.collect();
    let originals: Vec<String> = listed
        .iter()
        .map(|t| t["name"].as_str().unwrap_or("").to_string())
        .collect();
    let names = naming::tool_names(server, &originals);
    let mut offered = Vec::new();
    let mut withdrawn = Vec::new();
    for ((t, original), name) in listed.iter().zip(originals).zip(names) {
        let schema = t.get("inputSchema").cloned().unwrap_or(Value::Null);
        match schema_problem(&schema) {
            Some(why) => withdrawn.push(format!("{original}: {why}")),
            None => offered.push(Tool {
                name,
                original,
                description: t["description"].as_str().unwrap_or("").to_string(),
                schema,
            }),
        }
    }
    (offered, withdrawn)
}

/// Why a tool's input schema cannot go to the model, if it cannot: it must be a JSON Schema
/// object (`"type": "object"`, `properties` an object of schemas whose `type` is a name or a
/// list of names, `required` a list of names).
pub fn schema_problem(schema: &Value) -> Option<String> {
    let Some(s) = schema.as_object() else {
        return Some("its input schema is not a JSON object".into());
    };
    if s.get("type").and_then(Value::as_str) != Some("object") {
        return Some("its input schema's type is not \"object\"".into());
    }
    let type_ok = |t: &Value| match t {
        Value::String(_) => true,
        Value::Array(a) => a.iter().all(Value::is_string),
        _ => false,
    };
    let property_ok = |p: &Value| match p {
        Value::Bool(_) => true,
        Value::Object(o) => o.get("type").is_none_or(type_ok),
        _ => false,
    };
    if let Some(p) = s.get("properties") {
        if !p.as_object().is_some_and(|p| p.values().all(property_ok)) {
            return Some("its input schema's properties are not an object of schemas".into());
        }
    }
    if let Some(r) = s.get("required") {
        if !r.as_array().is_some_and(|r| r.iter().all(Value::is_string)) {
            return Some("its input schema's required is not a list of names".into());
        }
    }
    None
}

fn prompt(p: &Value) -> Prompt {
    let arguments = p["arguments"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|a| {
                    (
                        a["name"].as_str().unwrap_or("").to_string(),
                        a["required"] == Value::Bool(true),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Prompt {
        name: p["name"].as_str().unwrap_or("").to_string(),
        description: p["description"].as_str().unwrap_or("").to_string(),
        arguments,
    }
}

/// Each line the server writes on stderr, to the log (never the terminal).
async fn log_stderr(server: String, err: tokio::process::ChildStderr) {
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(err).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::info!(target: "reflect::mcp", "{server}: {line}");
    }
}

/// How a call ended, besides with a result.
#[derive(Debug, PartialEq)]
pub enum Ended {
    Result(Value),
    TimedOut,
    Stopped,
    /// The connection failed (the server crashed, or answered with an error).
    Failed {
        message: String,
        closed: bool,
    },
}

impl Connection {
    /// Calls `tool` (its original name); on time-out or stop, `notifications/cancelled` is
    /// sent (and awaited) before this returns.
    pub async fn call(
        &self,
        tool: &str,
        args: Map<String, Value>,
        limit: Duration,
        stop: Arc<AtomicBool>,
    ) -> Ended {
        use rmcp::model::{ClientRequest, Request, ServerResult};
        let params = CallToolRequestParams::new(tool.to_string()).with_arguments(args);
        let request = ClientRequest::CallToolRequest(Request::new(params));
        let peer = self.service.peer().clone();
        let options = rmcp::service::PeerRequestOptions::no_options();
        let handle = match peer.send_cancellable_request(request, options).await {
            Ok(h) => h,
            Err(e) => return self.failed(e),
        };
        let id = handle.id.clone();
        let ended = tokio::select! {
            r = tokio::time::timeout(limit, handle.await_response()) => match r {
                Err(_) => Ended::TimedOut,
                Ok(Ok(ServerResult::CallToolResult(result))) => {
                    Ended::Result(serde_json::to_value(result).unwrap_or_default())
                }
                Ok(Ok(_)) => return Ended::Failed { message: "the server answered the call with something else than a tool result".into(), closed: false },
                Ok(Err(e)) => return self.failed(e),
            },
            _ = stopped(stop) => Ended::Stopped,
        };
        if matches!(ended, Ended::TimedOut | Ended::Stopped) {
            use rmcp::model::{
                CancelledNotification, CancelledNotificationParam, ClientNotification,
            };
            let reason = if ended == Ended::TimedOut {
                "timed out"
            } else {
                "cancelled by the user"
            };
            let param = CancelledNotificationParam::new(Some(id), Some(reason.into()));
            let note = ClientNotification::CancelledNotification(CancelledNotification::new(param));
            if let Err(e) = peer.send_notification(note).await {
                tracing::warn!(target: "reflect::mcp", "cannot send notifications/cancelled: {e}");
            }
        }
        ended
    }

    fn failed(&self, e: rmcp::ServiceError) -> Ended {
        Ended::Failed {
            closed: self.service.is_closed() || matches!(e, rmcp::ServiceError::TransportClosed),
            message: e.to_string(),
        }
    }

    /// The text of prompt `name` filled with `arguments` (`prompts/get`).
    pub async fn get_prompt(
        &self,
        name: &str,
        arguments: &std::collections::BTreeMap<String, String>,
    ) -> Result<String, String> {
        let args = arguments
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())));
        let params = rmcp::model::GetPromptRequestParams::new(name).with_arguments(args.collect());
        let result = self
            .service
            .peer()
            .get_prompt(params)
            .await
            .map_err(|e| e.to_string())?;
        Ok(super::prompts::text(
            &serde_json::to_value(result).unwrap_or_default(),
        ))
    }

    /// Starts the MCP shutdown: stdin closed, then the process waited for (rmcp's
    /// `graceful_shutdown`); the group is signalled when [`Connection`] drops.
    pub fn begin_close(&self) {
        self.service.cancellation_token().cancel();
    }

    /// Whether the server's processes are still there (false for an HTTP server).
    pub fn process_alive(&self) -> bool {
        self._group.as_ref().is_some_and(Group::alive)
    }

    /// Whether the connection is gone (e.g. the server exited).
    pub fn is_closed(&self) -> bool {
        self.service.is_closed()
    }
}

/// Resolves once `stop` is set (checked every 20 ms: an atomic flag has nothing to wait on).
async fn stopped(stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An [`Ended`] as the model gets it.
pub fn outcome(server: &str, tool: &str, ended: Ended, limit: Duration) -> Outcome {
    match ended {
        Ended::Result(v) => content::outcome(&v),
        Ended::TimedOut => Outcome::failed(format!(
            "{server}: {tool} timed out after {} s (cancelled)",
            secs(limit)
        )),
        Ended::Stopped => Outcome::failed("cancelled"),
        Ended::Failed {
            message,
            closed: true,
        } => Outcome::failed(format!(
            "{server}: the server stopped during the call: {message}"
        )),
        Ended::Failed { message, .. } => Outcome::failed(format!("{server}: {message}")),
    }
}

pub(super) fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}")
    } else {
        format!("{s}")
    }
}
